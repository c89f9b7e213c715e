package render

import (
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// TestEveryKindRenders: the plan summary and the graph have behaviour for
// every step kind of the plan, and only those.
func TestEveryKindRenders(t *testing.T) {
	for _, k := range plan.StepKinds {
		if kindDetails[k] == nil {
			t.Errorf("kind %q has no plan-summary details", k)
		}
		sh, ok := kindShapes[k]
		if !ok || sh.mermaidOpen == "" || sh.mermaidClose == "" {
			t.Errorf("kind %q has no graph shape", k)
		}
	}
	if len(kindDetails) != len(plan.StepKinds) || len(kindShapes) != len(plan.StepKinds) {
		t.Errorf("tables have %d and %d kinds, the plan %d", len(kindDetails), len(kindShapes), len(plan.StepKinds))
	}
}
