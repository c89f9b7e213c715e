package workflows_test

import (
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestFrontDoorRefusalRecordsWhatWasSigned: a front door's signed refusal
// is recorded once however often the signal is sent again, and without the
// option and reason of the refused answer, which its signature does not
// cover.
func TestFrontDoorRefusalRecordsWhatWasSigned(t *testing.T) {
	h := newHarness(t)
	door := newSigner(t, "slack.main")
	rf := workflows.Refusal{
		Update:  workflows.UpdateAck,
		Answer:  workflows.Answer{Step: "page.oncall", Person: "ivan", Channel: workflows.ChannelSlack},
		Message: "Slack user U0IVAN is not a person of this organisation",
		Code:    string(rules.UnknownPerson),
	}
	rf.Attestation = door.Sign(attest.Claim{
		Incident: "INC-1", Step: "page.oncall", Person: "ivan", Answer: attest.Refused, Option: workflows.UpdateAck,
		ReasonSHA256: attest.Digest(rf.Message), Channel: workflows.ChannelSlack,
	}, h.env.Now())
	replayed := rf
	replayed.Answer.Reason = "ivan: I am paid to slow this incident down"
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(workflows.SignalRefused, rf)
		h.env.SignalWorkflow(workflows.SignalRefused, replayed)
	})
	h.answer(2*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "frank"})
	p := compile(t, pagePlaybook)
	trust(p, door)
	h.run(workflows.IncidentInput{Plan: p})
	tl := h.timeline()
	refusals := events(tl, workflows.EventRefused, "page.oncall")
	if len(refusals) != 1 {
		t.Fatalf("%d refusals recorded from one signed refusal:\n%s", len(refusals), dump(tl))
	}
	if e := refusals[0]; e.Reason != "" || e.Option != "" {
		t.Errorf("the refusal records an option %q and reason %q nobody signed", e.Option, e.Reason)
	}
}
