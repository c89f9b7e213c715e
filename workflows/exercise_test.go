package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// realEDR stands for a real actuator adapter (an EDR that would contain
// a host for real): it records every request that reaches it.
type realEDR struct {
	mu      sync.Mutex
	reached []activities.ContainRequest
}

func (d *realEDR) Contain(_ context.Context, req activities.ContainRequest) (activities.ContainResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reached = append(d.reached, req)
	return activities.ContainResponse{Contained: true}, nil
}

const exerciseGuardPlaybook = `playbook "exercise_guard" {` + exerciseGuardSteps + `}`

const exerciseGuardSteps = `
  step "room" {
    action = "slack.open_channel"
    with   = { name = "inc-${incident.id}", invite = [roster.oncall] }
  }
  notify "tell" {
    message = "containing ws-eng-07"
    needs   = [step.room]
  }
  notify "tell_oncall" {
    message = "containment under way"
    to      = [roster.oncall]
  }
  step "contain" {
    action = "edr.contain_host"
    with   = { host = "ws-eng-07" }
  }
  step "post" {
    action = "slack.post"
    with   = { text = "ws-eng-07 is contained" }
    needs  = [step.contain]
  }
`

// TestExerciseCannotReachARealActuator makes an exercise reach a "real"
// actuator (a real EDR adapter registered, the exercise flag set on the
// request) three ways, each with the other two checks off or bypassed,
// and shows that each check stops it on its own; with all three off, the
// control run reaches the adapter, so the test can fail.
//
//   - The adapter guard (check three): the real adapter is registered on
//     the exercise queue's worker (check one's twins-only construction
//     bypassed); the workflow routes correctly, so check two lets it
//     through; the adapter is behind activities.RealOnly, which refuses.
//   - The workflow (check two): a routing fault sends the exercise's
//     activities to the live queue, whose worker has the real adapter
//     unguarded and no exercise refusal; interpreter v8 refuses the
//     incident before scheduling anything.
//   - The live worker (check one): the same routing fault on an
//     interpreter without check two (v7); the worker runs
//     activities.LiveWorkerInterceptor, which refuses the call before any
//     activity code runs.
//
// The test environment has one worker; each case says which worker it
// stands for, and the task queue each activity was scheduled on is
// checked.
func TestExerciseCannotReachARealActuator(t *testing.T) {
	cases := []struct {
		name string
		// route is where the workflow routes the exercise's activities.
		route string
		// v7 runs interpreter v7, which has no check two.
		v7 bool
		// liveRefusal puts the live worker's interceptor on the worker.
		liveRefusal bool
		// guarded puts the real adapter behind activities.RealOnly.
		guarded bool
		// wantQueue is where ContainHost was scheduled ("" for nowhere).
		wantQueue string
		// stoppedBy is the error type that stopped it ("" for reached).
		stoppedBy string
	}{
		{name: "adapter guard", route: activities.ExerciseTaskQueue, guarded: true,
			wantQueue: activities.ExerciseTaskQueue, stoppedBy: activities.ErrExerciseReachedReal},
		{name: "workflow", route: activities.TaskQueue,
			stoppedBy: workflows.ErrExerciseRefused},
		{name: "live worker", route: activities.TaskQueue, v7: true, liveRefusal: true,
			wantQueue: activities.TaskQueue, stoppedBy: activities.ErrExerciseOnLiveWorker},
		{name: "control, all three off", route: activities.TaskQueue, v7: true,
			wantQueue: activities.TaskQueue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer workflows.SetExerciseQueueForTest(c.route)()
			h := newHarness(t)
			edr := &realEDR{}
			h.acts.EDR = edr
			if c.guarded {
				h.acts.EDR = activities.RealOnly(edr).EDR
			}
			if c.liveRefusal {
				h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{activities.LiveWorkerInterceptor()}})
			}
			if c.v7 {
				h.env.OnGetVersion(workflows.InterpreterChange, workflow.DefaultVersion, workflows.InterpreterMax).Return(workflows.InterpreterV7)
			}
			h.run(workflows.IncidentInput{Plan: compile(t, exerciseGuardPlaybook), IncidentID: "EX-GUARD", Exercise: true})

			var queues []string
			for _, s := range h.activityStarts("ContainHost") {
				queues = append(queues, s.TaskQueue)
				if s.Action == nil || !s.Action.Call.Exercise {
					t.Errorf("ContainHost was scheduled without the exercise flag: %+v", s.Action)
				}
			}
			switch {
			case c.wantQueue == "" && len(queues) > 0:
				t.Errorf("ContainHost was scheduled on %v; want nothing scheduled", queues)
			case c.wantQueue != "" && (len(queues) == 0 || queues[0] != c.wantQueue):
				t.Errorf("ContainHost was scheduled on %v; want %s", queues, c.wantQueue)
			}
			if c.stoppedBy == "" {
				if len(edr.reached) != 1 || !edr.reached[0].Exercise {
					t.Fatalf("control: the real adapter was reached %d times (%+v); with every check off it must be, or this test proves nothing", len(edr.reached), edr.reached)
				}
				return
			}
			if len(edr.reached) != 0 {
				t.Fatalf("the real actuator was reached: %+v", edr.reached)
			}
			if c.stoppedBy == workflows.ErrExerciseRefused {
				var ae *temporal.ApplicationError
				if err := h.env.GetWorkflowError(); !errors.As(err, &ae) || ae.Type() != c.stoppedBy {
					t.Fatalf("the incident ended with %v; want it refused with %s", err, c.stoppedBy)
				}
				if len(h.starts) != 0 {
					t.Errorf("the refused exercise scheduled %d activities", len(h.starts))
				}
				return
			}
			res := h.result()
			st := stepStatus(t, res, "step.contain")
			if st.State != workflows.StepFailed {
				t.Fatalf("step.contain is %s (%s); want failed", st.State, st.Reason)
			}
			if !strings.Contains(st.Reason, "nothing was done") {
				t.Errorf("step.contain's reason does not say nothing was done: %s", st.Reason)
			}
			checkStoppedBy(t, h, c.stoppedBy)
		})
	}
}

// checkStoppedBy checks which check's message the step failed with.
func checkStoppedBy(t *testing.T, h *harness, errType string) {
	t.Helper()
	want := map[string]string{
		activities.ErrExerciseReachedReal:  "an exercise reached the real actuator",
		activities.ErrExerciseOnLiveWorker: "refused on the live worker",
	}[errType]
	st := stepStatus(t, h.result(), "step.contain")
	if !strings.Contains(st.Reason, want) {
		t.Errorf("step.contain failed with %q; want the %s refusal (%q)", st.Reason, errType, want)
	}
	for _, e := range h.timeline().Events {
		if e.Kind == workflows.EventStepFailed && e.Step == "step.contain" && strings.Contains(e.Detail, want) {
			return
		}
	}
	t.Errorf("the timeline does not record step.contain failing with the %s refusal", errType)
}

func stepStatus(t *testing.T, res workflows.IncidentResult, id string) workflows.StepStatus {
	t.Helper()
	for _, s := range res.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s in the result", id)
	return workflows.StepStatus{}
}

// TestExerciseMessagesAreMarked: every outbound message of an exercise
// run, as the simulation journal recorded it, carries the exercise flag,
// and every text meant for people (message, topic, alert summary, settled
// outcome, status title) starts with activities.ExercisePrefix.
func TestExerciseMessagesAreMarked(t *testing.T) {
	h := newHarness(t)
	h.run(workflows.IncidentInput{Plan: compile(t, `playbook "marks" {`+exerciseGuardSteps+`
  step "alert" {
    action = "pagerduty.trigger"
    with   = { summary = "ws-eng-07 is encrypting files" }
  }
  task "confirm" {
    instructions = "Confirm ws-eng-07 is off the network"
    assign       = roster.oncall
    timeout      = "5m"
  }
}`), IncidentID: "EX-MARKS", Exercise: true})
	_ = h.result()
	texts := 0
	for _, e := range h.j.Attempts() {
		if !e.Exercise {
			t.Errorf("%s (%s) is not flagged as an exercise", e.Op, e.Key)
		}
		var req map[string]any
		if err := json.Unmarshal(e.Request, &req); err != nil {
			t.Fatalf("%s: %v", e.Op, err)
		}
		for _, f := range []string{"text", "topic", "summary", "outcome", "title"} {
			s, _ := req[f].(string)
			if s == "" {
				continue
			}
			texts++
			if !strings.HasPrefix(s, activities.ExercisePrefix) {
				t.Errorf("%s (%s): %s %q is not marked %q", e.Op, e.Key, f, s, activities.ExercisePrefix)
			}
		}
	}
	if texts < 6 {
		t.Errorf("only %d texts in the journal; the run did not send what this test checks", texts)
	}
}

// TestExerciseStartMustBeForAnExercise: check two at the start. An
// exercise whose start was signed for a real incident, and a real incident
// whose start was signed for an exercise, fail at once with
// ErrExerciseRefused and do nothing; a start signed for what the incident
// is runs.
func TestExerciseStartMustBeForAnExercise(t *testing.T) {
	cases := []struct {
		name             string
		exercise, signed bool // what the incident is; what its start was signed for
		refused          bool
	}{
		{"exercise signed as real", true, false, true},
		{"real signed as exercise", false, true, true},
		{"exercise signed as exercise", true, true, false},
		{"real signed as real", false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			k := newSigner(t, "person.ic")
			p := compile(t, `playbook "p" {
  notify "hello" { message = "hello" }
}`)
			trust(p, k)
			in := workflows.IncidentInput{Plan: p, IncidentID: "INC-1", Commander: "ic", Exercise: c.exercise}
			digest, err := plan.StartDigest(p, nil)
			if err != nil {
				t.Fatal(err)
			}
			opt := ""
			if c.signed {
				opt = workflows.ExerciseOption
			}
			in.Start = k.Sign(attest.Claim{Incident: in.IncidentID, Step: workflows.StartStep(p.Playbook), Person: "ic",
				Answer: attest.Start, Option: opt, ReasonSHA256: digest, Channel: workflows.ChannelCLI}, h.env.Now())
			h.run(in)
			err = h.env.GetWorkflowError()
			if !c.refused {
				if err != nil {
					t.Fatalf("a start signed for what the incident is was refused: %v", err)
				}
				return
			}
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != workflows.ErrExerciseRefused || !strings.Contains(ae.Message(), "signed for") {
				t.Fatalf("got %v, want the start refused with %s", err, workflows.ErrExerciseRefused)
			}
			if len(h.starts) != 0 || len(h.j.Attempts()) != 0 {
				t.Errorf("the refused incident scheduled %d activities", len(h.starts))
			}
		})
	}
}

// TestExerciseRefusesAMisroutedActivity: check two where an activity is
// scheduled. Routing goes wrong after the start (the start's own check
// passed): the action about to run on the live queue is not scheduled,
// the step fails saying why, and the real adapter on that queue, with no
// other check in the way, is not reached.
func TestExerciseRefusesAMisroutedActivity(t *testing.T) {
	h := newHarness(t)
	edr := &realEDR{}
	h.acts.EDR = edr
	restore := func() {}
	defer func() { restore() }()
	h.at(time.Minute, func() { restore = workflows.SetExerciseQueueForTest(activities.TaskQueue) })
	h.answer(2*time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.confirm", Person: "frank"})
	h.run(workflows.IncidentInput{Plan: compile(t, `playbook "p" {
  task "confirm" {
    instructions = "Confirm ws-eng-07 may be contained"
    assign       = roster.oncall
  }
  step "contain" {
    action = "edr.contain_host"
    with   = { host = "ws-eng-07" }
    needs  = [task.confirm]
  }
}`), IncidentID: "EX-ROUTE", Exercise: true})
	st := stepStatus(t, h.result(), "step.contain")
	if st.State != workflows.StepFailed || !strings.Contains(st.Reason, "nothing was scheduled") {
		t.Errorf("step.contain is %s (%s); want failed, nothing scheduled", st.State, st.Reason)
	}
	if n := len(h.activityStarts("ContainHost")); n != 0 || len(edr.reached) != 0 {
		t.Errorf("ContainHost was scheduled %d times and the adapter reached %d times", n, len(edr.reached))
	}
	if n := len(h.activityStarts(activities.PromptActivity)); n != 1 {
		t.Errorf("the task was prompted %d times before routing went wrong, want 1", n)
	}
}
