package incident

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// evil holds the attacks a person or a playbook can put into any string
// an incident shows.
var evil = []string{
	"\x1b]8;;http://evil\x07click\x1b]8;;\x07",
	"\x1b[2J\x1b[H",
	"\x1b]0;title\x07",
	"\u009b31m",
	"a\x9bb",
	"deny\u202eko",
	"\u2066x\u2069",
	"ok\rREFUSED",
	"deny\b\b\b\bokay",
	"al\u200bice",
	"nul\x00",
	"[click](http://evil) ![img](http://evil/x.png) <script>alert(1)</script> &#x202e; *em* _em_ `code` ~~s~~ | pipe $m$",
	"# heading\n> quote\n| a | b |",
}

// hostileText joins every attack into one string.
var hostileText = strings.Join(evil, " ")

func TestRenderEventLineHostile(t *testing.T) {
	cases := []struct {
		name string
		e    workflows.Event
		want string
	}{
		{"hyperlink in a reason",
			workflows.Event{At: t0, Kind: workflows.EventDenied, Step: "approval.isolate_ok", Person: "bob", Channel: "cli", Detail: "\x1b]8;;http://evil\x07click\x1b]8;;\x07"},
			`14:03:07Z    approval.isolate_ok        denied             bob via cli: \x1b]8;;http://evil\x07click\x1b]8;;\x07`},
		{"cleared screen in a person ID",
			workflows.Event{At: t0, Kind: workflows.EventApproved, Step: "approval.isolate_ok", Person: "\x1b[2Jmallory", Channel: "cli"},
			`14:03:07Z    approval.isolate_ok        approved           \x1b[2Jmallory via cli`},
		{"window title in a channel",
			workflows.Event{At: t0, Kind: workflows.EventAcknowledged, Step: "page.x", Person: "dmitri", Channel: "\x1b]0;title\x07"},
			`14:03:07Z    page.x                     acknowledged       dmitri via \x1b]0;title\x07`},
		{"C1 CSI in a step",
			workflows.Event{At: t0, Kind: workflows.EventStepStarted, Step: "step.\u009b2J"},
			`14:03:07Z    step.\u009b2J              started`},
		{"bidi override in an iteration key",
			workflows.Event{At: t0, Kind: workflows.EventStepFinished, Step: "step.contain", Iteration: "hmi\u202e3-", Detail: "done"},
			`14:03:07Z    step.contain[hmi\u202e3-]  done`},
		{"carriage return overwriting the line",
			workflows.Event{At: t0, Kind: workflows.EventRefused, Step: "approval.isolate_ok", Person: "eve", Detail: "refused\r14:03:07Z    approval.isolate_ok        approved"},
			`14:03:07Z    approval.isolate_ok        refused            eve: refused 14:03:07Z approval.isolate_ok approved`},
		{"backspaces, NUL and zero width",
			workflows.Event{At: t0, Kind: workflows.EventDecided, Step: "decision.x", Person: "al\u200bice", Detail: "chose\b\b\b\b\b\x00stay"},
			`14:03:07Z    decision.x                 decided            al\u200bice: chose\x08\x08\x08\x08\x08\x00stay`},
		{"unknown event kind",
			workflows.Event{At: t0, Kind: "x\x1b[31m_y"},
			`14:03:07Z                               x\x1b[31m y`},
	}
	for _, tc := range cases {
		if got := RenderEventLine(tc.e); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	// Megabytes of detail make a bounded line.
	e := workflows.Event{At: t0, Kind: workflows.EventDenied, Step: "approval.x", Person: "bob", Detail: strings.Repeat("spam ", 400_000)}
	if got := RenderEventLine(e); len(got) > 600 || !strings.HasSuffix(got, "spam s… (1999599 more characters)") {
		t.Errorf("a 2 MB detail renders as %d bytes ending %q", len(got), got[len(got)-40:])
	}
}

func TestRenderStatusTextHostile(t *testing.T) {
	st := workflows.Status{
		IncidentID: "INC-1\x1b[2J", Playbook: "pb\u202e", State: "running", Title: "Ransomware\x1b]0;pwned\x07\nsecond line",
		Commander: "carol\rmallory", StartedAt: t0,
		Steps: []workflows.StepStatus{
			{ID: "approval.ok\x1b[8m", Kind: "approval", State: "waiting", Awaiting: []string{"alice\x07", "bob\tx"},
				Need: "one from\nroster.ot", Reason: "\u009b1;31mred"},
		},
	}
	var b bytes.Buffer
	if err := RenderStatusText(&b, st); err != nil {
		t.Fatal(err)
	}
	want := `Incident INC-1\x1b[2J: pb\u202e, running
  Ransomware\x1b]0;pwned\x07 second line
  Commander: carol mallory   Mode: real incident   Started: 2026-11-22 14:03:07Z

STEP                KIND      STATE    AWAITING          NOTE
approval.ok\x1b[8m  approval  waiting  alice\x07, bob x  needs one from roster.ot; \u009b1;31mred
`
	if b.String() != want {
		t.Errorf("status:\n got %q\nwant %q", b.String(), want)
	}
}

func TestRenderListTextHostile(t *testing.T) {
	var b bytes.Buffer
	_ = RenderListText(&b, []Summary{{IncidentID: "INC\x1b[1A\x1b[2K", Playbook: "p\tq", Severity: "sev1\u2066", State: "running\r", StartedAt: t0}})
	want := "INCIDENT           PLAYBOOK  SEVERITY    STATE    MODE  STARTED (UTC)         CLOSED (UTC)  FLAGS\n" +
		`INC\x1b[1A\x1b[2K  p q       sev1\u2066  running  real  2026-11-22 14:03:07Z  -` + "\n"
	if b.String() != want {
		t.Errorf("list:\n got %q\nwant %q", b.String(), want)
	}
}

func TestRenderTimelineMarkdownHostile(t *testing.T) {
	tl := workflows.Timeline{IncidentID: "INC-1", Playbook: "pb", Events: []workflows.Event{
		{Seq: 1, At: t0, Kind: workflows.EventDenied, Step: "approval.isolate_ok", Person: "bob", Channel: "cli",
			Detail: "[click](http://evil)\n![x](http://evil/p.png)"},
		{Seq: 2, At: t0, Kind: workflows.EventApproved, Step: "approval.isolate_ok", Person: "<img src=x onerror=alert(1)>", Channel: "cli"},
		{Seq: 3, At: t0, Kind: workflows.EventRefused, Step: "approval.isolate_ok", Person: "*eve*", Channel: "cli",
			Detail: "| forged | cell |\x1b[2J &#x202e;"},
	}}
	st := workflows.Status{IncidentID: "INC-1", Playbook: "pb", State: "running", Title: "# Title _x_ `y`", Commander: "~~carol~~"}
	var b bytes.Buffer
	if err := RenderTimelineMarkdown(&b, tl, st); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| Playbook | pb: # Title \\_x\\_ \\`y\\` |",
		`| Commander | \~\~carol\~\~ |`,
		`| 1 | 2026-11-22 14:03:07Z | approval.isolate_ok | denied | bob | cli |  | \[click\]\(http://evil\)<br>\!\[x\]\(http://evil/p.png\) |`,
		`| 2 | 2026-11-22 14:03:07Z | approval.isolate_ok | approved | &lt;img src=x onerror=alert\(1\)&gt; | cli |  |  |`,
		`| 3 | 2026-11-22 14:03:07Z | approval.isolate_ok | refused | \*eve\* | cli |  | \| forged \| cell \|\\x1b\[2J &amp;#x202e; |`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%.3000s", want, out)
		}
	}
}

// hostileDocs returns a status and a timeline with hostileText in every
// string field.
func hostileDocs() (workflows.Status, workflows.Timeline) {
	h := hostileText
	st := workflows.Status{
		IncidentID: h, Playbook: h, Title: h, Severity: h, State: h, Commander: h, BreakGlass: true, StartedAt: t0, Runs: 2,
	}
	tl := workflows.Timeline{IncidentID: h, Playbook: h, BreakGlass: true}
	for i, kind := range append([]string{h}, workflows.EventStepFinished, workflows.EventBreakGlass, workflows.EventRefused) {
		st.Steps = append(st.Steps, workflows.StepStatus{
			ID: h, Kind: plan.Kind(h), State: h, Reason: h, Awaiting: []string{h, h}, Need: h, Round: 2,
			Approvals: []workflows.Approval{{Person: h, Roster: h, At: t0}}, Choice: h, Escalation: h,
			StartedAt: t0, FinishedAt: t0, BreakGlass: i%2 == 0,
		})
		tl.Events = append(tl.Events, workflows.Event{
			Seq: i + 1, At: t0, Kind: kind, Step: h, Iteration: h, Person: h, Channel: h, Detail: "done: " + h, BreakGlass: i%2 == 1,
			Roster: h, Unattested: i == 3,
		})
		if i%2 == 0 {
			tl.Events[i].Attestation = &attest.Attestation{Claim: attest.Claim{Person: h + "x"}, Signer: h, Signature: h}
		}
	}
	tl.Unattested = true
	tl.Refusals = []workflows.RefusalCount{{Person: h, Code: h, Count: 7, First: t0, Last: t0}}
	return st, tl
}

// assertTerminalSafe fails when out holds anything a terminal would act
// on: a control byte other than newline, ESC, DEL, a C1 control, a bidi or
// other formatting character, or bytes that are not UTF-8.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s is not valid UTF-8", what)
	}
	for i, r := range out {
		if r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			t.Errorf("%s passes %U raw at byte %d: %q", what, r, i, out[max(0, i-20):min(len(out), i+20)])
			return
		}
	}
}

func TestWholeDocumentsHostile(t *testing.T) {
	st, tl := hostileDocs()

	var text bytes.Buffer
	if err := RenderStatusText(&text, st); err != nil {
		t.Fatal(err)
	}
	assertTerminalSafe(t, "status", text.String())
	for _, e := range tl.Events {
		assertTerminalSafe(t, "event line", RenderEventLine(e)+"\n")
	}
	var list bytes.Buffer
	_ = RenderListText(&list, []Summary{{IncidentID: hostileText, Playbook: hostileText, Severity: hostileText, State: hostileText, StartedAt: t0}})
	assertTerminalSafe(t, "list", list.String())

	var md bytes.Buffer
	if err := RenderTimelineMarkdown(&md, tl, st); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	assertTerminalSafe(t, "markdown", out)
	// No HTML but our own <br>; no link, image or emphasis syntax left
	// unescaped; every table row keeps its cells.
	for _, l := range strings.Split(strings.ReplaceAll(out, "<br>", ""), "\n") {
		if !strings.HasPrefix(l, "> **") && strings.ContainsAny(l, "<>") {
			t.Errorf("markdown passes HTML: %.300s", l)
		}
	}
	bare := regexp.MustCompile(`(^|[^\\])(\\\\)*\|`)
	unescaped := regexp.MustCompile(`(^|[^\\])(\\\\)*[\[\]()!` + "`" + `~$]`)
	cells := map[string]int{"| | |": 3, "| # |": 9, "| Step |": 7, "| Person |": 6}
	want := 0
	for _, l := range strings.Split(out, "\n") {
		for prefix, n := range cells {
			if strings.HasPrefix(l, prefix) {
				want = n
			}
		}
		if !strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "| # |") || strings.HasPrefix(l, "| Step |") || strings.HasPrefix(l, "| Person |") {
			continue
		}
		ours := strings.NewReplacer("(BREAK-GLASS)", "", "(break-glass)", "", "(UTC)", "").Replace(l)
		if m := unescaped.FindString(ours); m != "" {
			t.Errorf("row has unescaped %q: %.300s", m, l)
		}
		if n := len(bare.FindAllStringIndex(l, -1)); n != want {
			t.Errorf("row has %d cell borders, want %d: %.300s", n, want, l)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "# Incident ") &&
			l != "## Break-glass overrides" && l != "## Events" && l != "## Steps" && l != "## Refusals" {
			t.Errorf("a heading from text: %.300s", l)
		}
	}

	// JSON stays exact.
	var js bytes.Buffer
	_ = RenderJSON(&js, tl)
	var back workflows.Timeline
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Events[0].Detail != strings.ToValidUTF8("done: "+hostileText, "\uFFFD") {
		// encoding/json can only replace bytes that are not UTF-8.
		t.Errorf("JSON is not exact: %v", err)
	}
}
