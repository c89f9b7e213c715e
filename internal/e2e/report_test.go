package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/workflows"
)

// TestReportCLI: `firebreak report` reviews a real incident whose sign-off
// was forced after a refused answer. The review shows the break-glass at
// the top, counts the refusal, measures the isolation, names the plan's
// digest, and writes a self-contained HTML page; hostile text from the
// answers stays text.
func TestReportCLI(t *testing.T) {
	e := startInProcess(t)
	dir := playbookDir(t)
	const id = "E2E-REPORT"
	startIncident(t, e.c, dir, "isolate_cell", "hiro", id)
	waitStep(t, e.c, id, isolateOK, workflows.StepWaiting, 1)
	refused(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "grace"}, "grace may not answer")
	const reason = "gas leak </svg><script>alert(1)</script> <!-- [x](https://evil.example) -->"
	answer(t, e.c, workflows.UpdateBreakGlass, id, workflows.Answer{Step: isolateOK, Person: "farid", Reason: reason})
	waitState(t, e.c, id, workflows.StateCompleted)

	page := filepath.Join(t.TempDir(), "review.html")
	code, out := cli(t, e.srv.Address(), nil, "report", id, "--html", page)
	if code != 0 {
		t.Fatalf("firebreak report: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"# Post-incident review: incident E2E-REPORT\n\n> **BREAK-GLASS: a safety gate was forced",
		"| Break-glass | **YES** (",
		"**Refusals:** 1.",
		"| Time to isolation | step.isolate | T+",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the review lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "### Refusals\n\n| Person | Code | Count |") || !strings.Contains(out, "| grace |") {
		t.Errorf("the review does not list grace's refusal:\n%s", out)
	}
	if strings.Contains(out, "<script") || strings.Contains(out, "<!--") || !strings.Contains(out, "&lt;/svg&gt;&lt;script&gt;") {
		t.Errorf("the break-glass reason is not escaped in the Markdown:\n%s", out)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	if !strings.Contains(html, `<svg id="timeline"`) || !strings.Contains(html, `class="banner breakglass"`) ||
		strings.Contains(html, "<script") || strings.Contains(html, "<!--") || strings.Contains(html, "href=") || strings.Contains(html, "src=") {
		t.Errorf("the HTML review is not the self-contained page with its timeline and banner")
	}

	code, out = cli(t, e.srv.Address(), nil, "report", id, "--format", "json")
	if code != 0 {
		t.Fatalf("firebreak report --format json: exit %d\n%s", code, out)
	}
	var doc struct {
		Kind       string `json:"kind"`
		BreakGlass bool   `json:"break_glass"`
		PlanDigest string `json:"plan_digest"`
		Measures   []struct {
			Name string  `json:"name"`
			At   *string `json:"at"`
		} `json:"measures"`
		BreakGlassEvents []struct {
			Person string `json:"person"`
		} `json:"break_glass_events"`
		Refusals []struct {
			Person string `json:"person"`
			Count  int    `json:"count"`
		} `json:"refusals"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if doc.Kind != "incident" || !doc.BreakGlass || len(doc.PlanDigest) != 64 || len(doc.BreakGlassEvents) == 0 || doc.BreakGlassEvents[0].Person != "farid" {
		t.Errorf("review header: %+v", doc)
	}
	if len(doc.Refusals) != 1 || doc.Refusals[0].Person != "grace" || doc.Refusals[0].Count != 1 {
		t.Errorf("refusals: %+v", doc.Refusals)
	}
	if len(doc.Measures) != 3 || doc.Measures[1].At == nil || doc.Measures[2].At == nil {
		t.Errorf("the sign-off and isolation times are missing: %+v", doc.Measures)
	}
}
