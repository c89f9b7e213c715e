package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestExerciseRun(t *testing.T) {
	code, out, errOut := runCLI(t, "exercise", "run", "plant3_ransomware_ttx")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"T+00:00:00  inject.first_alert",
		"T+00:07:01  step.isolate",
		"contain  met  step.isolate within 30m0s",
		"Final state: completed at T+01:10:01",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, again, _ := runCLI(t, "exercise", "run", "plant3_ransomware_ttx", "--seed", "1"); again != out {
		t.Errorf("--seed 1 (the default) gave another run")
	}
}

func TestExerciseRunJSON(t *testing.T) {
	code, out, errOut := runCLI(t, "exercise", "run", "plant3_ransomware_ttx", "--dir", library, "--seed", "3", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Exercise   string `json:"exercise"`
		Playbook   string `json:"playbook"`
		Seed       uint64 `json:"seed"`
		State      string `json:"state"`
		Objectives []struct {
			Name   string  `json:"name"`
			Within string  `json:"within"`
			Met    bool    `json:"met"`
			At     *string `json:"at"`
		} `json:"objectives"`
		Timeline []struct {
			At    string `json:"at"`
			Event string `json:"event"`
		} `json:"timeline"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if doc.Exercise != "plant3_ransomware_ttx" || doc.Playbook != "ot_ransomware_containment" || doc.Seed != 3 || doc.State != "completed" {
		t.Errorf("header %+v", doc)
	}
	if len(doc.Objectives) != 2 || doc.Objectives[0].Name != "contain" || doc.Objectives[0].Within != "30m0s" || doc.Objectives[0].At == nil {
		t.Errorf("objectives %+v", doc.Objectives)
	}
	if len(doc.Timeline) < 10 || doc.Timeline[0].At != "0s" {
		t.Errorf("timeline %+v", doc.Timeline)
	}
}

func TestExerciseErrors(t *testing.T) {
	if code, _, errOut := runCLI(t, "exercise", "run", "plant3"); code != exitInvalid || !strings.Contains(errOut, `no exercise named "plant3"`) {
		t.Errorf("unknown exercise: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "exercise", "run"); code != exitUsage || !strings.Contains(errOut, "exercise list") {
		t.Errorf("no name: exit %d: %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "exercise", "run", "plant3_ransomware_ttx", "--format", "html"); code != exitUsage {
		t.Errorf("bad format: exit %d", code)
	}
	dir := writeDir(t, map[string]string{"pb.hcl": brokenPlaybook})
	if code, _, errOut := runCLI(t, "exercise", "run", "x", "--dir", dir); code != exitInvalid || !strings.Contains(errOut, "did not load") {
		t.Errorf("broken directory: exit %d: %s", code, errOut)
	}
}

func TestExerciseList(t *testing.T) {
	code, out, errOut := runCLI(t, "exercise", "list")
	if code != exitOK || !strings.Contains(out, "plant3_ransomware_ttx  ot_ransomware_containment  hiro") {
		t.Errorf("exit %d: %s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "exercise", "list", "--format", "json")
	var rows []exerciseRow
	if err := json.Unmarshal([]byte(out), &rows); code != exitOK || err != nil || len(rows) != 2 || rows[1].Name != "plant3_ransomware_ttx" || rows[1].Responders != 8 {
		t.Errorf("json: exit %d, %v: %s", code, err, out)
	}
}

func TestExerciseHelp(t *testing.T) {
	_, out, _ := runCLI(t, "exercise", "run", "--help")
	for _, want := range []string{"--seed", "same seed always gives", "never answers", "Exit status: 0 when the run completes", "firebreak exercise run plant3_ransomware_ttx"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	if _, out, _ := runCLI(t, "exercise", "--help"); !strings.Contains(out, "docs/exercises.md") {
		t.Errorf("exercise help does not point to docs/exercises.md:\n%s", out)
	}
}

func TestExerciseMonteCarlo(t *testing.T) {
	args := []string{"exercise", "run", "plant3_ransomware_ttx", "--runs", "30", "--seed", "9", "--format", "json"}
	code, one, errOut := runCLI(t, append(args, "--parallel", "1")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut, "runs") {
		t.Errorf("a progress bar went to stderr, which is no terminal: %q", errOut)
	}
	if _, two, _ := runCLI(t, append(args, "--parallel", "2")...); two != one {
		t.Errorf("--parallel 1 and 2 differ:\n%s\n---\n%s", one, two)
	}
	var doc struct {
		Runs       int    `json:"runs"`
		Seed       uint64 `json:"seed"`
		Objectives []struct {
			Name   string   `json:"name"`
			Within string   `json:"within"`
			PMet   *float64 `json:"p_met"`
			P50    *string  `json:"p50"`
			P90    *string  `json:"p90"`
			P99    *string  `json:"p99"`
		} `json:"objectives"`
	}
	if err := json.Unmarshal([]byte(one), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, one)
	}
	if doc.Runs != 30 || doc.Seed != 9 || len(doc.Objectives) != 2 {
		t.Fatalf("header %+v", doc)
	}
	c := doc.Objectives[0]
	if c.Name != "contain" || c.Within != "30m0s" || c.PMet == nil || *c.PMet <= 0 || c.P50 == nil || c.P90 == nil || c.P99 == nil {
		t.Errorf("contain: %+v", c)
	}
	code, out, errOut := runCLI(t, "exercise", "run", "plant3_ransomware_ttx", "--runs", "20", "--sensitivity")
	if code != exitOK {
		t.Fatalf("text: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"20 runs, seed 1", "OBJECTIVE", "P_MET", "contain", "report"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range [][]string{{"--runs", "0"}, {"--runs", "1000001"}, {"--parallel", "2"}, {"--sensitivity"}, {"--runs", "3", "--parallel", "-1"}} {
		if code, _, errOut := runCLI(t, append([]string{"exercise", "run", "plant3_ransomware_ttx"}, bad...)...); code != exitUsage || !strings.Contains(errOut, "--") {
			t.Errorf("%v: exit %d: %s", bad, code, errOut)
		}
	}
}

func TestProgressBar(t *testing.T) {
	var b strings.Builder
	progressBar(&b, 1, 4)
	progressBar(&b, 4, 4)
	want := "\r[##########" + strings.Repeat(" ", 30) + "] 1/4 runs" + "\r[" + strings.Repeat("#", 40) + "] 4/4 runs\n"
	if b.String() != want {
		t.Errorf("bar %q, want %q", b.String(), want)
	}
}
