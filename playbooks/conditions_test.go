package playbooks

import (
	"slices"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"testing"

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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

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
