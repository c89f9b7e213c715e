package exercise_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/workflows"
)

func TestCheckLive(t *testing.T) {
	o := library(t)
	sc, err := o.Module.Scenario("plant3_ransomware_ttx")
	if err != nil {
		t.Fatal(err)
	}
	if err := exercise.CheckLive(sc); err != nil {
		t.Errorf("the library exercise, which sets no state, is refused: %v", err)
	}
	sc, err = o.Module.Scenario(notSafeExercise)
	if err != nil {
		t.Fatal(err)
	}
	err = exercise.CheckLive(sc)
	if err == nil {
		t.Fatal("an exercise whose injects set simulated state is accepted for a live run")
	}
	for _, want := range []string{`inject "first_alert"`, "hist-dmz-01", `inject "pig_launch"`, "register 40001", "without --live"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
}

// TestLiveInputs: the scenario's inputs, written as --input values, read
// back by the CLI's parser as the same values.
func TestLiveInputs(t *testing.T) {
	o := library(t)
	sc, err := o.Module.Scenario("plant3_ransomware_ttx")
	if err != nil {
		t.Fatal(err)
	}
	args, err := exercise.LiveInputs(sc)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`hosts=["ws-eng-07","hist-dmz-01"]`, `zone="plant3_dmz"`}; !reflect.DeepEqual(args, want) {
		t.Errorf("LiveInputs = %q, want %q", args, want)
	}
	p, diags := o.Plan(sc.Playbook)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	got, err := incident.ParseInputs(p, args)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sc.Inputs) {
		t.Errorf("read back as %#v, want %#v", got, sc.Inputs)
	}
}

func TestCheckTimeScale(t *testing.T) {
	for _, x := range []float64{0.5, 1, 600, 3600} {
		if err := exercise.CheckTimeScale(x); err != nil {
			t.Errorf("%v refused: %v", x, err)
		}
	}
	for _, x := range []float64{0, -1, 3600.5} {
		if err := exercise.CheckTimeScale(x); err == nil {
			t.Errorf("%v accepted", x)
		}
	}
}

// TestLiveLineHostile: what people and playbooks wrote cannot move the
// cursor, clear the screen or start a line of its own.
func TestLiveLineHostile(t *testing.T) {
	line := exercise.LiveLine(exercise.Entry{At: exercise.Duration(90 * time.Second), Step: "inject.x\x1b[2J", Event: "inject",
		Who: "mallory\r\nT+00:00:00  step.isolate", Detail: "text\x1b]8;;http://evil\x07link\u202e" + strings.Repeat("x", 10)})
	if strings.ContainsAny(line, "\x1b\r\n\x07\u202e") {
		t.Errorf("control characters survive: %q", line)
	}
	if !strings.HasPrefix(line, "T+00:01:30  ") {
		t.Errorf("line %q does not start with the exercise clock", line)
	}
}

func TestWriteLiveSummary(t *testing.T) {
	at := exercise.Duration(12 * time.Minute)
	res := &exercise.LiveResult{
		Result: exercise.Result{Exercise: "x", Commander: "hiro", State: workflows.StateRunning, Duration: exercise.Duration(20 * time.Minute),
			Objectives: []exercise.ObjectiveResult{
				{Name: "fast", Of: "step.a", Within: exercise.Duration(15 * time.Minute), Met: true, At: &at, State: workflows.StepDone},
				{Name: "slow", Of: "task.b", Within: exercise.Duration(time.Hour), State: workflows.StepWaiting},
			}},
		IncidentID: "INC-20261201-AAAA", TimeScale: 60, Interrupted: true, Undelivered: 2,
	}
	var b strings.Builder
	if err := exercise.WriteLiveSummary(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"2 injects not told: following stopped before their times.",
		"Objectives (so far: the incident still runs):",
		"fast: met, step.a within 15m0s, done at T+00:12:00",
		"slow: not met yet, task.b within 1h0m0s, not done (waiting)",
		"Stopped following at T+00:20:00; incident INC-20261201-AAAA is still running",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	res.Interrupted, res.State, res.Undelivered = false, workflows.StateCompleted, 0
	b.Reset()
	if err := exercise.WriteLiveSummary(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"slow: NOT MET, task.b within 1h0m0s, never finished done (waiting)", "Incident INC-20261201-AAAA completed at T+00:20:00 on the exercise clock."} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "not told") {
		t.Errorf("untold injects reported when there are none:\n%s", b.String())
	}
}
