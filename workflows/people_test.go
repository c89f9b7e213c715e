package workflows_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

const pagePlaybook = `playbook "p" {
  page "oncall" {
    escalation = escalation.ladder
    message    = "Plant alarm flood"
  }
  notify "acked" {
    message = "acknowledged by ${page.oncall.acknowledged_by}"
    needs   = [page.oncall]
  }
}`

// TestPageLadderExhausted: tiers are paged in order, each after the previous
// one's ack_within, the ladder runs repeat+1 times, and then the page times
// out, skipping its dependants.
func TestPageLadderExhausted(t *testing.T) {
	h := newHarness(t)
	h.run(workflows.IncidentInput{Plan: compile(t, pagePlaybook), IncidentID: "INC-P"})
	res := h.result()
	if res.State != workflows.StateFailed {
		t.Errorf("state %s, want failed", res.State)
	}
	s := wantStep(t, res.Steps, "page.oncall", workflows.StepTimedOut, "nobody acknowledged", "2 time(s)")
	if d := h.since(s.FinishedAt); d != 30*time.Minute {
		t.Errorf("page timed out at +%s, want +30m (5m+10m, twice)", d)
	}
	wantStep(t, res.Steps, "notify.acked", workflows.StepSkipped, "timed out")

	tl := h.timeline()
	type paged struct {
		at   time.Duration
		who  string
		tier string
	}
	var got []paged
	for _, e := range events(tl, workflows.EventPaged, "page.oncall") {
		got = append(got, paged{h.since(e.At), e.Detail[strings.Index(e.Detail, ": ")+2 : strings.Index(e.Detail, ";")], e.Detail[:strings.Index(e.Detail, ":")]})
	}
	want := []paged{
		{0, "frank", "escalation.ladder tier 1"},
		{5 * time.Minute, "gina", "escalation.ladder tier 2"},
		{15 * time.Minute, "frank", "escalation.ladder tier 1"},
		{20 * time.Minute, "gina", "escalation.ladder tier 2"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged %+v, want %+v\n%s", got, want, dump(tl))
	}
	var keys []string
	for _, e := range h.effects(sim.OpPage) {
		keys = append(keys, e.Key)
	}
	wantKeys := []string{
		"INC-P/page.oncall/page/ladder/0/0", "INC-P/page.oncall/page/ladder/0/1",
		"INC-P/page.oncall/page/ladder/1/0", "INC-P/page.oncall/page/ladder/1/1",
	}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("page keys %v, want %v", keys, wantKeys)
	}
}

// TestPageAck: only someone paged so far may acknowledge; the refusal
// changes nothing; an acknowledgement by a paged person ends the page.
func TestPageAck(t *testing.T) {
	h := newHarness(t)
	early := h.answer(2*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "gina"})
	stranger := h.answer(2*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "ivan"})
	wrongStep := h.answer(2*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.nope", Person: "frank"})
	mid := h.statusAt(3 * time.Minute)
	ack := h.answer(7*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "gina", Channel: workflows.ChannelSlack})
	h.run(workflows.IncidentInput{Plan: compile(t, pagePlaybook)})

	refused(t, early, "gina has not been paged for page.oncall", "paged so far: frank")
	refused(t, stranger, `"ivan" is not a person this incident knows`, "frank, gina")
	refused(t, wrongStep, `no step "page.nope"`, "waiting for answers now")
	accepted(t, ack)
	if !strings.Contains(ack.Result.Message, "acknowledged page.oncall") {
		t.Errorf("ack message %q", ack.Result.Message)
	}

	s := stepOf(t, mid.Steps, "page.oncall")
	if s.State != workflows.StepWaiting || !slices.Equal(s.Awaiting, []string{"frank"}) || !strings.Contains(s.Escalation, "tier 1 of 2, round 1 of 2") {
		t.Errorf("status at +3m: %+v", s)
	}
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Errorf("state %s", res.State)
	}
	wantStep(t, res.Steps, "page.oncall", workflows.StepDone, "acknowledged by gina")
	notes := h.effects(sim.OpNotify)
	if len(notes) != 1 || !strings.Contains(string(notes[0].Request), "acknowledged by gina") {
		t.Errorf("notify effects %v", notes)
	}
	tl := h.timeline()
	e := firstEvent(t, tl, workflows.EventAcknowledged, "page.oncall")
	if e.Person != "gina" || e.Channel != workflows.ChannelSlack || h.since(e.At) != 7*time.Minute {
		t.Errorf("acknowledged event %+v", e)
	}
	// Refused answers are on record as refusals, with their codes, and
	// change nothing else.
	for _, e := range tl.Events {
		if (e.Person == "ivan" || (e.Person == "gina" && e.Kind != workflows.EventAcknowledged)) && (e.Kind != workflows.EventRefused || e.Code == "") {
			t.Errorf("a refused answer reached the timeline as more than a refusal: %+v", e)
		}
	}
	var codes []string
	for _, e := range events(tl, workflows.EventRefused, "page.oncall") {
		if !e.Unattested {
			t.Errorf("refusal %+v is not marked unattested", e)
		}
		codes = append(codes, e.Person+":"+e.Code)
	}
	if !slices.Contains(codes, "ivan:"+string(rules.UnknownPerson)) {
		t.Errorf("refusals on record %v, want ivan's coded UnknownPerson among them", codes)
	}
	if n := len(events(tl, workflows.EventPaged, "page.oncall")); n != 2 {
		t.Errorf("%d pages, want 2 (tier 1, then tier 2 at +5m)", n)
	}
}

// TestRefusalSignalAudited: a refused signal lands in the timeline only
// when a front door the plan trusts signed it; anyone else's is ignored.
func TestRefusalSignalAudited(t *testing.T) {
	h := newHarness(t)
	door := newSigner(t, "slack.main")
	forged := workflows.Refusal{
		Update:  workflows.UpdateAck,
		Answer:  workflows.Answer{Step: "page.oncall", Person: "frank", Channel: workflows.ChannelSlack},
		Message: "frank tried to approve everything",
		Code:    string(rules.NotAuthorised),
	}
	signed := workflows.Refusal{
		Update:  workflows.UpdateAck,
		Answer:  workflows.Answer{Step: "page.oncall", Person: "ivan", Channel: workflows.ChannelSlack},
		Message: "Slack user U0IVAN is not a person of this organisation",
		Code:    string(rules.UnknownPerson),
	}
	signed.Attestation = door.Sign(attest.Claim{
		Incident: "INC-1", Step: "page.oncall", Person: "ivan", Answer: attest.Refused, Option: workflows.UpdateAck,
		ReasonSHA256: attest.Digest(signed.Message), Channel: workflows.ChannelSlack,
	}, h.env.Now())
	// A person's key is no front door: its refusals are ignored too.
	byPerson := signed
	byPerson.Attestation = newSigner(t, "person.frank").Sign(signed.Attestation.Claim, h.env.Now())
	h.at(time.Minute, func() {
		h.env.SignalWorkflow(workflows.SignalRefused, forged)
		h.env.SignalWorkflow(workflows.SignalRefused, byPerson)
		h.env.SignalWorkflow(workflows.SignalRefused, signed)
	})
	h.answer(2*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "frank"})
	p := compile(t, pagePlaybook)
	trust(p, door, newSigner(t, "person.frank"))
	h.run(workflows.IncidentInput{Plan: p})
	tl := h.timeline()
	refusals := events(tl, workflows.EventRefused, "page.oncall")
	if len(refusals) != 1 {
		t.Fatalf("%d refusals recorded, want only the front door's:\n%s", len(refusals), dump(tl))
	}
	e := refusals[0]
	if e.Person != "ivan" || e.Code != string(rules.UnknownPerson) || e.Attestation == nil || e.Attestation.Signer != "slack.main" || !strings.Contains(e.Detail, "ack refused: Slack user U0IVAN") {
		t.Errorf("refused event %+v", e)
	}
}

const signoffPlaybook = `playbook "p" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate the control network?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
}`

// TestSafetySignoffQuorum: one distinct person from each sign-off roster; the
// commander, strangers, repeats and people whose roster is already filled are
// refused with a message saying why; the isolation runs with both approvers.
func TestSafetySignoffQuorum(t *testing.T) {
	h := newHarness(t)
	self := h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "alice"})
	selfDeny := h.answer(1*time.Minute, workflows.UpdateDeny, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Reason: "no"})
	stranger := h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "erin"})
	unknown := h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "ivan"})
	nobody := h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok"})
	first := h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	again := h.answer(4*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	filled := h.answer(5*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "paul"})
	wrongKind := h.answer(5*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "approval.isolate_ok", Person: "carol", Option: "yes"})
	mid := h.statusAt(5*time.Minute + 30*time.Second)
	second := h.answer(6*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.run(workflows.IncidentInput{Plan: compile(t, signoffPlaybook), Commander: "alice", IncidentID: "INC-Q"})

	refused(t, self, "alice started incident INC-Q", "exclude_initiator")
	refused(t, selfDeny, "exclude_initiator")
	refused(t, stranger, "erin may not answer approval.isolate_ok", "not in roster.process_safety or roster.ot_operations")
	refused(t, unknown, `"ivan" is not a person this incident knows`)
	refused(t, nobody, "say who is answering")
	accepted(t, first)
	if first.Result.Message != "approved approval.isolate_ok (1 of 2); still needs one from roster.ot_operations" {
		t.Errorf("first approval message %q", first.Result.Message)
	}
	refused(t, again, "bob has already approved", "never counts twice")
	refused(t, filled, "paul's approval would not count", "still needs one from roster.ot_operations")
	refused(t, wrongKind, "decide answers decision steps", "is an approval", "approve or deny")
	accepted(t, second)
	if !strings.Contains(second.Result.Message, "sign-off complete") || second.Result.StepState != workflows.StepDone {
		t.Errorf("second approval %+v", second.Result)
	}

	s := stepOf(t, mid.Steps, "approval.isolate_ok")
	if s.State != workflows.StepWaiting || s.Need != "still needs one from roster.ot_operations" || len(s.Approvals) != 1 || s.Approvals[0].Person != "bob" || s.Approvals[0].Roster != "roster.process_safety" {
		t.Errorf("status mid-way: %+v", s)
	}
	if slices.Contains(s.Awaiting, "alice") || slices.Contains(s.Awaiting, "bob") || !slices.Contains(s.Awaiting, "carol") {
		t.Errorf("awaiting %v: the commander and bob should not be awaited, carol should", s.Awaiting)
	}

	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	isolations := h.activityStarts("IsolateZone")
	if len(isolations) != 1 {
		t.Fatalf("%d IsolateZone starts, want 1", len(isolations))
	}
	so := isolations[0].Action.Call.Signoff
	if so == nil || so.Approval != "approval.isolate_ok" || so.Required != 2 || len(so.Approvers) != 2 ||
		so.Approvers[0].Person != "bob" || so.Approvers[1].Person != "carol" || so.ValidFor != 15*time.Minute || so.BreakGlass != nil {
		t.Errorf("sign-off handed to the isolation: %+v", so)
	}
	if h.since(so.GrantedAt) != 6*time.Minute {
		t.Errorf("granted at +%s, want +6m", h.since(so.GrantedAt))
	}
	if n := len(h.effects(sim.OpCut)); n != 1 {
		t.Errorf("%d cuts, want 1", n)
	}
}

// TestStandardApprovalCount: min_approvals counts distinct people from the
// union of the groups.
func TestStandardApprovalCount(t *testing.T) {
	p := compile(t, `playbook "p" {
  approval "ok" {
    approvers     = [roster.process_safety, roster.leads]
    min_approvals = 2
    prompt        = "Shut the vendor VPN?"
  }
}`)
	h := newHarness(t)
	a := h.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "alice"})
	dup := h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "alice"})
	b := h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "alice", Round: 1})
	c := h.answer(4*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "gina"})
	h.run(workflows.IncidentInput{Plan: p, Commander: "alice"})
	accepted(t, a)
	if !strings.Contains(a.Result.Message, "still needs 1 more") {
		t.Errorf("message %q", a.Result.Message)
	}
	refused(t, dup, "already approved")
	refused(t, b, "already approved")
	accepted(t, c)
	res := h.result()
	wantStep(t, res.Steps, "approval.ok", workflows.StepDone, "alice, gina")
}

// TestApprovalTimeoutWithoutEscalation: the approval times out and its
// dependants are skipped.
func TestApprovalTimeoutWithoutEscalation(t *testing.T) {
	p := compile(t, `playbook "p" {
  approval "ok" {
    approvers = [roster.leads]
    prompt    = "Proceed?"
    timeout   = "10m"
  }
  step "go" {
    action = "slack.post"
    with   = { text = "go" }
    needs  = [approval.ok]
  }
}`)
	h := newHarness(t)
	h.run(workflows.IncidentInput{Plan: p})
	res := h.result()
	s := wantStep(t, res.Steps, "approval.ok", workflows.StepTimedOut, "no answer within 10m")
	if h.since(s.FinishedAt) != 10*time.Minute {
		t.Errorf("timed out at +%s", h.since(s.FinishedAt))
	}
	wantStep(t, res.Steps, "step.go", workflows.StepSkipped, "timed out")
	if res.State != workflows.StateFailed {
		t.Errorf("state %s", res.State)
	}
}

// TestApprovalTimeoutEscalates: at the timeout, on_timeout pages its ladder
// and the approval keeps waiting, even past the end of the ladder; a later
// quorum completes it.
func TestApprovalTimeoutEscalates(t *testing.T) {
	p := compile(t, `playbook "p" {
  approval "isolate_ok" {
    kind       = "safety"
    covers     = [zone.control]
    prompt     = "Isolate?"
    timeout    = "10m"
    on_timeout = escalation.mgmt
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
}`)
	h := newHarness(t)
	before := h.statusAt(9 * time.Minute)
	escalated := h.statusAt(12 * time.Minute)
	exhausted := h.statusAt(30 * time.Minute)
	bob := h.answer(40*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	carol := h.answer(41*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.run(workflows.IncidentInput{Plan: p, IncidentID: "INC-E"})
	accepted(t, bob)
	accepted(t, carol)

	if s := stepOf(t, before.Steps, "approval.isolate_ok"); s.State != workflows.StepWaiting || s.Escalation != "" {
		t.Errorf("before the timeout: %+v", s)
	}
	if s := stepOf(t, escalated.Steps, "approval.isolate_ok"); s.State != workflows.StepWaiting || !strings.Contains(s.Escalation, "escalation.mgmt tier 1 of 1") {
		t.Errorf("after the timeout: %+v", s)
	}
	if s := stepOf(t, exhausted.Steps, "approval.isolate_ok"); s.State != workflows.StepWaiting || !strings.Contains(s.Escalation, "exhausted") {
		t.Errorf("after the ladder: %+v", s)
	}
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	tl := h.timeline()
	esc := events(tl, workflows.EventEscalated, "approval.isolate_ok")
	if len(esc) != 2 || h.since(esc[0].At) != 10*time.Minute || !strings.Contains(esc[0].Detail, "escalating to escalation.mgmt and still waiting") ||
		!strings.Contains(esc[1].Detail, "still waiting for an answer") {
		t.Errorf("escalation events %+v\n%s", esc, dump(tl))
	}
	pages := h.effects(sim.OpPage)
	if len(pages) != 1 || pages[0].Key != "INC-E/approval.isolate_ok/page/mgmt/0/0" || !strings.Contains(string(pages[0].Request), "Isolate?") {
		t.Errorf("pages %+v", pages)
	}
	if n := len(h.effects(sim.OpCut)); n != 1 {
		t.Errorf("%d cuts", n)
	}
}

// TestApprovalEscalationAck: whoever the on_timeout ladder paged may
// acknowledge it; the approval still needs its quorum.
func TestApprovalEscalationAck(t *testing.T) {
	p := compile(t, `playbook "p" {
  task "call" {
    assign       = roster.compliance
    instructions = "Call the regulator"
    timeout      = "1h"
    on_timeout   = escalation.ladder
  }
}`)
	h := newHarness(t)
	tooEarly := h.answer(30*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "task.call", Person: "frank"})
	ack := h.answer(62*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "task.call", Person: "frank"})
	mid := h.statusAt(63 * time.Minute)
	done := h.answer(90*time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.call", Person: "hank"})
	h.run(workflows.IncidentInput{Plan: p})
	refused(t, tooEarly, "no page to acknowledge")
	accepted(t, ack)
	if !strings.Contains(ack.Result.Message, "still needs an answer") {
		t.Errorf("ack message %q", ack.Result.Message)
	}
	if s := stepOf(t, mid.Steps, "task.call"); s.State != workflows.StepWaiting || !strings.Contains(s.Escalation, "acknowledged by frank") {
		t.Errorf("after the ack: %+v", s)
	}
	accepted(t, done)
	res := h.result()
	wantStep(t, res.Steps, "task.call", workflows.StepDone, "done by hank")
	// The ack stopped the ladder: only tier 1 was paged.
	if n := len(h.effects(sim.OpPage)); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
}

// TestDecision: unknown options and people who were not asked are refused;
// a valid choice is recorded and readable by later steps.
func TestDecision(t *testing.T) {
	p := compile(t, `playbook "p" {
  decision "reconnect" {
    ask      = [roster.ot_operations]
    question = "Reconnect?"
    options  = ["reconnect", "stay_isolated"]
  }
  step "post" {
    action = "slack.post"
    with   = { text = "choice: ${decision.reconnect.choice}" }
    when   = decision.reconnect.choice == "reconnect"
  }
  notify "fyi" {
    to      = [person.bob]
    message = "Reconnect is being decided"
  }
}`)
	h := newHarness(t)
	bad := h.answer(time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.reconnect", Person: "carol", Option: "maybe"})
	outsider := h.answer(2*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.reconnect", Person: "bob", Option: "reconnect"})
	ok := h.answer(3*time.Minute, workflows.UpdateDecide, workflows.Answer{Step: "decision.reconnect", Person: "dan", Option: "reconnect"})
	h.run(workflows.IncidentInput{Plan: p})
	refused(t, bad, `"maybe" is not an option`, "options: reconnect, stay_isolated")
	refused(t, outsider, "bob may not decide", "roster.ot_operations")
	accepted(t, ok)
	res := h.result()
	s := wantStep(t, res.Steps, "decision.reconnect", workflows.StepDone)
	if s.Choice != "reconnect" {
		t.Errorf("choice %q", s.Choice)
	}
	posts := h.effects(sim.OpPostMessage)
	if len(posts) != 1 || !strings.Contains(string(posts[0].Request), "choice: reconnect") {
		t.Errorf("posts %v", posts)
	}
	e := firstEvent(t, h.timeline(), workflows.EventDecided, "decision.reconnect")
	if e.Person != "dan" || e.Detail != "reconnect" {
		t.Errorf("decided event %+v", e)
	}
}

// TestDecisionTimeout: the default applies at the timeout; without a default
// the decision times out and its dependants are skipped.
func TestDecisionTimeout(t *testing.T) {
	const src = `playbook "p" {
  decision "reconnect" {
    ask      = [roster.ot_operations]
    question = "Reconnect?"
    options  = ["reconnect", "stay_isolated"]
    timeout  = "4h"
    %s
  }
  step "post" {
    action = "slack.post"
    with   = { text = "choice: ${decision.reconnect.choice}" }
  }
}`
	t.Run("default", func(t *testing.T) {
		h := newHarness(t)
		h.run(workflows.IncidentInput{Plan: compile(t, strings.Replace(src, "%s", `default = "stay_isolated"`, 1))})
		res := h.result()
		s := wantStep(t, res.Steps, "decision.reconnect", workflows.StepDone, `default "stay_isolated"`)
		if s.Choice != "stay_isolated" || h.since(s.FinishedAt) != 4*time.Hour {
			t.Errorf("decision %+v", s)
		}
		wantStep(t, res.Steps, "step.post", workflows.StepDone)
		if res.State != workflows.StateCompleted {
			t.Errorf("state %s", res.State)
		}
		if e := firstEvent(t, h.timeline(), workflows.EventTimedOut, "decision.reconnect"); !strings.Contains(e.Detail, `default "stay_isolated" applies`) {
			t.Errorf("timed_out event %+v", e)
		}
	})
	t.Run("no default", func(t *testing.T) {
		h := newHarness(t)
		h.run(workflows.IncidentInput{Plan: compile(t, strings.Replace(src, "%s", "", 1))})
		res := h.result()
		wantStep(t, res.Steps, "decision.reconnect", workflows.StepTimedOut, "no answer within 4h")
		wantStep(t, res.Steps, "step.post", workflows.StepSkipped, "timed out")
		if res.State != workflows.StateFailed {
			t.Errorf("state %s", res.State)
		}
	})
}

// TestTask: an assignee (or the commander) marks a task done; anyone else is
// refused.
func TestTask(t *testing.T) {
	p := compile(t, `playbook "p" {
  task "call_regulator" {
    assign       = roster.compliance
    instructions = "Notify the regulator within 1 hour."
  }
  task "photos" {
    assign       = person.erin
    instructions = "Photograph the HMI screens."
  }
}`)
	h := newHarness(t)
	stranger := h.answer(time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.call_regulator", Person: "erin"})
	hank := h.answer(2*time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.call_regulator", Person: "hank"})
	twice := h.answer(3*time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.call_regulator", Person: "hank"})
	commander := h.answer(4*time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.photos", Person: "alice"})
	h.run(workflows.IncidentInput{Plan: p, Commander: "alice"})
	refused(t, stranger, "erin may not mark task.call_regulator done", "roster.compliance")
	accepted(t, hank)
	refused(t, twice, "not waiting")
	accepted(t, commander)
	res := h.result()
	wantStep(t, res.Steps, "task.call_regulator", workflows.StepDone, "done by hank")
	wantStep(t, res.Steps, "task.photos", workflows.StepDone, "done by alice")
	var prompts []activities.DeliverRequest
	for _, e := range h.effects(sim.OpPrompt) {
		prompts = append(prompts, decode[activities.DeliverRequest](t, e.Request))
	}
	if len(prompts) != 2 {
		t.Errorf("%d prompts, want 2", len(prompts))
	}
}

// TestRefusalAtTheEndIsKept: a refusal signalled in the same moment as the
// answer that ends the incident is still in the final timeline.
func TestRefusalAtTheEndIsKept(t *testing.T) {
	h := newHarness(t)
	door := newSigner(t, "slack.main")
	ack := &reply{Update: workflows.UpdateAck, Answer: workflows.Answer{Step: "page.oncall", Person: "frank"}}
	h.replies = append(h.replies, ack)
	// Both land in the same workflow task: the signal is buffered without
	// running the workflow, then the ack ends the incident.
	h.at(time.Minute, func() {
		rf := workflows.Refusal{
			Update:  workflows.UpdateAck,
			Answer:  workflows.Answer{Step: "page.oncall", Person: "gina"},
			Message: "gina has not been paged for page.oncall",
		}
		rf.Attestation = door.Sign(attest.Claim{Incident: "INC-1", Step: "page.oncall", Person: "gina", Answer: attest.Refused,
			Option: workflows.UpdateAck, ReasonSHA256: attest.Digest(rf.Message)}, h.env.Now())
		h.env.SignalWorkflowSkippingWorkflowTask(workflows.SignalRefused, rf)
	})
	h.at(2*time.Minute, func() { h.send(ack) })
	p := compile(t, `playbook "p" {
  page "oncall" {
    escalation = escalation.ladder
    message    = "Plant alarm flood"
  }
}`)
	trust(p, door)
	h.run(workflows.IncidentInput{Plan: p})
	accepted(t, ack)
	tl := h.timeline()
	ref := firstEvent(t, tl, workflows.EventRefused, "page.oncall")
	fin := firstEvent(t, tl, workflows.EventIncidentFinished, "")
	if ref.Seq > fin.Seq {
		t.Errorf("the refusal was recorded after the incident finished:\n%s", dump(tl))
	}
}

// TestOneFromEachMatching: with one_from_each, a person in two groups is
// counted for whichever group completes the quorum (a matching, not first
// come first served), still only once.
func TestOneFromEachMatching(t *testing.T) {
	const src = `roster "both" { members = [person.dan, person.alice] }
playbook "p" {
  approval "ok" {
    approvers         = [roster.both, roster.ot_operations]
    one_from_each     = true
    exclude_initiator = true
    prompt            = "Block the vendor VPN?"
  }
}`
	cases := []struct {
		name    string
		answers []string // approvers in order; "!" marks an expected refusal
		done    bool
		// commander is hank unless set.
		commander string
	}{
		{name: "dan then carol", answers: []string{"dan", "carol"}, done: true},
		{name: "carol then dan", answers: []string{"carol", "dan"}, done: true},
		{name: "dan then dan", answers: []string{"dan", "!dan"}},
		// dan first counts for roster.both; alice can only count there, so
		// dan moves over to roster.ot_operations.
		{name: "dan then alice", answers: []string{"dan", "alice"}, done: true},
		{name: "carol then the commander", answers: []string{"carol", "!alice"}, commander: "alice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			var rs []*reply
			for i, who := range c.answers {
				rs = append(rs, h.answer(time.Duration(i+1)*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: strings.TrimPrefix(who, "!")}))
			}
			commander := c.commander
			if commander == "" {
				commander = "hank"
			}
			if !c.done {
				h.answer(time.Hour, workflows.UpdateCancel, workflows.Answer{Person: commander, Reason: "end of test"})
			}
			h.run(workflows.IncidentInput{Plan: compile(t, src), Commander: commander})
			for i, who := range c.answers {
				if strings.HasPrefix(who, "!") {
					refused(t, rs[i])
				} else {
					accepted(t, rs[i])
				}
			}
			res := h.result()
			if got := stepOf(t, res.Steps, "approval.ok").State == workflows.StepDone; got != c.done {
				t.Errorf("done=%v, want %v: %+v", got, c.done, res.Steps)
			}
		})
	}
}

// TestApprovalRoundPagesAfresh: when a stale sign-off is asked for again,
// the new round's ladder starts with nobody paged: someone paged only in
// the first round may not acknowledge the second round's page.
func TestApprovalRoundPagesAfresh(t *testing.T) {
	p := compile(t, `playbook "p" {
  approval "isolate_ok" {
    kind       = "safety"
    covers     = [zone.control]
    prompt     = "Isolate?"
    timeout    = "5m"
    on_timeout = escalation.ladder
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
}`)
	const step = "approval.isolate_ok"
	h := newHarness(t)
	h.answer(11*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob"})
	h.answer(12*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol"})
	gina := h.answer(38*time.Minute, workflows.UpdateAck, workflows.Answer{Step: step, Person: "gina"})
	frank := h.answer(39*time.Minute, workflows.UpdateAck, workflows.Answer{Step: step, Person: "frank"})
	h.answer(40*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 2})
	h.answer(41*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol", Round: 2})
	h.run(workflows.IncidentInput{Plan: p, IncidentID: "INC-R"})
	for _, r := range h.replies {
		if r != gina {
			accepted(t, r)
		}
	}
	refused(t, gina, "gina has not been paged for approval.isolate_ok", "paged so far: frank")
	if !strings.Contains(frank.Result.Message, "acknowledged") {
		t.Errorf("frank's ack: %q", frank.Result.Message)
	}
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	var keys []string
	for _, e := range h.effects(sim.OpPage) {
		keys = append(keys, e.Key)
	}
	want := []string{"INC-R/approval.isolate_ok/page/ladder/0/0", "INC-R/approval.isolate_ok/page/ladder/0/1", "INC-R/approval.isolate_ok#2/page/ladder/0/0"}
	if !slices.Equal(keys, want) {
		t.Errorf("page keys %v, want %v", keys, want)
	}
}
