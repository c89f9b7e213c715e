package bench

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// Workflow names the benchmark worker registers next to the incident workflow.
const (
	// HandWrittenName is the registered name of HandWritten.
	HandWrittenName = "BenchHandWritten"
	// EchoName is the registered name of Echo.
	EchoName = "BenchEcho"
	// EchoUpdate is the update Echo answers.
	EchoUpdate = "approve"
	// EchoFinish is the signal that ends Echo.
	EchoFinish = "finish"
)

// HandInput is the input of HandWritten: the action steps of a plan, already
// reduced to the arguments the interpreter would evaluate for them.
type HandInput struct {
	IncidentID string            `json:"incident_id"`
	Plant      *activities.Plant `json:"plant,omitempty"`
	Steps      []HandStep        `json:"steps"`
	// Parallel starts every step at once; otherwise each waits for the one before.
	Parallel bool `json:"parallel,omitempty"`
}

// HandStep is one action step of a HandInput.
type HandStep struct {
	ID     string         `json:"id"`
	Action string         `json:"action"`
	Args   map[string]any `json:"args,omitempty"`
}

// HandResult is the result of HandWritten.
type HandResult struct {
	// Done counts the steps whose activity succeeded.
	Done int `json:"done"`
}

// HandWritten is what a developer would write by hand for a plan of action
// steps without conditions: the same activities, in the same order, with the
// same options and inputs as the interpreter gives them (default timeout and
// retry policy of an action step), and nothing else. It is the yardstick for
// the interpreter's overhead.
func HandWritten(ctx workflow.Context, in HandInput) (HandResult, error) {
	ctx = workflow.WithActivityOptions(ctx, ActionOptions())
	start := func(s HandStep) workflow.Future {
		name, ok := activities.ActivityFor(s.Action)
		if !ok {
			name = s.Action
		}
		call := activities.Call{IncidentID: in.IncidentID, Step: s.ID, Action: s.Action, Plant: in.Plant}
		return workflow.ExecuteActivity(ctx, name, activities.ActionInput{Call: call, Args: s.Args})
	}
	var res HandResult
	if in.Parallel {
		futures := make([]workflow.Future, len(in.Steps))
		for i, s := range in.Steps {
			futures[i] = start(s)
		}
		for i, f := range futures {
			if err := f.Get(ctx, nil); err != nil {
				return res, fmt.Errorf("%s: %w", in.Steps[i].ID, err)
			}
			res.Done++
		}
		return res, nil
	}
	for _, s := range in.Steps {
		if err := start(s).Get(ctx, nil); err != nil {
			return res, fmt.Errorf("%s: %w", s.ID, err)
		}
		res.Done++
	}
	return res, nil
}

// ActionOptions are the activity options the interpreter gives an action step
// that sets neither timeout nor retry (workflows.actionOptions).
func ActionOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: []string{activities.ErrSignoffRefused, activities.ErrBadArguments},
		},
	}
}

// Echo is the smallest workflow that takes an Update: it counts the
// approvals it is sent and returns the count once signalled EchoFinish. The
// bare Update round trip is measured on it.
func Echo(ctx workflow.Context) (int, error) {
	n := 0
	err := workflow.SetUpdateHandler(ctx, EchoUpdate, func(ctx workflow.Context, who string) (int, error) {
		n++
		return n, nil
	})
	if err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, EchoFinish).Receive(ctx, nil)
	return n, nil
}

// HandInputFor reduces a plan of unconditional action steps to a HandInput.
// Arguments must not refer to other steps or inputs: they are evaluated once,
// here, with an empty scope.
func HandInputFor(p *plan.Plan, incidentID string, parallel bool) (HandInput, error) {
	in := HandInput{IncidentID: incidentID, Plant: PlantOf(p), Parallel: parallel}
	for _, s := range p.Steps {
		if s.Kind != plan.KindStep || s.Action == nil {
			return in, fmt.Errorf("%s is a %s; only action steps can be written by hand here", s.ID, s.Kind)
		}
		if s.When != nil || s.ForEach != nil {
			return in, fmt.Errorf("%s has when or for_each; only plain action steps can be written by hand here", s.ID)
		}
		args := map[string]any{}
		for k, e := range s.Action.With {
			v, err := e.Eval(map[string]any{})
			if err != nil {
				return in, fmt.Errorf("%s: with.%s: %w", s.ID, k, err)
			}
			args[k] = v
		}
		in.Steps = append(in.Steps, HandStep{ID: s.ID, Action: s.Action.Action, Args: args})
	}
	return in, nil
}

// PlantOf is the plant slice the interpreter hands every action
// (workflows.runner.plant): zones, conduits and integrations without secrets.
func PlantOf(p *plan.Plan) *activities.Plant {
	out := &activities.Plant{}
	for _, z := range p.Zones {
		out.Zones = append(out.Zones, activities.Zone{ID: z.ID, Title: z.Title, Networks: z.Networks})
	}
	for _, c := range p.Conduits {
		out.Conduits = append(out.Conduits, activities.Conduit{ID: c.ID, From: c.From, To: c.To, Enforcement: c.Enforcement, KeepOpenOnIsolation: c.KeepOpenOnIsolation, Protocols: c.Protocols})
	}
	for _, in := range p.Integrations {
		ai := activities.Integration{ID: in.ID, Kind: in.Kind}
		keys := make([]string, 0, len(in.Settings))
		for k := range in.Settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := in.Settings[k]
			if v.Env != "" || v.Value == nil {
				continue
			}
			if ai.Settings == nil {
				ai.Settings = map[string]string{}
			}
			ai.Settings[k] = fmt.Sprint(v.Value)
		}
		out.Integrations = append(out.Integrations, ai)
	}
	if len(out.Zones) == 0 && len(out.Conduits) == 0 && len(out.Integrations) == 0 {
		return nil
	}
	return out
}

// GeneratedPlaybook is the name of the playbook GeneratePlaybook writes.
const GeneratedPlaybook = "bench_steps"

// GeneratePlaybook writes HCL for a playbook of n webhook.post steps (the
// action with the cheapest simulated twin) and the webhook integration they
// post to. In a chain each step needs the one before; otherwise all n are
// independent and start together.
func GeneratePlaybook(n int, chain bool) string {
	var b strings.Builder
	b.WriteString("integration \"webhook\" \"bench\" {\n  url = \"https://bench.example/hook\"\n}\n\n")
	fmt.Fprintf(&b, "playbook %q {\n  title    = \"%d generated webhook steps\"\n  severity = \"sev3\"\n", GeneratedPlaybook, n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "\n  step \"s%02d\" {\n    action = \"webhook.post\"\n    with = {\n      integration = \"webhook.bench\"\n      body        = { step = %d }\n    }\n", i, i)
		if chain && i > 1 {
			fmt.Fprintf(&b, "    needs = [step.s%02d]\n", i-1)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}
