package render

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

func dur(s string) plan.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return plan.Duration(d)
}

func ref(src string, path ...string) *plan.Expr {
	return &plan.Expr{Op: plan.OpRef, Path: path, Source: src}
}

// testPlan is the containment playbook of the language spec, compiled by hand.
func testPlan() *plan.Plan {
	reconnect := &plan.Expr{
		Op: plan.OpBinary, Operator: "==",
		Args:   []*plan.Expr{{Op: plan.OpRef, Path: []string{"decision", "reconnect", "choice"}}, plan.Lit("reconnect")},
		Source: `decision.reconnect.choice == "reconnect"`,
	}
	return &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Playbook:      "ot_ransomware_containment",
		Title:         `Ransomware moving from IT toward a "plant" network`,
		Severity:      "sev1",
		Tags:          []string{"ransomware", "ot"},
		Source:        plan.Range{Filename: "playbooks/library/ransomware.hcl", Line: 1, Column: 1},
		Inputs: []plan.Input{
			{Name: "zone", Type: "string", Required: true},
			{Name: "hosts", Type: "list(string)", Default: []any{}, Description: "Hosts to contain"},
		},
		Steps: []plan.Step{
			{ID: "step.open_room", Kind: plan.KindStep, Name: "open_room", Action: &plan.ActionStep{
				Action: "slack.open_channel", OnFailure: plan.OnFailureAbort,
				With: map[string]*plan.Expr{"name": plan.Lit("inc"), "invite": plan.Lit([]any{})},
			}},
			{ID: "task.call_regulator", Kind: plan.KindTask, Name: "call_regulator", Task: &plan.TaskStep{
				Assign: []string{"roster.compliance"}, Instructions: plan.Lit("Notify the regulator within 1 hour (CIP-008)."),
			}},
			{ID: "step.contain_hosts", Kind: plan.KindStep, Name: "contain_hosts", ForEach: ref("input.hosts", "input", "hosts"),
				Action: &plan.ActionStep{
					Action: "edr.contain_host", Timeout: dur("2m"), OnFailure: plan.OnFailureContinue,
					Retry: &plan.Retry{Attempts: 3, Backoff: dur("10s")},
				}},
			{ID: "page.ot_engineer", Kind: plan.KindPage, Name: "ot_engineer", Needs: []string{"step.open_room"}, Page: &plan.PageStep{
				Escalation: "escalation.ot_engineering",
				Message:    &plan.Expr{Op: plan.OpTemplate, Source: `"Ransomware indicators near ${input.zone}"`},
			}},
			{ID: "approval.isolate_ok", Kind: plan.KindApproval, Name: "isolate_ok", Needs: []string{"page.ot_engineer"}, Approval: &plan.ApprovalStep{
				Kind: plan.ApprovalSafety, Covers: []string{"plant3_control"},
				Prompt: plan.Lit("Isolate plant 3 control from the DMZ?"),
				Quorum: plan.Quorum{Rule: plan.QuorumOneFromEach, Count: 2, Groups: []string{"roster.process_safety", "roster.ot_operations"},
					ExcludeInitiator: true, ValidFor: dur("15m")},
				Timeout: dur("10m"), OnTimeout: "escalation.plant_management",
			}},
			{ID: "step.isolate", Kind: plan.KindStep, Name: "isolate", Needs: []string{"approval.isolate_ok"}, Action: &plan.ActionStep{
				Action: "ot.isolate_zone", SafetyCritical: true, Target: "plant3_control", GuardedBy: []string{"approval.isolate_ok"},
				OnFailure: plan.OnFailureAbort,
			}},
			{ID: "decision.reconnect", Kind: plan.KindDecision, Name: "reconnect", Needs: []string{"step.isolate"}, Decision: &plan.DecisionStep{
				Ask: []string{"roster.ot_oncall"}, Question: plan.Lit("Is plant 3 clean and safe to reconnect?"),
				Options: []string{"reconnect", "stay_isolated"}, Timeout: dur("4h"), Default: "stay_isolated",
			}},
			{ID: "notify.status", Kind: plan.KindNotify, Name: "status", Needs: []string{"step.isolate"}, Notify: &plan.NotifyStep{
				To: []string{plan.NotifyIncidentChannel}, Message: plan.Lit("Plant 3 isolated"),
			}},
			{ID: "approval.restore_ok", Kind: plan.KindApproval, Name: "restore_ok", Needs: []string{"decision.reconnect"}, When: reconnect,
				Approval: &plan.ApprovalStep{
					Kind: plan.ApprovalSafety, Covers: []string{"zone.plant3_control"}, Prompt: plan.Lit("Reconnect?"),
					Quorum: plan.Quorum{Rule: plan.QuorumCount, Count: 2, Groups: []string{"roster.process_safety"}},
				}},
			{ID: "step.restore", Kind: plan.KindStep, Name: "restore", Needs: []string{"approval.restore_ok", "decision.reconnect"}, When: reconnect,
				Action: &plan.ActionStep{
					Action: "ot.restore_zone", SafetyCritical: true, Target: "plant3_control", GuardedBy: []string{"approval.restore_ok"},
					OnFailure: plan.OnFailureAbort,
				}},
			{ID: "wait.settle", Kind: plan.KindWait, Name: "settle", Needs: []string{"step.restore"}, Wait: &plan.WaitStep{Duration: dur("90s")}},
		},
		Safety: &plan.Safety{
			Signoff:    plan.Quorum{Rule: plan.QuorumOneFromEach, Count: 2, Groups: []string{"roster.process_safety", "roster.ot_operations"}, ExcludeInitiator: true, ValidFor: dur("15m")},
			BreakGlass: &plan.BreakGlass{Rosters: []string{"roster.shift_supervisor"}, RequireReason: true},
		},
	}
}

func assertLines(t *testing.T, what, out string, want []string) {
	t.Helper()
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("%s: missing line %q in:\n%s", what, w, out)
		}
	}
}

func TestMermaid(t *testing.T) {
	out := Mermaid(testPlan())
	if !strings.HasPrefix(out, "flowchart TD\n") {
		t.Errorf("no flowchart header:\n%s", out)
	}
	assertLines(t, "mermaid", out, []string{
		`%% playbook ot_ransomware_containment`,
		`n0_step_open_room["step.open_room<br/>slack.open_channel"]`,
		`n3_page_ot_engineer(["page.ot_engineer"])`,
		`n4_approval_isolate_ok{{"approval.isolate_ok<br/>🛡 sign-off: zone plant3_control"}}:::safety`,
		`n5_step_isolate[["step.isolate<br/>ot.isolate_zone<br/>⚠ SAFETY-CRITICAL → plant3_control<br/>guarded by approval.isolate_ok"]]:::critical`,
		`n6_decision_reconnect{"decision.reconnect"}`,
		`n9_step_restore[["step.restore<br/>ot.restore_zone<br/>⚠ SAFETY-CRITICAL → plant3_control<br/>guarded by approval.restore_ok<br/>when: decision.reconnect.choice == #34;reconnect#34;"]]:::critical`,
		`n0_step_open_room --> n3_page_ot_engineer`,
		`n4_approval_isolate_ok --> n5_step_isolate`,
		`n8_approval_restore_ok -.-> n9_step_restore`,
		`n6_decision_reconnect -.-> n9_step_restore`,
		`subgraph legend["Legend"]`,
		`legend_safety{{"🛡 safety sign-off: approval with kind = #34;safety#34;"}}:::safety`,
		`classDef safety fill:#d4edda,stroke:#1e7e34,stroke-width:3px,color:#000`,
		`classDef critical fill:#f8d7da,stroke:#c82333,stroke-width:3px,color:#000`,
	})
	if strings.Contains(out, "task.call_regulator\"/] -->") {
		t.Error("a step without dependants has an edge")
	}
	if Mermaid(testPlan()) != out {
		t.Error("output is not deterministic")
	}
}

func TestDot(t *testing.T) {
	out := Dot(testPlan())
	if !strings.HasPrefix(out, `digraph "ot_ransomware_containment" {`) || !strings.HasSuffix(out, "}\n") {
		t.Errorf("bad frame:\n%s", out)
	}
	assertLines(t, "dot", out, []string{
		`graph [rankdir=TB, fontname="Helvetica", label="Ransomware moving from IT toward a \"plant\" network", labelloc=t];`,
		`"step.open_room" [label="step.open_room\nslack.open_channel"];`,
		`"approval.isolate_ok" [label="approval.isolate_ok\n🛡 sign-off: zone plant3_control", shape=hexagon, style="filled,bold", peripheries=2, fillcolor="#d4edda", color="#1e7e34", penwidth=2];`,
		`"step.isolate" [label="step.isolate\not.isolate_zone\n⚠ SAFETY-CRITICAL → plant3_control\nguarded by approval.isolate_ok", shape=octagon, style="filled,bold", fillcolor="#f8d7da", color="#c82333", penwidth=3];`,
		`"step.open_room" -> "page.ot_engineer";`,
		`"approval.restore_ok" -> "step.restore" [style=dashed];`,
		`subgraph cluster_legend {`,
	})
	if Dot(testPlan()) != out {
		t.Error("output is not deterministic")
	}
	validateDot(t, out)
}

// TestGraphEscaping uses hostile names and conditions without source.
func TestGraphEscaping(t *testing.T) {
	p := &plan.Plan{
		Playbook: "we\"ird\\name\n",
		Steps: []plan.Step{
			{ID: `step.a"b`, Kind: plan.KindStep, Action: &plan.ActionStep{Action: "x<y>&z|#`"}},
			{ID: "step.c", Kind: plan.KindStep, Needs: []string{`step.a"b`, "step.gone"},
				When: &plan.Expr{Op: plan.OpBinary, Operator: "&&", Args: []*plan.Expr{
					{Op: plan.OpRef, Path: []string{"input", "go"}},
					{Op: plan.OpNot, Args: []*plan.Expr{plan.Lit(`"<b>"`)}},
				}},
				Action: &plan.ActionStep{Action: "ot.block_conduit", SafetyCritical: true, Target: "z"}},
		},
	}
	m := Mermaid(p)
	assertLines(t, "mermaid", m, []string{
		`%% playbook we"ird\name`,
		`n0_step_a_b["step.a#34;b<br/>x#60;y#62;#38;z#124;#35;#96;"]`,
		`n1_step_c[["step.c<br/>ot.block_conduit<br/>⚠ SAFETY-CRITICAL → z<br/>⚠ NOT GUARDED by any safety sign-off<br/>when: input.go #38;#38; !#34;\#34;#60;b#62;\#34;#34;"]]:::critical`,
		`m2_step_gone["step.gone<br/>(not in plan)"]:::missing`,
		`m2_step_gone -.-> n1_step_c`,
	})
	d := Dot(p)
	assertLines(t, "dot", d, []string{
		`digraph "we\"ird\\name\n" {`,
		`"step.a\"b" [label="step.a\"b\nx<y>&z|#` + "`" + `"];`,
		`"step.gone" -> "step.c" [style=dashed];`,
	})
	validateDot(t, d)

	for _, p := range []*plan.Plan{nil, {}, {Steps: []plan.Step{{}}}} {
		_ = Mermaid(p)
		validateDot(t, Dot(p))
	}
}

// validateDot runs Graphviz over the source when it is installed.
func validateDot(t *testing.T, src string) {
	t.Helper()
	dot, err := exec.LookPath("dot")
	if err != nil {
		return
	}
	cmd := exec.Command(dot, "-Tsvg", "-o", filepath.Join(t.TempDir(), "out.svg"))
	cmd.Stdin = strings.NewReader(src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("dot rejected the graph: %v\n%s\n%s", err, out, src)
	}
}

func TestSummary(t *testing.T) {
	var b bytes.Buffer
	Summary(&b, testPlan())
	out := b.String()
	for _, want := range []string{
		"Playbook  ot_ransomware_containment\n",
		"Severity  sev1\n",
		"\nInputs\n  zone   string        required\n  hosts  list(string)  default []  Hosts to contain\n",
		"Steps (11, in run order)\n   1. step.open_room\n",
		"   3. step.contain_hosts\n" +
			"        kind          step\n" +
			"        for each      input.hosts\n" +
			"        action        edr.contain_host\n" +
			"        timeout       2m\n" +
			"        retry         3 attempts, 10s apart\n" +
			"        on failure    continue\n",
		"   5. approval.isolate_ok\n" +
			"        kind          approval (safety)\n" +
			"        needs         page.ot_engineer\n" +
			"        🛡 sign-off: zone plant3_control\n" +
			"        prompt        Isolate plant 3 control from the DMZ?\n" +
			"        quorum        one distinct person from each of roster.process_safety, roster.ot_operations; excluding the initiator; valid for 15m\n" +
			"        timeout       10m, then escalate to escalation.plant_management and keep waiting\n",
		"        ⚠ SAFETY-CRITICAL → zone plant3_control\n        guarded by    approval.isolate_ok\n",
		"        when          decision.reconnect.choice == \"reconnect\"\n",
		"        quorum        2 distinct people from roster.process_safety\n",
		"        duration      1m30s\n",
		"Safety policy\n  sign-off      one distinct person",
		"  break glass   roster.shift_supervisor; a reason is required\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	b.Reset()
	Summary(&b, nil)
	if b.String() != "(no plan)\n" {
		t.Errorf("nil plan: %q", b.String())
	}
	b.Reset()
	Summary(&b, &plan.Plan{Steps: []plan.Step{{ID: "step.x", Kind: plan.KindStep, Action: &plan.ActionStep{SafetyCritical: true}}}})
	if !strings.Contains(b.String(), "guarded by    ⚠ NOTHING") {
		t.Errorf("unguarded step not flagged:\n%s", b.String())
	}
	Summary(nil, testPlan())
}

// TestGraphAndSummaryHostileText: escape sequences and bidi overrides in a
// playbook's names, title and descriptions are escaped in every output that
// may be printed on a terminal.
func TestGraphAndSummaryHostileText(t *testing.T) {
	evil := "x\x1b]0;pwned\x07\u202e\u009b2J\ry"
	p := &plan.Plan{
		Playbook: "pb" + evil, Title: "Title" + evil, Severity: "sev1" + evil, Tags: []string{evil},
		Inputs: []plan.Input{{Name: "zone" + evil, Type: "string", Description: evil}},
		Steps:  []plan.Step{{ID: "step." + evil, Kind: plan.KindStep, Action: &plan.ActionStep{Action: "x." + evil}}},
	}
	var sum bytes.Buffer
	Summary(&sum, p)
	m, d := Mermaid(p), Dot(p)
	for name, out := range map[string]string{"summary": sum.String(), "mermaid": m, "dot": d} {
		for i, r := range out {
			if r != '\n' && (r < 0x20 || r == 0x7f || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)) {
				t.Errorf("%s passes %U raw at byte %d:\n%s", name, r, i, out)
				break
			}
		}
	}
	// On one line the carriage return is white space; in a label an escape.
	const line, label = `x\x1b]0;pwned\x07\u202e\u009b2J y`, `x\x1b]0;pwned\x07\u202e\u009b2J\ry`
	if !strings.Contains(sum.String(), "Title     Title"+line+"\n") {
		t.Errorf("summary:\n%s", sum.String())
	}
	if !strings.Contains(m, "%% Title"+line+"\n") || !strings.Contains(m, `["step.`+label+"<br/>") {
		t.Errorf("mermaid:\n%s", m)
	}
	if !strings.Contains(d, `label="Title`+strings.ReplaceAll(label, `\`, `\\`)+`"`) {
		t.Errorf("dot:\n%s", d)
	}
	validateDot(t, d)
}
