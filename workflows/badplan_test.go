package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

const twoStepPlaybook = `playbook "p" {
  wait "pause" { duration = "30s" }
  decision "scope" {
    ask      = [roster.ot_operations]
    question = "Which scope?"
    options  = ["narrow", "wide"]
    needs    = [wait.pause]
  }
}`

// TestUnknownStepKindFailsIncident: a plan with a step of a kind this
// interpreter does not run (hand-made, or from a newer compiler) fails the
// incident at once with a BadPlan error naming the step and the kind,
// instead of spinning until the deadlock detector fires; so do the other
// hand-made plans it cannot run (cycles, instant or endless ladders) and
// carried state that does not fit the plan.
func TestUnknownStepKindFailsIncident(t *testing.T) {
	cases := map[string]struct {
		damage func(p *plan.Plan, in *workflows.IncidentInput)
		want   string
	}{
		"unknown kind":   {func(p *plan.Plan, _ *workflows.IncidentInput) { p.Steps[1].Kind = "vote" }, `"vote"`},
		"missing part":   {func(p *plan.Plan, _ *workflows.IncidentInput) { p.Steps[1].Decision = nil }, "without its decision settings"},
		"needs itself":   {func(p *plan.Plan, _ *workflows.IncidentInput) { p.Steps[1].Needs = []string{"decision.scope"} }, "not an earlier step"},
		"needs a later":  {func(p *plan.Plan, _ *workflows.IncidentInput) { p.Steps[0].Needs = []string{"decision.scope"} }, "not an earlier step"},
		"instant ladder": {func(p *plan.Plan, _ *workflows.IncidentInput) { p.Escalations[0].Tiers[0].AckWithin = 0 }, "ack_within"},
		"endless ladder": {func(p *plan.Plan, _ *workflows.IncidentInput) { p.Escalations[0].Repeat = 100000 }, "repeats 100000 times"},
		"bad carry": {func(p *plan.Plan, in *workflows.IncidentInput) {
			in.Carry = &workflows.Carry{Steps: []*workflows.StepState{nil, nil}}
		}, "carried state"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.env.SetTestTimeout(10 * time.Second)
			p := compile(t, twoStepPlaybook)
			p.Escalations = []plan.Escalation{{ID: "x", Repeat: 1, Tiers: []plan.Tier{{Notify: []string{"person.carol"}, AckWithin: plan.Duration(time.Minute)}}}}
			in := workflows.IncidentInput{Plan: p}
			c.damage(p, &in)
			h.run(in)
			err := h.env.GetWorkflowError()
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) {
				t.Fatalf("want an application error, got %v", err)
			}
			if ae.Type() != workflows.ErrBadPlan {
				t.Errorf("error type %q, want %q", ae.Type(), workflows.ErrBadPlan)
			}
			if !strings.Contains(ae.Message(), c.want) {
				t.Errorf("message %q does not say %q", ae.Message(), c.want)
			}
			if len(h.starts) != 0 {
				t.Errorf("activities ran for a plan that cannot run: %v", h.starts)
			}
		})
	}
}

// TestRefusalCodes: every refusal carries its rule book code as the
// application error's type, so front doors branch on it.
func TestRefusalCodes(t *testing.T) {
	h := newHarness(t)
	type ask struct {
		r    *reply
		code rules.Code
	}
	var asks []ask
	add := func(d time.Duration, update string, a workflows.Answer, code rules.Code) {
		asks = append(asks, ask{h.answer(d, update, a), code})
	}
	add(1*time.Second, workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "carol", Option: "wide"}, rules.NotOpenYet)
	add(1*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "alice", Option: "wide"}, rules.NotAuthorised)
	add(2*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "carol", Option: "all"}, rules.UnknownOption)
	add(3*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "nobody", Option: "wide"}, rules.UnknownPerson)
	add(4*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.nope", Person: "carol", Option: "wide"}, rules.UnknownStep)
	add(5*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "decision.scope", Person: "carol"}, rules.WrongKind)
	add(6*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "carol", Option: "wide", Round: 2}, rules.StaleRound)
	add(7*time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "alice"}, rules.ReasonRequired)
	add(8*time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "dan", Reason: "no"}, rules.NotAuthorised)
	huge := strings.Repeat("x", 1<<20)
	add(9*time.Minute, workflows.UpdateCancel, workflows.Answer{Person: "alice", Reason: huge}, rules.TooLong)
	add(10*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "carol", Option: huge}, rules.TooLong)
	add(10*time.Minute+time.Second, workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "carol", Option: "wide", Channel: huge}, rules.TooLong)
	add(10*time.Minute+2*time.Second, workflows.UpdateAck, workflows.Answer{Step: "decision.scope", Person: "carol"}, rules.WrongKind)
	add(10*time.Minute+3*time.Second, workflows.UpdateAck, workflows.Answer{Step: "wait.pause", Person: "carol"}, rules.NotOpen)
	add(11*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "carol", Option: "wide"}, "")
	h.run(workflows.IncidentInput{Plan: compile(t, twoStepPlaybook), Commander: "alice"})
	for _, a := range asks {
		if a.code == "" {
			accepted(t, a.r)
			continue
		}
		// From interpreter v6 the validator rejects only what must leave no
		// trace (not open yet, too long); the handler refuses the rest.
		err := a.r.Rejected
		if a.code != rules.NotOpenYet && a.code != rules.TooLong {
			if err != nil {
				t.Errorf("%s %+v: rejected by the validator (%v); a %s refusal must be on record", a.r.Update, short(a.r.Answer), err, a.code)
			}
			err = a.r.Err
		}
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) {
			t.Errorf("%s %+v: want a refusal coded %s, got %v", a.r.Update, short(a.r.Answer), a.code, err)
			continue
		}
		if ae.Type() != string(a.code) {
			t.Errorf("%s %+v: refusal coded %q (%s), want %q", a.r.Update, short(a.r.Answer), ae.Type(), ae.Message(), a.code)
		}
		if len(ae.Message()) > 1000 {
			t.Errorf("%s: the refusal message is %d bytes; it must not quote oversized text", a.r.Update, len(ae.Message()))
		}
	}
	tl := h.timeline()
	for _, e := range tl.Events {
		if len(e.Detail) > 4000 {
			t.Errorf("event %s carries %d bytes", e.Kind, len(e.Detail))
		}
	}
}

// short shortens an answer's texts for messages.
func short(a workflows.Answer) workflows.Answer {
	if len(a.Reason) > 20 {
		a.Reason = a.Reason[:20] + "…"
	}
	if len(a.Option) > 20 {
		a.Option = a.Option[:20] + "…"
	}
	return a
}
