package evidence_test

import (
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/evidence"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestFrontDoorRefusalVerifies: a refusal a trusted front door made itself
// (the refused signal: a Slack user it could not map, say) is recorded by
// the incident with the front door's own attestation, whose answer is
// attest.Refused, whose option is the refused update and whose reason
// digest is that of the refusal message. An honest export holding one
// must verify; verify checked it as if it were the refused answer itself
// and failed it as replayed.
func TestFrontDoorRefusalVerifies(t *testing.T) {
	f := newFixture(t)
	evs := &f.doc.Timeline.Events
	last := (*evs)[len(*evs)-1]
	*evs = (*evs)[:len(*evs)-1]
	const msg = "U0STRANGER is not a person this organisation knows"
	e := f.event(workflows.Event{Kind: workflows.EventRefused, Step: approval, Round: 1, Person: "bob", Channel: workflows.ChannelSlack,
		Code: string(rules.UnknownPerson), Detail: workflows.UpdateApprove + " refused: " + msg})
	e.Attestation = f.sign("slack.main", attest.Claim{Incident: incidentID, Step: approval, Round: 1, Person: "bob",
		Answer: attest.Refused, Option: workflows.UpdateApprove, ReasonSHA256: attest.Digest(msg), Channel: workflows.ChannelSlack}, e.At.Add(-time.Second))
	f.doc.Timeline.Refusals = append(f.doc.Timeline.Refusals, workflows.RefusalCount{Person: "bob", Code: e.Code, Count: 1, First: e.At, Last: e.At})
	last.Seq, last.At = e.Seq+1, e.At.Add(time.Minute)
	*evs = append(*evs, last)
	e = &(*evs)[len(*evs)-2]

	r := evidence.Verify(f.sealed(), f.trust, evidence.Options{})
	if !r.OK {
		t.Fatalf("an export with a front door's signed refusal does not verify:\n%s", report(r))
	}

	// The same refusal claim made with a person's own key, or with an
	// option or reason that no signature covers, fails.
	for name, damage := range map[string]func(e *workflows.Event){
		"a person's key": func(e *workflows.Event) {
			e.Attestation = f.sign("person.bob", e.Attestation.Claim, e.Attestation.SignedAt)
		},
		"unsigned reason": func(e *workflows.Event) { e.Reason = "bob is paid to slow this down" },
	} {
		saved := *e
		damage(e)
		r := evidence.Verify(f.sealed(), f.trust, evidence.Options{})
		if len(failed(r, evidence.CheckAnswer)) != 1 {
			t.Errorf("%s: want one failed answer check:\n%s", name, report(r))
		}
		*e = saved
	}
}
