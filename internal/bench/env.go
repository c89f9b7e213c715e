package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/workflows"
)

// WaitLimit is how long a measurement waits for one thing it expects (a
// step to wait, a cut, a run to end) before it gives up with an error: far
// beyond any normal run, it only catches what is plainly stuck.
const WaitLimit = 2 * time.Minute

// EnvOptions configure StartEnv.
type EnvOptions struct {
	// Server configures the embedded server (Ephemeral or a DataDir).
	Server devserver.Options
	// Authority is the worker's policy; nil means the built-in library's,
	// accepting unattested answers.
	Authority activities.Authority
	// Chat replaces the simulated chat (for the real Slack adapter).
	Chat activities.Chat
	// Worker configures the worker.
	Worker worker.Options
	// Logf, when set, receives notes on stalled runs (see ExplainSlow).
	Logf func(format string, args ...any)
}

// Env is an embedded server, a client and the benchmark worker: the incident
// workflow and the simulated activities as runner.Register wires them (the
// isolator reporting cuts on Cuts), plus HandWritten and Echo, all on the
// main task queue.
type Env struct {
	Server *devserver.Server
	Client client.Client
	// Cuts sees every isolation cut as it starts.
	Cuts *NotifyingIsolator
	// Journal is what the simulated integrations did.
	Journal *sim.Journal
	logf    func(string, ...any)
	w       worker.Worker
}

// StartEnv starts an embedded server and the benchmark worker. Close stops
// both.
func StartEnv(ctx context.Context, opts EnvOptions) (*Env, error) {
	if opts.Authority == nil {
		o, _, diags := org.Load("", org.Options{Lenient: true})
		if o == nil || diags.HasErrors() {
			return nil, fmt.Errorf("loading the built-in library: %s", diags.Error())
		}
		opts.Authority = org.NewAuthority(org.NewHolder(o, org.Options{Lenient: true}), false)
	}
	srv, err := devserver.Start(ctx, opts.Server)
	if err != nil {
		return nil, err
	}
	c, err := srv.NewClient(client.Options{})
	if err != nil {
		_ = srv.Stop()
		return nil, err
	}
	e := &Env{Server: srv, Client: c, Journal: sim.NewJournal(), logf: opts.Logf}
	acts := sim.New(e.Journal).Activities()
	acts.Authority = opts.Authority
	if opts.Chat != nil {
		acts.Chat = opts.Chat
	}
	e.Cuts = NewNotifyingIsolator(acts.Isolator, 1024)
	acts.Isolator = e.Cuts
	e.w = worker.New(c, activities.TaskQueue, opts.Worker)
	runner.Register(e.w, acts)
	e.w.RegisterWorkflowWithOptions(HandWritten, workflow.RegisterOptions{Name: HandWrittenName})
	e.w.RegisterWorkflowWithOptions(Echo, workflow.RegisterOptions{Name: EchoName})
	if err := e.w.Start(); err != nil {
		c.Close()
		_ = srv.Stop()
		return nil, err
	}
	return e, nil
}

// Close stops the worker, the client and the server.
func (e *Env) Close() error {
	e.w.Stop()
	e.Client.Close()
	return e.Server.Stop()
}

// WaitCut returns the first cut of incident id, dropping others' cuts.
func (e *Env) WaitCut(ctx context.Context, id string) (Cut, error) {
	timeout := time.NewTimer(WaitLimit)
	defer timeout.Stop()
	for {
		select {
		case cut := <-e.Cuts.Cuts:
			if cut.Incident() == id {
				return cut, nil
			}
		case <-timeout.C:
			return Cut{}, fmt.Errorf("incident %s: no isolation started within %v", id, WaitLimit)
		case <-ctx.Done():
			return Cut{}, ctx.Err()
		}
	}
}

// WaitFor polls the incident's status until cond holds; what names the
// condition in the error.
func WaitFor(ctx context.Context, c client.Client, id, what string, cond func(workflows.Status) bool) (workflows.Status, error) {
	deadline := time.Now().Add(WaitLimit)
	for {
		st, err := incident.Status(ctx, c, id)
		if err == nil && cond(st) {
			return st, nil
		}
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("incident %s: %s did not happen within %v (last error: %v)", id, what, WaitLimit, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// StepIs reports whether step id is in state.
func StepIs(id, state string) func(workflows.Status) bool {
	return func(st workflows.Status) bool {
		for _, s := range st.Steps {
			if s.ID == id {
				return s.State == state
			}
		}
		return false
	}
}

// answer sends an answer and says which one failed.
func answer(ctx context.Context, c client.Client, update, id string, a workflows.Answer) error {
	if _, err := incident.Answer(ctx, c, update, id, a); err != nil {
		return fmt.Errorf("%s %s by %s on %s: %w", update, a.Step, a.Person, id, err)
	}
	return nil
}

// terminate ends an incident a measurement is done with, so idle incidents
// do not pile up on the server.
func terminate(ctx context.Context, c client.Client, s incident.Started) error {
	err := c.TerminateWorkflow(ctx, s.WorkflowID, s.RunID, "benchmark iteration done")
	if err != nil {
		return fmt.Errorf("ending %s: %w", s.IncidentID, err)
	}
	return nil
}
