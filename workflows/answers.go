package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// check is the validator of every update: it decides whether an answer may
// be given, without changing anything. A refusal is a *rules.Refusal, whose
// code the validator sends as the application error's type (see refuse);
// its message is what the person sees. The rules themselves live in the
// rule book (playbooks/rules), which the compiler and the front doors share.
func (r *runner) check(ctx workflow.Context, update string, a Answer) (*plan.Step, *rules.Refusal) {
	if r.version >= interpreterV5 {
		// Sizes first, so no refusal below quotes an oversized text.
		if rf := rules.CheckAnswerText(a.Step, a.Person, a.Option, a.Reason, a.Channel); rf != nil {
			return nil, rf
		}
	}
	if a.Person == "" {
		return nil, rules.Refuse(rules.UnknownPerson, "say who is answering (the person ID, e.g. --as alice)")
	}
	// The commander is a declared person even when the playbook never
	// names them (the plan only carries the people it refers to).
	if _, known := r.dir.Person(a.Person); !known && a.Person != r.in.Commander {
		return nil, rules.Refuse(rules.UnknownPerson, "%q is not a person this incident knows; people in playbook %s: %s", a.Person, r.plan.Playbook, strings.Join(r.dir.PeopleIDs(), ", "))
	}
	if r.c.Cancel != nil || r.finished() {
		return nil, rules.Refuse(rules.IncidentFinished, "incident %s is over (%s); nothing can be answered", r.in.IncidentID, r.finalState())
	}
	if update == UpdateCancel {
		if rf := rules.RequireReason(update, a.Reason, "cancelling an incident"); rf != nil {
			return nil, rf
		}
		return nil, r.dir.MayCancel(r.plan.Safety, a.Person, r.in.Commander, r.in.IncidentID)
	}
	if !contains(Updates, update) {
		return nil, rules.Refuse(rules.UnknownAnswer, "unknown answer %q", update)
	}
	s := r.plan.StepByID(a.Step)
	if s == nil {
		return nil, rules.Refuse(rules.UnknownStep, "no step %q in playbook %s%s", a.Step, r.plan.Playbook, r.waitingHint())
	}
	st := r.state(s.ID)
	if update == UpdateAck {
		if st.Ladder == nil || (s.Kind != plan.KindPage && st.State != StepWaiting) {
			code := rules.WrongKind
			switch {
			case s.Kind == plan.KindPage && st.State == StepPending:
				code = rules.NotOpenYet // a page about to start: front doors retry
			case s.Kind == plan.KindPage, st.State != StepWaiting && terminal(st.State):
				code = rules.NotOpen
			}
			return nil, rules.Refuse(code, "%s has no page to acknowledge%s", s.ID, r.waitingHint())
		}
	} else if want := rules.AnswersKind(update); s.Kind != want {
		return nil, rules.Refuse(rules.WrongKind, "%s answers %s steps; %s is %s (%s)", update, want, s.ID, articled(s.Kind), rules.HowToAnswer(s.Kind))
	}
	if st.State != StepWaiting {
		if st.State == StepPending {
			return nil, rules.Refuse(rules.NotOpenYet, "%s is not waiting for answers: it is %s (%s)%s", s.ID, st.State, NotOpenYet, r.waitingHint())
		}
		return nil, rules.Refuse(rules.NotOpen, "%s is not waiting for answers: it is %s%s", s.ID, st.State, suffix(st.Reason))
	}
	if a.Round != 0 && a.Round != st.Round {
		switch {
		case s.Kind == plan.KindPage:
			return nil, rules.Refuse(rules.StaleRound, "%s is a page and has no rounds; acknowledge it without a round", s.ID)
		case a.Round > st.Round:
			return nil, rules.Refuse(rules.StaleRound, "this answer is for round %d of %s, which has not begun; it is asking round %d", a.Round, s.ID, st.Round)
		}
		return nil, rules.Refuse(rules.StaleRound, "this answer is for round %d of %s, which is over; it is now asking again (round %d)", a.Round, s.ID, st.Round)
	}
	switch update {
	case UpdateAck:
		l := st.Ladder
		if l.AckedBy != "" {
			return nil, rules.Refuse(rules.Duplicate, "%s was already acknowledged by %s", s.ID, l.AckedBy)
		}
		if !contains(st.Paged, a.Person) {
			return nil, rules.Refuse(rules.NotAuthorised, "%s has not been paged for %s; paged so far: %s", a.Person, s.ID, strings.Join(st.Paged, ", "))
		}
	case UpdateApprove, UpdateDeny:
		if rf := r.dir.MayApprove(s, a.Person, r.in.Commander, r.in.IncidentID); rf != nil {
			return nil, rf
		}
		if update == UpdateDeny {
			return s, rules.RequireReason(update, a.Reason, "denying "+s.ID)
		}
		if r.version >= interpreterV9 {
			if rf := rules.MayApproveDistinct(s, a.Person, r.distinctSigned(s.ID)); rf != nil {
				return nil, rf
			}
		}
		if rf := r.dir.MayCount(s, a.Person, approverIDs(st.Approvals)); rf != nil {
			return nil, rf
		}
	case UpdateDecide:
		if rf := r.dir.MayDecide(s, a.Person, a.Option); rf != nil {
			return nil, rf
		}
	case UpdateDone:
		if rf := r.dir.MayMarkDone(s, a.Person, r.in.Commander); rf != nil {
			return nil, rf
		}
	case UpdateBreakGlass:
		if rf := r.dir.MayBreakGlassOn(r.plan.Safety, s, a.Person); rf != nil {
			return nil, rf
		}
		// A reason is required whatever require_reason says: the override
		// is reviewed after the incident, and guard three refuses one
		// without a reason. (Interpreter v1 went by require_reason; the
		// handler repeats this check on replay, so v1 keeps its rule.)
		if r.version >= interpreterV2 || r.plan.Safety.BreakGlass.RequireReason {
			if rf := rules.RequireReason(update, a.Reason, "breaking glass on "+s.ID); rf != nil {
				return nil, rf
			}
		}
	}
	return s, nil
}

// refuse turns a refusal into the error an update returns: a Temporal
// application error whose type is the refusal's code, so front doors branch
// on the code, never on the message.
func refuse(rf *rules.Refusal) error {
	if rf == nil {
		return nil
	}
	return temporal.NewApplicationError(rf.Message, string(rf.Code))
}

// apply is the handler of every update: it records the answer. The main
// loop does the rest.
func (r *runner) apply(ctx workflow.Context, update string, a Answer) (AnswerResult, error) {
	s, rf := r.check(ctx, update, a)
	if rf != nil {
		observeRefused(ctx, string(rf.Code), a.Channel)
		if r.version >= interpreterV6 {
			// The validator let it through so that it is on record.
			r.recordRefused(ctx, update, a, rf)
		}
		return AnswerResult{}, refuse(rf)
	}
	r.dirty = true
	now := workflow.Now(ctx)
	ev := Event{Person: a.Person, Channel: a.Channel, Detail: a.Reason}
	v6 := r.version >= interpreterV6
	if v6 {
		ev.Attestation = a.Attestation
		ev.Unattested = a.Attestation == nil
		ev.Reason = a.Reason
		ev.Option = a.Option
		ev.Round = a.Round
	}
	result := func(msg, state string) (AnswerResult, error) {
		res := AnswerResult{Message: msg, StepState: state}
		if v6 {
			res.Round = a.Round
			res.Ref = AnswerRef(update, a)
		}
		return res, nil
	}
	if update == UpdateCancel {
		r.c.Cancel = &a
		r.c.CancelledAt = now
		ev.Kind = EventCancelled
		ev.Detail = "incident cancelled: " + a.Reason
		r.event(ctx, ev)
		r.cancelOpen(ctx)
		return result("incident "+r.in.IncidentID+" cancelled", StateCancelled)
	}
	st := r.state(s.ID)
	ev.Step = s.ID
	if v6 {
		ev.Round = st.Round
	}
	var msg string
	switch update {
	case UpdateAck:
		st.Ladder.AckedBy = a.Person
		st.Ladder.AckedAt = now
		r.observeAck(ctx, s.Kind, st, now)
		ev.Kind = EventAcknowledged
		msg = "acknowledged " + s.ID
		if s.Kind != plan.KindPage {
			msg += "; the escalation stops, and " + s.ID + " still needs an answer"
		}
	case UpdateApprove:
		st.Approvals = append(st.Approvals, Approval{Person: a.Person, At: now, Attestation: a.Attestation})
		if r.version >= interpreterV9 && !contains(st.Signers, a.Person) {
			st.Signers = append(st.Signers, a.Person)
		}
		n, groups := r.dir.QuorumMatch(s.Approval.Quorum, approverIDs(st.Approvals))
		for i := range st.Approvals {
			st.Approvals[i].Roster = groups[i]
		}
		need := rules.Required(s.Approval.Quorum)
		ev.Kind = EventApproved
		ev.Detail = fmt.Sprintf("%d of %d", n, need)
		if v6 {
			// Each approval event names the roster it counts for now,
			// including earlier ones the matching has moved.
			ev.Roster = groups[len(groups)-1]
			r.rosterEvents(s.ID, st)
		} else if g := groups[len(groups)-1]; g != "" {
			ev.Detail += " (counts for " + g + ")"
		}
		msg = fmt.Sprintf("approved %s (%d of %d)", s.ID, n, need)
		if n >= need {
			st.GrantedAt = now
			r.observeSignoff(ctx, SignoffQuorum, st, now)
			st.Ladder = nil
			r.event(ctx, ev)
			r.finish(ctx, s, st, StepDone, "approved by "+strings.Join(approverIDs(st.Approvals), ", "))
			return result(msg+"; sign-off complete", st.State)
		}
		msg += "; " + r.need(s, st)
	case UpdateDeny:
		st.DeniedBy = a.Person
		st.AnswerNote = a.Reason
		ev.Kind = EventDenied
		r.event(ctx, ev)
		r.finish(ctx, s, st, StepDenied, fmt.Sprintf("denied by %s: %s", a.Person, a.Reason))
		return result("denied "+s.ID+"; steps that need it are skipped", st.State)
	case UpdateDecide:
		st.Choice = a.Option
		st.AnsweredBy = a.Person
		ev.Kind = EventDecided
		ev.Detail = a.Option
		r.event(ctx, ev)
		r.finish(ctx, s, st, StepDone, fmt.Sprintf("%s chose %q", a.Person, a.Option))
		return result(fmt.Sprintf("decided %s: %s", s.ID, a.Option), st.State)
	case UpdateDone:
		st.AnsweredBy = a.Person
		ev.Kind = EventTaskDone
		r.event(ctx, ev)
		r.finish(ctx, s, st, StepDone, "done by "+a.Person)
		return result(s.ID+" marked done", st.State)
	case UpdateBreakGlass:
		st.BreakGlass = &activities.BreakGlass{Person: a.Person, Reason: a.Reason, At: now, Attestation: a.Attestation}
		st.GrantedAt = now
		r.observeSignoff(ctx, SignoffBreakGlass, st, now)
		st.Ladder = nil
		r.c.BreakGlass = true
		ev.Kind = EventBreakGlass
		ev.BreakGlass = true
		ev.Detail = "safety gate forced: " + a.Reason + " (flagged for post-incident review)"
		r.event(ctx, ev)
		r.finish(ctx, s, st, StepDone, "BREAK-GLASS by "+a.Person+": "+a.Reason)
		r.upsertState(ctx, StateRunning)
		return result("break-glass recorded on "+s.ID+"; the incident is flagged for review", st.State)
	}
	r.event(ctx, ev)
	return result(msg, st.State)
}

// rosterEvents brings the roster of every approval event of the step's
// current round up to date with the quorum's matching.
func (r *runner) rosterEvents(step string, st *StepState) {
	for i := range r.c.Events {
		e := &r.c.Events[i]
		if e.Kind != EventApproved || e.Step != step || e.Round != st.Round {
			continue
		}
		for _, ap := range st.Approvals {
			if ap.Person == e.Person {
				e.Roster = ap.Roster
			}
		}
	}
}

// need says what an approval still lacks.
func (r *runner) need(s *plan.Step, st *StepState) string {
	return r.dir.QuorumNeed(s.Approval.Quorum, approverIDs(st.Approvals))
}

// distinctSigned is who approved, in any round, each approval that the
// approval id must be distinct from (rules.DistinctFrom).
func (r *runner) distinctSigned(id string) []rules.Signed {
	var out []rules.Signed
	for _, other := range rules.DistinctFrom(r.plan, id) {
		out = append(out, rules.Signed{Approval: other, People: r.signers(other)})
	}
	return out
}

// signers is who approved the approval id in any round, in order.
func (r *runner) signers(id string) []string {
	st := r.state(id)
	if st == nil {
		return nil
	}
	people := append([]string(nil), st.Signers...)
	for _, p := range approverIDs(st.Approvals) {
		if !contains(people, p) {
			people = append(people, p)
		}
	}
	return people
}

func approverIDs(as []Approval) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Person
	}
	return out
}

// waitingHint lists the steps that take answers now.
func (r *runner) waitingHint() string {
	var ids []string
	for i, st := range r.c.Steps {
		if st.State == StepWaiting {
			ids = append(ids, r.plan.Steps[i].ID)
		}
	}
	if len(ids) == 0 {
		return "; no step is waiting for answers now"
	}
	return "; waiting for answers now: " + strings.Join(ids, ", ")
}

func suffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// articled puts "a" or "an" before a step kind.
func articled(kind plan.Kind) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + string(kind)
	}
	return "a " + string(kind)
}

// ---- queries ----

func (r *runner) status() Status {
	st := Status{
		IncidentID: r.in.IncidentID,
		Playbook:   r.plan.Playbook,
		Title:      r.plan.Title,
		Severity:   r.plan.Severity,
		State:      StateRunning,
		Commander:  r.in.Commander,
		Exercise:   r.in.Exercise,
		BreakGlass: r.c.BreakGlass,
		Unattested: r.in.AcceptUnattested,
		StartedAt:  r.c.StartedAt,
		Runs:       r.c.Runs + 1,
		Steps:      r.stepStatuses(),
	}
	if r.finished() || r.c.Cancel != nil {
		st.State = r.finalState()
	}
	return st
}

func (r *runner) stepStatuses() []StepStatus {
	var steps []StepStatus
	for i := range r.plan.Steps {
		s := &r.plan.Steps[i]
		ss := r.c.Steps[i]
		out := StepStatus{ID: s.ID, Kind: s.Kind, State: ss.State, Reason: ss.Reason, Round: ss.Round, Approvals: ss.Approvals, Choice: ss.Choice, StartedAt: ss.StartedAt, FinishedAt: ss.FinishedAt, BreakGlass: ss.BreakGlass != nil}
		if ss.State == StepWaiting {
			switch s.Kind {
			case plan.KindPage:
				out.Awaiting = ss.Paged
			default:
				for _, p := range r.askable(s) {
					if !contains(approverIDs(ss.Approvals), p) {
						out.Awaiting = append(out.Awaiting, p)
					}
				}
				if s.Kind == plan.KindApproval {
					out.Need = r.need(s, ss)
				}
			}
		}
		if s.Kind == plan.KindStep && !terminal(ss.State) {
			for _, it := range ss.Iterations {
				if it.State == StepWaiting {
					out.State = StepWaiting
					out.Reason = it.Reason
				}
			}
		}
		if l := ss.Ladder; l != nil {
			esc := r.dir.escal[l.Escalation]
			switch {
			case l.AckedBy != "":
				out.Escalation = fmt.Sprintf("escalation.%s acknowledged by %s", l.Escalation, l.AckedBy)
			case l.Exhausted:
				out.Escalation = fmt.Sprintf("escalation.%s exhausted", l.Escalation)
			default:
				out.Escalation = fmt.Sprintf("escalation.%s tier %d of %d, round %d of %d", l.Escalation, l.Tier+1, len(esc.Tiers), l.Cycle+1, esc.Repeat+1)
			}
		}
		steps = append(steps, out)
	}
	return steps
}

func (r *runner) timeline() Timeline {
	return Timeline{IncidentID: r.in.IncidentID, Playbook: r.plan.Playbook, Exercise: r.in.Exercise, BreakGlass: r.c.BreakGlass, Unattested: r.in.AcceptUnattested, Events: r.c.Events, Refusals: r.c.RefusalCounts}
}
