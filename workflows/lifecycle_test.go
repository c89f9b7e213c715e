package workflows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/workflows"
)

const cancelPlaybook = `playbook "p" {
  step "open_room" {
    action = "slack.open_channel"
    with   = { name = "inc-${incident.id}" }
  }
  page "oncall" {
    escalation = escalation.ladder
    message    = "Plant alarm flood"
    needs      = [step.open_room]
  }
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok, page.oncall]
  }
}`

// TestCancelUpdate: cancelling needs a reason and the commander (or the
// break-glass roster); it cancels every open step and ends the incident
// cancelled.
func TestCancelUpdate(t *testing.T) {
	h := newHarness(t)
	noReason := h.answer(1*time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "alice"})
	notCommander := h.answer(2*time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "bob", Reason: "false alarm"})
	h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	cancel := h.answer(4*time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "alice", Reason: "false alarm: a historian backup job", Channel: workflows.ChannelCLI})
	h.run(workflows.IncidentInput{Plan: compile(t, cancelPlaybook), Commander: "alice"})
	refused(t, noReason, "needs a reason")
	refused(t, notCommander, "bob may not cancel", "only its commander (alice)")
	accepted(t, cancel)
	if cancel.Result.StepState != workflows.StateCancelled {
		t.Errorf("cancel result %+v", cancel.Result)
	}
	res := h.result()
	if res.State != workflows.StateCancelled {
		t.Fatalf("state %s", res.State)
	}
	wantStep(t, res.Steps, "step.open_room", workflows.StepDone)
	for _, id := range []string{"page.oncall", "approval.isolate_ok", "step.isolate"} {
		s := wantStep(t, res.Steps, id, workflows.StepCancelled, "the incident was cancelled")
		if h.since(s.FinishedAt) != 4*time.Minute {
			t.Errorf("%s cancelled at +%s", id, h.since(s.FinishedAt))
		}
	}
	tl := h.timeline()
	e := firstEvent(t, tl, workflows.EventCancelled, "")
	if e.Person != "alice" || e.Channel != workflows.ChannelCLI || !strings.Contains(e.Detail, "historian backup") {
		t.Errorf("cancelled event %+v", e)
	}
	if st := h.status(); st.State != workflows.StateCancelled {
		t.Errorf("status %s", st.State)
	}
	// The ladder stopped with the cancel: tier 2 (due at +5m) was never paged.
	if n := len(h.effects(sim.OpPage)); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
	if n := len(h.attempts(sim.OpCut)); n != 0 {
		t.Errorf("%d cuts", n)
	}
}

// TestCancelByBreakGlassRoster: a shift supervisor may cancel too.
func TestCancelByBreakGlassRoster(t *testing.T) {
	h := newHarness(t)
	cancel := h.answer(time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "erin", Reason: "drill ended"})
	h.run(workflows.IncidentInput{Plan: compile(t, cancelPlaybook), Commander: "alice"})
	accepted(t, cancel)
	if res := h.result(); res.State != workflows.StateCancelled {
		t.Errorf("state %s", res.State)
	}
}

// TestCancelWhileActivityRuns: a cancel while an action is in flight cancels
// the activity and the incident ends cancelled.
func TestCancelWhileActivityRuns(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	var once sync.Once
	h.env.SetOnActivityCanceledListener(func(*activity.Info) { once.Do(func() { close(release) }) })
	slow := func(ctx context.Context, in activities.ActionInput) (activities.ActionResult, error) {
		select {
		case <-ctx.Done():
		case <-release:
		}
		return activities.ActionResult{}, temporal.NewCanceledError()
	}
	h.env.RegisterActivityWithOptions(slow, activity.RegisterOptions{Name: "SlackOpenChannel", DisableAlreadyRegisteredCheck: true})
	cancel := &reply{Update: workflows.UpdateCancel, Answer: workflows.Answer{Person: "alice", Reason: "wrong plant"}}
	h.replies = append(h.replies, cancel)
	h.onStart = func(s started) {
		if s.Name == "SlackOpenChannel" {
			h.send(cancel)
		}
	}
	h.run(workflows.IncidentInput{Plan: compile(t, cancelPlaybook), Commander: "alice"})
	accepted(t, cancel)
	res := h.result()
	if res.State != workflows.StateCancelled {
		t.Fatalf("state %s", res.State)
	}
	wantStep(t, res.Steps, "step.open_room", workflows.StepCancelled)
	wantStep(t, res.Steps, "page.oncall", workflows.StepCancelled)
}

// TestTemporalCancel: cancelling the workflow through Temporal cancels every
// open step and ends the incident cancelled, with the timeline saying so.
func TestTemporalCancel(t *testing.T) {
	h := newHarness(t)
	h.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.at(3*time.Minute, func() { h.env.CancelWorkflow() })
	h.run(workflows.IncidentInput{Plan: compile(t, cancelPlaybook), Commander: "alice"})
	res := h.result()
	if res.State != workflows.StateCancelled {
		t.Fatalf("state %s", res.State)
	}
	for _, id := range []string{"page.oncall", "approval.isolate_ok", "step.isolate"} {
		wantStep(t, res.Steps, id, workflows.StepCancelled)
	}
	tl := h.timeline()
	if e := firstEvent(t, tl, workflows.EventCancelled, ""); !strings.Contains(e.Detail, "cancelled through Temporal") {
		t.Errorf("cancelled event %+v", e)
	}
	if e := firstEvent(t, tl, workflows.EventIncidentFinished, ""); e.Detail != workflows.StateCancelled {
		t.Errorf("incident_finished %+v", e)
	}
}

// TestExerciseQueue: an exercise schedules every activity on the exercise
// task queue and marks every outbound message; a live run never uses it.
func TestExerciseQueue(t *testing.T) {
	src := `playbook "p" {
  step "open_room" {
    action = "slack.open_channel"
    with   = { name = "inc-${incident.id}" }
  }
  page "oncall" {
    escalation = escalation.mgmt
    message    = "Drill: alarm flood"
  }
  notify "hello" { message = "exercise is ${incident.exercise}" }
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
}`
	for _, exercise := range []bool{true, false} {
		h := newHarness(t)
		h.answer(time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "gina"})
		h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
		h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "dan"})
		h.run(workflows.IncidentInput{Plan: compile(t, src), Exercise: exercise})
		res := h.result()
		if res.State != workflows.StateCompleted {
			t.Fatalf("exercise=%v: state %s %+v", exercise, res.State, res.Steps)
		}
		if len(h.starts) < 5 {
			t.Errorf("exercise=%v: only %d activity starts", exercise, len(h.starts))
		}
		for _, s := range h.starts {
			if onExercise := s.TaskQueue == activities.ExerciseTaskQueue; onExercise != exercise {
				t.Errorf("exercise=%v: %s ran on task queue %q", exercise, s.Name, s.TaskQueue)
			}
			if s.Action != nil && s.Action.Call.Exercise != exercise {
				t.Errorf("exercise=%v: %s call marked exercise=%v", exercise, s.Name, s.Action.Call.Exercise)
			}
		}
		for _, e := range h.j.Attempts() {
			if e.Exercise != exercise {
				t.Errorf("exercise=%v: journal entry %s %s marked exercise=%v", exercise, e.Op, e.Key, e.Exercise)
			}
			if e.Op == sim.OpNotify || e.Op == sim.OpPage || e.Op == sim.OpPrompt {
				req := decode[activities.DeliverRequest](t, e.Request)
				if strings.HasPrefix(req.Text, activities.ExercisePrefix) != exercise {
					t.Errorf("exercise=%v: %s text %q", exercise, e.Op, req.Text)
				}
			}
		}
		tl := h.timeline()
		if tl.Exercise != exercise {
			t.Errorf("timeline exercise=%v, want %v", tl.Exercise, exercise)
		}
		if says := strings.Contains(firstEvent(t, tl, workflows.EventIncidentStarted, "").Detail, "exercise"); says != exercise {
			t.Errorf("exercise=%v: incident_started says exercise=%v", exercise, says)
		}
	}
}

// TestExerciseOnlyReachesExerciseQueue: with the activities bound to the
// exercise task queue alone, an exercise still completes.
func TestExerciseOnlyReachesExerciseQueue(t *testing.T) {
	h := newHarness(t)
	a := h.acts
	h.env.SetActivityTaskQueue(activities.ExerciseTaskQueue, a.SlackOpenChannel, a.SlackPost, a.IsolateZone, a.Notify, a.Page, a.Prompt)
	h.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "dan"})
	h.run(workflows.IncidentInput{Plan: compile(t, signoffPlaybook), Exercise: true})
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	if n := len(h.effects(sim.OpCut)); n != 1 {
		t.Errorf("%d simulated cuts", n)
	}
}

// TestContinueAsNewKeepsAnswers: once the history passes
// ContinueAfterEvents the incident continues as new, and the next run keeps
// every answer, round, deadline and the timeline.
func TestContinueAsNewKeepsAnswers(t *testing.T) {
	p := compile(t, `playbook "p" {
  step "open_room" {
    action = "slack.open_channel"
    with   = { name = "inc-${incident.id}" }
  }
  approval "isolate_ok" {
    kind    = "safety"
    covers  = [zone.control]
    prompt  = "Isolate?"
    timeout = "30m"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
}`)
	h := newHarness(t)
	h.at(90*time.Second, func() { h.env.SetCurrentHistoryLength(500) })
	bob := h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.run(workflows.IncidentInput{Plan: p, IncidentID: "INC-CAN", Commander: "alice", ContinueAfterEvents: 400})
	accepted(t, bob)
	can, ok := isContinueAsNew(h.env.GetWorkflowError())
	if !ok {
		t.Fatalf("want a continue-as-new, got %v", h.env.GetWorkflowError())
	}
	if can.WorkflowType.Name != workflows.WorkflowName {
		t.Errorf("continues as %q", can.WorkflowType.Name)
	}
	var next workflows.IncidentInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Carry == nil || next.IncidentID != "INC-CAN" || next.Commander != "alice" {
		t.Fatalf("carried input %+v", next)
	}
	end := h.env.Now()

	// The second run, on a fresh worker.
	h2 := newHarness(t)
	h2.env.SetStartTime(end)
	h2.env.SetContinuedExecutionRunID("run-1")
	first := h2.statusAt(time.Second)
	dup := h2.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	carol := h2.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h2.run(next)
	refused(t, dup, "bob has already approved")
	accepted(t, carol)
	if first.Runs != 2 {
		t.Errorf("runs %d, want 2", first.Runs)
	}
	ap := stepOf(t, first.Steps, "approval.isolate_ok")
	if ap.State != workflows.StepWaiting || len(ap.Approvals) != 1 || ap.Approvals[0].Person != "bob" {
		t.Errorf("approval after the hand-over: %+v", ap)
	}
	res := h2.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	starts := h2.activityStarts("IsolateZone")
	if len(starts) != 1 {
		t.Fatalf("%d isolations", len(starts))
	}
	so := starts[0].Action.Call.Signoff
	if len(so.Approvers) != 2 || so.Approvers[0].Person != "bob" || so.Approvers[1].Person != "carol" {
		t.Errorf("sign-off %+v", so)
	}
	// Nothing done in the first run was done again.
	if n := len(h2.attempts(sim.OpOpenChannel)); n != 0 {
		t.Errorf("the second run opened the channel again (%d attempts)", n)
	}
	if n := len(h2.attempts(sim.OpPrompt)); n != 0 {
		t.Errorf("the second run prompted again (%d attempts)", n)
	}
	tl := h2.timeline()
	for _, kind := range []string{workflows.EventIncidentStarted, workflows.EventApproved, workflows.EventContinuedAsNew, workflows.EventIncidentFinished} {
		if len(events(tl, kind, "")) == 0 {
			t.Errorf("no %s event after the hand-over:\n%s", kind, dump(tl))
		}
	}
	if n := len(events(tl, workflows.EventIncidentStarted, "")); n != 1 {
		t.Errorf("%d incident_started events, want 1", n)
	}
	for i, e := range tl.Events {
		if e.Seq != i+1 {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
	}
}

// TestContinueAsNewSuggested: the server's suggestion is honoured too, and
// a ladder in progress carries on where it was in the next run.
func TestContinueAsNewSuggested(t *testing.T) {
	h := newHarness(t)
	h.at(7*time.Minute, func() { h.env.SetContinueAsNewSuggested(true) })
	h.run(workflows.IncidentInput{Plan: compile(t, pagePlaybook), IncidentID: "INC-L"})
	can, ok := isContinueAsNew(h.env.GetWorkflowError())
	if !ok {
		t.Fatalf("want a continue-as-new, got %v", h.env.GetWorkflowError())
	}
	var next workflows.IncidentInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	h2 := newHarness(t)
	h2.env.SetStartTime(h.env.Now())
	h2.env.SetContinuedExecutionRunID("run-1")
	ack := h2.answer(time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "gina"})
	h2.run(next)
	accepted(t, ack)
	res := h2.result()
	wantStep(t, res.Steps, "page.oncall", workflows.StepDone, "gina")
	// Tier 2 was paged in the first run; the second did not page it again.
	if n := len(h2.attempts(sim.OpPage)); n != 0 {
		t.Errorf("%d pages in the second run", n)
	}
}

// TestBadInput: no plan, or a required input left out, is a non-retryable
// BadInput error that says what is missing.
func TestBadInput(t *testing.T) {
	p := compile(t, `playbook "p" {
  input "zone" { type = string }
  input "hosts" {
    type    = list(string)
    default = []
  }
  step "post" {
    action   = "slack.post"
    for_each = input.hosts
    with     = { text = "${each.value} in ${input.zone}" }
  }
}`)
	for _, c := range []struct {
		name string
		in   workflows.IncidentInput
		want string
	}{
		{"no plan", workflows.IncidentInput{}, "no plan"},
		{"missing input", workflows.IncidentInput{Plan: p, Inputs: map[string]any{"hosts": []any{"a"}}}, "playbook p needs input zone (string)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.run(c.in)
			var ae *temporal.ApplicationError
			if err := h.env.GetWorkflowError(); err == nil || !asApp(err, &ae) || ae.Type() != "BadInput" || !ae.NonRetryable() || !strings.Contains(ae.Message(), c.want) {
				t.Errorf("error %v, want BadInput containing %q", err, c.want)
			}
			if len(h.starts) != 0 {
				t.Errorf("%d activities ran", len(h.starts))
			}
		})
	}
}

// TestDeliveryFailures: a notify that cannot be delivered fails without
// holding up its dependants; a prompt or page that cannot be delivered is in
// the timeline, and answers are still taken.
func TestDeliveryFailures(t *testing.T) {
	p := compile(t, `playbook "p" {
  notify "hello" { message = "Incident ${incident.id} opened" }
  step "after" {
    action = "slack.post"
    with   = { text = "after the notice" }
    needs  = [notify.hello]
  }
  page "oncall" {
    escalation = escalation.mgmt
    message    = "Alarm flood"
  }
  approval "ok" {
    approvers = [roster.ot_operations]
    prompt    = "Proceed?"
  }
}`)
	h := newHarness(t)
	h.twin.FailWhen(func(op, key string) error {
		if op == sim.OpNotify || op == sim.OpPage || op == sim.OpPrompt {
			return errors.New("slack is down")
		}
		return nil
	})
	ack := h.answer(3*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "gina"})
	ok := h.answer(time.Hour, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "carol"})
	h.run(workflows.IncidentInput{Plan: p})
	accepted(t, ack)
	accepted(t, ok)
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Errorf("state %s: %+v", res.State, res.Steps)
	}
	wantStep(t, res.Steps, "notify.hello", workflows.StepFailed, "could not deliver", "slack is down")
	wantStep(t, res.Steps, "step.after", workflows.StepDone)
	tl := h.timeline()
	if e := firstEvent(t, tl, workflows.EventStepFailed, "page.oncall"); !strings.Contains(e.Detail, "page delivery failed") {
		t.Errorf("page failure event %+v", e)
	}
	if e := firstEvent(t, tl, workflows.EventStepFailed, "approval.ok"); !strings.Contains(e.Detail, "answers are still accepted") {
		t.Errorf("prompt failure event %+v", e)
	}
	if n := len(h.attempts(sim.OpNotify)); n != 10 {
		t.Errorf("%d notify attempts, want 10", n)
	}
}

// TestAnswerBeforeAsked: an answer to a step that has not been asked yet is
// refused and says what is waiting.
func TestAnswerBeforeAsked(t *testing.T) {
	h := newHarness(t)
	early := h.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "alice", Reason: "test over"})
	h.run(workflows.IncidentInput{Plan: compile(t, `playbook "p" {
  page "oncall" {
    escalation = escalation.ladder
    message    = "Alarm flood"
  }
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    needs  = [page.oncall]
  }
}`), Commander: "alice"})
	refused(t, early, "approval.isolate_ok is not waiting for answers: it is pending")
}

// TestPagingGoesOnWhileDraining: once continue-as-new is due, the run waits
// for in-flight actions before handing over, but its escalation ladder keeps
// paging meanwhile; people are never left unpaged for the hand-over.
func TestPagingGoesOnWhileDraining(t *testing.T) {
	p := compile(t, `playbook "p" {
  page "oncall" {
    escalation = escalation.ladder
    message    = "Plant alarm flood"
  }
  step "contain" {
    action = "edr.contain_host"
    with   = { host = "ws-1" }
    retry {
      attempts = 3
      backoff  = "20m"
    }
  }
  task "report" {
    assign       = roster.compliance
    instructions = "File the report"
  }
}`)
	h := newHarness(t)
	h.twin.FailNext(sim.OpContain, 2)
	h.at(time.Minute, func() { h.env.SetCurrentHistoryLength(500) })
	h.run(workflows.IncidentInput{Plan: p, IncidentID: "INC-D", ContinueAfterEvents: 400})
	if _, ok := isContinueAsNew(h.env.GetWorkflowError()); !ok {
		t.Fatalf("want a continue-as-new, got %v", h.env.GetWorkflowError())
	}
	var at []time.Duration
	for _, s := range h.activityStarts(activities.PageActivity) {
		at = append(at, h.since(s.At))
	}
	// The ladder: tier 1 at 0, tier 2 at +5m, then again at +15m and +20m,
	// all while the containment retries until +40m.
	want := []time.Duration{0, 5 * time.Minute, 15 * time.Minute, 20 * time.Minute}
	if !slices.Equal(at, want) {
		t.Errorf("pages at %v, want %v", at, want)
	}
	if d := h.since(h.env.Now()); d < 40*time.Minute {
		t.Errorf("handed over at +%s, before the containment finished at +40m", d)
	}
}
