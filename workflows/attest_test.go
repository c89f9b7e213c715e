package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// signed sends an answer at start+d, attested by s at the moment it is sent
// (then changed by tamper, when given), as a front door or the CLI does.
func (h *harness) answerSigned(d time.Duration, s *attest.Signer, update string, a workflows.Answer, tamper func(*workflows.Answer)) *reply {
	r := &reply{Update: update, Answer: a}
	h.replies = append(h.replies, r)
	h.at(d, func() {
		r.Answer = signAnswer(s, "INC-1", update, r.Answer, h.env.Now())
		if tamper != nil {
			tamper(&r.Answer)
		}
		h.send(r)
	})
	return r
}

// startSigned fills in the commander's start attestation.
func startSigned(t *testing.T, s *attest.Signer, in workflows.IncidentInput, now time.Time) workflows.IncidentInput {
	t.Helper()
	digest, err := plan.StartDigest(in.Plan, in.Inputs)
	if err != nil {
		t.Fatal(err)
	}
	if in.IncidentID == "" {
		in.IncidentID = "INC-1"
	}
	in.Commander = s.Person()
	in.Start = s.Sign(attest.Claim{Incident: in.IncidentID, Step: workflows.StartStep(in.Plan.Playbook), Person: in.Commander,
		Answer: attest.Start, ReasonSHA256: digest, Channel: workflows.ChannelCLI}, now)
	return in
}

// keys are the signing keys of the test organisation's people.
type keys map[string]*attest.Signer

func newKeys(t *testing.T, people ...string) keys {
	k := keys{}
	for _, p := range people {
		k[p] = newSigner(t, "person."+p)
	}
	return k
}

// trustIn declares the keys in the plan and, for the worker, in h's
// configuration.
func (k keys) trustIn(p *plan.Plan, h *harness) {
	for _, s := range k {
		trust(p, s)
		if h != nil {
			h.workerKeys = append(h.workerKeys, keyOf(s))
		}
	}
}

// TestAttestationsRefused: in an incident that takes signed answers only,
// the validator refuses, without writing history, an answer whose
// attestation is missing, made by a key the plan does not trust, made by
// someone else's key, replayed from another incident, step or round,
// whose reason was changed, or too old; a valid one counts.
func TestAttestationsRefused(t *testing.T) {
	h := newHarness(t)
	h.signed = true
	k := newKeys(t, "alice", "bob", "carol", "erin", "hank")
	stranger := newSigner(t, "person.bob") // bob's name, not bob's key
	ap := workflows.Answer{Step: "approval.isolate_ok", Round: 1}
	as := func(p string) workflows.Answer { a := ap; a.Person = p; return a }

	missing := h.answer(1*time.Minute, workflows.UpdateApprove, as("bob"))
	untrusted := h.answerSigned(1*time.Minute, stranger, workflows.UpdateApprove, as("bob"), nil)
	othersKey := h.answerSigned(1*time.Minute, k["carol"], workflows.UpdateApprove, as("bob"), nil)
	otherIncident := h.answerSigned(2*time.Minute, k["bob"], workflows.UpdateApprove, as("bob"), func(a *workflows.Answer) {
		a.Attestation = signAnswer(k["bob"], "INC-OTHER", workflows.UpdateApprove, as("bob"), h.env.Now()).Attestation
	})
	otherStep := h.answerSigned(2*time.Minute, k["bob"], workflows.UpdateApprove, as("bob"), func(a *workflows.Answer) {
		other := as("bob")
		other.Step = "approval.restore_ok"
		a.Attestation = signAnswer(k["bob"], "INC-1", workflows.UpdateApprove, other, h.env.Now()).Attestation
	})
	otherRound := h.answerSigned(2*time.Minute, k["bob"], workflows.UpdateApprove, as("bob"), func(a *workflows.Answer) {
		other := as("bob")
		other.Round = 2
		a.Attestation = signAnswer(k["bob"], "INC-1", workflows.UpdateApprove, other, h.env.Now()).Attestation
	})
	otherAnswer := h.answerSigned(2*time.Minute, k["bob"], workflows.UpdateApprove, as("bob"), func(a *workflows.Answer) {
		a.Attestation = signAnswer(k["bob"], "INC-1", workflows.UpdateDeny, as("bob"), h.env.Now()).Attestation
	})
	noRound := h.answerSigned(2*time.Minute, k["bob"], workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"}, nil)
	deny := as("carol")
	deny.Reason = "the plant is mid-batch"
	tampered := h.answerSigned(3*time.Minute, k["carol"], workflows.UpdateDeny, deny, func(a *workflows.Answer) { a.Reason = "just because" })
	forgedSig := h.answerSigned(3*time.Minute, k["carol"], workflows.UpdateDeny, deny, func(a *workflows.Answer) {
		att := *a.Attestation
		att.Signature = strings.Repeat("A", len(att.Signature)-2) + "=="
		a.Attestation = &att
	})
	old := h.answerSigned(3*time.Minute, k["carol"], workflows.UpdateDeny, deny, func(a *workflows.Answer) {
		a.Attestation = signAnswer(k["carol"], "INC-1", workflows.UpdateDeny, deny, h.env.Now().Add(-attest.Window-time.Minute)).Attestation
	})
	early := h.answerSigned(3*time.Minute, k["carol"], workflows.UpdateDeny, deny, func(a *workflows.Answer) {
		// Signed before the round opened (at +0) by more than the skew.
		a.Attestation = signAnswer(k["carol"], "INC-1", workflows.UpdateDeny, deny, h.env.Now().Add(-3*time.Minute-attest.MaxSkew-time.Second)).Attestation
	})
	future := h.answerSigned(3*time.Minute, k["carol"], workflows.UpdateDeny, deny, func(a *workflows.Answer) {
		a.Attestation = signAnswer(k["carol"], "INC-1", workflows.UpdateDeny, deny, h.env.Now().Add(attest.MaxSkew+time.Minute)).Attestation
	})
	good := h.answerSigned(4*time.Minute, k["bob"], workflows.UpdateApprove, as("bob"), nil)
	replayed := &reply{Update: workflows.UpdateApprove}
	h.replies = append(h.replies, replayed)
	h.at(5*time.Minute, func() { replayed.Answer = good.Answer; h.send(replayed) })
	good2 := h.answerSigned(6*time.Minute, k["carol"], workflows.UpdateApprove, as("carol"), nil)

	p := compile(t, signoffPlaybook)
	k.trustIn(p, h)
	h.run(startSigned(t, k["alice"], workflows.IncidentInput{Plan: p}, h.env.Now()))

	rejected(t, missing, rules.NotAttested)
	rejected(t, untrusted, rules.Tampered) // bob's key ID, another key: the signature does not verify
	rejected(t, othersKey, rules.UntrustedKey)
	rejected(t, otherIncident, rules.Replayed)
	rejected(t, otherStep, rules.Replayed)
	rejected(t, otherRound, rules.Replayed)
	rejected(t, otherAnswer, rules.Replayed)
	rejected(t, noRound, rules.StaleRound)
	rejected(t, tampered, rules.Tampered)
	rejected(t, forgedSig, rules.Tampered)
	rejected(t, old, rules.Expired)
	rejected(t, early, rules.Expired)
	rejected(t, future, rules.Expired)
	accepted(t, good)
	// The same signed answer again is on record as a duplicate.
	refused(t, replayed, "already approved")
	accepted(t, good2)

	tl := h.timeline()
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error %v:\n%s", err, dump(tl))
	}
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Fatalf("state %s:\n%s", res.State, dump(tl))
	}
	for _, e := range tl.Events {
		if e.Kind == workflows.EventRefused && e.Code != string(rules.Duplicate) {
			t.Errorf("a rejected answer reached the timeline: %+v", e)
		}
	}
	approved := events(tl, workflows.EventApproved, "approval.isolate_ok")
	if len(approved) != 2 {
		t.Fatalf("%d approvals, want 2:\n%s", len(approved), dump(tl))
	}
	for _, e := range approved {
		if e.Attestation == nil || e.Unattested || e.Round != 1 || e.Roster == "" {
			t.Errorf("approval event %+v: want its attestation, round 1 and roster", e)
		}
	}
	if e := firstEvent(t, tl, workflows.EventIncidentStarted, ""); e.Attestation == nil || e.Person != "alice" {
		t.Errorf("start event %+v: want alice's attestation", e)
	}
	auth := firstEvent(t, tl, workflows.EventAuthorised, "step.isolate")
	if auth.Signoff != "approval.isolate_ok" || auth.Round != 1 || auth.Action != "ot.isolate_zone" {
		t.Errorf("authorised event %+v", auth)
	}
	// The isolation is handed both signed approvals and the signed start.
	var iso *started
	for i := range h.starts {
		if h.starts[i].Name == "IsolateZone" {
			iso = &h.starts[i]
		}
	}
	if iso == nil {
		t.Fatal("the isolation never started")
	}
	c := iso.Action.Call
	if c.Start == nil || c.Commander != "alice" || c.Playbook != "p" || c.Signoff == nil || c.Signoff.Round != 1 || len(c.Signoff.Approvers) != 2 {
		t.Fatalf("isolation call %+v", c)
	}
	for _, a := range c.Signoff.Approvers {
		if a.Attestation == nil || a.Attestation.Person != a.Person {
			t.Errorf("approver %+v carries no attestation of their own", a)
		}
	}
}

// TestStartChecked: a fresh incident needs a commander, a start signed for
// it and its plan (unless it accepts unattested answers), and a commander
// the playbook's may_start allows.
func TestStartChecked(t *testing.T) {
	k := newKeys(t, "alice", "carol")
	cases := []struct {
		name string
		in   func(h *harness, p *plan.Plan) workflows.IncidentInput
		code rules.Code
	}{
		{"no commander", func(h *harness, p *plan.Plan) workflows.IncidentInput {
			h.noCommander = true
			return workflows.IncidentInput{Plan: p, AcceptUnattested: true}
		}, rules.UnknownPerson},
		{"unsigned", func(h *harness, p *plan.Plan) workflows.IncidentInput {
			h.signed = true
			return workflows.IncidentInput{Plan: p, Commander: "alice"}
		}, rules.NotAttested},
		{"another incident's start", func(h *harness, p *plan.Plan) workflows.IncidentInput {
			in := startSigned(t, k["alice"], workflows.IncidentInput{Plan: p, IncidentID: "INC-OTHER"}, h.env.Now())
			in.IncidentID = "INC-1"
			return in
		}, rules.Replayed},
		{"another plan", func(h *harness, p *plan.Plan) workflows.IncidentInput {
			in := startSigned(t, k["alice"], workflows.IncidentInput{Plan: p}, h.env.Now())
			forged := *p
			forged.Title = "something harmless"
			in.Plan = &forged
			return in
		}, rules.Tampered},
		{"someone else's start", func(h *harness, p *plan.Plan) workflows.IncidentInput {
			in := startSigned(t, k["alice"], workflows.IncidentInput{Plan: p}, h.env.Now())
			in.Commander = "carol"
			return in
		}, rules.UntrustedKey},
		{"not in may_start", func(h *harness, p *plan.Plan) workflows.IncidentInput {
			p.MayStart = []string{"roster.shift_supervisor"}
			return startSigned(t, k["alice"], workflows.IncidentInput{Plan: p}, h.env.Now())
		}, rules.NotAllowedToStart},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			p := compile(t, signoffPlaybook)
			k.trustIn(p, h)
			h.run(c.in(h, p))
			err := h.env.GetWorkflowError()
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != string(c.code) {
				t.Fatalf("workflow error %v, want one coded %s", err, c.code)
			}
			if len(h.starts) != 0 {
				t.Errorf("%d activities ran for a refused start", len(h.starts))
			}
		})
	}
	t.Run("signed and allowed", func(t *testing.T) {
		h := newHarness(t)
		p := compile(t, signoffPlaybook)
		p.MayStart = []string{"roster.process_safety"}
		k.trustIn(p, h)
		h.answer(time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "alice", Reason: "drill over"})
		h.run(workflows.IncidentInput{Plan: p, Commander: "alice"})
		if err := h.env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRefusalFloodSummarised: hundreds of refusals from one person are
// counted, the latest kept in full, and nobody else's refusal is pushed
// out of the record.
func TestRefusalFloodSummarised(t *testing.T) {
	h := newHarness(t)
	h.answer(30*time.Second, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "hank"})
	const flood = 300
	for i := range flood {
		h.answer(time.Minute+time.Duration(i)*time.Millisecond, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "erin"})
	}
	h.answer(2*time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "ic", Reason: "drill over"})
	h.run(workflows.IncidentInput{Plan: compile(t, signoffPlaybook)})
	tl := h.timeline()
	var erin, hank int
	for _, e := range tl.Events {
		if e.Kind != workflows.EventRefused {
			continue
		}
		switch e.Person {
		case "erin":
			erin++
		case "hank":
			hank++
		}
	}
	if erin != workflows.MaxRefusalEventsPerPerson || hank != 1 {
		t.Errorf("refusal events kept: erin %d (want %d), hank %d (want 1)", erin, workflows.MaxRefusalEventsPerPerson, hank)
	}
	counts := map[string]int{}
	for _, c := range tl.Refusals {
		counts[c.Person+":"+c.Code] = c.Count
	}
	if counts["erin:"+string(rules.NotAuthorised)] != flood || counts["hank:"+string(rules.UnknownPerson)] != 1 {
		t.Errorf("refusal counts %v", tl.Refusals)
	}
	last := tl.Events[len(tl.Events)-1]
	if last.Kind != workflows.EventIncidentFinished {
		t.Errorf("last event %+v", last)
	}
}

// TestApprovalEventsNameFinalRoster: when the quorum's matching moves an
// earlier approver to another roster, that approver's event follows.
func TestApprovalEventsNameFinalRoster(t *testing.T) {
	const twoHats = `
person "ana"  { slack = "U01ANA" }
person "ben"  { slack = "U01BEN" }
roster "a" { members = [person.ana, person.ben] }
roster "b" { members = [person.ana] }
`
	h := newHarness(t)
	h.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "ana"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "ben"})
	h.run(workflows.IncidentInput{Plan: compileWith(t, twoHats, `playbook "p" {
  approval "ok" {
    approvers     = [roster.a, roster.b]
    one_from_each = true
    prompt        = "Go?"
  }
}`)})
	got := map[string]string{}
	for _, e := range events(h.timeline(), workflows.EventApproved, "approval.ok") {
		got[e.Person] = e.Roster
	}
	if got["ana"] != "roster.b" || got["ben"] != "roster.a" {
		t.Errorf("approval rosters %v, want ana in roster.b (moved there by ben's approval) and ben in roster.a", got)
	}
}

// TestUnguardedPlanFails: a hand-made plan that clears safety_critical on an
// isolation gets past guard two, and guard three's refusal fails the step
// once instead of running the activity again and again; nothing is cut.
func TestUnguardedPlanFails(t *testing.T) {
	h := newHarness(t)
	p := compile(t, signoffPlaybook)
	iso := p.StepByID("step.isolate")
	iso.Action.SafetyCritical = false
	iso.Action.GuardedBy = nil
	iso.Needs = nil
	h.answer(time.Hour, workflows.UpdateCancel, workflows.Answer{Person: "ic", Reason: "end of test"})
	h.run(workflows.IncidentInput{Plan: p})
	tl := h.timeline()
	wantStep(t, h.status().Steps, "step.isolate", workflows.StepFailed, "refused to act without a safety sign-off")
	if n := len(h.activityStarts("IsolateZone")); n != 1 {
		t.Errorf("the isolation ran %d times, want once", n)
	}
	if cuts := h.attempts(sim.OpCut); len(cuts) != 0 {
		t.Errorf("conduits cut: %v", cuts)
	}
	firstEvent(t, tl, workflows.EventSignoffRefused, "step.isolate")
}

// TestPlantNotSafe: the isolation reads the zone's safe_state register
// before it cuts anything; a register out of its expected state fails the
// step with nothing cut, and a playbook branches on that with on_failure =
// "continue" and the step's status.
func TestPlantNotSafe(t *testing.T) {
	organisation := strings.Replace(org, `zone "control" {
  purdue_level = 2`, `integration "modbus" "plc" {
  address = "127.0.0.1:5020"
  unit_id = 1
}
zone "control" {
  purdue_level = 2
  safe_state {
    integration = "modbus.plc"
    register    = 40001
    expect      = 1
  }`, 1)
	h := newHarness(t)
	h.twin.SetRegister("modbus.plc", 40001, 0)
	h.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.run(workflows.IncidentInput{Plan: compileWith(t, organisation, `playbook "p" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate the control network?"
  }
  step "isolate" {
    action     = "ot.isolate_zone"
    with       = { zone = zone.control }
    needs      = [approval.isolate_ok]
    on_failure = "continue"
  }
  notify "not_safe" {
    message = "The plant is not in its safe state: isolation held back. Decide by hand."
    when    = step.isolate.status == "failed"
  }
}`), Commander: "alice"})
	res := h.result()
	wantStep(t, res.Steps, "step.isolate", workflows.StepFailed, "reads 0")
	wantStep(t, res.Steps, "notify.not_safe", workflows.StepDone, "")
	if cuts := h.attempts(sim.OpCut); len(cuts) != 0 {
		t.Errorf("conduits cut with the plant out of its safe state: %v", cuts)
	}
}

// TestGuardTwoAlone takes the other guards out of the way: a hand-made plan
// (no compiler) whose isolation no longer needs its sign-off, and an
// isolation activity that would cut without checking anything. The
// workflow alone holds the isolation back until a valid quorum has signed
// off: one approval and a forged, unsigned one are not enough.
func TestGuardTwoAlone(t *testing.T) {
	h := newHarness(t)
	h.signed = true
	k := newKeys(t, "alice", "bob")
	p := compile(t, signoffPlaybook)
	p.StepByID("step.isolate").Needs = nil // bypass the compiler's ordering
	k.trustIn(p, h)
	var cuts int
	h.env.OnActivity("IsolateZone", mock.Anything, mock.Anything).Return(func(_ context.Context, _ activities.ActionInput) (activities.ActionResult, error) {
		cuts++ // no guard three here
		return activities.ActionResult{Summary: "cut without checking"}, nil
	})
	one := h.answerSigned(time.Minute, k["bob"], workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob", Round: 1}, nil)
	forged := h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol", Round: 1})
	h.answerSigned(time.Hour, k["alice"], workflows.UpdateCancel, workflows.Answer{Person: "alice", Reason: "end of test"}, nil)
	h.run(startSigned(t, k["alice"], workflows.IncidentInput{Plan: p}, h.env.Now()))
	accepted(t, one)
	rejected(t, forged, rules.NotAttested)
	if cuts != 0 {
		t.Errorf("the isolation ran %d time(s) without a quorum", cuts)
	}
	if n := len(h.activityStarts("IsolateZone")); n != 0 {
		t.Errorf("the isolation was scheduled %d time(s) without a quorum", n)
	}
	wantStep(t, h.status().Steps, "step.isolate", workflows.StepCancelled, "")
	firstEvent(t, h.timeline(), workflows.EventCancelled, "step.isolate")
}
