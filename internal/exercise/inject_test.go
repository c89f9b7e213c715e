package exercise_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	pblibrary "github.com/firebreak-ir/firebreak/playbooks/library"
	"github.com/firebreak-ir/firebreak/workflows"
)

const notSafeExercise = "plant3_not_safe_ttx"

// libraryFiles is the built-in library as files, for tests that edit it.
func libraryFiles() map[string]string {
	files := map[string]string{}
	for name, src := range pblibrary.Sources() {
		files[filepath.Base(name)] = string(src)
	}
	return files
}

func stepsOf(res *exercise.Result) map[string]exercise.StepResult {
	out := map[string]exercise.StepResult{}
	for _, s := range res.Steps {
		out[s.ID] = s
	}
	return out
}

func entries(res *exercise.Result, keep func(exercise.Entry) bool) []string {
	var out []string
	for _, e := range res.Timeline {
		if keep(e) {
			out = append(out, exercise.Clock(time.Duration(e.At))+" "+e.Step+" "+e.Event+" "+e.Who)
		}
	}
	return out
}

// TestLibraryNotSafeExercise plays the library's second exercise: the
// golden timeline, and the isolation refused as PlantNotSafe.
func TestLibraryNotSafeExercise(t *testing.T) {
	res, out := runText(t, library(t), notSafeExercise, exercise.DefaultSeed)
	golden(t, "plant3_not_safe_ttx.seed1.txt", out)
	if res.State != workflows.StateFailed {
		t.Errorf("state %s, want failed (the isolation is refused)", res.State)
	}
	for _, want := range []string{
		"webhook.edr did not confirm containment of hist-dmz-01",
		"[sets: the EDR does not confirm containment of hist-dmz-01]",
		"[sets: register 40001 on modbus.plant3_plc reads 0]",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the timeline lacks %q", want)
		}
	}
}

// TestInjectMakesPlantNotSafe: an inject at 10m sets the safe_state
// register to 0 while the sign-off is still being collected, so the
// isolation that follows is refused (PlantNotSafe) and nothing is cut;
// the same exercise without the inject isolates.
func TestInjectMakesPlantNotSafe(t *testing.T) {
	files := libraryFiles()
	res, err := exercise.Run(loadDir(t, files), notSafeExercise, exercise.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	steps := stepsOf(res)
	signoff, iso := steps["approval.isolate_ok"], steps["step.isolate"]
	if signoff.State != workflows.StepDone || signoff.At == nil || time.Duration(*signoff.At) <= 10*time.Minute {
		t.Fatalf("sign-off %+v, want done after the inject at 10m", signoff)
	}
	if iso.State != workflows.StepFailed || !strings.Contains(iso.Reason, "plant3_control is not in its safe state: register 40001 on modbus.plant3_plc reads 0, expected 1; nothing was cut") {
		t.Errorf("isolation %s: %s; want failed as not safe", iso.State, iso.Reason)
	}
	if c := res.Objectives[0]; c.Name != "contain" || c.Met || c.State != workflows.StepFailed {
		t.Errorf("contain objective %+v, want not met (failed)", c)
	}

	const set = `    set_register = { integration = "modbus.plant3_plc", register = 40001, value = 0 }` + "\n"
	if !strings.Contains(files["exercises.hcl"], set) {
		t.Fatal("the library's second exercise has no set_register to remove")
	}
	files["exercises.hcl"] = strings.Replace(files["exercises.hcl"], set, "", 1)
	res, err = exercise.Run(loadDir(t, files), notSafeExercise, exercise.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	iso = stepsOf(res)["step.isolate"]
	if iso.State != workflows.StepDone || !strings.Contains(iso.Reason, "isolated plant3_control") {
		t.Errorf("without the inject the isolation is %s: %s; want done", iso.State, iso.Reason)
	}
	if c := res.Objectives[0]; !c.Met {
		t.Errorf("without the inject the contain objective is %+v, want met", c)
	}
}

// deliveryOrg: ann acknowledges pages at once and does her task a minute
// after it reaches her, unless an inject keeps her messages from her.
func deliveryOrg(injects string) string {
	src := strings.Replace(ladderOrg, `  responder "ben" { acknowledges_after = "2m" }`, `  responder "ben" { acknowledges_after = "2m" }
  responder "ann" {
    acknowledges_after = "1m"
    answers {
      task  = task.report
      with  = "done"
      after = "1m"
    }
  }
`+injects, 1)
	return src
}

// TestInjectFailsDelivery: an inject that fails delivery to ann makes her
// page go unanswered, so the ladder climbs to ben, and the timeline
// records the failed delivery; a later inject restores delivery, and the
// task then put to her is done.
func TestInjectFailsDelivery(t *testing.T) {
	run := func(injects string) *exercise.Result {
		t.Helper()
		res, err := exercise.Run(loadDir(t, map[string]string{"org.hcl": deliveryOrg(injects)}), "x", exercise.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	keep := func(e exercise.Entry) bool {
		switch e.Event {
		case workflows.EventAcknowledged, workflows.EventEscalated, workflows.EventDeliveryFailed, workflows.EventTimedOut, workflows.EventTaskDone, exercise.EventInject:
			return e.Step != "inject.late"
		}
		return false
	}
	// Without the inject ann acknowledges at once.
	if got, want := strings.Join(entries(run(""), keep), "\n"), "T+00:01:00 page.oncall acknowledged ann\nT+00:02:00 task.report task_done ann"; got != want {
		t.Errorf("without the inject:\n%s\nwant:\n%s", got, want)
	}

	res := run(`  inject "phone_dead" {
    at            = "0m"
    message       = "Ann's phone is dead"
    fail_delivery = [person.ann]
  }
`)
	want := []string{
		"T+00:00:00 inject.phone_dead inject ",
		"T+00:00:00 page.oncall delivery_failed ",
		"T+00:05:00 page.oncall escalated ",
		"T+00:07:00 page.oncall acknowledged ben",
		"T+00:07:00 task.report delivery_failed ",
		"T+00:37:00 task.report timed_out ",
	}
	if got := entries(res, keep); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("with the inject:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range res.Timeline {
		if e.Event == workflows.EventDeliveryFailed && !strings.Contains(e.Detail, "person.ann: not delivered (simulated delivery failure)") {
			t.Errorf("delivery_failed says %q", e.Detail)
		}
		if e.Step == "inject.phone_dead" && e.Detail != "Ann's phone is dead [sets: messages to ann fail]" {
			t.Errorf("inject line %q", e.Detail)
		}
	}

	// Delivery restored at 6m: the page (at 0m) stays unanswered, the
	// task (at 7m) reaches her.
	res = run(`  inject "phone_dead" {
    at            = "0m"
    message       = "Ann's phone is dead"
    fail_delivery = [person.ann]
  }
  inject "phone_back" {
    at            = "6m"
    message       = "Ann has borrowed a phone"
    fail_delivery = false
  }
`)
	want = []string{
		"T+00:00:00 inject.phone_dead inject ",
		"T+00:00:00 page.oncall delivery_failed ",
		"T+00:05:00 page.oncall escalated ",
		"T+00:06:00 inject.phone_back inject ",
		"T+00:07:00 page.oncall acknowledged ben",
		"T+00:08:00 task.report task_done ann",
	}
	if got := entries(res, keep); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("with delivery restored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestInjectChatDown: after fail_delivery = true nobody is reached.
func TestInjectChatDown(t *testing.T) {
	src := deliveryOrg(`  inject "outage" {
    at            = "0m"
    message       = "Slack is down"
    fail_delivery = true
  }
`)
	res, err := exercise.Run(loadDir(t, map[string]string{"org.hcl": src}), "x", exercise.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Nobody is reached, so the ladder climbs past ben too and the page
	// times out with nobody acknowledging.
	for _, e := range res.Timeline {
		if e.Event == workflows.EventAcknowledged || e.Event == workflows.EventTaskDone {
			t.Errorf("someone was reached: %+v", e)
		}
	}
	if s := stepsOf(res)["page.oncall"]; s.State != workflows.StepTimedOut {
		t.Errorf("page %+v, want timed out", s)
	}
	if !strings.Contains(res.Timeline[0].Detail, "[sets: no message reaches anyone]") {
		t.Errorf("inject line %q", res.Timeline[0].Detail)
	}
}

// TestInjectLineNamesTenPeople: a delivery failure to a large roster
// names ten people in the inject's line and counts the rest.
func TestInjectLineNamesTenPeople(t *testing.T) {
	var b strings.Builder
	var members []string
	for i := 0; i < 12; i++ {
		fmt.Fprintf(&b, "person \"p%02d\" {}\n", i)
		members = append(members, fmt.Sprintf("person.p%02d", i))
	}
	fmt.Fprintf(&b, `roster "all" { members = [%s] }
playbook "p" {
  may_start = [person.p00]
  notify "hello" {
    to      = [roster.all]
    message = "hello"
  }
}
exercise "x" {
  playbook = playbook.p
  inject "down" {
    at            = "0m"
    message       = "phones down"
    fail_delivery = [roster.all]
  }
}
`, strings.Join(members, ", "))
	res, err := exercise.Run(loadDir(t, map[string]string{"org.hcl": b.String()}), "x", exercise.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "phones down [sets: messages to p00, p01, p02, p03, p04, p05, p06, p07, p08, p09 and 2 more fail]"; res.Timeline[0].Detail != want {
		t.Errorf("inject line %q, want %q", res.Timeline[0].Detail, want)
	}
	var failed bool
	for _, e := range res.Timeline {
		failed = failed || (e.Event == workflows.EventDeliveryFailed && e.Step == "notify.hello")
	}
	if !failed {
		t.Error("the notice recorded no delivery_failed")
	}
}
