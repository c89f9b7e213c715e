package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExerciseRunReport writes the after-action report of a run and of a
// Monte Carlo, in Markdown and HTML, next to the usual output.
func TestExerciseRunReport(t *testing.T) {
	dir := t.TempDir()
	md, page := filepath.Join(dir, "aar.md"), filepath.Join(dir, "aar.html")
	code, out, errOut := runCLI(t, "exercise", "run", "plant3_ransomware_ttx", "--report", md, "--html", page)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Final state: completed at T+01:10:01") {
		t.Errorf("the usual output is gone:\n%s", out)
	}
	read := func(file string) string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read(md); !strings.HasPrefix(got, "# After-action report: exercise plant3_ransomware_ttx\n") ||
		!strings.Contains(got, "| contain |") || strings.Contains(got, "## 8. Monte Carlo") {
		t.Errorf("the Markdown report is not the run's:\n%s", got)
	}
	if got := read(page); !strings.Contains(got, `<svg id="timeline"`) || strings.Contains(got, "histogram") {
		t.Errorf("the HTML report is not the run's")
	}

	code, _, errOut = runCLI(t, "exercise", "run", "plant3_ransomware_ttx", "--runs", "4", "--parallel", "1", "--report", md, "--html", page)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got := read(md); !strings.Contains(got, "## 8. Monte Carlo\n\n4 runs, seed 1.") {
		t.Errorf("the Monte Carlo report lacks its figures:\n%s", got)
	}
	if got := read(page); strings.Count(got, `<svg class="histogram"`) != 2 {
		t.Errorf("the Monte Carlo page lacks a histogram per objective")
	}

	code, _, errOut = runCLI(t, "exercise", "run", "plant3_ransomware_ttx", "--report", filepath.Join(dir, "missing", "aar.md"))
	if code != exitInvalid || !strings.Contains(errOut, "writing the report") {
		t.Errorf("a report into a missing directory: exit %d, %s", code, errOut)
	}
}

// TestReportUsageErrors: what `firebreak report` refuses before it reaches
// Temporal.
func TestReportUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "report takes INCIDENT (got 0 arguments)"},
		{[]string{"report", "INC-1", "INC-2"}, "report takes INCIDENT (got 2 arguments)"},
		{[]string{"report", "INC-1", "--format", "text"}, `--format "text" is not one of markdown, md, json`},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s", tc.args, code, out, errOut)
		}
	}
}
