package activities_test

import (
	"context"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// TestGuardThreeCoversByTheWorkersPlaybook: an attested sign-off names the
// incident, the approval, the round and the person, but not the zones it
// covers; those come from the call. In the worker's library
// approval.isolate_ok of ot_ransomware_containment covers plant3_control
// only. A call that hands the same genuine sign-off (read from the
// incident's history while it is fresh) with covers rewritten must not
// isolate another zone, gas_control here: the process-safety and
// operations people signed off plant 3, nothing else.
func TestGuardThreeCoversByTheWorkersPlaybook(t *testing.T) {
	w := newGuardWorld(t)
	c := w.call("INC-COVERS")
	c.Signoff.Covers = []string{"gas_control"}
	// The plant model as the worker's configuration has it, which the
	// attacker reads from any plan compiled from the same directory.
	c.Plant = plantOf(&plan.Plan{Zones: w.pol.Zones, Conduits: w.pol.Conduits, Integrations: w.plan.Integrations})
	_, err := w.acts.IsolateZone(context.Background(), activities.ActionInput{Call: c,
		Args: map[string]any{"zone": "zone.gas_control", "reason": "the sign-off was for plant 3"}})
	if err == nil {
		t.Fatalf("gas_control was isolated on plant 3's sign-off; %d conduit(s) cut", w.cuts())
	}
	appError(t, err, activities.ErrSignoffUnmendable, true)
	if n := w.cuts(); n != 0 {
		t.Errorf("%d conduits were cut by a refused isolation", n)
	}
}
