package review_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/review"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestFindings derives the findings of a run that went badly: a page that
// climbed to tier 2, a task nobody answered, a sign-off that waited long
// on one roster, an objective met late and one with little to spare.
func TestFindings(t *testing.T) {
	m := func(n int) exercise.Duration { return exercise.Duration(time.Duration(n) * time.Minute) }
	at := func(n int) *exercise.Duration { d := m(n); return &d }
	res := &exercise.Result{Exercise: "bad", Playbook: "pb", Commander: "hiro", State: "completed", Duration: m(90),
		Objectives: []exercise.ObjectiveResult{
			{Name: "contain", Of: "step.isolate", Within: m(30), At: at(40), State: "done"},
			{Name: "tight", Of: "approval.ok", Within: m(20), At: at(19), Met: true, State: "done"},
			{Name: "report", Of: "task.call", Within: m(60), State: "timed_out"},
		},
		Timeline: []exercise.Entry{
			{At: 0, Step: "page.oncall", Event: workflows.EventPaged, Detail: "escalation.oncall tier 1: dmitri; ack within 5m0s"},
			{At: 0, Step: "task.call", Event: workflows.EventStepStarted, Detail: "asking kate"},
			{At: m(5), Step: "page.oncall", Event: workflows.EventEscalated, Detail: "no acknowledgement; escalation.oncall tier 2, round 1"},
			{At: m(5), Step: "page.oncall", Event: workflows.EventPaged, Detail: "escalation.oncall tier 2: olga; ack within 5m0s"},
			{At: m(7), Step: "page.oncall", Event: workflows.EventAcknowledged, Who: "olga"},
			{At: m(10), Step: "approval.ok", Event: workflows.EventStepStarted, Detail: "asking alice, dmitri"},
			{At: m(11), Step: "approval.ok", Event: workflows.EventApproved, Who: "dmitri", Roster: "roster.ot_operations"},
			{At: m(19), Step: "approval.ok", Event: workflows.EventApproved, Who: "alice", Roster: "roster.process_safety"},
			{At: m(60), Step: "task.call", Event: workflows.EventTimedOut},
		},
		Steps: []exercise.StepResult{
			{ID: "page.oncall", State: "done", At: at(7)},
			{ID: "approval.ok", State: "done", At: at(19)},
			{ID: "step.isolate", State: "done", At: at(40)},
			{ID: "task.call", State: "timed_out", Reason: "nobody answered within 1h", At: at(60)},
		},
	}
	rv := review.FromExercise(res, review.ExerciseOptions{})
	var ratings []string
	for _, o := range rv.Objectives {
		ratings = append(ratings, o.Rating)
	}
	if got := strings.Join(ratings, ""); got != "UMU" {
		t.Errorf("ratings %s, want UMU", got)
	}
	var issues []string
	for _, it := range rv.Improvements {
		issues = append(issues, it.Element+": "+it.Issue)
	}
	all := strings.Join(issues, "\n")
	for _, want := range []string{
		"planning: Objective contain not met: step.isolate done at T+00:40:00, 10m after its limit of 30m.",
		"training: Objective tight met with 1m to spare",
		"planning: Objective report not met: task.call never finished done (timed_out).",
		"organisation: Escalation of page.oncall reached tier 2 of escalation.oncall before olga acknowledged, 7m after the first page.",
		"organisation: The sign-off approval.ok waited 9m on roster.process_safety (alice approved at T+00:19:00).",
		"training: Nobody answered task.call (it ended timed_out).",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("improvements lack %q; they are:\n%s", want, all)
		}
	}
	if len(rv.Strengths) != 0 {
		t.Errorf("strengths in a run with none: %q", rv.Strengths)
	}
	if len(rv.Escalations) != 1 || rv.Measures[0].At == nil || *rv.Measures[0].At != review.Duration(7*time.Minute) {
		t.Errorf("escalations %d, time to acknowledge %v", len(rv.Escalations), rv.Measures[0].At)
	}
}

// TestResponsibleForAction: a missed objective on an action names the
// rosters of the sign-offs guarding it as responsible.
func TestResponsibleForAction(t *testing.T) {
	o := library(t)
	res, err := exercise.Run(o, libraryExercise, exercise.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	late := exercise.Duration(45 * time.Minute)
	res.Objectives[0].At, res.Objectives[0].Met = &late, false // contain: step.isolate within 30m
	sc, _ := o.Module.Scenario(libraryExercise)
	p, _ := o.Plan(sc.Playbook)
	rv := review.FromExercise(res, review.ExerciseOptions{Scenario: sc, Plan: p})
	if len(rv.Improvements) == 0 || !strings.HasPrefix(rv.Improvements[0].Issue, "Objective contain not met") {
		t.Fatalf("improvements: %+v", rv.Improvements)
	}
	if got := rv.Improvements[0].Responsible; !strings.Contains(got, "roster.process_safety") || !strings.Contains(got, "roster.ot_operations") {
		t.Errorf("responsible for step.isolate: %q, want the rosters of approval.isolate_ok", got)
	}
}
