package render

import (
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// TestSummaryShowsThePlantCheck: each safety-critical step says what the
// worker reads before it cuts anything, and a restore says it reads nothing.
// TestSummaryShowsTheSelection: a zone step narrowed by from or except
// says which conduits it is limited to and which it leaves alone.
func TestSummaryShowsTheSelection(t *testing.T) {
	p := &plan.Plan{
		Playbook: "p",
		Steps: []plan.Step{
			{ID: "step.island", Kind: plan.KindStep, Action: &plan.ActionStep{Action: "ot.isolate_zone", SafetyCritical: true, Target: "control",
				With: map[string]*plan.Expr{"zone": plan.Lit("control"), "from": plan.Lit([]any{"dmz"})}}},
			{ID: "step.reopen", Kind: plan.KindStep, Action: &plan.ActionStep{Action: "ot.restore_zone", SafetyCritical: true, Target: "control",
				With: map[string]*plan.Expr{"zone": plan.Lit("control"), "except": plan.Lit([]any{"vendor_remote", "\x1b[31mx"})}}},
		},
	}
	var b strings.Builder
	Summary(&b, p)
	out := b.String()
	for _, want := range []string{
		"only from     zone.dmz\n  2. step.reopen",
		"leaves alone  conduit.vendor_remote, conduit.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("summary carries a terminal escape:\n%q", out)
	}
}

func TestSummaryShowsThePlantCheck(t *testing.T) {
	step := func(id, action, zone string) plan.Step {
		return plan.Step{ID: id, Kind: plan.KindStep, Action: &plan.ActionStep{Action: action, SafetyCritical: true, Target: zone, GuardedBy: []string{"approval.ok"}}}
	}
	p := &plan.Plan{
		Playbook: "p",
		Zones: []plan.Zone{
			{ID: "control", SafeState: &plan.SafeState{Integration: "modbus.plc", Register: 40001, Expect: 1}},
			{ID: "dmz"},
		},
		Steps: []plan.Step{
			step("step.isolate", "ot.isolate_zone", "control"),
			step("step.cut", "ot.block_conduit", "dmz"),
			step("step.restore", "ot.restore_zone", "control"),
			{ID: "step.post", Kind: plan.KindStep, Action: &plan.ActionStep{Action: "slack.post"}},
		},
	}
	var b strings.Builder
	Summary(&b, p)
	out := b.String()
	for _, want := range []string{
		"guarded by    approval.ok\n       plant check   register 40001 on modbus.plc must read 1, or nothing is cut and the step fails PlantNotSafe\n  2. step.cut",
		"plant check   none: zone dmz declares no safe_state\n  3. step.restore",
		"plant check   none: a restore does not read safe_state\n  4. step.post",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "plant check"); n != 3 {
		t.Errorf("%d plant checks, want 3 (none for slack.post):\n%s", n, out)
	}
}
