package workflows

import (
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// TestEveryKindRuns: the interpreter has behaviour for every step kind of
// the plan, and only those.
func TestEveryKindRuns(t *testing.T) {
	for _, k := range plan.StepKinds {
		ops := kinds[k]
		if ops == nil {
			t.Errorf("kind %q has no entry in the interpreter's kinds table", k)
			continue
		}
		if ops.part == nil || ops.begin == nil || ops.tick == nil || ops.results == nil {
			t.Errorf("kind %q lacks part, begin, tick or results", k)
		}
		if p := ops.prompt; p != nil && (p.timeout == nil || p.text == nil || p.onTimeout == nil || p.options == nil) {
			t.Errorf("kind %q has an incomplete prompt entry", k)
		}
	}
	if len(kinds) != len(plan.StepKinds) {
		t.Errorf("the kinds table has %d entries, the plan %d kinds", len(kinds), len(plan.StepKinds))
	}
	for _, k := range []plan.Kind{plan.KindApproval, plan.KindDecision, plan.KindTask} {
		if kinds[k].prompt == nil {
			t.Errorf("kind %q asks people but has no prompt entry", k)
		}
	}
}
