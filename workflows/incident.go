package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Interpreter versions, recorded with workflow.GetVersion so that a change to
// how plans are interpreted never breaks an incident that is already running.
// Add a constant and raise interpreterMax for every change in behaviour, and
// branch on r.version where the behaviour differs.
const (
	interpreterChange = "firebreak-interpreter"
	// interpreterV1 is the first durable interpreter.
	interpreterV1 = 1
	// interpreterV2 refuses to start without the plan's required inputs;
	// fails an action whose break-glass override the activity refused
	// instead of running it again (and again); and asks for a sign-off
	// again after a guard-three refusal only when the refused sign-off is
	// still the approval's latest.
	interpreterV2 = interpreterV1 + 1
	// interpreterV3 keeps one timer for the next deadline across wake-ups
	// and cancels it when the deadline changes, instead of starting a new
	// timer every time the loop waits (the old ones fired later for nothing).
	interpreterV3 = interpreterV2 + 1
	// interpreterV4 holds a break-glass override to the approval's
	// valid_for like any sign-off (it used to stay good for every later
	// action on the zone) and asks again when it has gone stale; keeps
	// escalation ladders paging while the run waits to continue as new;
	// lets on_failure = "continue" cover a for_each that cannot be
	// evaluated and an action this worker lacks; and starts each round of
	// an approval with nobody paged yet.
	interpreterV4 = interpreterV3 + 1
	// interpreterV5 refuses, at the start, a plan it cannot run: a step of
	// a kind it does not run or without its kind's settings, a need that is
	// not an earlier step, an escalation tier with no ack_within or a ladder
	// longer than the compiler allows, and carried state that does not fit
	// the plan (the incident fails with a BadPlan error instead of spinning
	// until Temporal's deadlock detector fires or hanging); and refuses
	// answers whose texts are over the rule book's limits (a reason over
	// 2,000 characters, an option or ID over 200, a channel over 40) before
	// any other check.
	interpreterV5 = interpreterV4 + 1
	// interpreterV6 makes sign-offs attributable and the audit trail
	// unforgeable: a fresh incident needs a commander, a start attestation
	// that verifies against the plan's keys (or AcceptUnattested), and a
	// commander its may_start allows; the validator refuses answers whose
	// attestation is missing, untrusted, replayed, altered or outside the
	// window, and answers to a round given as 0 when attested; answers the
	// rules refuse are accepted by the validator and recorded as refusals
	// by the handler (evidence), while the refused signal counts only when
	// a front door the plan trusts signed it; refusals are counted per
	// person and code and only the latest are kept in full; approval events
	// name the roster they finally count for; and activities are handed the
	// attestations guard three verifies again against the worker's keys
	// (and each zone's safe_state, which it compares with the worker's);
	// and fails an action the plan did not guard when guard three refuses
	// it for want of a sign-off (asking again cannot mend that); and
	// refuses carried state that continue-as-new did not hand over.
	interpreterV6 = interpreterV5 + 1
	// interpreterV7 keeps the incident room: it records the channel a
	// slack.open_channel step opened (later messages go there, and pages
	// and prompts are posted there too), keeps its pinned status message
	// current with at most one update in flight, settles every message a
	// step posted once the step stops taking answers, records delivery
	// failures in the timeline, offers
	// break-glass on safety sign-off prompts, and reads the rosters filled
	// from chat user groups when the incident starts, recording the
	// snapshot its quorums go by.
	interpreterV7 = interpreterV6 + 1
	// interpreterV8 keeps an exercise off the plant (check two of three):
	// an exercise schedules no activity on any task queue but the
	// exercise queue (an activity about to be is failed instead, and an
	// exercise whose activities would be routed elsewhere fails at the
	// start), and an incident whose start attestation was signed for an
	// exercise when it is not one, or the other way round, fails at the
	// start.
	interpreterV8 = interpreterV7 + 1
	// interpreterV9 holds distinct_from: an approval is refused
	// (SameApprover) from anyone who approved, in any round, an approval it
	// must be distinct from (either way), and a safety-critical activity is
	// handed who approved every other approval of the plan, so guard three
	// can refuse the same people too.
	interpreterV9  = interpreterV8 + 1
	interpreterMax = interpreterV9
)

// exerciseQueue is where activityContext and roomContext route an
// exercise's activities. Check two compares what is about to be scheduled
// with activities.ExerciseTaskQueue itself, not with this, so a fault in
// routing is caught; tests stand for such a fault by changing it.
var exerciseQueue = activities.ExerciseTaskQueue

// Activity defaults when a step does not say.
const (
	defaultActionTimeout  = 5 * time.Minute
	defaultActionAttempts = 3
	deliveryTimeout       = 30 * time.Second
	deliveryAttempts      = 10
)

// Incident runs one compiled playbook as a durable incident: the step graph
// in dependency order with independent steps in parallel, people answering
// through updates, and the safety interlock's second guard in front of every
// safety-critical action.
func Incident(ctx workflow.Context, in IncidentInput) (IncidentResult, error) {
	r, err := setup(ctx, in)
	if err != nil {
		return IncidentResult{}, err
	}
	return r.run(ctx)
}

// runner is the state of one run of the interpreter.
type runner struct {
	in      IncidentInput
	plan    *plan.Plan
	dir     *directory
	c       *Carry
	byID    map[string]int // step ID -> index in plan.Steps and c.Steps
	logger  log.Logger
	version workflow.Version

	dirty bool // something changed; the main loop should look again
	// timer is the one timer for the next deadline (interpreter v3), due at
	// timerAt; cancelTimer cancels it.
	timer       workflow.Future
	timerAt     time.Time
	cancelTimer workflow.CancelFunc
	inflight    int  // activities dispatched and not yet finished
	draining    bool // continue-as-new is due: start no new step or action
	// cancelActs cancels every activity in flight when the incident is cancelled.
	actCtx     workflow.Context
	cancelActs workflow.CancelFunc
	// refused receives SignalRefused.
	refused workflow.ReceiveChannel
	// keys are the keys the plan says the organisation trusts (v6).
	keys *attest.Keyring
	// roomCtx is the context of room activities (settling messages,
	// status updates), not cancelled with the actions (v7).
	roomCtx workflow.Context
	// statusInflight is set while a status update runs; statusSent is
	// the digest of the last status published.
	statusInflight bool
	statusSent     string
	// settles are the messages to settle once the loop has scheduled
	// what is ready (see flushRoom).
	settles []activities.SettleInput
}

// setup validates the input, restores or creates the state and registers the
// update, signal and query handlers.
func setup(ctx workflow.Context, in IncidentInput) (*runner, error) {
	if in.Plan == nil || len(in.Plan.Steps) == 0 {
		return nil, temporal.NewNonRetryableApplicationError("the incident has no plan, or the plan has no steps", "BadInput", nil)
	}
	if in.IncidentID == "" {
		in.IncidentID = IncidentIDFromWorkflowID(workflow.GetInfo(ctx).WorkflowExecution.ID)
	}
	r := &runner{
		in:     in,
		plan:   in.Plan,
		dir:    newDirectory(in.Plan),
		logger: workflow.GetLogger(ctx),
		byID:   map[string]int{},
	}
	r.version = workflow.GetVersion(ctx, interpreterChange, workflow.DefaultVersion, interpreterMax)
	if r.version >= interpreterV8 {
		if err := r.checkExerciseStart(); err != nil {
			return nil, err
		}
	}
	if r.version >= interpreterV2 && in.Carry == nil {
		if missing := missingInputs(in); len(missing) > 0 {
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("playbook %s needs input %s; start the incident with a value for each", in.Plan.Playbook, strings.Join(missing, ", ")), "BadInput", nil)
		}
	}
	if r.version >= interpreterV5 {
		if err := checkPlan(in.Plan); err != nil {
			return nil, err
		}
	}
	if r.version >= interpreterV6 {
		r.keys, _ = attest.NewKeyring(in.Plan.Keys)
		if in.Carry == nil {
			if err := r.checkStart(ctx); err != nil {
				return nil, err
			}
		} else if err := checkContinued(ctx); err != nil {
			return nil, err
		}
	}
	for i, s := range in.Plan.Steps {
		r.byID[s.ID] = i
	}
	if in.Carry != nil {
		r.c = in.Carry
		r.c.Runs++
		if len(r.c.Steps) != len(in.Plan.Steps) {
			return nil, temporal.NewNonRetryableApplicationError("carried state does not match the plan", "BadInput", nil)
		}
		if r.version >= interpreterV5 {
			if err := checkCarry(in.Plan, r.c); err != nil {
				return nil, err
			}
		}
	} else {
		r.c = newCarry(in.Plan, workflow.Now(ctx))
		ev := Event{Kind: EventIncidentStarted, Person: in.Commander, Detail: r.startDetail()}
		if r.version >= interpreterV6 {
			ev.Attestation = in.Start
			ev.Unattested = in.Start == nil
			if in.Start != nil {
				ev.Channel = in.Start.Channel
			}
		}
		r.event(ctx, ev)
	}
	r.actCtx, r.cancelActs = workflow.WithCancel(ctx)
	r.roomCtx, _ = workflow.NewDisconnectedContext(ctx)
	if r.version >= interpreterV8 {
		if err := r.checkExerciseRoute(); err != nil {
			return nil, err
		}
	}
	if r.version >= interpreterV7 {
		r.applyGroups()
	}

	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return r.status(), nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryTimeline, func() (Timeline, error) { return r.timeline(), nil }); err != nil {
		return nil, err
	}
	for _, name := range Updates {
		name := name
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, a Answer) (AnswerResult, error) { return r.apply(ctx, name, a) },
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, a Answer) error {
				rf := r.validate(ctx, name, a)
				if rf != nil {
					observeRefused(ctx, string(rf.Code), a.Channel)
				}
				return refuse(rf)
			}})
		if err != nil {
			return nil, err
		}
	}
	r.refused = workflow.GetSignalChannel(ctx, SignalRefused)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var rf Refusal
			if !r.refused.Receive(ctx, &rf) {
				return
			}
			r.recordRefusal(ctx, rf)
		}
	})
	return r, nil
}

// checkContinued refuses carried state that continue-as-new did not hand
// over (interpreter v6). Anyone who can reach the namespace can start a
// run with carried state of their own, and such a run skips the start
// check: its plan, commander and timeline would be whatever the starter
// wrote. Only the server sets the run a run continues (a client's start
// cannot), and a cron or retry run, which the server starts with the
// first run's input again, is refused too.
func checkContinued(ctx workflow.Context) error {
	info := workflow.GetInfo(ctx)
	if info.ContinuedExecutionRunID == "" || info.CronSchedule != "" || info.Attempt > 1 {
		return temporal.NewNonRetryableApplicationError(
			"the incident was started with carried state, which only a continue-as-new of a running incident hands over; start an incident without it (firebreak run)",
			ErrBadPlan, nil)
	}
	return nil
}

// missingInputs lists the plan's required inputs the run was not given, as
// "NAME (TYPE)".
func missingInputs(in IncidentInput) []string {
	var out []string
	for _, pi := range in.Plan.Inputs {
		if _, ok := in.Inputs[pi.Name]; pi.Required && !ok {
			out = append(out, fmt.Sprintf("%s (%s)", pi.Name, pi.Type))
		}
	}
	return out
}

// drainRefusals records refusals signalled but not yet received, so none
// is lost when the run ends or continues as new.
func (r *runner) drainRefusals(ctx workflow.Context) {
	for {
		var rf Refusal
		if !r.refused.ReceiveAsync(&rf) {
			return
		}
		r.recordRefusal(ctx, rf)
	}
}

// startDetail is the detail of the incident_started event.
func (r *runner) startDetail() string {
	detail := "playbook " + r.plan.Playbook
	if r.in.Exercise {
		detail += " (exercise: simulated actuators only)"
	}
	return detail
}

// run is the main loop: start what is ready, then wait for an answer, an
// activity or the next deadline.
func (r *runner) run(ctx workflow.Context) (IncidentResult, error) {
	r.resolveGroups(ctx)
	for {
		r.advance(ctx)
		if r.refreshGroups(ctx) {
			continue
		}
		r.flushRoom()
		r.publishStatus()
		if r.finished() {
			break
		}
		if r.shouldContinueAsNew(ctx) {
			r.draining = true
		}
		if r.draining && r.inflight == 0 {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return r.cancelled(ctx, err)
			}
			r.drainRefusals(ctx)
			r.event(ctx, Event{Kind: EventContinuedAsNew, Detail: fmt.Sprintf("history reached %d events; run %d continues with every answer so far", workflow.GetInfo(ctx).GetCurrentHistoryLength(), r.c.Runs+2)})
			next := r.in
			next.Carry = r.c
			return IncidentResult{}, workflow.NewContinueAsNewError(ctx, WorkflowName, next)
		}
		r.dirty = false
		var err error
		if r.version >= interpreterV3 {
			err = r.sleep(ctx)
		} else {
			wake := func() bool { return r.dirty }
			if d, ok := r.nextDeadline(ctx); ok {
				_, err = workflow.AwaitWithTimeout(ctx, d, wake)
			} else {
				err = workflow.Await(ctx, wake)
			}
		}
		if err != nil {
			return r.cancelled(ctx, err)
		}
	}
	// Let answers that arrived with the last change finish before closing.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	r.drainRefusals(ctx)
	res := r.result()
	r.event(ctx, Event{Kind: EventIncidentFinished, Detail: res.State})
	r.upsertState(ctx, res.State)
	return res, nil
}

// cancelled handles the workflow being cancelled through Temporal itself
// (rather than the cancel update): every open step is marked cancelled.
func (r *runner) cancelled(ctx workflow.Context, cause error) (IncidentResult, error) {
	if !temporal.IsCanceledError(cause) {
		return IncidentResult{}, cause
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if r.c.Cancel == nil {
		r.c.Cancel = &Answer{Reason: "cancelled through Temporal", Channel: "temporal"}
		r.c.CancelledAt = workflow.Now(dctx)
		r.event(dctx, Event{Kind: EventCancelled, Detail: "the workflow was cancelled through Temporal"})
	}
	r.cancelOpen(dctx)
	if r.version >= interpreterV7 {
		// Let the cancelled steps' messages be closed and the status say so.
		r.flushRoom()
		r.publishStatus()
		_ = workflow.Await(dctx, func() bool { return r.inflight == 0 })
	}
	r.drainRefusals(dctx)
	res := r.result()
	r.event(dctx, Event{Kind: EventIncidentFinished, Detail: res.State})
	r.upsertState(dctx, res.State)
	return res, nil
}

func (r *runner) shouldContinueAsNew(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	if info.GetContinueAsNewSuggested() {
		return true
	}
	return r.in.ContinueAfterEvents > 0 && info.GetCurrentHistoryLength() >= r.in.ContinueAfterEvents
}

// finished reports whether every step is in a final state and nothing is in flight.
func (r *runner) finished() bool {
	if r.inflight > 0 {
		return false
	}
	for _, st := range r.c.Steps {
		if !terminal(st.State) {
			return false
		}
	}
	return true
}

func (r *runner) result() IncidentResult {
	return IncidentResult{State: r.finalState(), BreakGlass: r.c.BreakGlass, Steps: r.stepStatuses()}
}

// finalState is the incident's state once every step is final: cancelled,
// failed when a step failed (without on_failure = continue) or timed out,
// otherwise completed. A denied approval is a normal outcome.
func (r *runner) finalState() string {
	if r.c.Cancel != nil {
		return StateCancelled
	}
	for _, st := range r.c.Steps {
		if (st.State == StepFailed && !st.Continued) || st.State == StepTimedOut {
			return StateFailed
		}
	}
	return StateCompleted
}

// event appends to the timeline.
func (r *runner) event(ctx workflow.Context, e Event) {
	r.c.Seq++
	e.Seq = r.c.Seq
	if e.At.IsZero() {
		e.At = workflow.Now(ctx)
	}
	r.c.Events = append(r.c.Events, e)
	r.logger.Info("incident event", "kind", e.Kind, "step", e.Step, "person", e.Person, "detail", e.Detail)
}

func (r *runner) recordRefusal(ctx workflow.Context, rf Refusal) {
	if r.version >= interpreterV6 {
		// Anyone who can reach the namespace can send this signal: it
		// counts only when a front door the plan trusts signed it.
		if !r.frontDoorRefusal(ctx, rf) {
			r.logger.Warn("ignored a refusal signal that no trusted front door signed", "step", rules.Clip(rf.Answer.Step, 80))
			return
		}
		if r.replayedRefusal(rf.Attestation) != nil {
			r.logger.Warn("ignored a refusal signal already on record", "step", rules.Clip(rf.Answer.Step, 80))
			return
		}
		a := rf.Answer
		a.Attestation = rf.Attestation
		// The front door signs the refusal, not the refused answer's
		// option and reason: only what it signed goes on record.
		a.Option, a.Reason = "", ""
		r.recordRefused(ctx, rf.Update, a, &rules.Refusal{Code: rules.Code(rf.Code), Message: rf.Message})
		return
	}
	if r.c.Refusals >= MaxRefusals {
		return
	}
	r.c.Refusals++
	if r.version >= interpreterV5 {
		// Anyone who can reach the namespace can send this signal: bound
		// what it writes into the timeline.
		rf.Update = rules.Clip(rf.Update, 40)
		rf.Message = rules.Clip(rf.Message, rules.MaxRefusalMessage)
		rf.Answer.Step = rules.Clip(rf.Answer.Step, rules.MaxID)
		rf.Answer.Person = rules.Clip(rf.Answer.Person, rules.MaxID)
		rf.Answer.Channel = rules.Clip(rf.Answer.Channel, 40)
	}
	detail := fmt.Sprintf("%s refused: %s", rf.Update, rf.Message)
	if r.c.Refusals == MaxRefusals {
		detail += fmt.Sprintf(" (the timeline records no more than %d refusals)", MaxRefusals)
	}
	r.event(ctx, Event{Kind: EventRefused, Step: rf.Answer.Step, Person: rf.Answer.Person, Channel: rf.Answer.Channel, Detail: detail})
	r.dirty = true
}

// upsertState keeps the FirebreakState and FirebreakBreakGlass search
// attributes current, when the incident was started with them.
func (r *runner) upsertState(ctx workflow.Context, state string) {
	sa := workflow.GetTypedSearchAttributes(ctx)
	var updates []temporal.SearchAttributeUpdate
	stateKey := temporal.NewSearchAttributeKeyKeyword(SearchState)
	if v, ok := sa.GetKeyword(stateKey); ok && v != state {
		updates = append(updates, stateKey.ValueSet(state))
	}
	bgKey := temporal.NewSearchAttributeKeyBool(SearchBreakGlass)
	if v, ok := sa.GetBool(bgKey); ok && v != r.c.BreakGlass {
		updates = append(updates, bgKey.ValueSet(r.c.BreakGlass))
	}
	if len(updates) == 0 {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		r.logger.Warn("could not update search attributes", "error", err)
	}
}

// nextDeadline is the time until the earliest timer the loop must wake for.
func (r *runner) nextDeadline(ctx workflow.Context) (time.Duration, bool) {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, st := range r.c.Steps {
		if terminal(st.State) {
			continue
		}
		consider(st.Deadline)
		consider(st.WaitUntil)
		if l := st.Ladder; l != nil && l.Sent && !l.Exhausted && l.AckedBy == "" {
			consider(l.Deadline)
		}
	}
	if next.IsZero() {
		return 0, false
	}
	d := next.Sub(workflow.Now(ctx))
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d, true
}

// sleep waits until something changes or the next deadline passes. One
// timer stands for the next deadline; it is kept while that deadline stays
// the same and cancelled when it moves.
func (r *runner) sleep(ctx workflow.Context) error {
	d, ok := r.nextDeadline(ctx)
	at := workflow.Now(ctx).Add(d)
	if r.timer != nil && (!ok || !at.Equal(r.timerAt)) {
		r.cancelTimer()
		r.timer = nil
	}
	if ok && r.timer == nil {
		tctx, cancel := workflow.WithCancel(ctx)
		r.timer, r.timerAt, r.cancelTimer = workflow.NewTimer(tctx, d), at, cancel
	}
	err := workflow.Await(ctx, func() bool { return r.dirty || (r.timer != nil && r.timer.IsReady()) })
	if r.timer != nil && r.timer.IsReady() {
		r.timer = nil
	}
	return err
}

// ---- advancing the graph ----

// advance starts every step whose needs are met and moves every waiting
// step on, until nothing more changes.
func (r *runner) advance(ctx workflow.Context) {
	for changed := true; changed; {
		changed = false
		for i := range r.plan.Steps {
			if r.step(ctx, &r.plan.Steps[i], r.c.Steps[i]) {
				changed = true
			}
		}
	}
}

// step moves one step on; it reports whether anything changed.
func (r *runner) step(ctx workflow.Context, s *plan.Step, st *StepState) bool {
	if terminal(st.State) {
		return false
	}
	if r.c.Cancel != nil {
		r.finish(ctx, s, st, StepCancelled, "the incident was cancelled")
		return true
	}
	if st.State == StepPending {
		return r.begin(ctx, s, st)
	}
	if ops := kinds[s.Kind]; ops != nil {
		return ops.tick(r, ctx, s, st)
	}
	return false
}

// begin decides, once a step's needs are final, whether it runs or is skipped.
func (r *runner) begin(ctx workflow.Context, s *plan.Step, st *StepState) bool {
	for _, n := range s.Needs {
		ns := r.state(n)
		if ns == nil {
			continue
		}
		if !terminal(ns.State) {
			return false
		}
	}
	for _, n := range s.Needs {
		ns := r.state(n)
		if ns == nil || ns.State == StepDone || (ns.State == StepFailed && ns.Continued) {
			continue
		}
		r.finish(ctx, s, st, StepSkipped, fmt.Sprintf("needs %s, which %s", n, describeOutcome(ns)))
		return true
	}
	if r.draining {
		return false
	}
	if s.When != nil {
		v, err := s.When.Eval(r.scope(nil))
		if err != nil {
			r.finish(ctx, s, st, StepSkipped, fmt.Sprintf("could not evaluate when (%s): %v", s.When.Source, err))
			return true
		}
		if b, ok := v.(bool); !ok || !b {
			r.finish(ctx, s, st, StepSkipped, fmt.Sprintf("when is false: %s", s.When.Source))
			return true
		}
	}
	ops := kinds[s.Kind]
	if ops == nil {
		// Only an interpreter before v5 gets here (v5 refuses such a plan
		// at the start); it never finished a workflow task on one.
		return false
	}
	st.StartedAt = workflow.Now(ctx)
	return ops.begin(r, ctx, s, st)
}

func describeOutcome(ns *StepState) string {
	switch ns.State {
	case StepDenied:
		if ns.DeniedBy != "" {
			return fmt.Sprintf("was denied by %s (%s)", ns.DeniedBy, ns.AnswerNote)
		}
		return "was denied"
	case StepSkipped:
		return "was skipped"
	case StepFailed:
		return "failed"
	case StepTimedOut:
		return "timed out"
	case StepCancelled:
		return "was cancelled"
	}
	return "is " + ns.State
}

func (r *runner) state(id string) *StepState {
	i, ok := r.byID[id]
	if !ok {
		return nil
	}
	return r.c.Steps[i]
}

// finish puts a step into a final state and records it.
func (r *runner) finish(ctx workflow.Context, s *plan.Step, st *StepState, state, reason string) {
	st.State = state
	st.Reason = reason
	st.FinishedAt = workflow.Now(ctx)
	st.Deadline = time.Time{}
	kind := EventStepFinished
	switch state {
	case StepSkipped:
		kind = EventStepSkipped
	case StepFailed:
		kind = EventStepFailed
	case StepTimedOut:
		kind = EventTimedOut
	case StepCancelled:
		kind = EventCancelled
	}
	detail := state
	if reason != "" {
		detail += ": " + reason
	}
	r.event(ctx, Event{Kind: kind, Step: s.ID, Detail: detail, BreakGlass: st.BreakGlass != nil})
	r.settleStep(s, st)
}

// cancelOpen marks every open step cancelled (after a cancel).
func (r *runner) cancelOpen(ctx workflow.Context) {
	r.cancelActs()
	for i := range r.plan.Steps {
		st := r.c.Steps[i]
		if !terminal(st.State) {
			r.finish(ctx, &r.plan.Steps[i], st, StepCancelled, "the incident was cancelled")
		}
	}
}

// ---- expressions ----

// scope builds the values expressions may read.
func (r *runner) scope(each *Each) map[string]any {
	inputs := map[string]any{}
	for _, in := range r.plan.Inputs {
		if v, ok := r.in.Inputs[in.Name]; ok {
			inputs[in.Name] = v
		} else if !in.Required {
			inputs[in.Name] = in.Default
		}
	}
	sc := map[string]any{
		"input": inputs,
		"incident": map[string]any{
			"id":         r.in.IncidentID,
			"commander":  r.in.Commander,
			"exercise":   r.in.Exercise,
			"title":      r.plan.Title,
			"severity":   r.plan.Severity,
			"playbook":   r.plan.Playbook,
			"started_at": timeString(r.c.StartedAt),
		},
	}
	for _, k := range plan.StepKinds {
		sc[string(k)] = map[string]any{}
	}
	for i := range r.plan.Steps {
		s := &r.plan.Steps[i]
		st := r.c.Steps[i]
		if st.State == StepPending {
			continue
		}
		v := map[string]any{"status": st.State, "started_at": timeString(st.StartedAt)}
		if terminal(st.State) {
			v["finished_at"] = timeString(st.FinishedAt)
		}
		if ops := kinds[s.Kind]; ops != nil {
			ops.results(s, st, v)
		}
		if m, ok := sc[string(s.Kind)].(map[string]any); ok {
			m[s.Name] = v
		}
	}
	if each != nil {
		sc["each"] = map[string]any{"key": each.Key, "value": each.Value}
	}
	return sc
}

func evalString(e *plan.Expr, scope map[string]any) (string, error) {
	if e == nil {
		return "", nil
	}
	v, err := e.Eval(scope)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	}
	return fmt.Sprint(v), nil
}

// ---- activities ----

// activityContext returns the context activities of this incident run with:
// the exercise task queue for exercises.
func (r *runner) activityContext(opts workflow.ActivityOptions) workflow.Context {
	if r.in.Exercise {
		opts.TaskQueue = exerciseQueue
	}
	return workflow.WithActivityOptions(r.actCtx, opts)
}

func deliveryOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: deliveryTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    deliveryAttempts,
		},
	}
}

// launch runs an activity in a coroutine and calls done with its outcome,
// then wakes the main loop.
func (r *runner) launch(ctx workflow.Context, actx workflow.Context, name string, arg any, result any, done func(workflow.Context, error)) {
	r.inflight++
	if err := r.checkRoute(actx, name); err != nil {
		// Check two: nothing is scheduled; the step fails as if the
		// activity had refused.
		workflow.Go(ctx, func(gctx workflow.Context) {
			r.inflight--
			done(gctx, err)
			r.dirty = true
		})
		return
	}
	f := workflow.ExecuteActivity(actx, name, arg)
	workflow.Go(ctx, func(gctx workflow.Context) {
		err := f.Get(gctx, result)
		r.inflight--
		done(gctx, err)
		r.dirty = true
	})
}

func (r *runner) call(s *plan.Step, st *StepState) activities.Call {
	c := activities.Call{IncidentID: r.in.IncidentID, Step: s.ID, Exercise: r.in.Exercise, Round: st.Round}
	if st.Round <= 1 {
		c.Round = 0
	}
	r.identify(&c)
	return c
}

// identify hands an activity who started the incident and their signed
// start (interpreter v6), which a worker that requires attestations checks
// before it does anything.
func (r *runner) identify(c *activities.Call) {
	if r.version >= interpreterV6 {
		c.Playbook = r.plan.Playbook
		c.Commander = r.in.Commander
		c.Start = r.in.Start
	}
	if r.version >= interpreterV7 && r.c.Room != nil {
		room := *r.c.Room
		c.Room = &room
	}
}

func (r *runner) dispatchNotify(ctx workflow.Context, s *plan.Step, st *StepState) {
	text, err := evalString(s.Notify.Message, r.scope(nil))
	if err != nil {
		st.Continued = true
		r.finish(ctx, s, st, StepFailed, fmt.Sprintf("could not build the message: %v", err))
		return
	}
	in := activities.NotifyInput{Call: r.call(s, st), Text: text}
	in.Call.Action = "notify"
	var who []string
	for _, to := range s.Notify.To {
		if to == plan.NotifyIncidentChannel {
			in.IncidentChannel = true
			continue
		}
		who = append(who, to)
	}
	in.To = r.dir.recipients(r.dir.Expand(who))
	var res activities.NotifyResult
	r.launch(ctx, r.activityContext(deliveryOptions()), activities.NotifyActivity, in, &res, func(ctx workflow.Context, err error) {
		if st.State != StepRunning {
			return
		}
		if err != nil {
			st.Continued = true
			r.finish(ctx, s, st, StepFailed, "could not deliver: "+errorMessage(err))
			return
		}
		r.event(ctx, Event{Kind: EventNotified, Step: s.ID, Detail: fmt.Sprintf("delivered to %d%s", res.Delivered, simulated(res.Simulated))})
		r.noteMessages(ctx, s, st, nil, res.Failed)
		r.finish(ctx, s, st, StepDone, "")
	})
}

func simulated(b bool) string {
	if b {
		return " (simulated)"
	}
	return ""
}

// errorMessage returns the message of an activity error without Temporal's wrapping.
func errorMessage(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Message()
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "timed out (" + te.TimeoutType().String() + ")"
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		return "cancelled"
	}
	return err.Error()
}

func errorType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}
