package slack

import (
	"context"
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/activities"
)

// Deliver sends a notice, page or prompt as a direct message to each
// recipient with a Slack user ID and, for pages and prompts when the
// incident has a room or for notices asked to, one in the incident
// channel. Recipients it cannot reach are named in Failed and the others
// still get it; it fails only when nobody was reached, for good when no
// retry could help (nobody has a Slack user, every user was refused).
func (c *Chat) Deliver(ctx context.Context, req activities.DeliverRequest) (activities.DeliverResponse, error) {
	if req.Key == "" {
		return activities.DeliverResponse{}, errNoKey("delivering a message")
	}
	blocks, text, err := deliverBlocks(req)
	if err != nil {
		return activities.DeliverResponse{}, err
	}
	var resp activities.DeliverResponse
	seen := map[string]bool{}
	retryable := false
	fail := func(who string, err error) {
		resp.Failed = append(resp.Failed, who+": "+err.Error())
		retryable = retryable || !isPermanent(err)
	}
	add := func(ref activities.MessageRef) {
		resp.Delivered++
		if !seen[ref.Channel+" "+ref.TS] {
			seen[ref.Channel+" "+ref.TS] = true
			resp.Messages = append(resp.Messages, ref)
		}
	}
	m := outgoing{incident: req.IncidentID, text: text, blocks: blocks}
	users := map[string]bool{}
	for _, r := range req.To {
		who := r.Person
		if !strings.Contains(who, ".") {
			who = "person." + who
		}
		if ctx.Err() != nil {
			fail(who, fmt.Errorf("not tried: the activity's time ran out"))
			continue
		}
		if r.Slack == "" {
			fail(who, refusal("no Slack user ID"))
			continue
		}
		if users[r.Slack] {
			continue // the same person twice gets one message
		}
		users[r.Slack] = true
		dm, err := c.openDM(ctx, r.Slack)
		if err != nil {
			fail(who, err)
			continue
		}
		m.key = req.Key + "/dm/" + r.Slack
		ref, err := c.post(ctx, dm, m, req.Retry)
		if err != nil {
			fail(who, err)
			continue
		}
		add(ref)
	}
	hasRoom := req.Room != nil && req.Room.ChannelID != ""
	inRoom := req.IncidentChannel || req.Purpose != activities.PurposeNotify && hasRoom
	switch {
	case !inRoom:
	case !hasRoom:
		fail("incident channel", refusal("no incident channel was opened (run slack.open_channel first)"))
	default:
		m.key = req.Key + "/room"
		ref, err := c.post(ctx, req.Room.ChannelID, m, req.Retry)
		if err != nil {
			fail("incident channel", err)
		} else {
			add(ref)
		}
	}
	if resp.Delivered > 0 {
		if len(resp.Failed) > 0 {
			c.log.Warn("delivered to some, not all", "key", req.Key, "incident", req.IncidentID, "step", req.Step, "failed", resp.Failed)
		}
		return resp, nil
	}
	if len(resp.Failed) == 0 {
		return activities.DeliverResponse{}, fmt.Errorf("slack: delivering %s: there is no one to deliver it to: %w", req.Purpose, activities.ErrPermanent)
	}
	err = fmt.Errorf("slack: delivering %s reached nobody: %s", req.Purpose, strings.Join(resp.Failed, "; "))
	if !retryable {
		err = fmt.Errorf("%w: %w", err, activities.ErrPermanent)
	}
	return activities.DeliverResponse{}, err
}

// openDM is the direct message conversation with a user
// (conversations.open), remembered.
func (c *Chat) openDM(ctx context.Context, user string) (string, error) {
	c.mu.Lock()
	id, ok := c.dms.get(user)
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	err := c.q.call(ctx, op{method: "conversations.open", what: "opening a direct message", do: func(ctx context.Context) error {
		ch, _, _, err := c.api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{user}})
		if err == nil {
			if ch == nil || ch.ID == "" {
				return slackapi.SlackErrorResponse{Err: "invalid_response"}
			}
			id = ch.ID
		}
		return err
	}})
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.dms.put(user, id)
	c.mu.Unlock()
	return id, nil
}

// Settle updates every message of a step that takes no more answers: the
// text stays, the buttons go, and a line says the outcome and the state.
// Settling twice is harmless; a message that is gone counts as settled.
func (c *Chat) Settle(ctx context.Context, req activities.SettleRequest) (activities.SettleResponse, error) {
	var resp activities.SettleResponse
	var errs []string
	permanent := true
	for _, ref := range req.Messages {
		err := c.settle(ctx, ref, req)
		switch code := errCode(err); {
		case err == nil:
			resp.Updated++
		case code == "message_not_found" || code == "channel_not_found":
			c.log.Info("a message to settle is gone; counting it as settled", "channel", ref.Channel, "ts", ref.TS, "step", req.Step, "error", err)
		default:
			errs = append(errs, err.Error())
			permanent = permanent && isPermanent(err)
		}
	}
	if len(errs) == 0 {
		return resp, nil
	}
	// Retryable when any failure may pass: settling again is harmless.
	err := fmt.Errorf("slack: settling %d of %d message(s) of %s failed: %s", len(errs), len(req.Messages), Plain(req.Step, maxIDText), strings.Join(errs, "; "))
	if permanent {
		err = fmt.Errorf("%w: %w", err, activities.ErrPermanent)
	}
	return resp, err
}

// settle updates one message.
func (c *Chat) settle(ctx context.Context, ref activities.MessageRef, req activities.SettleRequest) error {
	if ref.Channel == "" || ref.TS == "" {
		return fmt.Errorf("slack: a message to settle has no channel or timestamp: %w", activities.ErrPermanent)
	}
	// Read the message as Slack holds it: the gateway may have added who
	// answered since it was posted. What the adapter posted is the
	// fallback when it cannot be read.
	k := ref.Channel + " " + ref.TS
	b, err := c.fetch(ctx, ref)
	if err != nil {
		c.mu.Lock()
		posted, ok := c.bodies.get(k)
		c.mu.Unlock()
		if !ok || errCode(err) == "message_not_found" || errCode(err) == "channel_not_found" {
			return err
		}
		c.log.Warn("could not read a message to settle; settling it as it was posted", "channel", ref.Channel, "ts", ref.TS, "error", err)
		b = posted
	}
	// Only firebreak's own messages of this incident are settled: a
	// request is a claim (anyone who can schedule activities can send
	// one), and a channel and timestamp could name any message the app
	// may edit.
	if !ownedBy(b.meta, req.IncidentID) {
		return fmt.Errorf("slack: message %s in %s is not one firebreak posted for incident %s; left as it is: %w", ref.TS, ref.Channel, Plain(req.IncidentID, maxIDText), activities.ErrPermanent)
	}
	blocks := closedBlocks(b.blocks, req.Outcome, req.State)
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(b.text, false), slackapi.MsgOptionBlocks(blocks...)}
	if b.meta != nil {
		opts = append(opts, slackapi.MsgOptionMetadata(*b.meta))
	}
	err = c.q.call(ctx, op{method: "chat.update", what: "settling a message in " + ref.Channel, do: func(ctx context.Context) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, ref.Channel, ref.TS, opts...)
		return err
	}})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.bodies.put(k, body{text: b.text, blocks: blocks, meta: b.meta})
	c.mu.Unlock()
	return nil
}

// ownedBy reports whether a message's metadata says firebreak posted it
// for the incident.
func ownedBy(meta *slackapi.SlackMetadata, incident string) bool {
	if meta == nil || meta.EventType != MetadataEventType {
		return false
	}
	got, _ := meta.EventPayload["incident"].(string)
	return got != "" && got == incident
}

// fetch reads one message as Slack holds it (conversations.history,
// latest=ts inclusive, limit 1).
func (c *Chat) fetch(ctx context.Context, ref activities.MessageRef) (body, error) {
	var msgs []slackapi.Message
	err := c.q.call(ctx, op{method: "conversations.history", what: "reading a message to settle in " + ref.Channel, do: func(ctx context.Context) error {
		r, err := c.api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{ChannelID: ref.Channel, Latest: ref.TS, Inclusive: true, Limit: 1, IncludeAllMetadata: true})
		if err == nil {
			msgs = r.Messages
		}
		return err
	}})
	if err != nil {
		return body{}, err
	}
	if len(msgs) == 0 || msgs[0].Timestamp != ref.TS {
		return body{}, &apiError{method: "conversations.history", code: "message_not_found", kind: kindPermanent, msg: "slack: the message " + ref.TS + " in " + ref.Channel + " is gone"}
	}
	m := msgs[0]
	blocks := m.Blocks.BlockSet
	if len(blocks) == 0 {
		blocks = []slackapi.Block{slackapi.NewSectionBlock(mrkdwn(orDash(clip(m.Text, MaxSectionText))), nil, nil, slackapi.SectionBlockOptionBlockID(blockText))}
	}
	b := body{text: m.Text, blocks: blocks}
	if m.Metadata.EventType != "" {
		md := m.Metadata
		b.meta = &md
	}
	return b, nil
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
