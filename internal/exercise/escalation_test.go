package exercise_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/org"
	pblibrary "github.com/firebreak-ir/firebreak/playbooks/library"
	"github.com/firebreak-ir/firebreak/workflows"
)

// ladderOrg: ann is on call and never answers (no responder block), so the
// page climbs to ben, who acknowledges after 2 minutes; the report task is
// ann's and times out.
const ladderOrg = `
person "ann" { slack = "U01ANN" }
person "ben" { slack = "U01BEN" }
person "cat" { slack = "U01CAT" }
roster "tier1" { members = [person.ann] }
roster "tier2" { members = [person.ben] }
escalation "ladder" {
  tier {
    notify     = [roster.tier1]
    ack_within = "5m"
  }
  tier {
    notify     = [roster.tier2]
    ack_within = "10m"
  }
}
playbook "p" {
  may_start = [person.cat]
  page "oncall" {
    escalation = escalation.ladder
    message    = "help"
  }
  task "report" {
    assign       = person.ann
    instructions = "write it up"
    timeout      = "30m"
    needs        = [page.oncall]
  }
}
exercise "x" {
  playbook = playbook.p
  objective "ack" {
    within = "10m"
    of     = page.oncall
  }
  objective "report" {
    within = "1h"
    of     = task.report
  }
  inject "late" {
    at      = "2h"
    message = "after the end"
  }
  responder "ben" { acknowledges_after = "2m" }
}
`

func loadDir(t *testing.T, files map[string]string) *org.Org {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if o == nil {
		t.Fatalf("loading: %s", diags.Error())
	}
	return o
}

// TestNobodyAnswers: a person without a responder block never answers,
// so the page escalates and the task times out; the objectives say so.
func TestNobodyAnswers(t *testing.T) {
	o := loadDir(t, map[string]string{"org.hcl": ladderOrg})
	res, err := exercise.Run(o, "x", exercise.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Commander != "cat" {
		t.Errorf("commander %q, want cat (the first may_start names)", res.Commander)
	}
	var lines []string
	for _, e := range res.Timeline {
		if e.Event == workflows.EventEscalated || e.Event == workflows.EventAcknowledged || e.Event == workflows.EventTimedOut ||
			e.Event == exercise.EventInject || (e.Event == workflows.EventStepFinished && e.Step == "task.report") {
			lines = append(lines, exercise.Clock(time.Duration(e.At))+" "+e.Step+" "+e.Event+" "+e.Who)
		}
	}
	want := []string{
		"T+00:05:00 page.oncall escalated ",
		"T+00:07:00 page.oncall acknowledged ben",
		"T+00:37:00 task.report timed_out ",
		"T+02:00:00 inject.late inject ",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range res.Steps {
		if s.ID == "task.report" && s.State != workflows.StepTimedOut {
			t.Errorf("task.report is %s (%s), want timed_out", s.State, s.Reason)
		}
	}
	got := map[string]exercise.ObjectiveResult{}
	for _, ob := range res.Objectives {
		got[ob.Name] = ob
	}
	if a := got["ack"]; !a.Met || a.At == nil || time.Duration(*a.At) != 7*time.Minute {
		t.Errorf("ack objective %+v, want met at 7m", a)
	}
	if r := got["report"]; r.Met || r.At != nil || r.State != workflows.StepTimedOut {
		t.Errorf("report objective %+v, want not met (timed out)", r)
	}
}

// TestLateObjective: a step that finishes done after its objective's
// limit is reported with its time and not met.
func TestLateObjective(t *testing.T) {
	src := strings.Replace(ladderOrg, `responder "ben" { acknowledges_after = "2m" }`, `responder "ben" { acknowledges_after = "9m" }`, 1)
	res, err := exercise.Run(loadDir(t, map[string]string{"org.hcl": src}), "x", exercise.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Objectives[0]
	if a.Name != "ack" || a.Met || a.At == nil || time.Duration(*a.At) != 14*time.Minute {
		t.Errorf("ack objective %+v, want not met, done at 14m", a)
	}
}

func TestUnknownExercise(t *testing.T) {
	_, err := exercise.Run(library(t), "plant3_ransomware", exercise.Options{})
	if err == nil || !strings.Contains(err.Error(), `Did you mean "plant3_ransomware_ttx"?`) {
		t.Errorf("got %v", err)
	}
}

// TestDenyingResponder: alice denies the isolation sign-off instead of
// approving it, so the isolation is skipped and the objective missed.
func TestDenyingResponder(t *testing.T) {
	files := map[string]string{}
	for name, src := range pblibrary.Sources() {
		files[filepath.Base(name)] = string(src)
	}
	ex := files["exercises.hcl"]
	i := strings.Index(ex, `responder "alice"`)
	if i < 0 {
		t.Fatal("the library exercise has no responder alice")
	}
	files["exercises.hcl"] = ex[:i] + strings.Replace(ex[i:], `with     = "approve"`, `with     = "deny"`, 1)
	res, err := exercise.Run(loadDir(t, files), libraryExercise, exercise.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, s := range res.Steps {
		states[s.ID] = s.State
	}
	if states["approval.isolate_ok"] != workflows.StepDenied || states["step.isolate"] != workflows.StepSkipped {
		t.Errorf("states %v", states)
	}
	if c := res.Objectives[0]; c.Name != "contain" || c.Met || c.At != nil || c.State != workflows.StepSkipped {
		t.Errorf("contain objective %+v, want not met (skipped)", c)
	}
	var denied bool
	for _, e := range res.Timeline {
		if e.Event == workflows.EventDenied && e.Who == "alice" && strings.Contains(e.Detail, "scripted responder") {
			denied = true
		}
	}
	if !denied {
		t.Errorf("no denial by alice in the timeline")
	}
}

// TestHorizon: a task without a timeout that nobody answers would keep
// the incident waiting for ever; the run cancels it at the horizon.
func TestHorizon(t *testing.T) {
	src := strings.Replace(ladderOrg, `    timeout      = "30m"
`, "", 1)
	res, err := exercise.Run(loadDir(t, map[string]string{"org.hcl": src}), "x", exercise.Options{Horizon: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stopped || res.State != workflows.StateCancelled || time.Duration(res.Duration) != 48*time.Hour {
		t.Errorf("stopped=%v state %s at %s, want cancelled at the 48h horizon", res.Stopped, res.State, time.Duration(res.Duration))
	}
	var b strings.Builder
	if err := exercise.WriteText(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "stopped the incident at its horizon") || !strings.Contains(b.String(), "T+48:00:00") {
		t.Errorf("text:\n%s", b.String())
	}
}
