package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	fborg "github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// org is the organisation every inline test playbook shares.
//
//	process_safety   alice bob paul      (alice is the usual commander)
//	ot_operations    carol dan
//	shift_supervisor erin                (may break glass)
//	oncall           frank               (ladder tier 1)
//	leads            gina                (ladder tier 2, mgmt)
//	compliance       hank
//	ivan is a known person in no roster.
const org = `
person "alice" { slack = "U01ALICE" }
person "bob"   { slack = "U01BOB" }
person "paul"  { slack = "U01PAUL" }
person "carol" { slack = "U01CAROL" }
person "dan"   { slack = "U01DAN" }
person "erin"  { slack = "U01ERIN" }
person "frank" { slack = "U01FRANK" }
person "gina"  { slack = "U01GINA" }
person "hank"  { slack = "U01HANK" }
person "ivan"  { slack = "U01IVAN" }

roster "process_safety"   { members = [person.alice, person.bob, person.paul] }
roster "ot_operations"    { members = [person.carol, person.dan] }
roster "shift_supervisor" { members = [person.erin] }
roster "oncall"           { members = [person.frank] }
roster "leads"            { members = [person.gina] }
roster "compliance"       { members = [person.hank] }

escalation "ladder" {
  tier {
    notify     = [roster.oncall]
    ack_within = "5m"
  }
  tier {
    notify     = [roster.leads]
    ack_within = "10m"
  }
  repeat = 1
}

escalation "mgmt" {
  tier {
    notify     = [person.gina]
    ack_within = "5m"
  }
}

zone "dmz"     { purdue_level = 3.5 }
zone "control" {
  purdue_level = 2
  networks     = ["10.30.2.0/24"]
}

integration "nftables" "gw" { netns = "gw" }
integration "webhook" "edr" { url = "https://edr.example/api" }

conduit "dmz_to_control" {
  from        = zone.dmz
  to          = zone.control
  enforcement = "nftables.gw"
}

safety {
  signoff {
    rosters           = [roster.process_safety, roster.ot_operations]
    exclude_initiator = true
    valid_for         = "15m"
  }
  break_glass {
    rosters        = [roster.shift_supervisor]
    require_reason = true
  }
}
`

// compile compiles the one playbook in src together with org.
func compile(t *testing.T, src string) *plan.Plan {
	t.Helper()
	return compileWith(t, org, src)
}

// compileWith compiles the one playbook in src together with organisation.
func compileWith(t *testing.T, organisation, src string) *plan.Plan {
	t.Helper()
	m, diags := playbooks.LoadSource(map[string][]byte{"org.hcl": []byte(organisation), "pb.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatalf("loading: %s", diags.Error())
	}
	names := m.PlaybookNames()
	if len(names) != 1 {
		t.Fatalf("want one playbook, got %v", names)
	}
	p, diags := m.Compile(names[0], actions.Builtin())
	if diags.HasErrors() {
		t.Fatalf("compiling: %s", diags.Error())
	}
	remember(t, p, m.Config)
	return p
}

// compiledFrom maps each plan the helpers compiled, by pointer (a plan a
// test edits afterwards keeps the configuration it came from) and by
// digest (a plan carried over a continue-as-new is a decoded copy), to the
// configuration it was compiled from, so the harness gives the worker's
// activities an authority built honestly from the same HCL (unattested,
// as firebreak dev runs).
var compiledFrom sync.Map // *plan.Plan or digest -> *playbooks.Config

func remember(t *testing.T, p *plan.Plan, cfg *playbooks.Config) {
	t.Helper()
	d, err := plan.Digest(p)
	if err != nil {
		t.Fatal(err)
	}
	compiledFrom.Store(p, cfg)
	compiledFrom.Store(d, cfg)
}

// policyFor is the worker's configuration for a plan the helpers compiled,
// or nil (no authority: guard three refuses every safety-critical action)
// for a plan made by hand.
func policyFor(p *plan.Plan) *activities.Policy {
	v, ok := compiledFrom.Load(p)
	if !ok {
		d, err := plan.Digest(p)
		if err != nil {
			return nil
		}
		if v, ok = compiledFrom.Load(d); !ok {
			return nil
		}
	}
	pol, _ := fborg.PolicyOf(v.(*playbooks.Config), false)
	return pol
}

// libraryPlan compiles a playbook of the shipped library.
func libraryPlan(t *testing.T, name string) *plan.Plan {
	t.Helper()
	m, diags := playbooks.Load("../playbooks/library")
	if diags.HasErrors() {
		t.Fatalf("loading the library: %s", diags.Error())
	}
	p, diags := m.Compile(name, actions.Builtin())
	if diags.HasErrors() {
		t.Fatalf("compiling %s: %s", name, diags.Error())
	}
	remember(t, p, m.Config)
	return p
}

// started is one activity start seen by the test environment.
type started struct {
	Name         string
	TaskQueue    string
	At           time.Time
	StartToClose time.Duration
	// Action is the decoded input of action activities.
	Action *activities.ActionInput
}

// reply is the outcome of one update sent to the workflow.
type reply struct {
	Update   string
	Answer   workflows.Answer
	Sent     bool
	Accepted bool
	Rejected error
	Done     bool
	Result   workflows.AnswerResult
	Err      error
}

// harness runs the incident workflow in the SDK's time-skipping test
// environment with the real activities on simulated twins.
type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	twin  *sim.Twin
	j     *sim.Journal
	acts  *activities.Activities
	start time.Time
	// policy is the worker's configuration the activities check against:
	// that of the plan run, set by run.
	policy *activities.Policy

	starts  []started
	replies []*reply
	n       int
	// onStart, when set, is called as each activity starts.
	onStart func(started)
	// signed runs the incident as firebreak worker does: unsigned answers
	// are refused. Otherwise it accepts them, as firebreak dev does.
	signed bool
	// noCommander starts the incident without a commander.
	noCommander bool
	// workerKeys are the public keys the worker's configuration trusts.
	workerKeys []plan.Key
	// metrics are what the workflow recorded through its metrics handler.
	metrics *metricsRecorder
}

// actionActivities are the activities whose input is an ActionInput.
var actionActivities = []string{"SlackOpenChannel", "SlackPost", "IsolateZone", "BlockConduit", "RestoreZone", "RestoreConduit",
	"PagerDutyTrigger", "PagerDutyAcknowledge", "PagerDutyResolve", "WebhookPost", "ModbusRead", "ContainHost"}

func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(quietLogger())
	rec := newMetricsRecorder()
	s.SetMetricsHandler(rec)
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	env.RegisterWorkflowWithOptions(workflows.Incident, workflow.RegisterOptions{Name: workflows.WorkflowName})
	j := sim.NewJournal()
	twin := sim.New(j)
	h := &harness{t: t, env: env, twin: twin, j: j, acts: twin.Activities(), metrics: rec}
	h.acts.Authority = activities.AuthorityFunc(func() *activities.Policy { return h.policy })
	// Guard three judges freshness by the incident's clock, which the test
	// environment skips ahead; tests that need another clock set their own.
	h.acts.Now = env.Now
	env.RegisterActivity(h.acts)
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		st := started{Name: info.ActivityType.Name, TaskQueue: info.TaskQueue, At: env.Now(), StartToClose: info.StartToCloseTimeout}
		if slices.Contains(actionActivities, st.Name) {
			var in activities.ActionInput
			if err := args.Get(&in); err != nil {
				t.Errorf("decoding the input of %s: %v", st.Name, err)
			}
			st.Action = &in
		}
		h.starts = append(h.starts, st)
		if h.onStart != nil {
			h.onStart(st)
		}
	})
	return h
}

// run executes the workflow to its end (or the test timeout).
func (h *harness) run(in workflows.IncidentInput) {
	h.t.Helper()
	if in.IncidentID == "" {
		in.IncidentID = "INC-1"
	}
	if in.Commander == "" && !h.noCommander {
		// From interpreter v6 an incident names its commander; someone
		// outside every roster, so that no rule about the initiator applies.
		in.Commander = "ic"
	}
	if in.Start == nil && !h.signed {
		in.AcceptUnattested = true
	}
	// The workflow ID is the incident's, as incident.StartPrepared makes it.
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IncidentWorkflowID(in.IncidentID)})
	h.start = h.env.Now()
	if h.policy == nil {
		h.policy = policyFor(in.Plan)
		if h.policy != nil && len(h.workerKeys) > 0 {
			// The worker's configuration declares these public keys.
			h.policy.Keys, _ = attest.NewKeyring(h.workerKeys)
		}
		if h.policy != nil && h.signed {
			// As firebreak worker runs: unsigned starts and sign-offs are refused.
			h.policy.RequireAttestation = true
		}
	}
	h.env.ExecuteWorkflow(workflows.WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("the workflow did not complete")
	}
	for _, r := range h.replies {
		if !r.Sent {
			h.t.Errorf("%s from %s on %s was never sent (the workflow ended first)", r.Update, r.Answer.Person, r.Answer.Step)
		}
	}
}

// result returns the workflow result, failing the test on a workflow error.
func (h *harness) result() workflows.IncidentResult {
	h.t.Helper()
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	var res workflows.IncidentResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

// at runs f at workflow time start+d.
func (h *harness) at(d time.Duration, f func()) {
	h.env.RegisterDelayedCallback(f, d)
}

// answer sends an update at workflow time start+d.
func (h *harness) answer(d time.Duration, update string, a workflows.Answer) *reply {
	r := &reply{Update: update, Answer: a}
	h.replies = append(h.replies, r)
	h.at(d, func() { h.send(r) })
	return r
}

func (h *harness) send(r *reply) {
	h.n++
	r.Sent = true
	h.env.UpdateWorkflow(r.Update, fmt.Sprintf("update-%d", h.n), &testsuite.TestUpdateCallback{
		OnAccept: func() { r.Accepted = true },
		OnReject: func(err error) { r.Rejected = err },
		OnComplete: func(v any, err error) {
			r.Done = true
			r.Err = err
			if ar, ok := v.(workflows.AnswerResult); ok {
				r.Result = ar
			}
		},
	}, r.Answer)
}

// statusAt captures the status query at workflow time start+d.
func (h *harness) statusAt(d time.Duration) *workflows.Status {
	st := &workflows.Status{}
	h.at(d, func() { *st = h.status() })
	return st
}

func (h *harness) status() workflows.Status {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		h.t.Fatalf("status query: %v", err)
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

func (h *harness) timeline() workflows.Timeline {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(workflows.QueryTimeline)
	if err != nil {
		h.t.Fatalf("timeline query: %v", err)
	}
	var tl workflows.Timeline
	if err := v.Get(&tl); err != nil {
		h.t.Fatal(err)
	}
	return tl
}

// activityStarts returns the recorded starts of one activity.
func (h *harness) activityStarts(name string) []started {
	var out []started
	for _, s := range h.starts {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// effects returns the journal's effects of op.
func (h *harness) effects(op string) []sim.Entry {
	var out []sim.Entry
	for _, e := range h.j.Effects() {
		if e.Op == op {
			out = append(out, e)
		}
	}
	return out
}

// attempts returns the journal's attempts of op.
func (h *harness) attempts(op string) []sim.Entry {
	var out []sim.Entry
	for _, e := range h.j.Attempts() {
		if e.Op == op {
			out = append(out, e)
		}
	}
	return out
}

// ---- assertions ----

func accepted(t *testing.T, r *reply) {
	t.Helper()
	switch {
	case !r.Sent:
		t.Errorf("%s by %s on %s: never sent", r.Update, r.Answer.Person, r.Answer.Step)
	case r.Rejected != nil:
		t.Errorf("%s by %s on %s: refused: %v", r.Update, r.Answer.Person, r.Answer.Step, r.Rejected)
	case !r.Accepted || !r.Done || r.Err != nil:
		t.Errorf("%s by %s on %s: accepted=%v done=%v err=%v", r.Update, r.Answer.Person, r.Answer.Step, r.Accepted, r.Done, r.Err)
	}
}

// refused checks that the incident refused the answer with a message
// containing every one of want: from interpreter v6 the handler refuses
// (and records) what the rules refuse, and the validator only what must
// leave no trace (see rejected).
func refused(t *testing.T, r *reply, want ...string) {
	t.Helper()
	if !r.Sent {
		t.Errorf("%s by %s on %s: never sent", r.Update, r.Answer.Person, r.Answer.Step)
		return
	}
	err := r.Rejected
	if err == nil && r.Done {
		err = r.Err
	}
	if err == nil {
		t.Errorf("%s by %s on %s: accepted (%q), want a refusal containing %q", r.Update, r.Answer.Person, r.Answer.Step, r.Result.Message, want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s by %s on %s: refusal %q does not contain %q", r.Update, r.Answer.Person, r.Answer.Step, err.Error(), w)
		}
	}
}

// rejected checks that the validator refused the answer, so that nothing
// of it reached the history, with the given refusal code.
func rejected(t *testing.T, r *reply, code rules.Code) {
	t.Helper()
	if !r.Sent {
		t.Errorf("%s by %s on %s: never sent", r.Update, r.Answer.Person, r.Answer.Step)
		return
	}
	if r.Rejected == nil {
		t.Errorf("%s by %s on %s: not rejected by the validator (accepted=%v err=%v)", r.Update, r.Answer.Person, r.Answer.Step, r.Accepted, r.Err)
		return
	}
	if r.Accepted || r.Done {
		t.Errorf("%s by %s on %s: rejected but also accepted/completed", r.Update, r.Answer.Person, r.Answer.Step)
	}
	var ae *temporal.ApplicationError
	if !errors.As(r.Rejected, &ae) || ae.Type() != string(code) {
		t.Errorf("%s by %s on %s: rejected with %v, want code %s", r.Update, r.Answer.Person, r.Answer.Step, r.Rejected, code)
	}
}

func stepOf(t *testing.T, steps []workflows.StepStatus, id string) workflows.StepStatus {
	t.Helper()
	for _, s := range steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s in %v", id, stepIDs(steps))
	return workflows.StepStatus{}
}

func stepIDs(steps []workflows.StepStatus) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.ID)
	}
	return out
}

// wantStep checks a step's state and that its reason contains every one of reason.
func wantStep(t *testing.T, steps []workflows.StepStatus, id, state string, reason ...string) workflows.StepStatus {
	t.Helper()
	s := stepOf(t, steps, id)
	if s.State != state {
		t.Errorf("%s is %s (%s), want %s", id, s.State, s.Reason, state)
	}
	for _, r := range reason {
		if !strings.Contains(s.Reason, r) {
			t.Errorf("%s reason %q does not contain %q", id, s.Reason, r)
		}
	}
	return s
}

// events returns the timeline events of a kind (and step, when not "").
func events(tl workflows.Timeline, kind, step string) []workflows.Event {
	var out []workflows.Event
	for _, e := range tl.Events {
		if e.Kind == kind && (step == "" || e.Step == step) {
			out = append(out, e)
		}
	}
	return out
}

// firstEvent returns the first event of a kind and step, failing without one.
func firstEvent(t *testing.T, tl workflows.Timeline, kind, step string) workflows.Event {
	t.Helper()
	es := events(tl, kind, step)
	if len(es) == 0 {
		t.Fatalf("no %s event for %s in the timeline:\n%s", kind, step, dump(tl))
	}
	return es[0]
}

// dump renders a timeline for failure messages.
func dump(tl workflows.Timeline) string {
	var b strings.Builder
	for _, e := range tl.Events {
		fmt.Fprintf(&b, "  %3d %s %-18s %-26s %-8s %s\n", e.Seq, e.At.Format("15:04:05"), e.Kind, e.Step+iter(e.Iteration), e.Person, e.Detail)
	}
	return b.String()
}

func iter(k string) string {
	if k == "" {
		return ""
	}
	return "[" + k + "]"
}

// since is the workflow time of t relative to the start of the run.
func (h *harness) since(t time.Time) time.Duration { return t.Sub(h.start) }

// isContinueAsNew reports whether err is a continue-as-new and returns it.
func isContinueAsNew(err error) (*workflow.ContinueAsNewError, bool) {
	var can *workflow.ContinueAsNewError
	if errors.As(err, &can) {
		return can, true
	}
	return nil, false
}

// decode unmarshals a journaled request.
func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return v
}

// asApp unwraps an application error.
func asApp(err error, target **temporal.ApplicationError) bool { return errors.As(err, target) }

// newSigner makes a fresh signing key for a key ID.
func newSigner(t *testing.T, id string) *attest.Signer {
	t.Helper()
	s, err := attest.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// trust adds the signers' public keys to the plan's keys, as the compiler
// does for public_key on person and integration blocks.
func trust(p *plan.Plan, signers ...*attest.Signer) {
	for _, s := range signers {
		p.Keys = append(p.Keys, keyOf(s))
	}
}

func keyOf(s *attest.Signer) plan.Key {
	return plan.Key{ID: s.ID, Person: s.Person(), PublicKey: s.Public()}
}

// signAnswer attests an answer as the CLI does and returns it.
func signAnswer(s *attest.Signer, incident, update string, a workflows.Answer, at time.Time) workflows.Answer {
	a.Attestation = s.Sign(attest.Claim{
		Incident: incident, Step: a.Step, Round: a.Round, Person: a.Person, Answer: update,
		Option: a.Option, ReasonSHA256: attest.Digest(a.Reason), Channel: a.Channel,
	}, at)
	return a
}
