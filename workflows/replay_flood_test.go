package workflows_test

import (
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/workflows"
)

// TestReplayedAttestationCannotFlushEvidence: from interpreter v6 an
// attested answer the rules refuse is accepted by the validator and
// recorded as evidence. But an attestation already on record can be sent
// again by anyone who can read the incident's history, under a new update
// ID, as often as they like within attest.Window: each sending is accepted
// (into the history, with whatever padding the payload carries) and
// recorded as a refusal of the person who signed it, which prunes that
// person's older refusal events. bob's own signed, refused break-glass
// attempt must stay in the record however often someone replays his
// approval, and a replay of a signature already on record names nobody new.
func TestReplayedAttestationCannotFlushEvidence(t *testing.T) {
	h := newHarness(t)
	h.signed = true
	k := newKeys(t, "alice", "bob", "carol")
	bg := h.answerSigned(30*time.Second, k["bob"], workflows.UpdateBreakGlass,
		workflows.Answer{Step: "approval.isolate_ok", Round: 1, Person: "bob", Reason: "I want it cut now"}, nil)
	bob := h.answerSigned(time.Minute, k["bob"], workflows.UpdateApprove,
		workflows.Answer{Step: "approval.isolate_ok", Round: 1, Person: "bob"}, nil)
	const replays = workflows.MaxRefusalEventsPerPerson + 5
	var sent []*reply
	for i := range replays {
		r := &reply{Update: workflows.UpdateApprove}
		sent = append(sent, r)
		h.replies = append(h.replies, r)
		h.at(2*time.Minute+time.Duration(i)*time.Millisecond, func() { r.Answer = bob.Answer; h.send(r) })
	}
	h.answerSigned(3*time.Minute, k["carol"], workflows.UpdateApprove,
		workflows.Answer{Step: "approval.isolate_ok", Round: 1, Person: "carol"}, nil)
	p := compile(t, signoffPlaybook)
	k.trustIn(p, h)
	h.run(startSigned(t, k["alice"], workflows.IncidentInput{Plan: p}, h.env.Now()))

	refused(t, bg)
	accepted(t, bob)
	taken := 0
	for _, r := range sent {
		if r.Accepted {
			taken++
		}
	}
	if taken > 1 {
		t.Errorf("%d sendings of bob's one approval attestation were accepted into the history", taken)
	}
	kept := false
	for _, e := range h.timeline().Events {
		if e.Kind == workflows.EventRefused && e.Person == "bob" && e.Step == "approval.isolate_ok" && e.Attestation != nil &&
			e.Attestation.Answer == workflows.UpdateBreakGlass {
			kept = true
		}
	}
	if !kept {
		t.Error("bob's signed, refused break-glass attempt was pushed out of the timeline by replays of his approval")
	}
}
