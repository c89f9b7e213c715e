package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// beginAction expands for_each and moves the step to running; tickAction
// launches the iterations.
func (r *runner) beginAction(ctx workflow.Context, s *plan.Step, st *StepState) bool {
	if _, ok := activities.ActivityFor(s.Action.Action); !ok {
		r.failAction(ctx, s, st, fmt.Sprintf("this worker has no activity for action %q", s.Action.Action))
		return true
	}
	if s.ForEach != nil {
		v, err := s.ForEach.Eval(r.scope(nil))
		if err != nil {
			r.failAction(ctx, s, st, fmt.Sprintf("could not evaluate for_each (%s): %v", s.ForEach.Source, err))
			return true
		}
		its, err := eachOf(v)
		if err != nil {
			r.failAction(ctx, s, st, err.Error())
			return true
		}
		st.Iterations = its
	} else {
		st.Iterations = []*Iteration{{State: StepPending}}
	}
	st.State = StepRunning
	detail := s.Action.Action
	if s.ForEach != nil {
		detail += fmt.Sprintf(" for %d item(s)", len(st.Iterations))
	}
	ev := Event{Kind: EventStepStarted, Step: s.ID, Detail: detail}
	if r.version >= interpreterV6 {
		ev.Action = s.Action.Action
	}
	r.event(ctx, ev)
	r.tickAction(ctx, s, st)
	return true
}

// tickAction launches iterations that are ready and finishes the step once
// all iterations are final.
func (r *runner) tickAction(ctx workflow.Context, s *plan.Step, st *StepState) bool {
	changed := false
	for _, it := range st.Iterations {
		if it.State == StepPending || it.State == StepWaiting {
			if r.draining {
				continue
			}
			if r.launchIteration(ctx, s, st, it) {
				changed = true
			}
		}
	}
	for _, it := range st.Iterations {
		if !terminal(it.State) {
			return changed
		}
	}
	// Every iteration is final.
	var failed, skipped []string
	for _, it := range st.Iterations {
		name := s.ID
		if s.ForEach != nil {
			name = fmt.Sprintf("%s[%s]", s.ID, it.Key)
		}
		switch it.State {
		case StepFailed:
			failed = append(failed, name+": "+it.Reason)
		case StepSkipped:
			skipped = append(skipped, name+": "+it.Reason)
		}
	}
	switch {
	case len(failed) > 0:
		r.failAction(ctx, s, st, strings.Join(failed, "; "))
	case len(skipped) > 0:
		r.finish(ctx, s, st, StepSkipped, strings.Join(skipped, "; "))
	default:
		summary := ""
		if s.ForEach == nil {
			summary = st.Iterations[0].Summary
		}
		r.finish(ctx, s, st, StepDone, summary)
	}
	return true
}

// failAction finishes an action step as failed. Its dependants go on when
// the step says on_failure = "continue" (before interpreter v4 only once
// the step had started running).
func (r *runner) failAction(ctx workflow.Context, s *plan.Step, st *StepState, reason string) {
	if st.State == StepRunning || r.version >= interpreterV4 {
		st.Continued = s.Action.OnFailure == plan.OnFailureContinue
	}
	if st.Continued {
		reason += " (on_failure = continue)"
	}
	r.finish(ctx, s, st, StepFailed, reason)
}

// launchIteration evaluates the arguments, applies guard two for
// safety-critical actions, and schedules the activity. It reports whether
// anything changed.
func (r *runner) launchIteration(ctx workflow.Context, s *plan.Step, st *StepState, it *Iteration) bool {
	call := activities.Call{
		IncidentID: r.in.IncidentID,
		Step:       s.ID,
		Iteration:  it.Key,
		Round:      it.Round,
		Exercise:   r.in.Exercise,
		Action:     s.Action.Action,
		Plant:      r.plant(),
	}
	r.identify(&call)
	if s.Action.SafetyCritical {
		signoff, waitFor, reason := r.guard(ctx, s)
		switch {
		case signoff != nil:
			call.Signoff = signoff
			it.SignoffRound = r.state(signoff.Approval).Round
		case waitFor != "":
			if it.State != StepWaiting || it.Signoff != waitFor {
				it.State = StepWaiting
				it.Signoff = waitFor
				it.Reason = "waiting for a fresh sign-off on " + waitFor
				return true
			}
			return false
		default:
			it.State = StepSkipped
			it.Reason = reason
			it.FinishedAt = workflow.Now(ctx)
			return true
		}
	}
	args := map[string]any{}
	sc := r.scope(it.Each)
	for _, k := range workflow.DeterministicKeys(s.Action.With) {
		v, err := s.Action.With[k].Eval(sc)
		if err != nil {
			it.State = StepFailed
			it.Reason = fmt.Sprintf("could not evaluate with.%s: %v", k, err)
			it.FinishedAt = workflow.Now(ctx)
			return true
		}
		args[k] = v
	}
	it.State = StepRunning
	it.Signoff = ""
	it.Reason = ""
	name, _ := activities.ActivityFor(s.Action.Action)
	opts := r.actionOptions(s.Action)
	var res activities.ActionResult
	in := activities.ActionInput{Call: call, Args: args}
	if call.Signoff != nil && r.version >= interpreterV6 {
		r.authorised(ctx, s, it, call.Signoff)
	}
	r.launch(ctx, r.activityContext(opts), name, in, &res, func(ctx workflow.Context, err error) {
		if it.State != StepRunning {
			return
		}
		it.FinishedAt = workflow.Now(ctx)
		label := ""
		if s.ForEach != nil {
			label = it.Key
		}
		if err != nil {
			if errorType(err) == activities.ErrSignoffRefused && call.Signoff != nil && call.Signoff.BreakGlass != nil && r.version >= interpreterV2 &&
				(r.version < interpreterV4 || r.fresh(ctx, call.Signoff)) {
				// A refused override that is still fresh cannot be mended by
				// asking again: running it again would only be refused again.
				it.State = StepFailed
				it.Reason = "the activity refused the break-glass override: " + errorMessage(err)
				r.event(ctx, Event{Kind: EventSignoffRefused, Step: s.ID, Iteration: label, Detail: errorMessage(err), BreakGlass: true})
				return
			}
			if errorType(err) == activities.ErrSignoffRefused && call.Signoff == nil && r.version >= interpreterV6 {
				// Guard three refused an action the plan did not guard (a
				// plan that clears safety_critical): no sign-off was asked
				// for, so asking again cannot mend it.
				it.State = StepFailed
				it.Reason = "the activity refused to act without a safety sign-off: " + errorMessage(err)
				r.event(ctx, Event{Kind: EventSignoffRefused, Step: s.ID, Iteration: label, Detail: errorMessage(err)})
				return
			}
			if errorType(err) == activities.ErrSignoffRefused {
				// Guard three refused: the sign-off went stale on the way.
				// Ask again and run a new round once it is fresh.
				it.State = StepPending
				it.Round++
				r.event(ctx, Event{Kind: EventSignoffRefused, Step: s.ID, Iteration: label, Detail: errorMessage(err)})
				if call.Signoff != nil && (call.Signoff.BreakGlass == nil || r.version >= interpreterV4) && (r.version < interpreterV2 || r.current(call.Signoff.Approval, it.SignoffRound)) {
					r.reask(ctx, call.Signoff.Approval, "the activity refused the sign-off: "+errorMessage(err))
				}
				return
			}
			it.State = StepFailed
			it.Reason = errorMessage(err)
			if s.ForEach != nil {
				r.event(ctx, Event{Kind: EventStepFailed, Step: s.ID, Iteration: label, Detail: it.Reason})
			}
			return
		}
		it.State = StepDone
		it.Output = res.Output
		r.noteRoom(res)
		detail := res.Summary
		if res.Simulated {
			detail = strings.TrimSpace(detail + " (simulated)")
		}
		it.Summary = detail
		if s.ForEach != nil {
			r.event(ctx, Event{Kind: EventIterationFinished, Step: s.ID, Iteration: label, Detail: detail, BreakGlass: call.Signoff != nil && call.Signoff.BreakGlass != nil})
		}
	})
	if call.Signoff != nil && call.Signoff.BreakGlass != nil {
		st.BreakGlass = call.Signoff.BreakGlass
	}
	return true
}

// guard is safety guard two: a safety-critical step runs only with a valid,
// unexpired sign-off from one of the approvals that guard it. It returns the
// sign-off to hand the activity; or the approval now asked again because its
// sign-off went stale; or why the step cannot run at all.
func (r *runner) guard(ctx workflow.Context, s *plan.Step) (*activities.Signoff, string, string) {
	var best *activities.Signoff
	var stale, waiting string
	for _, id := range s.Action.GuardedBy {
		as := r.state(id)
		ap := r.plan.StepByID(id)
		if as == nil || ap == nil || ap.Approval == nil {
			continue
		}
		switch as.State {
		case StepDone:
			so := r.signoff(ap, as)
			if (so.BreakGlass != nil && r.version < interpreterV4) || r.fresh(ctx, so) {
				if best == nil || so.GrantedAt.After(best.GrantedAt) {
					best = so
				}
				continue
			}
			if stale == "" || as.GrantedAt.After(r.state(stale).GrantedAt) {
				stale = id
			}
		case StepWaiting:
			waiting = id
		}
	}
	if best != nil {
		return best, "", ""
	}
	if waiting != "" {
		return nil, waiting, ""
	}
	if stale != "" {
		as := r.state(stale)
		ap := r.plan.StepByID(stale)
		r.reask(ctx, stale, fmt.Sprintf("sign-off granted at %s is older than valid_for %s", timeString(as.GrantedAt), ap.Approval.Quorum.ValidFor.Std()))
		return nil, stale, ""
	}
	if len(s.Action.GuardedBy) == 0 {
		return nil, "", fmt.Sprintf("no valid safety sign-off covers zone %s (no approval of this plan guards it)", s.Action.Target)
	}
	return nil, "", fmt.Sprintf("no valid safety sign-off covers zone %s (guarded by %s)", s.Action.Target, strings.Join(s.Action.GuardedBy, ", "))
}

// fresh reports whether a sign-off is still within its valid_for, counted
// from its grant (for a break-glass override, from when it was forced).
// Callers hold overrides to it from interpreter v4 on: an override forces
// the action it was given for, not every later action on the zone.
func (r *runner) fresh(ctx workflow.Context, so *activities.Signoff) bool {
	return so.ValidFor == 0 || workflow.Now(ctx).Before(so.GrantedAt.Add(so.ValidFor))
}

// signoff builds the record a safety-critical activity re-checks.
func (r *runner) signoff(ap *plan.Step, as *StepState) *activities.Signoff {
	so := &activities.Signoff{
		Approval:   ap.ID,
		Covers:     ap.Approval.Covers,
		Required:   rules.Required(ap.Approval.Quorum),
		GrantedAt:  as.GrantedAt,
		ValidFor:   ap.Approval.Quorum.ValidFor.Std(),
		BreakGlass: as.BreakGlass,
	}
	v6 := r.version >= interpreterV6
	if v6 {
		so.Round = as.Round
	}
	if r.version >= interpreterV9 {
		for i := range r.plan.Steps {
			if o := &r.plan.Steps[i]; o.Kind == plan.KindApproval && o.ID != ap.ID {
				so.Signed = append(so.Signed, activities.SignedApproval{Approval: o.ID, People: r.signers(o.ID)})
			}
		}
	}
	for _, a := range as.Approvals {
		ap := activities.Approver{Person: a.Person, Roster: a.Roster, At: a.At}
		if v6 {
			ap.Attestation = a.Attestation
		}
		so.Approvers = append(so.Approvers, ap)
	}
	return so
}

// authorised records which sign-off lets a safety-critical action run, just
// before it is scheduled, so the timeline (and firebreak verify) can tell
// that every such action was preceded by a valid quorum.
func (r *runner) authorised(ctx workflow.Context, s *plan.Step, it *Iteration, so *activities.Signoff) {
	label := ""
	if s.ForEach != nil {
		label = it.Key
	}
	var detail string
	if bg := so.BreakGlass; bg != nil {
		detail = fmt.Sprintf("%s forced by break-glass (%s)", so.Approval, bg.Person)
	} else {
		var who []string
		for _, a := range so.Approvers {
			w := a.Person
			if a.Roster != "" {
				w += " (" + a.Roster + ")"
			}
			who = append(who, w)
		}
		detail = fmt.Sprintf("%s round %d signed off by %s", so.Approval, so.Round, strings.Join(who, ", "))
	}
	r.event(ctx, Event{Kind: EventAuthorised, Step: s.ID, Iteration: label, Signoff: so.Approval, Round: so.Round, Action: s.Action.Action, Detail: detail, BreakGlass: so.BreakGlass != nil})
}

// current reports whether round is still the approval's latest grant. A
// refusal of a sign-off from an earlier round (the approval has since been
// asked again and granted afresh) needs no new round: the next attempt takes
// the fresh one.
func (r *runner) current(approval string, round int) bool {
	as := r.state(approval)
	return as != nil && as.State == StepDone && as.Round == round
}

// reask opens a new round of a safety approval whose sign-off went stale.
func (r *runner) reask(ctx workflow.Context, approvalID, why string) {
	as := r.state(approvalID)
	ap := r.plan.StepByID(approvalID)
	if as == nil || ap == nil || as.State != StepDone {
		return
	}
	r.event(ctx, Event{Kind: EventSignoffStale, Step: approvalID, Detail: why + "; asking again"})
	r.openRound(ctx, ap, as, as.Round+1)
}

func (r *runner) actionOptions(a *plan.ActionStep) workflow.ActivityOptions {
	timeout := a.Timeout.Std()
	if timeout <= 0 {
		timeout = defaultActionTimeout
	}
	rp := &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		MaximumAttempts:        defaultActionAttempts,
		NonRetryableErrorTypes: []string{activities.ErrSignoffRefused, activities.ErrBadArguments},
	}
	if a.Retry != nil {
		rp.MaximumAttempts = int32(a.Retry.Attempts)
		if a.Retry.Backoff > 0 {
			rp.InitialInterval = a.Retry.Backoff.Std()
			rp.BackoffCoefficient = 1
			rp.MaximumInterval = a.Retry.Backoff.Std()
		}
	}
	return workflow.ActivityOptions{StartToCloseTimeout: timeout, RetryPolicy: rp}
}

// plant is the slice of the plant model activities need.
func (r *runner) plant() *activities.Plant {
	p := &activities.Plant{}
	for _, z := range r.plan.Zones {
		az := activities.Zone{ID: z.ID, Title: z.Title, Networks: z.Networks}
		if ss := z.SafeState; ss != nil && r.version >= interpreterV6 {
			// Guard three compares it with the worker's own.
			az.SafeState = &activities.SafeState{Integration: ss.Integration, Register: ss.Register, Expect: ss.Expect}
		}
		p.Zones = append(p.Zones, az)
	}
	for _, c := range r.plan.Conduits {
		p.Conduits = append(p.Conduits, activities.Conduit{ID: c.ID, From: c.From, To: c.To, Enforcement: c.Enforcement, KeepOpenOnIsolation: c.KeepOpenOnIsolation, Protocols: c.Protocols})
	}
	for _, in := range r.plan.Integrations {
		ai := activities.Integration{ID: in.ID, Kind: in.Kind}
		for _, k := range workflow.DeterministicKeys(in.Settings) {
			v := in.Settings[k]
			if v.Env != "" || v.Value == nil {
				continue
			}
			if ai.Settings == nil {
				ai.Settings = map[string]string{}
			}
			ai.Settings[k] = fmt.Sprint(v.Value)
		}
		p.Integrations = append(p.Integrations, ai)
	}
	if len(p.Zones) == 0 && len(p.Conduits) == 0 && len(p.Integrations) == 0 {
		return nil
	}
	return p
}
