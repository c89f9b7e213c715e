package workflows_test

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// forgedCarry is carried state an attacker writes by hand: every step of p
// pending, and a timeline that says whatever the attacker likes.
func forgedCarry(p *plan.Plan, now time.Time) *workflows.Carry {
	c := &workflows.Carry{StartedAt: now, Seq: 2, Events: []workflows.Event{
		{Seq: 1, At: now, Kind: workflows.EventIncidentStarted, Person: "alice", Detail: "playbook p"},
		{Seq: 2, At: now, Kind: workflows.EventRefused, Step: "approval.isolate_ok", Person: "bob", Channel: "slack",
			Detail: "approve refused: bob tried to approve a sign-off he is not allowed to give"},
	}}
	for _, s := range p.Steps {
		c.Steps = append(c.Steps, &workflows.StepState{ID: s.ID, State: workflows.StepPending})
	}
	return c
}

// TestCarriedStateOnlyFromContinueAsNew: carried state is what
// continue-as-new hands to the next run, but anyone who can reach the
// namespace can start a run with carried state of their own. Such a run
// skips the start check (commander, may_start, the start's signature of
// the plan), so a start attestation taken from any incident's history or
// export could drive a plan nobody signed, and the timeline could say
// anything. A run not started by continue-as-new is refused.
func TestCarriedStateOnlyFromContinueAsNew(t *testing.T) {
	h := newHarness(t)
	h.signed = true
	k := newKeys(t, "alice")
	signedPlan := compile(t, signoffPlaybook)
	k.trustIn(signedPlan, h)
	// alice's genuine start of INC-1, as its history and export show it.
	genuine := startSigned(t, k["alice"], workflows.IncidentInput{Plan: signedPlan}, h.env.Now())

	attack := compile(t, `playbook "p" {
  notify "lure" { message = "Plant 3 is compromised: call the vendor hotline on +1 555 0100 now" }
}`)
	attack.Keys = signedPlan.Keys
	in := genuine
	in.Plan = attack
	in.Carry = forgedCarry(attack, h.env.Now())
	h.run(in)

	err := h.env.GetWorkflowError()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != workflows.ErrBadPlan {
		t.Errorf("a run with hand-made carried state: workflow error %v, want a %s error", err, workflows.ErrBadPlan)
	}
	for _, e := range h.j.Effects() {
		t.Errorf("the worker, which requires attestations, delivered %s (%s)", e.Op, e.Key)
	}
	if len(h.starts) != 0 {
		t.Errorf("%d activities ran (%s first) for a plan nobody signed, with a timeline nobody wrote", len(h.starts), h.starts[0].Name)
	}
}

// TestCarriedStateFromContinueAsNew: a run that continue-as-new started
// carries on as before.
func TestCarriedStateFromContinueAsNew(t *testing.T) {
	h := newHarness(t)
	p := compile(t, `playbook "p" {
  notify "hello" { message = "carried on" }
}`)
	in := workflows.IncidentInput{Plan: p, Carry: forgedCarry(p, h.env.Now())}
	h.env.SetContinuedExecutionRunID("run-1")
	h.run(in)
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Fatalf("state %s", res.State)
	}
	if len(h.activityStarts("Notify")) != 1 {
		t.Errorf("activities %v", h.starts)
	}
}
