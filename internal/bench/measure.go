package bench

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/bench/offline"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Samples are the durations of repeated measurements of one thing.
type Samples = offline.Samples

// RansomwarePlaybook is the shipped playbook the approval measurements run.
const RansomwarePlaybook = "ot_ransomware_containment"

// RansomwareInputs are the inputs the approval measurements start it with.
var RansomwareInputs = []string{"zone=plant3_dmz", `hosts=["ws-eng-07","hist-02"]`}

// PrepareRansomware prepares the shipped ransomware playbook from dir (""
// for the built-in library), commanded by ines, its start attested by
// signer when one is given.
func PrepareRansomware(dir string, signer *attest.Signer) (*incident.Prepared, error) {
	return incident.Prepare(incident.StartRequest{Dir: dir, Playbook: RansomwarePlaybook, Inputs: RansomwareInputs, Commander: "ines", IncidentID: "BENCH-0", Signer: signer})
}

// EchoRun is a running Echo workflow, for bare Update round trips.
type EchoRun struct {
	c    client.Client
	run  client.WorkflowRun
	sent int
}

// StartEcho starts Echo and sends it one untimed Update, so its first
// workflow task is over before anything is measured.
func StartEcho(ctx context.Context, c client.Client) (*EchoRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("echo-%d", time.Now().UnixNano()), TaskQueue: activities.TaskQueue}, EchoName)
	if err != nil {
		return nil, err
	}
	r := &EchoRun{c: c, run: run}
	if _, err := r.Update(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Update sends one Update, waits for its answer and returns the round trip.
func (r *EchoRun) Update(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	h, err := r.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   r.run.GetID(),
		RunID:        r.run.GetRunID(),
		UpdateName:   EchoUpdate,
		Args:         []any{"alice"},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return 0, err
	}
	var n int
	if err := h.Get(ctx, &n); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	r.sent++
	if n != r.sent {
		return d, fmt.Errorf("echo answered %d to update %d", n, r.sent)
	}
	return d, nil
}

// Finish ends the run and checks it counted every Update.
func (r *EchoRun) Finish(ctx context.Context) error {
	if err := r.c.SignalWorkflow(ctx, r.run.GetID(), r.run.GetRunID(), EchoFinish, nil); err != nil {
		return err
	}
	var total int
	if err := r.run.Get(ctx, &total); err != nil {
		return err
	}
	if total != r.sent {
		return fmt.Errorf("echo counted %d updates, %d were sent", total, r.sent)
	}
	return nil
}

// UpdateRoundTrips measures n Updates on one Echo run.
func UpdateRoundTrips(ctx context.Context, e *Env, n int) (Samples, error) {
	r, err := StartEcho(ctx, e.Client)
	if err != nil {
		return nil, err
	}
	var out Samples
	for range n {
		d, err := r.Update(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, r.Finish(ctx)
}

// ApprovalSamples are repeated approvals to isolation, each next to a bare
// Update.
type ApprovalSamples struct {
	// ToCut is from sending the final sign-off until the first cut starts,
	// taken from the cut's own timestamp (so not waiting for the Update's
	// reply when that comes later).
	ToCut Samples
	// Reply is the final sign-off's own Update round trip.
	Reply Samples
	// Echo is a bare Update round trip sent just before each final
	// sign-off, so load and drift hit both.
	Echo Samples
	// Last is the last incident run, for its history.
	Last incident.Started
}

// ApprovalToIsolation runs n incidents of prep (the ransomware playbook,
// PrepareRansomware) one after the other: start, acknowledge the page, the
// first sign-off, a bare Echo Update, then, timed, the second sign-off until
// the isolation activity starts cutting (after guard three). Each incident
// is ended once measured.
func ApprovalToIsolation(ctx context.Context, e *Env, prep *incident.Prepared, n int) (ApprovalSamples, error) {
	var out ApprovalSamples
	echo, err := StartEcho(ctx, e.Client)
	if err != nil {
		return out, err
	}
	for i := range n {
		p := *prep
		p.Input.IncidentID = fmt.Sprintf("BENCH-%d-%d", time.Now().UnixNano(), i)
		started, err := incident.StartPrepared(ctx, e.Client, &p)
		if err != nil {
			return out, err
		}
		out.Last = started
		id := started.IncidentID
		if _, err := WaitFor(ctx, e.Client, id, "the page waiting", StepIs("page.ot_engineer", workflows.StepWaiting)); err != nil {
			return out, err
		}
		if err := answer(ctx, e.Client, workflows.UpdateAck, id, workflows.Answer{Step: "page.ot_engineer", Person: "dmitri", Channel: workflows.ChannelScript}); err != nil {
			return out, err
		}
		if _, err := WaitFor(ctx, e.Client, id, "the sign-off waiting", StepIs("approval.isolate_ok", workflows.StepWaiting)); err != nil {
			return out, err
		}
		if err := answer(ctx, e.Client, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Channel: workflows.ChannelScript}); err != nil {
			return out, err
		}
		d, err := echo.Update(ctx)
		if err != nil {
			return out, err
		}
		out.Echo = append(out.Echo, d)

		t0 := time.Now()
		if err := answer(ctx, e.Client, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.isolate_ok", Person: "olga", Channel: workflows.ChannelScript}); err != nil {
			return out, err
		}
		out.Reply = append(out.Reply, time.Since(t0))
		cut, err := e.WaitCut(ctx, id)
		if err != nil {
			return out, err
		}
		out.ToCut = append(out.ToCut, cut.At.Sub(t0))
		// The rest of the incident (tasks, a decision) would wait for
		// people.
		if err := terminate(ctx, e.Client, started); err != nil {
			return out, err
		}
	}
	return out, echo.Finish(ctx)
}

// FiftySteps is the plan size of the steps measurement.
const FiftySteps = 50

// CompileGenerated compiles GeneratePlaybook(n, chain) with the built-in
// actions.
func CompileGenerated(n int, chain bool) (*plan.Plan, error) {
	m, diags := playbooks.LoadSource(map[string][]byte{"bench.hcl": []byte(GeneratePlaybook(n, chain))})
	if diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	p, diags := m.Compile(GeneratedPlaybook, actions.Builtin())
	if p == nil || diags.HasErrors() {
		return nil, errors.New(diags.Error())
	}
	return p, nil
}

// StepsSamples are repeated runs of one plan through the interpreter and,
// after each, through HandWritten.
type StepsSamples struct {
	Interpreter, HandWritten Samples
	// LastInterpreter and LastHandWritten are the last runs, for their
	// histories: workflow and run IDs.
	LastInterpreter, LastHandWritten [2]string
}

// Steps runs plan p (of unconditional action steps, as CompileGenerated
// writes) n times as an incident through the interpreter, each followed by
// HandWritten calling the same activities with the same options and inputs
// (parallel: all at once; otherwise in order). Each run is timed from start
// to result.
func Steps(ctx context.Context, e *Env, p *plan.Plan, parallel bool, n int) (StepsSamples, error) {
	var out StepsSamples
	for i := range n {
		started, d, err := InterpreterRun(ctx, e, p, i)
		if err != nil {
			return out, err
		}
		out.Interpreter = append(out.Interpreter, d)
		out.LastInterpreter = [2]string{started.WorkflowID, started.RunID}
		run, d, err := HandWrittenRun(ctx, e, p, parallel, i)
		if err != nil {
			return out, err
		}
		out.HandWritten = append(out.HandWritten, d)
		out.LastHandWritten = [2]string{run.GetID(), run.GetRunID()}
	}
	return out, nil
}

// HandWrittenRun runs HandWritten over plan p to its result (i names the
// run) and returns the run and how long it took.
func HandWrittenRun(ctx context.Context, e *Env, p *plan.Plan, parallel bool, i int) (client.WorkflowRun, time.Duration, error) {
	t0 := time.Now()
	id := fmt.Sprintf("HAND-%d-%d", time.Now().UnixNano(), i)
	in, err := HandInputFor(p, id, parallel)
	if err != nil {
		return nil, 0, err
	}
	run, err := e.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "hand-" + id, TaskQueue: activities.TaskQueue}, HandWrittenName, in)
	if err != nil {
		return nil, 0, err
	}
	var res HandResult
	if err := run.Get(ctx, &res); err != nil {
		return run, 0, err
	}
	if res.Done != len(p.Steps) {
		return run, 0, fmt.Errorf("the hand-written run did %d of %d steps", res.Done, len(p.Steps))
	}
	took := time.Since(t0)
	e.ExplainSlow(ctx, run.GetID(), run.GetRunID(), took)
	return run, took, nil
}

// InterpreterRun runs plan p as an incident to its result (i names it) and
// returns the incident and how long it took.
func InterpreterRun(ctx context.Context, e *Env, p *plan.Plan, i int) (incident.Started, time.Duration, error) {
	t0 := time.Now()
	prep := &incident.Prepared{Plan: p, Input: workflows.IncidentInput{Plan: p, IncidentID: fmt.Sprintf("STEPS-%d-%d", time.Now().UnixNano(), i), Commander: "ines", AcceptUnattested: true}}
	started, err := incident.StartPrepared(ctx, e.Client, prep)
	if err != nil {
		return started, 0, err
	}
	var res workflows.IncidentResult
	if err := e.Client.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, &res); err != nil {
		return started, 0, err
	}
	if res.State != workflows.StateCompleted {
		return started, 0, fmt.Errorf("the interpreter run ended %s", res.State)
	}
	took := time.Since(t0)
	e.ExplainSlow(ctx, started.WorkflowID, started.RunID, took)
	return started, took, nil
}

// History fetches the whole history of a workflow run.
func History(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		return nil, errors.New("empty history")
	}
	return h, nil
}

// HistoryShape counts a history's events and workflow tasks, and lists the
// event types that occur, for reporting.
type HistoryShape struct {
	Events, WorkflowTasks int
	Types                 map[string]int
}

// ShapeOf is the shape of history h.
func ShapeOf(h *historypb.History) HistoryShape {
	s := HistoryShape{Events: len(h.Events), Types: map[string]int{}}
	for _, ev := range h.Events {
		t := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
		s.Types[t]++
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			s.WorkflowTasks++
		}
	}
	return s
}

// String lists the counts, event types sorted.
func (s HistoryShape) String() string {
	keys := make([]string, 0, len(s.Types))
	for k := range s.Types {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, s.Types[k]))
	}
	return fmt.Sprintf("%d events, %d workflow tasks: %s", s.Events, s.WorkflowTasks, strings.Join(parts, " "))
}

// SlowRun is how long one measured run may take before it is treated as a
// stall and its history is explained (ExplainSlow). Runs take well under a
// second; this only catches what is plainly stuck.
const SlowRun = 30 * time.Second

// ExplainSlow notes, for a run that took longer than SlowRun and an Env with
// Logf, the longest gaps between consecutive events of its history and the
// events around them, so a stall (an activity lost until its timeout, a
// task waiting in a queue) can be told from a slow machine.
func (e *Env) ExplainSlow(ctx context.Context, workflowID, runID string, took time.Duration) {
	if took < SlowRun || e.logf == nil {
		return
	}
	h, err := History(ctx, e.Client, workflowID, runID)
	if err != nil {
		e.logf("a run took %v; its history could not be read: %v", took, err)
		return
	}
	e.logf("STALL: %s took %v (%d events); the longest gaps between events:", workflowID, took, len(h.Events))
	for _, line := range LongestGaps(h, 3) {
		e.logf("  %s", line)
	}
}

// LongestGaps describes the n longest gaps between consecutive events of a
// history, longest first.
func LongestGaps(h *historypb.History, n int) []string {
	type gap struct {
		d    time.Duration
		from int
	}
	var gaps []gap
	for i := 1; i < len(h.Events); i++ {
		d := h.Events[i].GetEventTime().AsTime().Sub(h.Events[i-1].GetEventTime().AsTime())
		gaps = append(gaps, gap{d, i - 1})
	}
	sort.SliceStable(gaps, func(a, b int) bool { return gaps[a].d > gaps[b].d })
	var out []string
	for _, g := range gaps[:min(n, len(gaps))] {
		a, b := h.Events[g.from], h.Events[g.from+1]
		out = append(out, fmt.Sprintf("%v between event %d %v and event %d %v", g.d, a.GetEventId(), a.GetEventType(), b.GetEventId(), b.GetEventType()))
	}
	return out
}
