package playbooks

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
)

// condDecision opens every condition case: a decision the conditions read.
const condDecision = `playbook "c" {
  decision "d" {
    ask      = [roster.ops]
    question = "Go on?"
    options  = ["yes", "no"]
  }
`

func TestConditionDiagnostics(t *testing.T) {
	cases := []checkCase{
		{name: "condition used by two steps", src: condDecision + `  condition "go" {
    when = decision.d.choice == "yes"
  }
  wait "a" {
    duration = "1m"
    when     = condition.go
  }
  wait "b" {
    duration = "1m"
    when     = condition.go && step_ok
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Unknown name", detail: `"step_ok" is not something a playbook can refer to.`, line: 16, col: 32},
		}},
		{name: "conditions built from conditions", src: condDecision + `  condition "yes" {
    when = decision.d.choice == "yes"
  }
  condition "go" {
    when = condition.yes && decision.d.status == "done"
  }
  wait "a" {
    duration = "1m"
    when     = condition.go
  }
}`},
		{name: "unknown condition with did-you-mean", src: condDecision + `  condition "reconnect_chosen" {
    when = decision.d.choice == "yes"
  }
  wait "a" {
    duration = "1m"
    when     = condition.reconect_chosen
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Reference to undeclared condition", detail: `Playbook "c" has no condition named "reconect_chosen". Did you mean "reconnect_chosen"? Known: condition.reconnect_chosen.`, line: 12, col: 16},
		}},
		{name: "condition in a playbook without any", src: condDecision + `  wait "a" {
    duration = "1m"
    when     = condition.go
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Reference to undeclared condition", detail: `Declare it in playbook "c": condition "go" { when = ... }.`, line: 9, col: 16},
		}},
		{name: "unused condition", src: condDecision + `  condition "go" {
    when = decision.d.choice == "yes"
  }
}`, want: []checkWant{
			{sev: hcl.DiagWarning, summary: "Unused condition", detail: `nothing in playbook "c" refers to condition.go. Use it in a when or remove it.`, line: 7, col: 3},
		}},
		{name: "cycle between conditions", src: condDecision + `  condition "a" {
    when = condition.b && decision.d.choice == "yes"
  }
  condition "b" {
    when = !condition.a
  }
  wait "w" {
    duration = "1m"
    when     = condition.a
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Cycle between conditions", detail: "condition.a → condition.b → condition.a", line: 11, col: 13},
		}},
		{name: "condition naming itself", src: condDecision + `  condition "a" {
    when = condition.a
  }
  wait "w" {
    duration = "1m"
    when     = condition.a
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Cycle between conditions", detail: "condition.a → condition.a", line: 8, col: 12},
		}},
		{name: "condition that is not a bool", src: condDecision + `  condition "go" {
    when = decision.d.choice
  }
  wait "w" {
    duration = "1m"
    when     = condition.go
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Wrong type", detail: "The when of condition go", line: 8, col: 12},
		}},
		{name: "error inside a condition reported once", src: condDecision + `  condition "go" {
    when = decision.dd.choice == "yes"
  }
  wait "a" {
    duration = "1m"
    when     = condition.go
  }
  wait "b" {
    duration = "1m"
    when     = condition.go
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Reference to undeclared decision", detail: `Did you mean "decision.d"?`, line: 8, col: 12},
		}},
		{name: "condition with an attribute", src: condDecision + `  condition "go" {
    when = decision.d.choice == "yes"
  }
  wait "a" {
    duration = "1m"
    when     = condition.go.value
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Unknown attribute", detail: "condition.go is true or false and has no attributes.", line: 12, col: 28},
		}},
		{name: "duplicate condition", src: condDecision + `  condition "go" {
    when = decision.d.choice == "yes"
  }
  condition "go" {
    when = decision.d.choice == "no"
  }
  wait "a" {
    duration = "1m"
    when     = condition.go
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Duplicate condition", detail: `condition "go" is already declared in playbook "c" at test.hcl:7`, line: 10, col: 3},
		}},
		{name: "condition may share a step's name", src: condDecision + `  condition "d" {
    when = decision.d.choice == "yes"
  }
  wait "a" {
    duration = "1m"
    when     = condition.d
  }
}`},
		{name: "local is not a root", src: condDecision + `  wait "a" {
    duration = "1m"
    when     = local.go
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Unknown name", detail: `refers to it as condition.NAME`, line: 9, col: 16},
		}},
		{name: "condition with each", src: condDecision + `  condition "go" {
    when = each.value == "x"
  }
  wait "a" {
    duration = "1m"
    when     = condition.go
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "each outside for_each", detail: "", line: 8, col: 12},
		}},
		{name: "step reading itself through a condition", src: condDecision + `  condition "late" {
    when = wait.a.status == "done"
  }
  wait "a" {
    duration = "1m"
    when     = condition.late
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Step refers to itself", detail: "wait.a names condition.late, which reads wait.a itself", line: 12, col: 16},
		}},
		{name: "steps wait for what their condition reads", src: condDecision + `  condition "late" {
    when = wait.b.status == "done"
  }
  wait "a" {
    duration = "1m"
    when     = condition.late
  }
  wait "b" {
    duration = "1m"
    needs    = [wait.a]
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Dependency cycle", detail: "wait.a", line: 12, col: 16},
		}},
		{name: "conditions doubling in size", src: condDecision + condChain + `  wait "a" {
    duration = "1m"
    when     = condition.c39
  }
}`, want: []checkWant{
			{sev: hcl.DiagError, summary: "Condition too large", detail: "condition c11 stands for 110566 bytes", line: 41, col: 12},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

// condChain is a chain of conditions each naming the one before twice, so
// that written out they double in size with each link.
const condChain = `  condition "c0" {
    when = decision.d.choice == "yes"
  }
  condition "c1" {
    when = condition.c0 && condition.c0
  }
  condition "c2" {
    when = condition.c1 && condition.c1
  }
  condition "c3" {
    when = condition.c2 && condition.c2
  }
  condition "c4" {
    when = condition.c3 && condition.c3
  }
  condition "c5" {
    when = condition.c4 && condition.c4
  }
  condition "c6" {
    when = condition.c5 && condition.c5
  }
  condition "c7" {
    when = condition.c6 && condition.c6
  }
  condition "c8" {
    when = condition.c7 && condition.c7
  }
  condition "c9" {
    when = condition.c8 && condition.c8
  }
  condition "c10" {
    when = condition.c9 && condition.c9
  }
  condition "c11" {
    when = condition.c10 && condition.c10
  }
  condition "c12" {
    when = condition.c11 && condition.c11
  }
  condition "c13" {
    when = condition.c12 && condition.c12
  }
  condition "c14" {
    when = condition.c13 && condition.c13
  }
  condition "c15" {
    when = condition.c14 && condition.c14
  }
  condition "c16" {
    when = condition.c15 && condition.c15
  }
  condition "c17" {
    when = condition.c16 && condition.c16
  }
  condition "c18" {
    when = condition.c17 && condition.c17
  }
  condition "c19" {
    when = condition.c18 && condition.c18
  }
  condition "c20" {
    when = condition.c19 && condition.c19
  }
  condition "c21" {
    when = condition.c20 && condition.c20
  }
  condition "c22" {
    when = condition.c21 && condition.c21
  }
  condition "c23" {
    when = condition.c22 && condition.c22
  }
  condition "c24" {
    when = condition.c23 && condition.c23
  }
  condition "c25" {
    when = condition.c24 && condition.c24
  }
  condition "c26" {
    when = condition.c25 && condition.c25
  }
  condition "c27" {
    when = condition.c26 && condition.c26
  }
  condition "c28" {
    when = condition.c27 && condition.c27
  }
  condition "c29" {
    when = condition.c28 && condition.c28
  }
  condition "c30" {
    when = condition.c29 && condition.c29
  }
  condition "c31" {
    when = condition.c30 && condition.c30
  }
  condition "c32" {
    when = condition.c31 && condition.c31
  }
  condition "c33" {
    when = condition.c32 && condition.c32
  }
  condition "c34" {
    when = condition.c33 && condition.c33
  }
  condition "c35" {
    when = condition.c34 && condition.c34
  }
  condition "c36" {
    when = condition.c35 && condition.c35
  }
  condition "c37" {
    when = condition.c36 && condition.c36
  }
  condition "c38" {
    when = condition.c37 && condition.c37
  }
  condition "c39" {
    when = condition.c38 && condition.c38
  }
`

// restoreByCondition is an isolation and a restore whose sign-off and
// restore each name a condition; %OK% and %RESTORE% are the conditions the
// sign-off and the restore name.
const restoreByCondition = `playbook "p" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
  decision "reconnect" {
    ask      = [roster.ot_operations]
    question = "Reconnect?"
    options  = ["reconnect", "stay"]
    needs    = [step.isolate]
  }
  condition "reconnect_chosen" {
    when = decision.reconnect.choice == "reconnect"
  }
  condition "not_stay" {
    when = decision.reconnect.choice != "stay"
  }
  approval "restore_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Reconnect?"
    for    = [step.restore]
    when   = %OK%
  }
  step "restore" {
    action = "ot.restore_zone"
    with   = { zone = zone.control }
    needs  = [approval.restore_ok]
    when   = %RESTORE%
  }
  wait "settle" {
    duration = "5m"
    needs    = [step.restore]
    when     = %RESTORE%
  }
}`

func TestSafetyCheckComparesConditionsByName(t *testing.T) {
	src := func(ok, restore string) string {
		return strings.NewReplacer("%OK%", ok, "%RESTORE%", restore).Replace(restoreByCondition)
	}
	t.Run("same condition", func(t *testing.T) {
		m, diags := compileWithBase(t, ownBase, src("condition.reconnect_chosen", "condition.reconnect_chosen"))
		for _, d := range diags {
			// Only not_stay, unused here, may be warned about.
			if d.Severity == hcl.DiagError || !strings.Contains(d.Detail, "condition.not_stay") {
				t.Errorf("unexpected: %s", checkFmtDiags(hcl.Diagnostics{d}))
			}
		}
		p, pd := m.Compile("p", actions.Builtin())
		if pd.HasErrors() {
			t.Fatalf("compile: %s", pd.Error())
		}
		for _, s := range p.Steps {
			if s.ID == "step.restore" {
				if s.When == nil || s.When.Source != "condition.reconnect_chosen" {
					t.Fatalf("restore's when = %+v, want the source to name the condition", s.When)
				}
				if got := exprKey(s.When); !strings.Contains(got, `"reconnect"`) || !strings.Contains(got, "decision") {
					t.Errorf("restore's when is not expanded into the condition's expression: %s", got)
				}
				if s.Action == nil || !slices.Contains(s.Action.GuardedBy, "approval.restore_ok") {
					t.Errorf("restore not guarded by its own sign-off: %+v", s.Action)
				}
			}
		}
	})
	t.Run("same text as the condition", func(t *testing.T) {
		_, diags := compileWithBase(t, ownBase, src("condition.reconnect_chosen", `decision.reconnect.choice == "reconnect"`))
		if diags.HasErrors() {
			t.Fatalf("a when written out the same as the condition should match it:%s", checkFmtDiags(diags))
		}
	})
	t.Run("different condition", func(t *testing.T) {
		_, diags := compileWithBase(t, ownBase, src("condition.reconnect_chosen", "condition.not_stay"))
		var found *hcl.Diagnostic
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				if found != nil {
					t.Errorf("more than one error:%s", checkFmtDiags(diags))
				}
				found = d
			}
		}
		if found == nil {
			t.Fatalf("a restore under a different condition than its sign-off was accepted:%s", checkFmtDiags(diags))
		}
		for _, s := range []string{"step.restore", "approval.restore_ok only runs when condition.reconnect_chosen", "runs when condition.not_stay"} {
			if !strings.Contains(found.Detail, s) {
				t.Errorf("detail %q does not contain %q", found.Detail, s)
			}
		}
	})
}

// A condition in a .hcl.json file compiles to the same plan as in HCL.
func TestConditionInJSONSyntax(t *testing.T) {
	const hclSrc = condDecision + `  condition "go" {
    when = decision.d.choice == "yes"
  }
  wait "a" {
    duration = "1m"
    when     = condition.go
  }
}`
	const jsonSrc = `{"playbook": {"c": {
  "decision": {"d": {"ask": ["${roster.ops}"], "question": "Go on?", "options": ["yes", "no"]}},
  "condition": {"go": {"when": "${decision.d.choice == \"yes\"}"}},
  "wait": {"a": {"duration": "1m", "when": "${condition.go}"}}
}}}`
	compile := func(name, src string) *plan.Plan {
		t.Helper()
		m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(checkBaseHCL), name: []byte(src)})
		p, d := m.Compile("c", actions.Builtin())
		diags = append(diags, d...)
		if len(diags) > 0 || p == nil {
			t.Fatalf("%s: %s", name, checkFmtDiags(diags))
		}
		return p
	}
	fromHCL, fromJSON := compile("test.hcl", hclSrc), compile("test.hcl.json", jsonSrc)
	if w := fromHCL.Steps[len(fromHCL.Steps)-1].When; w == nil || w.Op != plan.OpBinary {
		t.Fatalf("wait.a's when is not the condition's comparison: %+v", w)
	}
	checkClearSource(fromHCL)
	checkClearSource(fromJSON)
	if !reflect.DeepEqual(fromHCL, fromJSON) {
		a, _ := json.MarshalIndent(fromHCL, "", "  ")
		b, _ := json.MarshalIndent(fromJSON, "", "  ")
		t.Errorf("plans differ.\nHCL:\n%s\nJSON:\n%s", a, b)
	}
}

// A comparison of different types inside a condition is reported once, at
// the condition, however many steps name it.
func TestConditionComparisonReportedOnce(t *testing.T) {
	src := strings.Replace(mistakeRead("condition.changed"), `  step "post" {`, `  condition "changed" {
    when = step.read.output.value != "100"
  }
  wait "hold" {
    duration = "1m"
    when     = condition.changed
  }
  step "post" {`, 1)
	runCheckCase(t, checkCase{name: "comparison in a condition", src: src, want: []checkWant{
		checkErr(16, 12, "Comparison of different types", `so != is always true. Write step.read.output.value != 100.`),
	}})
}
