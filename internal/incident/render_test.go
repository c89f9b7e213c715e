package incident

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

var t0 = time.Date(2026, 11, 22, 14, 3, 7, 0, time.UTC)

var sampleStatus = workflows.Status{
	IncidentID: "INC-20261122-4F2A",
	Playbook:   "ot_ransomware_containment",
	Title:      "Ransomware moving from IT toward the plant 3 control network",
	Severity:   "sev1",
	State:      "running",
	Commander:  "carol",
	BreakGlass: true,
	StartedAt:  t0,
	Runs:       1,
	Steps: []workflows.StepStatus{
		{ID: "page.ot_oncall", Kind: "page", State: "done", StartedAt: t0, FinishedAt: t0.Add(2 * time.Minute), Escalation: "acknowledged by dmitri"},
		{ID: "approval.isolate_ok", Kind: "approval", State: "done", BreakGlass: true, Reason: "BREAK-GLASS by gina: spreading",
			Approvals: []workflows.Approval{{Person: "alice", Roster: "roster.process_safety", At: t0}}},
		{ID: "approval.reconnect_ok", Kind: "approval", State: "waiting", Awaiting: []string{"alice", "bob", "noah"},
			Need: "one from roster.process_safety", Round: 2},
		{ID: "decision.scope", Kind: "decision", State: "done", Choice: "plant3_only"},
		{ID: "approval.restore_ok", Kind: "approval", State: "waiting", Need: "still needs one from roster.ot_operations"},
	},
}

var sampleTimeline = workflows.Timeline{
	IncidentID: "INC-20261122-4F2A",
	Playbook:   "ot_ransomware_containment",
	BreakGlass: true,
	Events: []workflows.Event{
		{Seq: 1, At: t0, Kind: workflows.EventIncidentStarted, Person: "carol", Channel: "cli", Detail: "zone=plant3_dmz"},
		{Seq: 2, At: t0.Add(time.Second), Kind: workflows.EventPaged, Step: "page.ot_oncall", Detail: "tier 1: dmitri"},
		{Seq: 3, At: t0.Add(90 * time.Second), Kind: workflows.EventAcknowledged, Step: "page.ot_oncall", Person: "dmitri", Channel: "slack"},
		{Seq: 4, At: t0.Add(3 * time.Minute), Kind: workflows.EventRefused, Step: "approval.isolate_ok", Person: "bob", Channel: "cli",
			Detail: "approve refused: bob may not answer | not in roster.ot_operations"},
		{Seq: 5, At: t0.Add(4 * time.Minute), Kind: workflows.EventBreakGlass, Step: "approval.isolate_ok", Person: "gina", Channel: "cli",
			Detail: "safety gate forced: spreading *fast*\n(flagged)", BreakGlass: true},
		{Seq: 6, At: t0.Add(5 * time.Minute), Kind: workflows.EventStepFinished, Step: "step.contain", Iteration: "ws-eng-07", Detail: "contained"},
	},
}

func TestRenderEventLine(t *testing.T) {
	cases := map[int]string{
		0: "14:03:07Z                               incident started   carol via cli: zone=plant3_dmz",
		2: "14:04:37Z    page.ot_oncall             acknowledged       dmitri via slack",
		4: "14:07:07Z !! approval.isolate_ok        BREAK-GLASS        gina via cli: safety gate forced: spreading *fast* (flagged)",
		5: "14:08:07Z    step.contain[ws-eng-07]    finished           contained",
	}
	for i, want := range cases {
		if got := RenderEventLine(sampleTimeline.Events[i]); got != want {
			t.Errorf("event %d:\n got %q\nwant %q", i, got, want)
		}
	}
	// A step's last event says its state once, in the event column.
	at := sampleTimeline.Events[0].At
	for _, c := range []struct {
		e    workflows.Event
		want string
	}{
		{workflows.Event{At: at, Kind: workflows.EventStepFinished, Step: "approval.isolate_ok", Detail: "done: approved by alice, olga"},
			"14:03:07Z    approval.isolate_ok        done               approved by alice, olga"},
		{workflows.Event{At: at, Kind: workflows.EventStepSkipped, Step: "step.restore", Detail: "skipped: when is false: x"},
			"14:03:07Z    step.restore               skipped            when is false: x"},
		{workflows.Event{At: at, Kind: workflows.EventStepFinished, Step: "notify.x", Detail: "done"},
			"14:03:07Z    notify.x                   done"},
		{workflows.Event{At: at, Kind: workflows.EventStepFailed, Step: "page.x", Detail: "page delivery failed: 503"},
			"14:03:07Z    page.x                     failed             page delivery failed: 503"},
		{workflows.Event{At: at, Kind: workflows.EventStepStarted, Step: "step.open_room", Detail: "slack.open_channel"},
			"14:03:07Z    step.open_room             started            slack.open_channel"},
	} {
		if got := RenderEventLine(c.e); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
	// Times are UTC whatever the event's zone.
	e := sampleTimeline.Events[0]
	e.At = e.At.In(time.FixedZone("CET", 3600))
	if got := RenderEventLine(e); !strings.HasPrefix(got, "14:03:07Z") {
		t.Errorf("not UTC: %q", got)
	}
}

func TestRenderStatusText(t *testing.T) {
	var b bytes.Buffer
	if err := RenderStatusText(&b, sampleStatus); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if lines[0] != "Incident INC-20261122-4F2A: ot_ransomware_containment (sev1), running" ||
		!strings.HasPrefix(lines[1], "!! BREAK-GLASS") {
		t.Fatalf("header:\n%s", out)
	}
	// A step with nothing awaited and no note leaves no padding behind.
	pending := sampleStatus
	pending.Steps = append(slices.Clone(sampleStatus.Steps), workflows.StepStatus{ID: "task.later", Kind: "task", State: workflows.StepPending})
	var pb bytes.Buffer
	if err := RenderStatusText(&pb, pending); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(pb.String(), "\n") {
		if strings.TrimRight(l, " ") != l {
			t.Errorf("line %q ends in spaces", l)
		}
	}
	if strings.Contains(out, "UNATTESTED") {
		t.Errorf("a signed incident's status says UNATTESTED:\n%s", out)
	}
	dev := sampleStatus
	dev.Unattested = true
	var db bytes.Buffer
	if err := RenderStatusText(&db, dev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(db.String(), "Answers: UNATTESTED") {
		t.Errorf("an incident that accepts unsigned answers does not say so:\n%s", db.String())
	}
	for _, want := range []string{
		"Commander: carol   Mode: real incident   Started: 2026-11-22 14:03:07Z",
		"STEP                   KIND      STATE    AWAITING          NOTE",
		"approval.isolate_ok    approval  done !!                    approved by alice; BREAK-GLASS by gina: spreading",
		"approval.reconnect_ok  approval  waiting  alice, bob, noah  needs one from roster.process_safety; round 2",
		"decision.scope         decision  done                       chose plant3_only",
		"approval.restore_ok    approval  waiting                    still needs one from roster.ot_operations",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	st := sampleStatus
	st.BreakGlass, st.Exercise, st.Commander = false, true, ""
	b.Reset()
	_ = RenderStatusText(&b, st)
	if strings.Contains(b.String(), "!! BREAK-GLASS") || !strings.Contains(b.String(), "Commander: (not given)   Mode: EXERCISE") {
		t.Errorf("exercise without break-glass:\n%s", b.String())
	}
}

func TestRenderTimelineMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := RenderTimelineMarkdown(&b, sampleTimeline, sampleStatus); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	if lines[0] != "# Incident INC-20261122-4F2A: timeline" || !strings.HasPrefix(lines[2], "> **BREAK-GLASS:") {
		t.Fatalf("the break-glass flag must follow the title:\n%s", out)
	}
	for _, want := range []string{
		"| Playbook | ot_ransomware_containment: Ransomware moving from IT toward the plant 3 control network |",
		"| Commander | carol |",
		"| Mode | Real incident |",
		"| Break-glass | YES: post-incident review required |",
		"## Break-glass overrides",
		"| # | Time (UTC) | Step | Event | Who | Channel | Signed | Detail |",
		"| 3 | 2026-11-22 14:04:37Z | page.ot_oncall | acknowledged | dmitri | slack |  |  |",
		// Pipes are escaped and newlines become <br>, so a detail stays in its cell.
		`| 4 | 2026-11-22 14:06:07Z | approval.isolate_ok | refused | bob | cli |  | approve refused: bob may not answer \| not in roster.ot_operations |`,
		`| 5 | 2026-11-22 14:07:07Z | approval.isolate_ok | **BREAK-GLASS** | gina | cli |  | safety gate forced: spreading \*fast\*<br>\(flagged\) |`,
		`| 6 | 2026-11-22 14:08:07Z | step.contain\[ws-eng-07\] | finished |  |  |  | contained |`,
		"## Steps",
		"| approval.isolate_ok | approval | **done (BREAK-GLASS)** |",
		"| page.ot_oncall | page | done | 2026-11-22 14:03:07Z | 2026-11-22 14:05:07Z | acknowledged by dmitri |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	// The break-glass event appears in its own section and in the full table.
	if n := strings.Count(out, "| 5 | "); n != 2 {
		t.Errorf("break-glass event shown %d times, want 2", n)
	}
	// Every table row has the same number of cells as its header.
	for _, l := range lines {
		if strings.HasPrefix(l, "| ") && strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") != 9 &&
			strings.Count(strings.ReplaceAll(l, `\|`, ""), "|") != 7 && strings.Count(l, "|") != 3 {
			t.Errorf("ragged row: %s", l)
		}
	}

	// An exercise without break-glass says so, and has no override section.
	tl, st := sampleTimeline, sampleStatus
	tl.BreakGlass, st.BreakGlass, st.Exercise = false, false, true
	tl.Events = tl.Events[:3]
	b.Reset()
	_ = RenderTimelineMarkdown(&b, tl, st)
	out = b.String()
	if strings.Contains(out, "BREAK-GLASS:") || strings.Contains(out, "## Break-glass overrides") ||
		!strings.Contains(out, "> **EXERCISE.**") || !strings.Contains(out, "| Mode | Exercise (simulated) |") ||
		!strings.Contains(out, "| Break-glass | no |") {
		t.Errorf("exercise timeline:\n%s", out)
	}
}

func TestRenderJSONAndList(t *testing.T) {
	var b bytes.Buffer
	if err := RenderJSON(&b, sampleTimeline); err != nil {
		t.Fatal(err)
	}
	var back workflows.Timeline
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Events) != 6 || !strings.HasSuffix(b.String(), "}\n") {
		t.Fatalf("JSON round trip: %v\n%s", err, b.String())
	}
	b.Reset()
	_ = RenderListText(&b, []Summary{
		{IncidentID: "INC-2", Playbook: "p", State: "running", Exercise: true, BreakGlass: true, StartedAt: t0},
		{IncidentID: "INC-1", Playbook: "p", Severity: "sev2", State: "completed", StartedAt: t0.Add(-time.Hour), ClosedAt: t0},
	})
	for _, want := range []string{
		"INCIDENT  PLAYBOOK  SEVERITY  STATE      MODE      STARTED (UTC)         CLOSED (UTC)          FLAGS",
		"INC-2     p         -         running    exercise  2026-11-22 14:03:07Z  -                     BREAK-GLASS",
		"INC-1     p         sev2      completed  real      2026-11-22 13:03:07Z  2026-11-22 14:03:07Z",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	_ = RenderListText(&b, nil)
	if b.String() != "No incidents.\n" {
		t.Errorf("empty list: %q", b.String())
	}
}

func TestRenderTimelineMarkdownEvidence(t *testing.T) {
	tl := workflows.Timeline{IncidentID: "INC-1", Playbook: "pb", Unattested: true, Events: []workflows.Event{
		{Seq: 1, At: t0, Kind: workflows.EventApproved, Step: "approval.isolate_ok", Person: "sam", Channel: "slack", Round: 1,
			Detail: "1 of 2", Roster: "roster.process_safety",
			Attestation: &attest.Attestation{Claim: attest.Claim{Person: "sam"}, Signer: "slack.main", Signature: "c2ln"}},
		{Seq: 2, At: t0, Kind: workflows.EventApproved, Step: "approval.isolate_ok", Person: "olga", Channel: "cli", Round: 1,
			Detail: "2 of 2", Roster: "roster.ot_operations", Unattested: true},
		{Seq: 30, At: t0, Kind: workflows.EventRefused, Step: "approval.isolate_ok", Person: "bob", Channel: "cli",
			Detail: "approve refused: not in roster", Code: "not_authorised",
			Attestation: &attest.Attestation{Claim: attest.Claim{Person: "bob"}, Signer: "person.bob", Signature: "Ym9i"}},
	}, Refusals: []workflows.RefusalCount{
		{Person: "bob", Code: "not_authorised", Count: 25, First: t0, Last: t0.Add(time.Minute)},
		{Person: "eve", Code: "stale_round", Count: 3, First: t0, Last: t0},
	}}
	st := workflows.Status{IncidentID: "INC-1", Playbook: "pb", State: "completed", Unattested: true}
	var b bytes.Buffer
	if err := RenderTimelineMarkdown(&b, tl, st); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"> **UNATTESTED.** This incident accepted unsigned answers",
		"| Answers | UNATTESTED answers accepted |",
		"| 1 | 2026-11-22 14:03:07Z | approval.isolate_ok | approved | sam | slack | slack.main " + attest.Digest("c2ln")[:12] + " | 1 of 2 \\(counts for roster.process_safety\\) |",
		"| 2 | 2026-11-22 14:03:07Z | approval.isolate_ok | approved | olga | cli | **unattested** | 2 of 2 \\(counts for roster.ot_operations\\) |",
		"| person.bob " + attest.Digest("Ym9i")[:12] + " |",
		"## Refusals",
		"28 refused answers were recorded; the latest 1 are shown in full in the events above, and the counts below include the older ones.",
		"| bob | not_authorised | 25 | 2026-11-22 14:03:07Z | 2026-11-22 14:04:07Z |",
		"| eve | stale_round | 3 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if line := RenderEventLine(tl.Events[1]); !strings.Contains(line, "olga via cli [unattested]: 2 of 2 (counts for roster.ot_operations)") {
		t.Errorf("event line: %s", line)
	}

	// A signed incident says so, and shows no refusal section without refusals.
	tl.Unattested, st.Unattested, tl.Refusals = false, false, nil
	b.Reset()
	_ = RenderTimelineMarkdown(&b, tl, st)
	if out := b.String(); strings.Contains(out, "UNATTESTED.") || !strings.Contains(out, "| Answers | signed |") || strings.Contains(out, "## Refusals") {
		t.Errorf("signed timeline:\n%s", out)
	}
}
