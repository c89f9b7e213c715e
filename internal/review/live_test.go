package review_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/review"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestFromLiveExercise: a live run's incident, its wall times at a scale
// of 600, is reported on the exercise clock, marked as a live exercise,
// with the scenario's injects among its events and its wall times kept.
func TestFromLiveExercise(t *testing.T) {
	t0 := time.Date(2026, time.December, 1, 14, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	at := exercise.Duration(10 * time.Minute)
	res := &exercise.LiveResult{
		Result: exercise.Result{Exercise: "drill", Playbook: "live_drill", Commander: "hiro", State: workflows.StateCompleted,
			Duration: exercise.Duration(11 * time.Minute),
			Objectives: []exercise.ObjectiveResult{
				{Name: "contain", Of: "step.isolate", Within: exercise.Duration(30 * time.Minute), Met: true, At: &at, State: workflows.StepDone},
			},
			Timeline: []exercise.Entry{{At: exercise.Duration(5 * time.Minute), Step: "inject.hmi", Event: exercise.EventInject, Detail: "HMI freezes"}},
		},
		IncidentID: "INC-20261201-ABCD", TimeScale: 600,
		Status: workflows.Status{IncidentID: "INC-20261201-ABCD", Playbook: "live_drill", State: workflows.StateCompleted, Commander: "hiro",
			Exercise: true, Unattested: true, StartedAt: t0,
			Steps: []workflows.StepStatus{{ID: "step.isolate", Kind: "step", State: workflows.StepDone, StartedAt: sec(0.5), FinishedAt: sec(1)}}},
		Incident: workflows.Timeline{IncidentID: "INC-20261201-ABCD", Playbook: "live_drill", Events: []workflows.Event{
			{Seq: 1, At: t0, Kind: workflows.EventIncidentStarted, Person: "hiro"},
			{Seq: 2, At: sec(0.5), Kind: workflows.EventStepStarted, Step: "step.isolate"},
			{Seq: 3, At: sec(1), Kind: workflows.EventStepFinished, Step: "step.isolate", Detail: "done"},
			{Seq: 4, At: sec(1.1), Kind: workflows.EventIncidentFinished},
		}},
	}
	r := review.FromLiveExercise(res, review.ExerciseOptions{Date: reportDate})
	if r.Kind != review.KindExercise || r.Name != "drill" || r.Live == nil || r.Live.TimeScale != 600 || r.Live.IncidentID != res.IncidentID {
		t.Fatalf("review %s %q, live %+v", r.Kind, r.Name, r.Live)
	}
	var got []string
	for _, e := range r.Timeline {
		got = append(got, exercise.Clock(time.Duration(e.At))+" "+e.Kind)
	}
	want := []string{"T+00:00:00 incident_started", "T+00:05:00 inject", "T+00:05:00 step_started", "T+00:10:00 step_finished", "T+00:11:00 incident_finished"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("timeline %q, want %q", got, want)
	}
	for _, e := range r.Timeline {
		if e.Kind == workflows.EventStepFinished && !e.Wall.Equal(sec(1)) {
			t.Errorf("the step's end has wall time %s, want %s", e.Wall, sec(1))
		}
	}
	if time.Duration(r.Duration) != 11*time.Minute {
		t.Errorf("duration %s, want 11m", time.Duration(r.Duration))
	}
	if len(r.Objectives) != 1 || r.Objectives[0].Rating != review.RatingP {
		t.Errorf("objectives %+v", r.Objectives)
	}
	// The result keeps its wall times.
	if !res.Incident.Events[2].At.Equal(sec(1)) || !res.Status.Steps[0].FinishedAt.Equal(sec(1)) {
		t.Errorf("FromLiveExercise changed the result's times")
	}
	var md, html bytes.Buffer
	if err := review.WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := review.WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"A live run with real people (exercise clock 600 times the wall clock)", "live, incident INC-20261201-ABCD", "| Channel |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{"A live run with real people", "live, incident INC-20261201-ABCD", "<th>Channel</th>"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(md.String(), "automated") {
		t.Errorf("a live run's report says automated:\n%s", md.String())
	}
}
