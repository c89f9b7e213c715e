package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Limits on how refusals are kept (interpreter v6). Every refusal is
// counted per person and code in Timeline.Refusals; the timeline keeps the
// latest MaxRefusalEventsPerPerson refusal events of each person and the
// latest MaxRefusals overall in full, so a flood from one person neither
// fills the record nor pushes out anyone else's.
const (
	MaxRefusalEventsPerPerson = 20
	// MaxRefusalCounts bounds the table of counts; refusals of people
	// beyond it are counted under OtherPeople.
	MaxRefusalCounts = 500
	// OtherPeople is the person of the count that gathers refusals once
	// the table of counts is full.
	OtherPeople = "(others)"
)

// ExerciseOption is the option of a start attestation for an exercise run.
const ExerciseOption = "exercise"

// StartStep is the step a start attestation names: "playbook.NAME".
func StartStep(playbook string) string { return "playbook." + playbook }

// checkStart is the start check of interpreter v6: a fresh incident names
// its commander, who must be allowed to start the playbook (may_start), and
// carries the commander's attestation of the start, made for this incident
// (whose workflow this must be), this plan and these inputs
// (plan.StartDigest), unless the starter accepts unattested answers. A start
// that fails fails the incident at once, before anything is done.
func (r *runner) checkStart(ctx workflow.Context) error {
	fail := func(code rules.Code, format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), string(code), nil)
	}
	cmdr := r.in.Commander
	if cmdr == "" {
		return fail(rules.UnknownPerson, "incident %s names nobody as its commander: an incident is started by a known person (firebreak run --as PERSON)", r.in.IncidentID)
	}
	if err := rules.CheckText("the commander", cmdr, rules.MaxID); err != nil {
		return fail(err.Code, "%s", err.Message)
	}
	if len(r.plan.MayStart) > 0 && !r.dir.InAny(cmdr, r.plan.MayStart) {
		return fail(rules.NotAllowedToStart, "%s may not start playbook %s: only %s may (may_start)", cmdr, r.plan.Playbook, joinOr(r.plan.MayStart))
	}
	if r.in.Start == nil {
		if r.in.AcceptUnattested {
			return nil
		}
		return fail(rules.NotAttested, "the start of incident %s is not signed: start it with a key the organisation trusts (firebreak run --key-file)", r.in.IncidentID)
	}
	if wf := IncidentIDFromWorkflowID(workflow.GetInfo(ctx).WorkflowExecution.ID); wf != r.in.IncidentID {
		return fail(rules.Replayed, "the workflow %s is not incident %s's (its workflow ID is %s): a start is made for one incident's workflow", workflow.GetInfo(ctx).WorkflowExecution.ID, r.in.IncidentID, IncidentWorkflowID(r.in.IncidentID))
	}
	digest, err := plan.StartDigest(r.plan, r.in.Inputs)
	if err != nil {
		return fail(rules.Tampered, "the plan cannot be digested to check the start: %v", err)
	}
	opt := ""
	if r.in.Exercise {
		opt = ExerciseOption
	}
	rf := r.keys.Check(r.in.Start, attest.Want{
		Incident: r.in.IncidentID, Step: StartStep(r.plan.Playbook), Person: cmdr, Answer: attest.Start,
		Option: opt, ReasonSHA256: digest, AnyChannel: true,
	}, attest.Times{Now: workflow.Now(ctx), MaxAge: attest.Window})
	if rf != nil {
		return fail(rf.Code, "the start of incident %s is refused: %s", r.in.IncidentID, rf.Message)
	}
	return nil
}

func joinOr(xs []string) string {
	out := ""
	for i, x := range xs {
		switch {
		case i == 0:
		case i == len(xs)-1:
			out += " or "
		default:
			out += ", "
		}
		out += x
	}
	return out
}

// validate is the update validator. Before interpreter v6 it applies the
// whole rule book. From v6 it refuses only what must leave no trace in the
// history: texts over their limits, an answer whose attestation does not
// hold (it names nobody for certain), one whose signature is already on
// record as a refusal (a replay), an answer to a finished incident,
// and one to a step about to open (front doors retry that one under the
// same update ID, so it must not complete). Anything else is accepted,
// and the handler records and returns the refusal the rules make: an
// attested answer that is refused is evidence.
func (r *runner) validate(ctx workflow.Context, update string, a Answer) *rules.Refusal {
	if r.version < interpreterV6 {
		_, rf := r.check(ctx, update, a)
		return rf
	}
	if rf := rules.CheckAnswerText(a.Step, a.Person, a.Option, a.Reason, a.Channel); rf != nil {
		return rf
	}
	if rf := r.checkAttestation(ctx, update, a); rf != nil {
		return rf
	}
	if rf := r.replayedRefusal(a.Attestation); rf != nil {
		return rf
	}
	_, rf := r.check(ctx, update, a)
	if rf != nil && (rf.Code == rules.IncidentFinished || rf.Code == rules.NotOpenYet || rf.Code == rules.TooLong) {
		return rf
	}
	return nil
}

// checkAttestation verifies an answer's attestation against the plan's
// keys: made by a trusted key that may sign for the person, for exactly
// this incident, step, round, person, answer, option, reason and channel,
// within attest.Window, and not long before the round opened. An
// unattested answer passes only when the incident accepts them. An
// attested answer to a step with rounds must name its round: a signature
// for "whatever round is current" could be replayed in every later round.
func (r *runner) checkAttestation(ctx workflow.Context, update string, a Answer) *rules.Refusal {
	if a.Attestation == nil {
		if r.in.AcceptUnattested {
			return nil
		}
		return rules.Refuse(rules.NotAttested, "incident %s takes signed answers only: give the CLI your key with --key-file (or answer in Slack)", r.in.IncidentID)
	}
	notBefore := r.c.StartedAt
	if update != UpdateCancel {
		if s := r.plan.StepByID(a.Step); s != nil {
			st := r.state(s.ID)
			switch {
			case s.Kind == plan.KindPage:
				notBefore = st.StartedAt
			case a.Round == 0 && st.Round > 0:
				return rules.Refuse(rules.StaleRound, "a signed answer to %s must say which round it answers; round %d is being asked", s.ID, st.Round)
			case a.Round == st.Round:
				notBefore = st.RoundOpenedAt
			default:
				notBefore = time.Time{}
			}
		}
	}
	return r.keys.Check(a.Attestation, attest.Want{
		Incident: r.in.IncidentID, Step: a.Step, Round: a.Round, Person: a.Person, Answer: update,
		Option: a.Option, Reason: a.Reason, Channel: a.Channel,
	}, attest.Times{Now: workflow.Now(ctx), NotBefore: notBefore, MaxAge: attest.Window})
}

// replayedRefusal refuses, without history, an attestation already on
// record as a refusal: the same signature sent again names nobody new, and
// recording it each time would let anyone who reads the history fill it,
// and prune the signer's earlier refusal events, with one genuine answer.
func (r *runner) replayedRefusal(att *attest.Attestation) *rules.Refusal {
	if att == nil {
		return nil
	}
	for _, e := range r.c.Events {
		if e.Kind == EventRefused && e.Attestation != nil && e.Attestation.Signature == att.Signature {
			return rules.Refuse(rules.Replayed, "this signed answer is already on record (event %d) and was refused then; a signature is heard once: answer again if you mean it", e.Seq)
		}
	}
	return nil
}

// recordRefused records a refusal the incident made itself (interpreter
// v6): an event with its code and the answer's attestation, and a count
// per person and code. Older refusal events are summarised away so that
// one person keeps at most MaxRefusalEventsPerPerson in full and the
// timeline at most MaxRefusals.
func (r *runner) recordRefused(ctx workflow.Context, update string, a Answer, rf *rules.Refusal) {
	now := workflow.Now(ctx)
	r.countRefusal(a.Person, string(rf.Code), now)
	r.pruneRefusals(a.Person)
	r.event(ctx, Event{
		Kind: EventRefused, Step: a.Step, Person: a.Person, Channel: a.Channel, Code: string(rf.Code),
		Round: a.Round, Option: a.Option, Reason: a.Reason, Attestation: a.Attestation, Unattested: a.Attestation == nil,
		Detail: fmt.Sprintf("%s refused: %s", update, rules.Clip(rf.Message, rules.MaxRefusalMessage)),
	})
}

// countRefusal adds one to the count of (person, code), keeping the table
// sorted by person, then code.
func (r *runner) countRefusal(person, code string, now time.Time) {
	cs := r.c.RefusalCounts
	find := func(p string) int {
		for i := range cs {
			if cs[i].Person == p && cs[i].Code == code {
				return i
			}
		}
		return -1
	}
	i := find(person)
	if i < 0 && len(cs) >= MaxRefusalCounts {
		person = OtherPeople
		i = find(person)
	}
	if i >= 0 {
		cs[i].Count++
		cs[i].Last = now
		return
	}
	rc := RefusalCount{Person: person, Code: code, Count: 1, First: now, Last: now}
	at := len(cs)
	for j := range cs {
		if cs[j].Person > person || (cs[j].Person == person && cs[j].Code > code) {
			at = j
			break
		}
	}
	cs = append(cs, RefusalCount{})
	copy(cs[at+1:], cs[at:])
	cs[at] = rc
	r.c.RefusalCounts = cs
}

// pruneRefusals makes room for one more refusal event of person: it drops
// the person's oldest refusal event when they have MaxRefusalEventsPerPerson,
// and the oldest refusal event of anyone when the timeline has MaxRefusals.
// The counts keep what the dropped events said.
func (r *runner) pruneRefusals(person string) {
	mine, all := 0, 0
	for _, e := range r.c.Events {
		if e.Kind == EventRefused {
			all++
			if e.Person == person {
				mine++
			}
		}
	}
	drop := func(match func(Event) bool) {
		for i, e := range r.c.Events {
			if e.Kind == EventRefused && match(e) {
				r.c.Events = append(r.c.Events[:i], r.c.Events[i+1:]...)
				return
			}
		}
	}
	if mine >= MaxRefusalEventsPerPerson {
		drop(func(e Event) bool { return e.Person == person })
		all--
	}
	if all >= MaxRefusals {
		drop(func(Event) bool { return true })
	}
}

// frontDoorRefusal reports whether a refused signal carries an attestation
// by a front door the plan trusts (a front door's key, not a person's),
// made for exactly this refusal. Only such a signal may write a refusal
// into the timeline from interpreter v6 on.
func (r *runner) frontDoorRefusal(ctx workflow.Context, rf Refusal) bool {
	att := rf.Attestation
	if att == nil {
		return false
	}
	if person, ok := r.keys.Trusted(att.Signer); !ok || person != "" {
		return false
	}
	a := rf.Answer
	if rules.CheckAnswerText(a.Step, a.Person, a.Option, a.Reason, a.Channel) != nil ||
		rules.CheckText("the update", rf.Update, rules.MaxChannel) != nil ||
		rules.CheckText("the message", rf.Message, rules.MaxRefusalMessage) != nil ||
		rules.CheckText("the code", rf.Code, rules.MaxChannel) != nil {
		return false
	}
	return r.keys.Check(att, attest.Want{
		Incident: r.in.IncidentID, Step: a.Step, Round: a.Round, Person: a.Person, Answer: attest.Refused,
		Option: rf.Update, Reason: rf.Message, Channel: a.Channel,
	}, attest.Times{Now: workflow.Now(ctx), MaxAge: attest.Window}) == nil
}
