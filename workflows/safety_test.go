package workflows_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/workflows"
)

// stalePlaybook holds the isolation back for 20 minutes after the sign-off,
// longer than the policy's valid_for of 15 minutes.
const stalePlaybook = `playbook "p" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate the control network?"
  }
  wait "settle" {
    duration = "20m"
    needs    = [approval.isolate_ok]
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok, wait.settle]
  }
}`

// TestGuardTwoStaleSignoff: a sign-off older than valid_for when the
// isolation is due is asked for again (round 2); answers for round 1 are
// refused as stale; the isolation runs with the fresh sign-off.
func TestGuardTwoStaleSignoff(t *testing.T) {
	h := newHarness(t)
	const step = "approval.isolate_ok"
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 1})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol", Round: 1})
	waiting := h.statusAt(23 * time.Minute)
	stale := h.answer(25*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 1})
	h.answer(26*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 2})
	h.answer(27*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol"})
	h.run(workflows.IncidentInput{Plan: compile(t, stalePlaybook), IncidentID: "INC-S"})
	for _, r := range h.replies {
		if r != stale {
			accepted(t, r)
		}
	}
	refused(t, stale, "round 1 of approval.isolate_ok, which is over", "round 2")

	ap := stepOf(t, waiting.Steps, step)
	if ap.State != workflows.StepWaiting || ap.Round != 2 || len(ap.Approvals) != 0 {
		t.Errorf("approval at +23m: %+v", ap)
	}
	if is := stepOf(t, waiting.Steps, "step.isolate"); is.State != workflows.StepWaiting || !strings.Contains(is.Reason, "waiting for a fresh sign-off on approval.isolate_ok") {
		t.Errorf("isolation at +23m: %+v", is)
	}

	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	isolations := h.activityStarts("IsolateZone")
	if len(isolations) != 1 {
		t.Fatalf("%d isolation starts, want 1 (none with the stale sign-off)", len(isolations))
	}
	so := isolations[0].Action.Call.Signoff
	if so == nil || h.since(so.GrantedAt) != 27*time.Minute || len(so.Approvers) != 2 || h.since(so.Approvers[0].At) != 26*time.Minute {
		t.Errorf("sign-off %+v, want the round-2 one granted at +27m", so)
	}
	if h.since(isolations[0].At) != 27*time.Minute {
		t.Errorf("isolation started at +%s", h.since(isolations[0].At))
	}
	tl := h.timeline()
	st := firstEvent(t, tl, workflows.EventSignoffStale, step)
	if h.since(st.At) != 22*time.Minute || !strings.Contains(st.Detail, "older than valid_for 15m") || !strings.Contains(st.Detail, "asking again") {
		t.Errorf("signoff_stale event %+v", st)
	}
	if n := len(events(tl, workflows.EventPrompted, step)); n != 2 {
		t.Errorf("%d prompts for %s, want 2 (round 1 and round 2)", n, step)
	}
	// The round-2 prompt carries its own key, so it is delivered again.
	var keys []string
	for _, e := range h.effects(sim.OpPrompt) {
		keys = append(keys, e.Key)
	}
	if len(keys) != 2 || keys[0] != "INC-S/approval.isolate_ok/prompt/approval" || keys[1] != "INC-S/approval.isolate_ok#2/prompt/approval" {
		t.Errorf("prompt keys %v", keys)
	}
	if n := len(h.effects(sim.OpCut)); n != 1 {
		t.Errorf("%d cuts, want 1", n)
	}
}

// TestGuardTwoStaleDenied: a denial in the new round skips the isolation.
func TestGuardTwoStaleDenied(t *testing.T) {
	h := newHarness(t)
	const step = "approval.isolate_ok"
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol"})
	h.answer(25*time.Minute, workflows.UpdateDeny, workflows.Answer{Step: step, Person: "dan", Reason: "the plant is starting up"})
	h.run(workflows.IncidentInput{Plan: compile(t, stalePlaybook)})
	for _, r := range h.replies {
		accepted(t, r)
	}
	res := h.result()
	wantStep(t, res.Steps, step, workflows.StepDenied, "the plant is starting up")
	wantStep(t, res.Steps, "step.isolate", workflows.StepSkipped, "no valid safety sign-off")
	if n := len(h.activityStarts("IsolateZone")); n != 0 {
		t.Errorf("%d isolation starts, want none", n)
	}
	if n := len(h.attempts(sim.OpCut)); n != 0 {
		t.Errorf("%d cut attempts, want none", n)
	}
}

// TestGuardThreeRefusal: the activity's own clock finds the sign-off stale;
// the workflow asks again, the round goes up, the refused attempt cut
// nothing, and the fresh round isolates under a new idempotency key.
func TestGuardThreeRefusal(t *testing.T) {
	h := newHarness(t)
	var refusals atomic.Int32
	refusals.Store(1)
	h.acts.Now = func() time.Time {
		if refusals.Add(-1) >= 0 {
			return time.Now().Add(24 * time.Hour) // a worker clock far ahead
		}
		return time.Now()
	}
	const step = "approval.isolate_ok"
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol"})
	mid := h.statusAt(3 * time.Minute)
	stale := h.answer(4*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 1})
	h.answer(5*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "dan", Round: 2})
	h.answer(6*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "paul", Round: 2})
	h.run(workflows.IncidentInput{Plan: compile(t, signoffPlaybook), IncidentID: "INC-G3", Commander: "alice"})
	for _, r := range h.replies {
		if r != stale {
			accepted(t, r)
		}
	}
	refused(t, stale, "round 1", "round 2")
	if ap := stepOf(t, mid.Steps, step); ap.State != workflows.StepWaiting || ap.Round != 2 {
		t.Errorf("approval after the refusal: %+v", ap)
	}
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	starts := h.activityStarts("IsolateZone")
	if len(starts) != 2 {
		t.Fatalf("%d isolation starts, want 2 (refused, then fresh)", len(starts))
	}
	if c := starts[0].Action.Call; c.Round != 0 || h.since(c.Signoff.GrantedAt) != 2*time.Minute {
		t.Errorf("first call %+v", c)
	}
	if c := starts[1].Action.Call; c.Round != 1 || h.since(c.Signoff.GrantedAt) != 6*time.Minute || c.Signoff.Approvers[0].Person != "dan" {
		t.Errorf("second call round %d sign-off %+v", c.Round, c.Signoff)
	}
	cuts := h.attempts(sim.OpCut)
	if len(cuts) != 1 || !cuts[0].Effect || cuts[0].Key != "INC-G3/step.isolate#1/cut/dmz_to_control" {
		t.Errorf("cut attempts %+v, want one effect under the round-1 key", cuts)
	}
	tl := h.timeline()
	ref := firstEvent(t, tl, workflows.EventSignoffRefused, "step.isolate")
	if !strings.Contains(ref.Detail, "expired") {
		t.Errorf("signoff_refused detail %q", ref.Detail)
	}
	if st := firstEvent(t, tl, workflows.EventSignoffStale, step); !strings.Contains(st.Detail, "the activity refused the sign-off") {
		t.Errorf("signoff_stale detail %q", st.Detail)
	}
}

// TestBreakGlass: only the break-glass roster may force a safety gate, and
// only with a reason; the isolation then runs on the override, and the
// incident, step, status, timeline and events are flagged.
func TestBreakGlass(t *testing.T) {
	h := newHarness(t)
	const step = "approval.isolate_ok"
	noReason := h.answer(1*time.Minute, workflows.UpdateBreakGlass, workflows.Answer{Step: step, Person: "erin"})
	blank := h.answer(1*time.Minute, workflows.UpdateBreakGlass, workflows.Answer{Step: step, Person: "erin", Reason: "   "})
	notRoster := h.answer(2*time.Minute, workflows.UpdateBreakGlass, workflows.Answer{Step: step, Person: "bob", Reason: "hurry"})
	bob := h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob"})
	forced := h.answer(4*time.Minute, workflows.UpdateBreakGlass, workflows.Answer{Step: step, Person: "erin", Reason: "ransomware spreading to HMIs", Channel: workflows.ChannelCLI})
	h.run(workflows.IncidentInput{Plan: compile(t, signoffPlaybook), Commander: "alice"})
	refused(t, noReason, "break-glass needs a reason")
	refused(t, blank, "break-glass needs a reason")
	refused(t, notRoster, "bob may not break glass", "only roster.shift_supervisor")
	accepted(t, bob)
	accepted(t, forced)
	if !strings.Contains(forced.Result.Message, "flagged for review") {
		t.Errorf("message %q", forced.Result.Message)
	}

	res := h.result()
	if res.State != workflows.StateCompleted || !res.BreakGlass {
		t.Fatalf("result %+v", res)
	}
	ap := wantStep(t, res.Steps, step, workflows.StepDone, "BREAK-GLASS by erin")
	if !ap.BreakGlass {
		t.Errorf("approval not flagged: %+v", ap)
	}
	is := wantStep(t, res.Steps, "step.isolate", workflows.StepDone, "BREAK-GLASS")
	if !is.BreakGlass {
		t.Errorf("isolation not flagged: %+v", is)
	}
	starts := h.activityStarts("IsolateZone")
	if len(starts) != 1 {
		t.Fatalf("%d isolation starts", len(starts))
	}
	bg := starts[0].Action.Call.Signoff.BreakGlass
	if bg == nil || bg.Person != "erin" || bg.Reason != "ransomware spreading to HMIs" || h.since(bg.At) != 4*time.Minute {
		t.Errorf("break-glass record %+v", bg)
	}
	if n := len(h.effects(sim.OpCut)); n != 1 {
		t.Errorf("%d cuts", n)
	}
	if st := h.status(); !st.BreakGlass {
		t.Errorf("status not flagged")
	}
	tl := h.timeline()
	if !tl.BreakGlass {
		t.Errorf("timeline not flagged")
	}
	e := firstEvent(t, tl, workflows.EventBreakGlass, step)
	if !e.BreakGlass || e.Person != "erin" || e.Channel != workflows.ChannelCLI || !strings.Contains(e.Detail, "ransomware spreading to HMIs") {
		t.Errorf("break_glass event %+v", e)
	}
	for _, id := range []string{step, "step.isolate"} {
		if e := firstEvent(t, tl, workflows.EventStepFinished, id); !e.BreakGlass {
			t.Errorf("step_finished event of %s not flagged: %+v", id, e)
		}
	}
}

// TestBreakGlassAlwaysNeedsReason: even when the policy does not say
// require_reason, a break-glass override needs a typed reason (it is
// reviewed after the incident, and guard three refuses an override without
// one).
func TestBreakGlassAlwaysNeedsReason(t *testing.T) {
	organisation := strings.Replace(org, "require_reason = true", "require_reason = false", 1)
	h := newHarness(t)
	const step = "approval.isolate_ok"
	noReason := h.answer(1*time.Minute, workflows.UpdateBreakGlass, workflows.Answer{Step: step, Person: "erin"})
	forced := h.answer(2*time.Minute, workflows.UpdateBreakGlass, workflows.Answer{Step: step, Person: "erin", Reason: "fire in the MCC room"})
	h.run(workflows.IncidentInput{Plan: compileWith(t, organisation, signoffPlaybook)})
	refused(t, noReason, "break-glass needs a reason")
	accepted(t, forced)
	if n := len(h.activityStarts("IsolateZone")); n != 1 {
		t.Errorf("%d isolation starts, want 1", n)
	}
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Errorf("state %s", res.State)
	}
}

// TestBreakGlassRefusedByActivity: when guard three refuses a break-glass
// override, asking again cannot help, so the action fails once (rather than
// running again and again) and its dependants are skipped.
func TestBreakGlassRefusedByActivity(t *testing.T) {
	h := newHarness(t)
	refuse := func(ctx context.Context, in activities.ActionInput) (activities.ActionResult, error) {
		return activities.ActionResult{}, temporal.NewNonRetryableApplicationError("step.isolate: break-glass override of approval.isolate_ok names no person", activities.ErrSignoffRefused, nil)
	}
	h.env.RegisterActivityWithOptions(refuse, activity.RegisterOptions{Name: "IsolateZone", DisableAlreadyRegisteredCheck: true})
	h.answer(time.Minute, workflows.UpdateBreakGlass, workflows.Answer{Step: "approval.isolate_ok", Person: "erin", Reason: "spreading"})
	h.run(workflows.IncidentInput{Plan: compile(t, strings.TrimSuffix(signoffPlaybook, "}")+`
  notify "after" {
    message = "isolated"
    needs   = [step.isolate]
  }
}`)})
	res := h.result()
	wantStep(t, res.Steps, "step.isolate", workflows.StepFailed, "refused the break-glass override", "names no person")
	wantStep(t, res.Steps, "notify.after", workflows.StepSkipped, "needs step.isolate, which failed")
	if n := len(h.activityStarts("IsolateZone")); n != 1 {
		t.Errorf("%d isolation starts, want 1", n)
	}
	if res.State != workflows.StateFailed || !res.BreakGlass {
		t.Errorf("result %s break-glass=%v", res.State, res.BreakGlass)
	}
	e := firstEvent(t, h.timeline(), workflows.EventSignoffRefused, "step.isolate")
	if !e.BreakGlass {
		t.Errorf("signoff_refused not flagged: %+v", e)
	}
}

// TestGuardThreeLateRefusal: two isolations share one sign-off; the first is
// refused and the approval is asked again and granted afresh; the second,
// slower, is refused only afterwards. Its refusal concerns the old sign-off,
// so it runs again with the fresh one instead of asking a third time.
func TestGuardThreeLateRefusal(t *testing.T) {
	p := compile(t, `playbook "p" {
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
  step "block" {
    action = "ot.block_conduit"
    with   = { conduit = conduit.dmz_to_control }
    needs  = [approval.isolate_ok]
  }
}`)
	h := newHarness(t)
	var isolateRefusals atomic.Int32
	isolateRefusals.Store(1)
	h.acts.Now = func() time.Time {
		if isolateRefusals.Add(-1) >= 0 {
			return time.Now().Add(24 * time.Hour)
		}
		return time.Now()
	}
	release := make(chan struct{})
	var blockCalls atomic.Int32
	block := func(ctx context.Context, in activities.ActionInput) (activities.ActionResult, error) {
		if blockCalls.Add(1) == 1 {
			<-release // slow: still in flight while the sign-off is renewed
			return activities.ActionResult{}, temporal.NewNonRetryableApplicationError("step.block: sign-off expired", activities.ErrSignoffRefused, nil)
		}
		return h.acts.BlockConduit(ctx, in)
	}
	h.env.RegisterActivityWithOptions(block, activity.RegisterOptions{Name: "BlockConduit", DisableAlreadyRegisteredCheck: true})
	const step = "approval.isolate_ok"
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol"})
	dan := &reply{Update: workflows.UpdateApprove, Answer: workflows.Answer{Step: step, Person: "dan", Round: 2}}
	paul := &reply{Update: workflows.UpdateApprove, Answer: workflows.Answer{Step: step, Person: "paul", Round: 2}}
	h.replies = append(h.replies, dan, paul)
	// Driven by the isolation's outcomes, not by the clock (which runs in
	// real time while the slow block is in flight).
	var isolations atomic.Int32
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if info.ActivityType.Name != "IsolateZone" {
			return
		}
		switch isolations.Add(1) {
		case 1: // refused, and asked again: answer round 2
			h.send(dan)
			h.send(paul)
		case 2: // isolated with the fresh sign-off: now the block is refused
			close(release)
		}
	})
	h.run(workflows.IncidentInput{Plan: p})
	for _, r := range h.replies {
		accepted(t, r)
	}
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	if ap := stepOf(t, res.Steps, step); ap.Round != 2 {
		t.Errorf("approval round %d, want 2", ap.Round)
	}
	tl := h.timeline()
	if n := len(events(tl, workflows.EventSignoffRefused, "")); n != 2 {
		t.Errorf("%d refusals, want 2:\n%s", n, dump(tl))
	}
	if n := len(events(tl, workflows.EventSignoffStale, step)); n != 1 {
		t.Errorf("%d re-asks, want 1:\n%s", n, dump(tl))
	}
	blocks := h.activityStarts("BlockConduit")
	if len(blocks) != 2 || blocks[1].Action.Call.Round != 1 || blocks[1].Action.Call.Signoff.Approvers[0].Person != "dan" {
		t.Errorf("block calls %+v", blocks)
	}
}

// breakGlassRestorePlaybook has one sign-off guard an isolation and, an
// hour later, the restore of the same zone.
var breakGlassRestorePlaybook = strings.TrimSuffix(signoffPlaybook, "}") + `
  wait "clean_up" {
    duration = "1h"
    needs    = [step.isolate]
  }
  step "restore" {
    action = "ot.restore_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok, wait.clean_up]
  }
}`

// TestBreakGlassExpires: a break-glass override forces the action it was
// given for; like any sign-off it goes stale after valid_for, so the restore
// an hour later asks for a sign-off again instead of riding on the override.
func TestBreakGlassExpires(t *testing.T) {
	h := newHarness(t)
	const step = "approval.isolate_ok"
	h.answer(time.Minute, workflows.UpdateBreakGlass, workflows.Answer{Step: step, Person: "erin", Reason: "spreading to the HMIs"})
	waiting := h.statusAt(62 * time.Minute)
	h.answer(65*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 2})
	h.answer(66*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol", Round: 2})
	h.run(workflows.IncidentInput{Plan: compile(t, breakGlassRestorePlaybook), Commander: "alice"})
	for _, r := range h.replies {
		accepted(t, r)
	}
	if is := stepOf(t, waiting.Steps, "step.restore"); is.State != workflows.StepWaiting {
		t.Errorf("restore at +62m: %+v", is)
	}
	res := h.result()
	if res.State != workflows.StateCompleted || !res.BreakGlass {
		t.Fatalf("result %s break-glass=%v: %+v", res.State, res.BreakGlass, res.Steps)
	}
	iso := h.activityStarts("IsolateZone")
	if len(iso) != 1 || iso[0].Action.Call.Signoff.BreakGlass == nil {
		t.Fatalf("isolation starts %+v, want one forced by break-glass", iso)
	}
	rs := h.activityStarts("RestoreZone")
	if len(rs) != 1 {
		t.Fatalf("%d restore starts, want 1", len(rs))
	}
	so := rs[0].Action.Call.Signoff
	if so.BreakGlass != nil || len(so.Approvers) != 2 || h.since(so.GrantedAt) != 66*time.Minute {
		t.Errorf("restore sign-off %+v, want the round-2 approval granted at +66m", so)
	}
	if h.since(rs[0].At) != 66*time.Minute {
		t.Errorf("restore started at +%s, want +66m", h.since(rs[0].At))
	}
	tl := h.timeline()
	e := firstEvent(t, tl, workflows.EventSignoffStale, step)
	if h.since(e.At) != 61*time.Minute || !strings.Contains(e.Detail, "older than valid_for 15m") {
		t.Errorf("signoff_stale %+v", e)
	}
	if n := len(events(tl, workflows.EventPrompted, step)); n != 2 {
		t.Errorf("%d prompts for %s, want 2", n, step)
	}
}

// TestGuardThreeRetryFinishesWhatItBegan: an isolation scheduled with a
// fresh sign-off whose first attempt fails is retried after the sign-off's
// valid_for has run out. Guard three judges a retry at the time the action
// was scheduled, so the retry finishes the isolation instead of refusing
// half way through.
func TestGuardThreeRetryFinishesWhatItBegan(t *testing.T) {
	h := newHarness(t)
	h.twin.FailNext(sim.OpCut, 1)
	const step = "approval.isolate_ok"
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol"})
	h.run(workflows.IncidentInput{Plan: compile(t, strings.Replace(stalePlaybook, `duration = "20m"`, `duration = "14m59s"`, 1))})
	res := h.result()
	wantStep(t, res.Steps, "step.isolate", workflows.StepDone, "cut dmz_to_control")
	starts := h.activityStarts("IsolateZone")
	if len(starts) != 2 || h.since(starts[0].At) != 16*time.Minute+59*time.Second || h.since(starts[1].At) != 17*time.Minute {
		var at []time.Duration
		for _, s := range starts {
			at = append(at, h.since(s.At))
		}
		t.Fatalf("isolation attempts at %v, want +16m59s and, after the sign-off ran out at +17m, the retry", at)
	}
	if n := len(events(h.timeline(), workflows.EventSignoffRefused, "")); n != 0 {
		t.Errorf("%d guard-three refusals, want none", n)
	}
	if n := len(h.effects(sim.OpCut)); n != 1 {
		t.Errorf("%d cuts, want 1", n)
	}
}
