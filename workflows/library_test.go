package workflows_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestLibraryRansomwareEndToEnd runs the shipped ot_ransomware_containment
// playbook with scripted responders: the page is acknowledged, a
// process-safety and an OT-operations engineer sign off, plant 3 is isolated
// exactly once, the shift supervisor confirms islanded operation, OT on-call
// decides to reconnect, a fresh sign-off is given, and the zone is restored.
func TestLibraryRansomwareEndToEnd(t *testing.T) {
	p := libraryPlan(t, "ot_ransomware_containment")
	h := newHarness(t)
	ans := func(d time.Duration, update, step, person, option string) *reply {
		return h.answer(d, update, workflows.Answer{Step: step, Person: person, Option: option, Channel: workflows.ChannelScript})
	}
	ans(2*time.Minute, workflows.UpdateAck, "page.ot_engineer", "dmitri", "")
	self := ans(3*time.Minute, workflows.UpdateApprove, "approval.isolate_ok", "hiro", "")
	ans(4*time.Minute, workflows.UpdateApprove, "approval.isolate_ok", "alice", "")
	ans(5*time.Minute, workflows.UpdateApprove, "approval.isolate_ok", "erin", "")
	ans(10*time.Minute, workflows.UpdateDone, "task.verify_islanded", "farid", "")
	ans(30*time.Minute, workflows.UpdateDone, "task.call_regulator", "kate", "")
	ans(60*time.Minute, workflows.UpdateDecide, "decision.reconnect", "dmitri", "reconnect")
	ans(62*time.Minute, workflows.UpdateApprove, "approval.restore_ok", "bob", "")
	ans(63*time.Minute, workflows.UpdateApprove, "approval.restore_ok", "olga", "")
	h.run(workflows.IncidentInput{Plan: p, IncidentID: "INC-RW", Commander: "hiro", Inputs: map[string]any{
		"zone":  "plant3_dmz",
		"hosts": []any{"ws-eng-07", "hist-01"},
	}})
	for _, r := range h.replies {
		if r != self {
			accepted(t, r)
		}
	}
	// hiro is in no sign-off roster (and is the commander).
	refused(t, self, "hiro")

	res := h.result()
	if res.State != workflows.StateCompleted || res.BreakGlass {
		t.Fatalf("result %s break-glass=%v: %+v", res.State, res.BreakGlass, res.Steps)
	}
	for _, s := range res.Steps {
		if s.State != workflows.StepDone {
			t.Errorf("%s is %s (%s)", s.ID, s.State, s.Reason)
		}
	}

	// Two-person sign-off, one from each roster, handed to the isolation.
	isolations := h.activityStarts("IsolateZone")
	if len(isolations) != 1 {
		t.Fatalf("%d isolations", len(isolations))
	}
	so := isolations[0].Action.Call.Signoff
	var who []string
	for _, a := range so.Approvers {
		who = append(who, a.Person+"@"+a.Roster)
	}
	if so.Approval != "approval.isolate_ok" || !slices.Equal(who, []string{"alice@roster.process_safety", "erin@roster.ot_operations"}) {
		t.Errorf("isolation sign-off %s by %v", so.Approval, who)
	}
	if h.since(isolations[0].At) != 5*time.Minute {
		t.Errorf("isolated at +%s, want +5m", h.since(isolations[0].At))
	}

	// Exactly one cut per conduit into plant3_control (the SIS conduit stays
	// open), each applied once.
	var cuts []string
	for _, e := range h.attempts(sim.OpCut) {
		if !e.Effect {
			t.Errorf("cut attempt without effect: %+v", e)
		}
		cuts = append(cuts, e.Key)
	}
	wantCuts := []string{"INC-RW/step.isolate/cut/dmz_to_control", "INC-RW/step.isolate/cut/gas_control_to_plant3"}
	if !slices.Equal(cuts, wantCuts) {
		t.Errorf("cuts %v, want %v", cuts, wantCuts)
	}

	// Restore after the reconnect decision, with its own fresh sign-off.
	restores := h.activityStarts("RestoreZone")
	if len(restores) != 1 {
		t.Fatalf("%d restores", len(restores))
	}
	if rso := restores[0].Action.Call.Signoff; rso.Approval != "approval.restore_ok" || h.since(rso.GrantedAt) != 63*time.Minute {
		t.Errorf("restore sign-off %s granted at +%s", rso.Approval, h.since(rso.GrantedAt))
	}
	var reopened []string
	for _, e := range h.effects(sim.OpRestore) {
		reopened = append(reopened, e.Key)
	}
	if !slices.Equal(reopened, []string{"INC-RW/step.restore/restore/dmz_to_control", "INC-RW/step.restore/restore/gas_control_to_plant3"}) {
		t.Errorf("restores %v", reopened)
	}
	tl := h.timeline()
	decided := firstEvent(t, tl, workflows.EventDecided, "decision.reconnect")
	restored := firstEvent(t, tl, workflows.EventStepFinished, "step.restore")
	if decided.Seq > restored.Seq || h.since(restored.At) != 63*time.Minute {
		t.Errorf("restore finished at +%s (seq %d), decision at seq %d", h.since(restored.At), restored.Seq, decided.Seq)
	}

	// Hosts contained in parallel with opening the room; the notices carry
	// the isolation's output.
	if n := len(h.effects(sim.OpContain)); n != 2 {
		t.Errorf("%d hosts contained", n)
	}
	var notices []string
	for _, e := range h.effects(sim.OpNotify) {
		notices = append(notices, decode[activities.DeliverRequest](t, e.Request).Text)
	}
	if len(notices) != 2 || !strings.Contains(notices[0], "Cut: dmz_to_control, gas_control_to_plant3. Kept open: sis_to_control.") ||
		!strings.Contains(notices[1], "Reopened: dmz_to_control, gas_control_to_plant3.") {
		t.Errorf("notices %q", notices)
	}
	// Every effect happened once: no key has two effects.
	seen := map[string]bool{}
	for _, e := range h.j.Effects() {
		k := e.Op + " " + e.Key
		if seen[k] {
			t.Errorf("effect %s applied twice", k)
		}
		seen[k] = true
	}
}

// TestLibraryRansomwareStayIsolated: with no answer to the reconnect
// decision its default (stay_isolated) applies after 4h, and the restore and
// its sign-off are skipped with the reason.
func TestLibraryRansomwareStayIsolated(t *testing.T) {
	p := libraryPlan(t, "ot_ransomware_containment")
	h := newHarness(t)
	h.answer(time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.ot_engineer", Person: "olga"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "noah"})
	h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "dmitri"})
	h.answer(4*time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.verify_islanded", Person: "grace"})
	h.answer(5*time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.call_regulator", Person: "maria"})
	h.run(workflows.IncidentInput{Plan: p, IncidentID: "INC-SI", Commander: "hiro", Inputs: map[string]any{"zone": "corp_it"}})
	for _, r := range h.replies {
		accepted(t, r)
	}
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	d := wantStep(t, res.Steps, "decision.reconnect", workflows.StepDone, "stay_isolated")
	if d.Choice != "stay_isolated" || h.since(d.FinishedAt) != 4*time.Hour+4*time.Minute {
		t.Errorf("decision %+v at +%s", d, h.since(d.FinishedAt))
	}
	wantStep(t, res.Steps, "approval.restore_ok", workflows.StepSkipped, "when is false")
	wantStep(t, res.Steps, "step.restore", workflows.StepSkipped, "approval.restore_ok")
	wantStep(t, res.Steps, "notify.restored", workflows.StepSkipped)
	if n := len(h.attempts(sim.OpRestore)); n != 0 {
		t.Errorf("%d restore attempts", n)
	}
	if n := len(h.effects(sim.OpCut)); n != 2 {
		t.Errorf("%d cuts", n)
	}
	// No hosts given: the for_each step ran no activity and finished.
	wantStep(t, res.Steps, "step.contain_hosts", workflows.StepDone)
	if n := len(h.attempts(sim.OpContain)); n != 0 {
		t.Errorf("%d contain attempts", n)
	}
}
