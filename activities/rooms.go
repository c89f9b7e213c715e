package activities

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"go.temporal.io/sdk/activity"
)

// Activity names of the incident room: closing a step's messages, keeping
// the pinned status current, and reading the rosters filled from user
// groups.
const (
	// SettleActivity closes the messages of a step that takes no more answers.
	SettleActivity = "Settle"
	// StatusActivity updates the incident's pinned status message.
	StatusActivity = "PublishStatus"
	// RostersActivity reads the members of user-group rosters.
	RostersActivity = "ResolveRosters"
)

// retried reports whether this is a second or later attempt of the
// activity, when an earlier one may have posted already.
func retried(ctx context.Context) bool {
	return activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1
}

// Settle updates every message a step posted once it takes no more
// answers: they say how it ended, and their buttons go.
func (a *Activities) Settle(ctx context.Context, in SettleInput) (SettleResult, error) {
	if _, err := a.admit(in.Call, SettleActivity); err != nil {
		return SettleResult{}, err
	}
	if len(in.Messages) == 0 {
		return SettleResult{}, nil
	}
	if a.Chat == nil {
		return SettleResult{}, missing(in.Call, SettleActivity, "chat")
	}
	req := SettleRequest{
		Key:        in.Call.IdempotencyKey() + "/settle/" + in.State,
		Exercise:   in.Call.Exercise,
		IncidentID: in.Call.IncidentID,
		Step:       in.Call.Step,
		StepKind:   in.StepKind,
		State:      in.State,
		Outcome:    markExercise(in.Call, in.Outcome),
		Messages:   in.Messages,
	}
	logger(ctx).Info("settling messages", "step", in.Call.Step, "state", in.State, "messages", len(in.Messages), "exercise", req.Exercise)
	resp, err := a.Chat.Settle(ctx, req)
	if err != nil {
		return SettleResult{}, integrationError(fmt.Sprintf("%s: updating its %d message(s)", stepName(in.Call), len(in.Messages)), err)
	}
	//lint:ignore S1016 the result and the integration's response evolve separately
	return SettleResult{Updated: resp.Updated, Simulated: resp.Simulated}, nil
}

// PublishStatus brings the incident's pinned status message up to date.
// A call without a room (no channel was opened, or the chat keeps no
// status message) does nothing.
func (a *Activities) PublishStatus(ctx context.Context, in StatusInput) (StatusResult, error) {
	if _, err := a.admit(in.Call, StatusActivity); err != nil {
		return StatusResult{}, err
	}
	if in.Call.Room == nil || in.Call.Room.StatusTS == "" {
		return StatusResult{}, nil
	}
	if a.Chat == nil {
		return StatusResult{}, missing(in.Call, StatusActivity, "chat")
	}
	req := StatusRequest{
		Key:        fmt.Sprintf("%s/status/%d", in.Call.IncidentID, in.Version),
		Exercise:   in.Call.Exercise,
		IncidentID: in.Call.IncidentID,
		Room:       *in.Call.Room,
		Version:    in.Version,
		Title:      markExercise(in.Call, in.Title),
		Severity:   in.Severity,
		State:      in.State,
		Steps:      in.Steps,
	}
	resp, err := a.Chat.PublishStatus(ctx, req)
	if err != nil {
		return StatusResult{}, integrationError("updating the incident's status message", err)
	}
	//lint:ignore S1016 the result and the integration's response evolve separately
	return StatusResult{Simulated: resp.Simulated}, nil
}

// ResolveRosters reads the members of the rosters filled from user groups,
// and maps each member to a person by the worker's own configuration (the
// person whose slack attribute is the member's user ID). Members no person
// block names are reported as unknown. The incident records the snapshot,
// so its quorums and its record use the membership of this moment.
func (a *Activities) ResolveRosters(ctx context.Context, in RostersInput) (RostersResult, error) {
	p, err := a.admit(in.Call, RostersActivity)
	if err != nil {
		return RostersResult{}, err
	}
	if len(in.Rosters) == 0 {
		return RostersResult{}, nil
	}
	if a.Chat == nil {
		return RostersResult{}, missing(in.Call, RostersActivity, "chat")
	}
	if p == nil || p.Directory == nil {
		return RostersResult{}, notConfigured("%s: this worker has no configuration of people to map user group members to", RostersActivity)
	}
	out := RostersResult{Simulated: true}
	known := map[string]bool{}
	for _, g := range in.Rosters {
		resp, err := a.Chat.GroupMembers(ctx, GroupRequest{Key: in.Call.IncidentID + "/group/" + g.Usergroup, Exercise: in.Call.Exercise, Usergroup: g.Usergroup})
		if err != nil {
			return RostersResult{}, integrationError(fmt.Sprintf("reading user group %s of roster.%s", g.Usergroup, g.Roster), err)
		}
		out.Simulated = out.Simulated && resp.Simulated
		m := RosterMembers{Roster: g.Roster, People: []string{}}
		for _, u := range resp.Users {
			if id, ok := p.Directory.BySlack(u); ok {
				m.People = append(m.People, id)
				if !known[id] {
					known[id] = true
					person, _ := p.Directory.Person(id)
					out.People = append(out.People, person)
				}
			} else {
				m.Unknown = append(m.Unknown, u)
			}
		}
		sort.Strings(m.People)
		sort.Strings(m.Unknown)
		m.People = slices.Compact(m.People)
		m.Unknown = slices.Compact(m.Unknown)
		out.Rosters = append(out.Rosters, m)
	}
	sort.Slice(out.People, func(i, j int) bool { return out.People[i].ID < out.People[j].ID })
	return out, nil
}
