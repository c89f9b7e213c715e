package workflows

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// The incident room (interpreter v7): the channel a slack.open_channel step
// opened, whose pinned status message the incident keeps current; the
// messages each step posted, which are settled when the step stops taking
// answers; and the rosters read from chat user groups when the incident
// starts.

// maxStepMessages bounds how many message references one step keeps for
// settling; messages past it are settled at once.
const maxStepMessages = 200

// finalStatusFor is how long the incident keeps trying to publish its
// final status before it finishes without.
const finalStatusFor = 5 * time.Minute

// roomOptions are the activity options of settling and status updates:
// short, a few attempts, never holding the incident up for long.
func roomOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: deliveryTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
			MaximumAttempts:    5,
		},
	}
}

// roomContext is the context of room activities: not cancelled with the
// incident's actions, so a cancelled incident still closes its prompts.
func (r *runner) roomContext() workflow.Context {
	opts := roomOptions()
	if r.in.Exercise {
		opts.TaskQueue = exerciseQueue
	}
	return workflow.WithActivityOptions(r.roomCtx, opts)
}

// noteRoom records the room an action opened (the first one counts).
func (r *runner) noteRoom(res activities.ActionResult) {
	if r.version < interpreterV7 || res.Room == nil || res.Room.ChannelID == "" || r.c.Room != nil {
		return
	}
	room := *res.Room
	r.c.Room = &room
}

// noteMessages records where a step's page or prompt went, for settling
// once it closes, and puts delivery failures in the timeline. Messages of
// a step that closed while they were being posted are settled at once.
func (r *runner) noteMessages(ctx workflow.Context, s *plan.Step, st *StepState, msgs []activities.MessageRef, failed []string) {
	if r.version < interpreterV7 {
		return
	}
	if len(failed) > 0 {
		r.event(ctx, Event{Kind: EventDeliveryFailed, Step: s.ID, Detail: "could not reach " + clipJoin(failed, 5)})
	}
	if len(msgs) == 0 {
		return
	}
	if terminal(st.State) {
		r.settle(s, st, st.State, msgs)
		return
	}
	room := maxStepMessages - len(st.Messages)
	if room < 0 {
		room = 0
	}
	if len(msgs) > room {
		r.settle(s, st, "", msgs[room:])
		msgs = msgs[:room]
	}
	st.Messages = append(st.Messages, msgs...)
}

// clipJoin joins up to n items, saying how many more there were.
func clipJoin(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:n], "; "), len(items)-n)
}

// settleStep settles a step's messages once it is final (v7).
func (r *runner) settleStep(s *plan.Step, st *StepState) {
	if r.version < interpreterV7 || len(st.Messages) == 0 {
		return
	}
	msgs := st.Messages
	st.Messages = nil
	r.settle(s, st, st.State, msgs)
}

// settle closes messages with the step's outcome; an empty state means
// the step is still open (messages over the bound): they say so.
func (r *runner) settle(s *plan.Step, st *StepState, state string, msgs []activities.MessageRef) {
	outcome := r.outcome(s, st)
	if state == "" {
		state, outcome = st.State, "still open: answer one of its other messages or the CLI"
	}
	r.settleAs(s, st, state, outcome, msgs)
}

// settleAs queues the settling of msgs; flushRoom schedules it once the
// loop has started what the change made ready, so that an action a
// sign-off let through is scheduled before the messages are tidied up.
func (r *runner) settleAs(s *plan.Step, st *StepState, state, outcome string, msgs []activities.MessageRef) {
	in := activities.SettleInput{Call: r.call(s, st), StepKind: string(s.Kind), State: state, Outcome: outcome, Messages: msgs}
	in.Call.Action = "settle"
	r.settles = append(r.settles, in)
}

// flushRoom schedules the queued settling of messages.
func (r *runner) flushRoom() {
	for _, in := range r.settles {
		step := in.Call.Step
		var res activities.SettleResult
		r.launch(r.roomCtx, r.roomContext(), activities.SettleActivity, in, &res, func(ctx workflow.Context, err error) {
			if err != nil {
				r.logger.Warn("could not update a step's messages", "step", step, "error", err)
			}
		})
	}
	r.settles = nil
}

// outcome is one line on how a step ended, for its messages.
func (r *runner) outcome(s *plan.Step, st *StepState) string {
	at := ""
	if !st.FinishedAt.IsZero() {
		at = " at " + st.FinishedAt.UTC().Format("15:04 MST")
	}
	switch st.State {
	case StepDone:
		switch {
		case st.BreakGlass != nil:
			return fmt.Sprintf("forced by break-glass (%s)%s", r.name(st.BreakGlass.Person), at)
		case len(st.Approvals) > 0:
			var who []string
			for _, a := range st.Approvals {
				who = append(who, r.name(a.Person))
			}
			return fmt.Sprintf("approved by %s%s", strings.Join(who, " and "), at)
		case st.Ladder != nil && st.Ladder.AckedBy != "":
			return fmt.Sprintf("acknowledged by %s%s", r.name(st.Ladder.AckedBy), at)
		case st.Choice != "" && st.AnsweredBy != "":
			return fmt.Sprintf("%s chose %q%s", r.name(st.AnsweredBy), st.Choice, at)
		case st.Choice != "":
			return fmt.Sprintf("%q applied%s", st.Choice, at)
		case st.AnsweredBy != "":
			return fmt.Sprintf("done by %s%s", r.name(st.AnsweredBy), at)
		}
		return "done" + at
	case StepDenied:
		return fmt.Sprintf("denied by %s%s", r.name(st.DeniedBy), at)
	case StepTimedOut:
		return "nobody answered in time" + at
	case StepCancelled:
		return "the incident was cancelled" + at
	case StepSkipped:
		return "skipped" + at
	case StepFailed:
		return "failed" + at
	}
	return st.State + at
}

// name is a person's display name, or their ID.
func (r *runner) name(id string) string {
	if p, ok := r.dir.Person(id); ok && p.Name != "" {
		return p.Name
	}
	return id
}

// publishStatus brings the room's pinned status message up to date: at
// most one update is in flight, and a burst of changes while it is makes
// one more update with the latest state.
func (r *runner) publishStatus() {
	if r.version < interpreterV7 || r.c.Room == nil || r.c.Room.StatusTS == "" || r.statusInflight {
		return
	}
	state := StateRunning
	if r.allFinal() || r.c.Cancel != nil {
		state = r.finalState()
	}
	var lines []activities.StatusLine
	var digest strings.Builder
	digest.WriteString(state)
	for _, ss := range r.stepStatuses() {
		note := ss.Need
		if note == "" {
			note = ss.Reason
		}
		if note == "" && len(ss.Awaiting) > 0 {
			note = "waiting for " + clipJoin(ss.Awaiting, 5)
		}
		lines = append(lines, activities.StatusLine{ID: ss.ID, Kind: string(ss.Kind), State: ss.State, Note: note})
		digest.WriteString("\x00" + ss.ID + "\x00" + ss.State + "\x00" + note)
	}
	if digest.String() == r.statusSent {
		return
	}
	r.statusSent = digest.String()
	r.c.StatusVersion++
	in := activities.StatusInput{
		Call:     activities.Call{IncidentID: r.in.IncidentID, Step: "incident.status", Exercise: r.in.Exercise, Action: "status"},
		Version:  r.c.StatusVersion,
		Title:    r.plan.Title,
		Severity: r.plan.Severity,
		State:    state,
		Steps:    lines,
	}
	r.identify(&in.Call)
	r.statusInflight = true
	actx := r.roomContext()
	if state != StateRunning {
		// The last word on the incident: keep trying for a while (Slack
		// may be down just then), or the room says running for good.
		opts := roomOptions()
		opts.ScheduleToCloseTimeout = finalStatusFor
		opts.RetryPolicy.MaximumAttempts = 0
		opts.RetryPolicy.MaximumInterval = 30 * time.Second
		if r.in.Exercise {
			opts.TaskQueue = exerciseQueue
		}
		actx = workflow.WithActivityOptions(r.roomCtx, opts)
	}
	var res activities.StatusResult
	r.launch(r.roomCtx, actx, activities.StatusActivity, in, &res, func(ctx workflow.Context, err error) {
		r.statusInflight = false
		if err != nil {
			r.logger.Warn("could not update the status message", "error", err)
		}
	})
}

// allFinal reports whether every step is in a final state.
func (r *runner) allFinal() bool {
	for _, st := range r.c.Steps {
		if !terminal(st.State) {
			return false
		}
	}
	return true
}

// resolveGroups reads, when a fresh incident starts, the members of the
// rosters filled from chat user groups, and records the snapshot: quorums,
// prompts and the record use the membership of that moment (v7).
func (r *runner) resolveGroups(ctx workflow.Context) {
	if r.version < interpreterV7 || r.c.Groups != nil {
		return
	}
	r.readGroups(ctx, "user groups read")
}

// refreshGroups reads the user groups again when a round asked again is
// waiting for them (GroupsStale), and reports whether it did.
func (r *runner) refreshGroups(ctx workflow.Context) bool {
	if r.version < interpreterV7 || !r.c.GroupsStale {
		return false
	}
	r.c.GroupsStale = false
	r.readGroups(ctx, "user groups read again for the sign-off asked again")
	return true
}

// staleGroups marks the user-group snapshot stale when a round is asked
// again, so its prompts wait for the members of now.
func (r *runner) staleGroups(round int) {
	if r.version >= interpreterV7 && round > 1 && r.c.Groups != nil && len(r.dir.Usergroups()) > 0 {
		r.c.GroupsStale = true
	}
}

// readGroups reads the members of the rosters filled from user groups and
// puts the snapshot in force. When the groups cannot be read, a snapshot
// read before stays in force; without one the rosters have only their
// declared members.
func (r *runner) readGroups(ctx workflow.Context, what string) {
	var rosters []activities.GroupRoster
	for _, g := range r.dir.Usergroups() {
		rosters = append(rosters, activities.GroupRoster{Roster: g[0], Usergroup: g[1]})
	}
	if len(rosters) == 0 {
		return
	}
	in := activities.RostersInput{Call: activities.Call{IncidentID: r.in.IncidentID, Step: "incident.rosters", Exercise: r.in.Exercise, Action: "rosters"}, Rosters: rosters}
	r.identify(&in.Call)
	opts := deliveryOptions()
	opts.RetryPolicy.MaximumAttempts = 3
	var res activities.RostersResult
	actx := r.activityContext(opts)
	err := r.checkRoute(actx, activities.RostersActivity)
	if err == nil {
		err = workflow.ExecuteActivity(actx, activities.RostersActivity, in).Get(ctx, &res)
	}
	if err != nil {
		detail := "could not read the user groups (" + errorMessage(err) + "); rosters filled from them have only their declared members"
		if r.c.Groups != nil {
			detail = "could not read the user groups again (" + errorMessage(err) + "); the members read before stay in force"
		} else {
			r.c.Groups = []activities.RosterMembers{}
		}
		r.event(ctx, Event{Kind: EventRosters, Detail: detail})
		return
	}
	r.c.Groups = res.Rosters
	r.c.GroupPeople = res.People
	r.dir = newDirectory(r.plan)
	r.applyGroups()
	var parts []string
	for _, g := range res.Rosters {
		p := fmt.Sprintf("roster.%s: %s", g.Roster, strings.Join(g.People, ", "))
		if len(g.People) == 0 {
			p = fmt.Sprintf("roster.%s: nobody", g.Roster)
		}
		if len(g.Unknown) > 0 {
			p += fmt.Sprintf(" (%d member(s) no person block names: %s)", len(g.Unknown), clipJoin(g.Unknown, 5))
		}
		parts = append(parts, p)
	}
	r.event(ctx, Event{Kind: EventRosters, Detail: what + ": " + strings.Join(parts, "; ")})
}

// applyGroups puts the recorded user-group snapshot into the directory.
func (r *runner) applyGroups() {
	if len(r.c.Groups) == 0 {
		return
	}
	snap := map[string][]string{}
	for _, g := range r.c.Groups {
		people := append([]string(nil), g.People...)
		sort.Strings(people)
		snap[g.Roster] = people
	}
	r.dir.Directory = r.dir.Directory.WithMembers(snap, r.c.GroupPeople...)
}
