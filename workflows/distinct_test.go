package workflows_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// distinctPlaybook isolates and restores zone.control, the restore with a
// sign-off of its own that the isolation's approvers may not give.
const distinctPlaybook = `playbook "p" {
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
  approval "restore_ok" {
    kind          = "safety"
    covers        = [zone.control]
    for           = [step.restore]
    distinct_from = [approval.isolate_ok]
    prompt        = "Reconnect?"
    needs         = [step.isolate]
  }
  step "restore" {
    action = "ot.restore_zone"
    with   = { zone = zone.control }
    needs  = [approval.restore_ok]
  }
}`

// TestDistinctFromRefusesTheSamePerson: bob and carol, who signed the
// isolation, may not sign the restore too (SameApprover, recorded as
// refusals); alice and dan do, and the restore runs with a sign-off whose
// records say who signed the isolation, for guard three.
func TestDistinctFromRefusesTheSamePerson(t *testing.T) {
	h := newHarness(t)
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	same := h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "bob"})
	sameOps := h.answer(4*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "carol"})
	h.answer(5*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "alice"})
	h.answer(6*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "dan"})
	h.run(workflows.IncidentInput{Plan: compile(t, distinctPlaybook)})
	for _, r := range h.replies {
		if r != same && r != sameOps {
			accepted(t, r)
		}
	}
	refused(t, same, "bob approved approval.isolate_ok and may not approve approval.restore_ok too", "distinct_from")
	refused(t, sameOps, "carol approved approval.isolate_ok")

	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	var codes []string
	for _, e := range h.timeline().Events {
		if e.Kind == workflows.EventRefused && e.Step == "approval.restore_ok" {
			codes = append(codes, e.Person+":"+e.Code)
		}
	}
	if want := []string{"bob:" + string(rules.SameApprover), "carol:" + string(rules.SameApprover)}; !slices.Equal(codes, want) {
		t.Errorf("refusals %v, want %v", codes, want)
	}
	restores := h.activityStarts("RestoreZone")
	if len(restores) != 1 {
		t.Fatalf("%d restore starts, want 1", len(restores))
	}
	so := restores[0].Action.Call.Signoff
	if so == nil || so.Approval != "approval.restore_ok" {
		t.Fatalf("restore sign-off %+v, want approval.restore_ok's", so)
	}
	var who []string
	for _, a := range so.Approvers {
		who = append(who, a.Person)
	}
	if !slices.Equal(who, []string{"alice", "dan"}) {
		t.Errorf("restore signed off by %v, want alice, dan", who)
	}
	want := []activities.SignedApproval{{Approval: "approval.isolate_ok", People: []string{"bob", "carol"}}}
	if len(so.Signed) != 1 || so.Signed[0].Approval != want[0].Approval || !slices.Equal(so.Signed[0].People, want[0].People) {
		t.Errorf("sign-off records %+v, want %+v", so.Signed, want)
	}
	if n := len(h.effects(sim.OpRestore)); n == 0 {
		t.Errorf("the restore reopened nothing")
	}
}

// TestDistinctFromOnInterpreterV8: an incident that started on the
// interpreter before distinct_from keeps its rules (bob may sign both).
func TestDistinctFromOnInterpreterV8(t *testing.T) {
	h := newHarness(t)
	h.env.OnGetVersion(workflows.InterpreterChange, workflow.DefaultVersion, workflows.InterpreterMax).Return(workflows.InterpreterV8)
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "bob"})
	h.answer(4*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "carol"})
	h.run(workflows.IncidentInput{Plan: compile(t, distinctPlaybook)})
	for _, r := range h.replies {
		accepted(t, r)
	}
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
}

// TestGuardThreeRefusesTheSamePerson: a plan with distinct_from taken out
// lets the workflow's rule book accept bob on both sign-offs, but the
// worker's own playbook still has it, and guard three refuses the restore.
func TestGuardThreeRefusesTheSamePerson(t *testing.T) {
	h := newHarness(t)
	p := compile(t, distinctPlaybook)
	h.policy = policyFor(p)
	h.policy.Distinct = map[string]map[string][]string{"p": {"approval.restore_ok": {"approval.isolate_ok"}}}
	p.StepByID("approval.restore_ok").Approval.DistinctFrom = nil
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "bob"})
	h.answer(4*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "dan"})
	h.run(workflows.IncidentInput{Plan: p})
	for _, r := range h.replies {
		accepted(t, r)
	}
	ev := firstEvent(t, h.timeline(), workflows.EventSignoffRefused, "step.restore")
	if !strings.Contains(ev.Detail, "bob also approved approval.isolate_ok") || !strings.Contains(ev.Detail, string(rules.SameApprover)) {
		t.Errorf("guard three's refusal: %q", ev.Detail)
	}
	if n := len(h.effects(sim.OpRestore)); n != 0 {
		t.Errorf("%d restores went through, want none", n)
	}
}

// TestGuardThreeRefusesAnEarlierSignoffForARestore: a plan edited to
// guard the restore with the isolation's sign-off gets it handed to the
// restore by guard two, but the worker's own playbook says only
// approval.restore_ok signs the restore off, and guard three refuses.
func TestGuardThreeRefusesAnEarlierSignoffForARestore(t *testing.T) {
	h := newHarness(t)
	p := compile(t, distinctPlaybook)
	h.policy = policyFor(p)
	h.policy.Own = map[string]map[string][]string{"p": {"step.restore": {"approval.restore_ok"}}}
	p.StepByID("step.restore").Action.GuardedBy = []string{"approval.isolate_ok"}
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "alice"})
	h.answer(4*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.restore_ok", Person: "dan"})
	h.run(workflows.IncidentInput{Plan: p})
	for _, r := range h.replies {
		accepted(t, r)
	}
	restores := h.activityStarts("RestoreZone")
	if len(restores) == 0 || restores[0].Action.Call.Signoff == nil || restores[0].Action.Call.Signoff.Approval != "approval.isolate_ok" {
		t.Fatalf("restore starts %+v, want one handed approval.isolate_ok", restores)
	}
	// No fresh sign-off of approval.isolate_ok can mend it: the step fails.
	wantStep(t, h.result().Steps, "step.restore", workflows.StepFailed,
		"sign-off approval.isolate_ok is not the step's own", "only approval.restore_ok may sign off step.restore (for)")
	if n := len(h.effects(sim.OpRestore)); n != 0 {
		t.Errorf("%d restores went through, want none", n)
	}
}
