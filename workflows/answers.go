package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// check is the validator of every update: it decides whether an answer may
// be given, without changing anything. Its error is what the person sees.
func (r *runner) check(ctx workflow.Context, update string, a Answer) (*plan.Step, error) {
	if a.Person == "" {
		return nil, fmt.Errorf("say who is answering (the person ID, e.g. --as alice)")
	}
	// The commander is a declared person even when the playbook never
	// names them (the plan only carries the people it refers to).
	if _, known := r.dir.people[a.Person]; !known && a.Person != r.in.Commander {
		return nil, fmt.Errorf("%q is not a person this incident knows; people in playbook %s: %s", a.Person, r.plan.Playbook, strings.Join(r.peopleIDs(), ", "))
	}
	if r.c.Cancel != nil || r.finished() {
		return nil, fmt.Errorf("incident %s is over (%s); nothing can be answered", r.in.IncidentID, r.finalState())
	}
	if update == UpdateCancel {
		if strings.TrimSpace(a.Reason) == "" {
			return nil, fmt.Errorf("cancelling an incident needs a reason, for the timeline")
		}
		if r.in.Commander != "" && a.Person != r.in.Commander && !r.mayBreakGlass(a.Person) {
			return nil, fmt.Errorf("%s may not cancel incident %s: only its commander (%s) or the break-glass rosters may", a.Person, r.in.IncidentID, r.in.Commander)
		}
		return nil, nil
	}
	s := r.plan.StepByID(a.Step)
	if s == nil {
		return nil, fmt.Errorf("no step %q in playbook %s%s", a.Step, r.plan.Playbook, r.waitingHint())
	}
	st := r.state(s.ID)
	want := map[string]string{UpdateApprove: plan.KindApproval, UpdateDeny: plan.KindApproval, UpdateDecide: plan.KindDecision, UpdateDone: plan.KindTask, UpdateBreakGlass: plan.KindApproval}[update]
	if update == UpdateAck {
		if st.Ladder == nil || (s.Kind != plan.KindPage && st.State != StepWaiting) {
			return nil, fmt.Errorf("%s has no page to acknowledge%s", s.ID, r.waitingHint())
		}
	} else if s.Kind != want {
		return nil, fmt.Errorf("%s answers %s steps; %s is %s (%s)", update, want, s.ID, articled(s.Kind), answerVerb(s.Kind))
	}
	if st.State != StepWaiting {
		if st.State == StepPending {
			return nil, fmt.Errorf("%s is not waiting for answers: it is %s (%s)%s", s.ID, st.State, NotOpenYet, r.waitingHint())
		}
		return nil, fmt.Errorf("%s is not waiting for answers: it is %s%s", s.ID, st.State, suffix(st.Reason))
	}
	if a.Round != 0 && a.Round != st.Round {
		switch {
		case s.Kind == plan.KindPage:
			return nil, fmt.Errorf("%s is a page and has no rounds; acknowledge it without a round", s.ID)
		case a.Round > st.Round:
			return nil, fmt.Errorf("this answer is for round %d of %s, which has not begun; it is asking round %d", a.Round, s.ID, st.Round)
		}
		return nil, fmt.Errorf("this answer is for round %d of %s, which is over; it is now asking again (round %d)", a.Round, s.ID, st.Round)
	}
	switch update {
	case UpdateAck:
		l := st.Ladder
		if l.AckedBy != "" {
			return nil, fmt.Errorf("%s was already acknowledged by %s", s.ID, l.AckedBy)
		}
		if !contains(st.Paged, a.Person) {
			return nil, fmt.Errorf("%s has not been paged for %s; paged so far: %s", a.Person, s.ID, strings.Join(st.Paged, ", "))
		}
	case UpdateApprove, UpdateDeny:
		q := s.Approval.Quorum
		if err := r.mayAnswerApproval(s, a.Person); err != nil {
			return nil, err
		}
		if update == UpdateDeny {
			if strings.TrimSpace(a.Reason) == "" {
				return nil, fmt.Errorf("denying %s needs a reason, for the people waiting on it and the timeline", s.ID)
			}
			return s, nil
		}
		for _, ap := range st.Approvals {
			if ap.Person == a.Person {
				return nil, fmt.Errorf("%s has already approved %s; one person never counts twice (%s)", a.Person, s.ID, r.need(s, st))
			}
		}
		before, _ := r.dir.quorumMatch(q, approverIDs(st.Approvals))
		after, _ := r.dir.quorumMatch(q, append(approverIDs(st.Approvals), a.Person))
		if after <= before {
			return nil, fmt.Errorf("%s's approval would not count: %s", a.Person, r.need(s, st))
		}
	case UpdateDecide:
		if !contains(r.dir.expand(s.Decision.Ask), a.Person) {
			return nil, fmt.Errorf("%s may not decide %s: only %s", a.Person, s.ID, strings.Join(s.Decision.Ask, ", "))
		}
		if !contains(s.Decision.Options, a.Option) {
			return nil, fmt.Errorf("%q is not an option of %s; options: %s", a.Option, s.ID, strings.Join(s.Decision.Options, ", "))
		}
	case UpdateDone:
		if !contains(r.dir.expand(s.Task.Assign), a.Person) && a.Person != r.in.Commander {
			return nil, fmt.Errorf("%s may not mark %s done: it is assigned to %s", a.Person, s.ID, strings.Join(s.Task.Assign, ", "))
		}
	case UpdateBreakGlass:
		if s.Approval.Kind != plan.ApprovalSafety {
			return nil, fmt.Errorf("break-glass forces safety sign-offs only; %s is a %s approval", s.ID, s.Approval.Kind)
		}
		bg := r.plan.Safety
		if bg == nil || bg.BreakGlass == nil {
			return nil, fmt.Errorf("the safety policy has no break_glass block, so nobody may break glass")
		}
		if !r.mayBreakGlass(a.Person) {
			return nil, fmt.Errorf("%s may not break glass: only %s", a.Person, strings.Join(bg.BreakGlass.Rosters, ", "))
		}
		// A reason is required whatever require_reason says: the override
		// is reviewed after the incident, and guard three refuses one
		// without a reason. (Interpreter v1 went by require_reason; the
		// handler repeats this check on replay, so v1 keeps its rule.)
		if strings.TrimSpace(a.Reason) == "" && (r.version >= interpreterV2 || bg.BreakGlass.RequireReason) {
			return nil, fmt.Errorf("break-glass needs a reason: it is flagged for review after the incident")
		}
	default:
		return nil, fmt.Errorf("unknown answer %q", update)
	}
	return s, nil
}

// mayAnswerApproval checks that a person is among an approval's approvers
// and is not the initiator when the quorum excludes them.
func (r *runner) mayAnswerApproval(s *plan.Step, person string) error {
	q := s.Approval.Quorum
	in := false
	for _, g := range q.Groups {
		if r.dir.inGroup(person, g) {
			in = true
		}
	}
	if !in {
		return fmt.Errorf("%s may not answer %s: not in %s", person, s.ID, strings.Join(q.Groups, " or "))
	}
	if q.ExcludeInitiator && person == r.in.Commander {
		return fmt.Errorf("%s started incident %s and may not answer %s (exclude_initiator: no self-approval)", person, r.in.IncidentID, s.ID)
	}
	return nil
}

func (r *runner) mayBreakGlass(person string) bool {
	if r.plan.Safety == nil || r.plan.Safety.BreakGlass == nil {
		return false
	}
	for _, g := range r.plan.Safety.BreakGlass.Rosters {
		if r.dir.inGroup(person, g) {
			return true
		}
	}
	return false
}

// apply is the handler of every update: it records the answer. The main
// loop does the rest.
func (r *runner) apply(ctx workflow.Context, update string, a Answer) (AnswerResult, error) {
	s, err := r.check(ctx, update, a)
	if err != nil {
		return AnswerResult{}, err
	}
	r.dirty = true
	now := workflow.Now(ctx)
	ev := Event{Person: a.Person, Channel: a.Channel, Detail: a.Reason}
	if update == UpdateCancel {
		r.c.Cancel = &a
		r.c.CancelledAt = now
		ev.Kind = EventCancelled
		ev.Detail = "incident cancelled: " + a.Reason
		r.event(ctx, ev)
		r.cancelOpen(ctx)
		return AnswerResult{Message: "incident " + r.in.IncidentID + " cancelled", StepState: StateCancelled}, nil
	}
	st := r.state(s.ID)
	ev.Step = s.ID
	var msg string
	switch update {
	case UpdateAck:
		st.Ladder.AckedBy = a.Person
		st.Ladder.AckedAt = now
		ev.Kind = EventAcknowledged
		msg = "acknowledged " + s.ID
		if s.Kind != plan.KindPage {
			msg += "; the escalation stops, and " + s.ID + " still needs an answer"
		}
	case UpdateApprove:
		st.Approvals = append(st.Approvals, Approval{Person: a.Person, At: now})
		n, groups := r.dir.quorumMatch(s.Approval.Quorum, approverIDs(st.Approvals))
		for i := range st.Approvals {
			st.Approvals[i].Roster = groups[i]
		}
		need := required(s.Approval.Quorum)
		ev.Kind = EventApproved
		ev.Detail = fmt.Sprintf("%d of %d", n, need)
		if g := groups[len(groups)-1]; g != "" {
			ev.Detail += " (counts for " + g + ")"
		}
		msg = fmt.Sprintf("approved %s (%d of %d)", s.ID, n, need)
		if n >= need {
			st.GrantedAt = now
			st.Ladder = nil
			r.event(ctx, ev)
			r.finish(ctx, s, st, StepDone, "approved by "+strings.Join(approverIDs(st.Approvals), ", "))
			return AnswerResult{Message: msg + "; sign-off complete", StepState: st.State}, nil
		}
		msg += "; " + r.need(s, st)
	case UpdateDeny:
		st.DeniedBy = a.Person
		st.AnswerNote = a.Reason
		ev.Kind = EventDenied
		r.event(ctx, ev)
		r.finish(ctx, s, st, StepDenied, fmt.Sprintf("denied by %s: %s", a.Person, a.Reason))
		return AnswerResult{Message: "denied " + s.ID + "; steps that need it are skipped", StepState: st.State}, nil
	case UpdateDecide:
		st.Choice = a.Option
		st.AnsweredBy = a.Person
		ev.Kind = EventDecided
		ev.Detail = a.Option
		r.event(ctx, ev)
		r.finish(ctx, s, st, StepDone, fmt.Sprintf("%s chose %q", a.Person, a.Option))
		return AnswerResult{Message: fmt.Sprintf("decided %s: %s", s.ID, a.Option), StepState: st.State}, nil
	case UpdateDone:
		st.AnsweredBy = a.Person
		ev.Kind = EventTaskDone
		r.event(ctx, ev)
		r.finish(ctx, s, st, StepDone, "done by "+a.Person)
		return AnswerResult{Message: s.ID + " marked done", StepState: st.State}, nil
	case UpdateBreakGlass:
		st.BreakGlass = &activities.BreakGlass{Person: a.Person, Reason: a.Reason, At: now}
		st.GrantedAt = now
		st.Ladder = nil
		r.c.BreakGlass = true
		ev.Kind = EventBreakGlass
		ev.BreakGlass = true
		ev.Detail = "safety gate forced: " + a.Reason + " (flagged for post-incident review)"
		r.event(ctx, ev)
		r.finish(ctx, s, st, StepDone, "BREAK-GLASS by "+a.Person+": "+a.Reason)
		r.upsertState(ctx, StateRunning)
		return AnswerResult{Message: "break-glass recorded on " + s.ID + "; the incident is flagged for review", StepState: st.State}, nil
	}
	r.event(ctx, ev)
	return AnswerResult{Message: msg, StepState: st.State}, nil
}

// need says what an approval still lacks.
func (r *runner) need(s *plan.Step, st *StepState) string {
	q := s.Approval.Quorum
	n, groups := r.dir.quorumMatch(q, approverIDs(st.Approvals))
	total := required(q)
	if n >= total {
		return "the quorum is complete"
	}
	if q.Rule == plan.QuorumOneFromEach {
		var missing []string
		for _, g := range q.Groups {
			if !contains(groups, g) {
				missing = append(missing, g)
			}
		}
		return "still needs one from " + strings.Join(missing, " and ")
	}
	return fmt.Sprintf("still needs %d more from %s", total-n, strings.Join(q.Groups, ", "))
}

func approverIDs(as []Approval) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Person
	}
	return out
}

func (r *runner) peopleIDs() []string {
	out := make([]string, 0, len(r.plan.People))
	for _, p := range r.plan.People {
		out = append(out, p.ID)
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
func articled(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

func answerVerb(kind string) string {
	switch kind {
	case plan.KindPage:
		return "answer it with ack"
	case plan.KindApproval:
		return "answer it with approve or deny, or break-glass if it is a safety sign-off"
	case plan.KindDecision:
		return "answer it with decide"
	case plan.KindTask:
		return "answer it with done"
	}
	return "it takes no answers"
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
		if s.Kind == plan.KindStep {
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
	return Timeline{IncidentID: r.in.IncidentID, Playbook: r.plan.Playbook, Exercise: r.in.Exercise, BreakGlass: r.c.BreakGlass, Events: r.c.Events}
}
