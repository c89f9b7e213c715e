package review_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/review"
	"github.com/firebreak-ir/firebreak/workflows"
)

// hostile is text people could put in names, reasons and details.
const hostile = "</svg><script>alert(1)</script><!-- [click](https://evil.example/x) ![i](http://evil.example/i.png) <img src=x onerror=alert(2)> \x1b]8;;http://evil.example\x07link\x1b[2J \u202eevil | cell\nnext line & &#x202e; `code` *em* _u_ # h"

// hostileReviews are an exercise report and an incident review whose every
// text from people is hostile.
func hostileReviews() []*review.Review {
	d := func(m int) *exercise.Duration { v := exercise.Duration(time.Duration(m) * time.Minute); return &v }
	res := &exercise.Result{
		Exercise: "ex" + hostile, Playbook: "pb" + hostile, Commander: "cmd" + hostile, Seed: 1, State: "completed",
		Duration: *d(40),
		Objectives: []exercise.ObjectiveResult{
			{Name: "obj" + hostile, Description: hostile, Of: "task.x", Within: *d(30), Met: false, State: "timed_out"},
			{Name: "late" + hostile, Of: "step.y", Within: *d(10), At: d(20), State: "done"},
		},
		Timeline: []exercise.Entry{
			{At: 0, Step: "inject.a", Event: exercise.EventInject, Detail: hostile},
			{At: 0, Step: "task.x", Event: workflows.EventStepStarted, Detail: "asking " + hostile},
			{At: *d(1), Step: "task.x", Event: workflows.EventRefused, Who: hostile, Detail: hostile, Code: hostile},
			{At: *d(2), Step: "approval.z" + hostile, Event: workflows.EventApproved, Who: hostile, Detail: hostile, Roster: hostile},
			{At: *d(3), Step: "page.p", Event: workflows.EventPaged, Detail: "escalation." + hostile + " tier 2: " + hostile},
			{At: *d(4), Step: "page.p", Event: workflows.EventEscalated, Detail: hostile},
			{At: *d(5), Step: "approval.z", Event: workflows.EventBreakGlass, Who: hostile, Detail: hostile},
		},
		Steps: []exercise.StepResult{
			{ID: "task.x", State: "timed_out", Reason: hostile, At: d(30)},
			{ID: "step.y" + hostile, State: hostile, Reason: hostile, At: d(20)},
			{ID: "page.p", State: "failed", Reason: hostile},
		},
	}
	ex := review.FromExercise(res, review.ExerciseOptions{Date: reportDate, Summary: &exercise.Summary{Runs: 3, Seed: 1,
		Objectives: []exercise.ObjectiveSummary{{Name: "obj" + hostile, Of: "task.x", Within: *d(30), Met: 2, PMet: 0.667, P50: d(5), P90: d(9), P99: d(9),
			Times: []exercise.Duration{*d(5), *d(9)}, Sensitivity: &exercise.Sensitivity{Responder: hostile, MissRate: 0.3, FixedMissRate: 0.1}}}}})

	start := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	tl := workflows.Timeline{IncidentID: "INC" + hostile, Playbook: hostile, BreakGlass: true, Events: []workflows.Event{
		{Seq: 1, At: start, Kind: workflows.EventIncidentStarted, Person: hostile, Channel: hostile, Detail: hostile},
		{Seq: 2, At: start.Add(time.Minute), Kind: workflows.EventBreakGlass, Step: "approval.isolate_ok", Person: hostile, Reason: hostile, Detail: hostile, BreakGlass: true, Unattested: true},
		{Seq: 3, At: start.Add(2 * time.Minute), Kind: workflows.EventRefused, Step: hostile, Person: hostile, Code: hostile, Detail: hostile},
	}, Refusals: []workflows.RefusalCount{{Person: hostile, Code: hostile, Count: 7, First: start, Last: start.Add(time.Hour)}}}
	st := workflows.Status{IncidentID: "INC" + hostile, Playbook: hostile, Title: hostile, Severity: hostile, State: hostile, Commander: hostile,
		BreakGlass: true, StartedAt: start, Steps: []workflows.StepStatus{{ID: hostile, State: hostile, Reason: hostile, StartedAt: start, FinishedAt: start.Add(time.Minute)}}}
	in := review.FromIncident(tl, st, review.IncidentOptions{Date: start.Add(2 * time.Hour)})
	return []*review.Review{ex, in}
}

// TestHostileMarkdown renders hostile text to Markdown: nothing becomes
// HTML, a link, an image, a terminal escape or a new table cell or line.
func TestHostileMarkdown(t *testing.T) {
	for _, rv := range hostileReviews() {
		var b bytes.Buffer
		if err := review.WriteMarkdown(&b, rv); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		for _, bad := range []string{"<script", "</svg", "<!--", "<img", "](", "\x1b", "\x07", "\u202e", "&#x202e;", "\nnext line"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s review: Markdown holds %q raw", rv.Kind, bad)
			}
		}
		for _, want := range []string{`\[click\]\(https://evil.example/x\)`, `&lt;/svg&gt;&lt;script&gt;`, `\x1b`, `\u202e`} {
			if !strings.Contains(got, want) {
				t.Errorf("%s review: Markdown lacks the escaped %q", rv.Kind, want)
			}
		}
		// Every line of a table has as many cells as its header.
		cells := 0
		for _, line := range strings.Split(got, "\n") {
			if !strings.HasPrefix(line, "|") {
				cells = 0
				continue
			}
			n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
			if cells == 0 {
				cells = n
			} else if n != cells {
				t.Errorf("%s review: table line has %d separators, its header %d: %s", rv.Kind, n, cells, line)
			}
		}
		if rv.Kind == review.KindIncident && !strings.Contains(got, "> **"+review.BreakGlassBanner+"**") {
			t.Errorf("incident review: no break-glass banner")
		}
	}
}

// allowedTags are the elements, and allowedAttrs the attributes, a report
// page may hold: nothing that fetches (href, src, url), runs (script, on*)
// or embeds.
var (
	allowedTags = map[string]bool{"!doctype": true, "html": true, "head": true, "meta": true, "title": true, "style": true, "body": true,
		"main": true, "header": true, "div": true, "h1": true, "h2": true, "h3": true, "table": true, "tr": true, "th": true, "td": true,
		"p": true, "span": true, "b": true, "i": true, "strong": true, "ul": true, "li": true,
		"svg": true, "rect": true, "text": true, "line": true, "path": true, "circle": true}
	allowedAttrs = map[string]bool{"lang": true, "charset": true, "name": true, "content": true, "class": true, "role": true, "id": true,
		"x": true, "y": true, "width": true, "height": true, "viewbox": true, "aria-label": true, "x1": true, "y1": true, "x2": true, "y2": true,
		"text-anchor": true, "rx": true, "d": true, "cx": true, "cy": true, "r": true, "html": true}
	tagRe  = regexp.MustCompile(`<(/?)([!a-zA-Z][a-zA-Z0-9-]*)([^>]*)>`)
	attrRe = regexp.MustCompile(`([a-zA-Z-]+)(="[^"]*")?`)
)

// checkPage fails t for every element or attribute of page outside the
// allowed sets, for a raw "<" that starts no tag, and for terminal escapes
// and bidi overrides, and returns the page's tags by name.
func checkPage(t *testing.T, what, page string) map[string]int {
	t.Helper()
	tags := map[string]int{}
	for _, m := range tagRe.FindAllStringSubmatch(page, -1) {
		name := strings.ToLower(m[2])
		if !allowedTags[name] {
			t.Errorf("%s: element <%s> in the page", what, m[2])
		}
		if m[1] == "" {
			tags[name]++
		}
		for _, a := range attrRe.FindAllStringSubmatch(m[3], -1) {
			if !allowedAttrs[strings.ToLower(a[1])] {
				t.Errorf("%s: attribute %s on <%s>", what, a[1], m[2])
			}
		}
	}
	// html/template writes every "<" of text as &lt;: a "<" left once the
	// tags are taken out would be markup the test did not parse.
	if rest := tagRe.ReplaceAllString(page, ""); strings.Contains(rest, "<") {
		i := strings.Index(rest, "<")
		t.Errorf("%s: stray < in the page: %q", what, rest[max(i-40, 0):min(i+40, len(rest))])
	}
	style := page[strings.Index(page, "<style>"):strings.Index(page, "</style>")]
	for _, bad := range []string{"url(", "@import", "http"} {
		if strings.Contains(strings.ToLower(style), bad) {
			t.Errorf("%s: the style sheet holds %q", what, bad)
		}
	}
	for _, bad := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(page, bad) {
			t.Errorf("%s: the page holds %q raw", what, bad)
		}
	}
	return tags
}

// TestHostileHTML renders hostile text to HTML: it stays text, the page
// holds nothing that fetches or runs, and the SVG is not closed early.
func TestHostileHTML(t *testing.T) {
	for _, rv := range hostileReviews() {
		var b bytes.Buffer
		if err := review.WriteHTML(&b, rv); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		tags := checkPage(t, rv.Kind+" review", got)
		if !strings.Contains(got, "&lt;/svg&gt;&lt;script&gt;") {
			t.Errorf("%s review: the hostile text is not shown escaped", rv.Kind)
		}
		want := 1
		if rv.MonteCarlo != nil {
			want += len(rv.MonteCarlo.Objectives)
		}
		if tags["svg"] != want || strings.Count(got, "</svg>") != want {
			t.Errorf("%s review: %d <svg> and %d </svg>, want %d of each", rv.Kind, tags["svg"], strings.Count(got, "</svg>"), want)
		}
		if tags["style"] != 1 {
			t.Errorf("%s review: %d <style> elements, want the page's own", rv.Kind, tags["style"])
		}
		if rv.BreakGlass != strings.Contains(got, `class="banner breakglass"`) {
			t.Errorf("%s review: break-glass %v, banner shown %v", rv.Kind, rv.BreakGlass, !rv.BreakGlass)
		}
	}
}

// TestLibraryHTMLSelfContained checks the library report's page refers to
// nothing outside itself.
func TestLibraryHTMLSelfContained(t *testing.T) {
	rv, _ := libraryReview(t, 1, nil)
	var b bytes.Buffer
	if err := review.WriteHTML(&b, rv); err != nil {
		t.Fatal(err)
	}
	got := strings.ToLower(b.String())
	if strings.Contains(got, "http") {
		t.Errorf("the page mentions http: %q", got[strings.Index(got, "http")-40:strings.Index(got, "http")+40])
	}
	checkPage(t, "library report", b.String())
	for _, want := range []string{`<svg id="timeline"`, ">contain (30m, p)<", ">report (1h, p)<", "plan digest"} {
		if !strings.Contains(got, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestEmptyInputs: a review of nothing (an incident with no events or
// steps, a run with no timeline, objectives with no limit) renders
// without panicking, in both formats.
func TestEmptyInputs(t *testing.T) {
	zero := exercise.Duration(0)
	for _, rv := range []*review.Review{
		review.FromIncident(workflows.Timeline{}, workflows.Status{}, review.IncidentOptions{}),
		review.FromExercise(&exercise.Result{Objectives: []exercise.ObjectiveResult{{Name: "o", At: &zero}}},
			review.ExerciseOptions{Summary: &exercise.Summary{Objectives: []exercise.ObjectiveSummary{{Name: "o"}}}}),
	} {
		var md, page bytes.Buffer
		if err := review.WriteMarkdown(&md, rv); err != nil {
			t.Fatal(err)
		}
		if err := review.WriteHTML(&page, rv); err != nil {
			t.Fatal(err)
		}
		checkPage(t, rv.Kind+" review of nothing", page.String())
		if !strings.Contains(md.String(), "No events recorded.") {
			t.Errorf("%s review of nothing does not say it has no events:\n%s", rv.Kind, md.String())
		}
	}
}
