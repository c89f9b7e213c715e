package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// ---- pages and escalation ladders ----

// tickPage climbs a page's ladder: one tier at a time until someone
// acknowledges, repeating the ladder as the escalation says.
func (r *runner) tickPage(ctx workflow.Context, s *plan.Step, st *StepState) bool {
	l := st.Ladder
	if l.AckedBy != "" {
		r.finish(ctx, s, st, StepDone, "acknowledged by "+l.AckedBy)
		return true
	}
	changed := r.tickLadder(ctx, s, st, s.Page.Message)
	if l.Exhausted {
		esc := r.dir.escal[l.Escalation]
		r.finish(ctx, s, st, StepTimedOut, fmt.Sprintf("nobody acknowledged; escalation.%s ran %d time(s) through %d tier(s)", l.Escalation, esc.Repeat+1, len(esc.Tiers)))
		return true
	}
	return changed
}

// tickLadder sends the current tier and moves up when its ack_within runs out.
func (r *runner) tickLadder(ctx workflow.Context, s *plan.Step, st *StepState, message *plan.Expr) bool {
	l := st.Ladder
	if l == nil || l.Exhausted || l.AckedBy != "" {
		return false
	}
	esc, ok := r.dir.escal[l.Escalation]
	if !ok || len(esc.Tiers) == 0 {
		l.Exhausted = true
		return true
	}
	now := workflow.Now(ctx)
	if l.Sent {
		if now.Before(l.Deadline) {
			return false
		}
		l.Sent = false
		l.Tier++
		if l.Tier >= len(esc.Tiers) {
			l.Tier = 0
			l.Cycle++
			if l.Cycle > esc.Repeat {
				l.Exhausted = true
				return true
			}
		}
		r.event(ctx, Event{Kind: EventEscalated, Step: s.ID, Detail: fmt.Sprintf("no acknowledgement; escalation.%s tier %d, round %d", l.Escalation, l.Tier+1, l.Cycle+1)})
	}
	if r.holdDeliveries() {
		return false
	}
	tier := esc.Tiers[l.Tier]
	people := r.dir.Expand(tier.Notify)
	for _, p := range people {
		if !contains(st.Paged, p) {
			st.Paged = append(st.Paged, p)
		}
	}
	text, err := evalString(message, r.scope(nil))
	if err != nil || text == "" {
		text = fmt.Sprintf("%s: %s needs you (%s)", r.in.IncidentID, s.ID, r.plan.Title)
	}
	l.Sent = true
	l.Deadline = now.Add(tier.AckWithin.Std())
	in := activities.PageInput{
		Call:       r.call(s, st),
		StepKind:   string(s.Kind),
		Round:      st.Round,
		Escalation: l.Escalation,
		Cycle:      l.Cycle,
		Tier:       l.Tier,
		To:         r.dir.recipients(people),
		Text:       text,
		AckWithin:  tier.AckWithin.Std().String(),
	}
	in.Call.Action = "page"
	r.event(ctx, Event{Kind: EventPaged, Step: s.ID, Detail: fmt.Sprintf("escalation.%s tier %d: %s; ack within %s", l.Escalation, l.Tier+1, strings.Join(people, ", "), tier.AckWithin.Std())})
	var res activities.PageResult
	r.launch(ctx, r.activityContext(deliveryOptions()), activities.PageActivity, in, &res, func(ctx workflow.Context, err error) {
		if err != nil && !terminal(st.State) {
			r.event(ctx, Event{Kind: EventStepFailed, Step: s.ID, Detail: "page delivery failed: " + errorMessage(err) + "; the ladder goes on"})
		}
		if err == nil {
			r.noteMessages(ctx, s, st, res.Messages, res.Failed)
		}
	})
	return true
}

// peopleAsked is the prompted event's detail: "1 person asked", "3 people asked".
func peopleAsked(n int) string {
	if n == 1 {
		return "1 person asked"
	}
	return fmt.Sprintf("%d people asked", n)
}

// holdDeliveries reports whether pages and prompts wait for the run to
// continue as new. From interpreter v4 they go on while it waits for
// in-flight actions (they are short, and people must not go unpaged); only
// new steps and actions wait.
func (r *runner) holdDeliveries() bool {
	return r.draining && r.version < interpreterV4
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// ---- approvals, decisions and tasks ----

// openRound starts (or restarts) asking people: round 1 when the step
// begins, later rounds when a safety sign-off went stale.
func (r *runner) openRound(ctx workflow.Context, s *plan.Step, st *StepState, round int) {
	now := workflow.Now(ctx)
	r.staleGroups(round)
	st.State = StepWaiting
	st.Round = round
	st.RoundOpenedAt = now
	st.Approvals = nil
	st.GrantedAt = time.Time{}
	st.BreakGlass = nil
	st.Prompted = false
	st.Ladder = nil
	if r.version >= interpreterV4 {
		st.Paged = nil
	}
	st.Reason = ""
	st.FinishedAt = time.Time{}
	st.Deadline = time.Time{}
	if t := promptTimeout(s); t > 0 {
		st.Deadline = now.Add(t)
	}
	detail := fmt.Sprintf("asking %s", strings.Join(r.askable(s), ", "))
	if round > 1 {
		detail = fmt.Sprintf("round %d: %s", round, detail)
	}
	r.event(ctx, Event{Kind: EventStepStarted, Step: s.ID, Detail: detail})
	r.dispatchPrompt(ctx, s, st)
}

func promptTimeout(s *plan.Step) time.Duration {
	if p := promptOf(s); p != nil {
		return p.timeout(s)
	}
	return 0
}

// promptExpr is the text a step asks people with.
func promptExpr(s *plan.Step) *plan.Expr {
	if p := promptOf(s); p != nil {
		return p.text(s)
	}
	return nil
}

func onTimeout(s *plan.Step) string {
	if p := promptOf(s); p != nil {
		return p.onTimeout(s)
	}
	return ""
}

// askable lists who may answer a step now.
func (r *runner) askable(s *plan.Step) []string {
	return r.dir.Asked(s, r.in.Commander)
}

func (r *runner) dispatchPrompt(ctx workflow.Context, s *plan.Step, st *StepState) {
	if st.Prompted || r.holdDeliveries() || r.c.GroupsStale {
		return
	}
	st.Prompted = true
	in := activities.PromptInput{Kind: string(s.Kind), Round: st.Round, To: r.dir.recipients(r.askable(s))}
	if p := promptOf(s); p != nil {
		in.Options = p.options(s)
	}
	if r.version >= interpreterV7 && s.Approval != nil && s.Approval.Kind == plan.ApprovalSafety && r.plan.Safety != nil && r.plan.Safety.BreakGlass != nil {
		in.BreakGlass = true
	}
	text, err := evalString(promptExpr(s), r.scope(nil))
	if err != nil {
		text = fmt.Sprintf("%s (the text could not be built: %v)", s.ID, err)
	}
	in.Text = text
	in.Call = r.call(s, st)
	in.Call.Action = "prompt"
	r.event(ctx, Event{Kind: EventPrompted, Step: s.ID, Detail: peopleAsked(len(in.To))})
	var res activities.PromptResult
	r.launch(ctx, r.activityContext(deliveryOptions()), activities.PromptActivity, in, &res, func(ctx workflow.Context, err error) {
		if err != nil && !terminal(st.State) {
			r.event(ctx, Event{Kind: EventStepFailed, Step: s.ID, Detail: "prompt delivery failed: " + errorMessage(err) + "; answers are still accepted"})
		}
		if err == nil {
			r.noteMessages(ctx, s, st, res.Messages, res.Failed)
		}
	})
}

// tickPrompt handles deadlines of steps waiting for people.
func (r *runner) tickPrompt(ctx workflow.Context, s *plan.Step, st *StepState) bool {
	if st.State != StepWaiting {
		return false
	}
	changed := false
	if !st.Prompted && !r.holdDeliveries() && !r.c.GroupsStale {
		r.dispatchPrompt(ctx, s, st)
		changed = true
	}
	if st.Ladder != nil {
		if r.tickLadder(ctx, s, st, promptExpr(s)) {
			changed = true
		}
		if st.Ladder.Exhausted && !st.Ladder.Reported {
			st.Ladder.Reported = true
			r.event(ctx, Event{Kind: EventEscalated, Step: s.ID, Detail: fmt.Sprintf("escalation.%s finished without an acknowledgement; still waiting for an answer", st.Ladder.Escalation)})
			changed = true
		}
	}
	if st.Deadline.IsZero() || workflow.Now(ctx).Before(st.Deadline) {
		return changed
	}
	st.Deadline = time.Time{}
	timeout := promptTimeout(s)
	if s.Kind == plan.KindDecision && s.Decision.Default != "" {
		st.Choice = s.Decision.Default
		st.AnsweredBy = ""
		r.event(ctx, Event{Kind: EventTimedOut, Step: s.ID, Detail: fmt.Sprintf("no answer within %s; default %q applies", timeout, s.Decision.Default)})
		r.finish(ctx, s, st, StepDone, fmt.Sprintf("default %q after %s without an answer", s.Decision.Default, timeout))
		return true
	}
	if esc := onTimeout(s); esc != "" {
		st.Ladder = &Ladder{Escalation: esc}
		r.event(ctx, Event{Kind: EventEscalated, Step: s.ID, Detail: fmt.Sprintf("no answer within %s; escalating to escalation.%s and still waiting", timeout, esc)})
		r.tickLadder(ctx, s, st, promptExpr(s))
		return true
	}
	r.finish(ctx, s, st, StepTimedOut, fmt.Sprintf("no answer within %s", timeout))
	return true
}
