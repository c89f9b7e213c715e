package runner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/internal/observe"
	"github.com/firebreak-ir/firebreak/internal/org"
)

// SlackChat builds the Chat the live activities deliver through when the
// organisation h holds has a real slack integration (no simulate = true):
// the Slack adapter with that block's bot token (and api_url, if set).
// It returns nil when every slack integration is simulated, and an error
// when more than one is real (one worker speaks to one workspace).
func SlackChat(h *org.Holder, logger *slog.Logger) (activities.Chat, error) {
	return slackChat(h, logger, nil)
}

// slackChat is SlackChat counting Slack's 429s in m.
func slackChat(h *org.Holder, logger *slog.Logger, m *observe.Metrics) (activities.Chat, error) {
	var real []*org.Instance
	for _, in := range h.Current().Instances {
		if in.Kind == "slack" && !in.Simulate {
			real = append(real, in)
		}
	}
	switch len(real) {
	case 0:
		return nil, nil
	case 1:
	default:
		ids := make([]string, len(real))
		for i, in := range real {
			ids[i] = in.ID
		}
		return nil, fmt.Errorf("several slack integrations are real (%s); a worker delivers through one: mark the others simulate = true", strings.Join(ids, ", "))
	}
	in := real[0]
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var chat *slack.Chat
	var err error
	chat, err = slack.New(slack.Config{
		Token:         in.Value("bot_token"),
		APIURL:        in.Value("api_url"),
		Logger:        logger.With("integration", in.ID),
		OnRateLimited: m.RateLimited,
		Resolve: func(principal string) ([]string, error) {
			return resolveSlackUsers(h, chat, principal)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("integration %s (%s): %w", in.ID, in.Source, err)
	}
	return chat, nil
}

// resolveSlackUsers turns an invite principal into Slack user IDs by the
// worker's own configuration: a person's slack attribute; a roster's
// members' and, for a roster filled from a user group, the group's users
// as Slack has them now.
func resolveSlackUsers(h *org.Holder, chat activities.Chat, principal string) ([]string, error) {
	pol, _ := org.PolicyOf(h.Current().Config, false)
	if pol == nil || pol.Directory == nil {
		return nil, fmt.Errorf("the worker's configuration declares no people")
	}
	dir := pol.Directory
	kind, name, _ := strings.Cut(principal, ".")
	var ids []string
	switch kind {
	case "person":
		p, ok := dir.Person(name)
		if !ok {
			return nil, fmt.Errorf("no person %q is declared", name)
		}
		if p.Slack == "" {
			return nil, fmt.Errorf("person.%s has no slack attribute", name)
		}
		return []string{p.Slack}, nil
	case "roster":
		for _, m := range dir.Members(principal) {
			if p, ok := dir.Person(m); ok && p.Slack != "" {
				ids = append(ids, p.Slack)
			}
		}
		for _, g := range dir.Usergroups() {
			if g[0] != name || chat == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			resp, err := chat.GroupMembers(ctx, activities.GroupRequest{Key: "invite/" + g[1], Usergroup: g[1]})
			cancel()
			if err != nil {
				return ids, fmt.Errorf("reading user group %s of %s: %w", g[1], principal, err)
			}
			ids = append(ids, resp.Users...)
		}
		return ids, nil
	}
	return nil, fmt.Errorf("%q is not a person or a roster", principal)
}
