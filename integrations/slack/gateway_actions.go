package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
)

// MaxReason is the longest reason a deny or break-glass modal takes.
const MaxReason = 2000

// maxMessageBlocks is Slack's limit on the blocks of one message.
const maxMessageBlocks = 50

var (
	channelIDPattern = regexp.MustCompile(`^[A-Z0-9]{1,40}$`)
	messageTSPattern = regexp.MustCompile(`^[0-9]{1,20}\.[0-9]{1,10}$`)
)

// modalMeta is the private metadata of a deny or break-glass modal: the
// button's Ref and the message the button was on.
type modalMeta struct {
	Ref     json.RawMessage `json:"ref"`
	Channel string          `json:"c"`
	TS      string          `json:"t"`
}

// modalOrigin is the clicked message kept while its modal is open, so the
// message can be updated after the submission.
type modalOrigin struct {
	Blocks []slackapi.Block
	Text   string
}

// where is the message a click came from.
type where struct {
	Channel, TS string
	DM          bool
}

func (w where) ok() bool {
	return channelIDPattern.MatchString(w.Channel) && messageTSPattern.MatchString(w.TS)
}

func isDM(channel string) bool { return strings.HasPrefix(channel, "D") }

// interactionKey names one interaction however it arrives, so a click
// redelivered by either transport is handled once.
func interactionKey(cb *slackapi.InteractionCallback) string {
	switch cb.Type {
	case slackapi.InteractionTypeBlockActions:
		if cb.TriggerID == "" && cb.ActionTs == "" {
			return ""
		}
		ts := cb.ActionTs
		if len(cb.ActionCallback.BlockActions) > 0 && cb.ActionCallback.BlockActions[0] != nil {
			ts += "/" + cb.ActionCallback.BlockActions[0].ActionTs
		}
		return "click:" + cb.TriggerID + "/" + ts
	case slackapi.InteractionTypeViewSubmission:
		if cb.View.ID == "" && cb.TriggerID == "" {
			return ""
		}
		return "submit:" + cb.View.ID + "/" + cb.TriggerID
	}
	return ""
}

// onInteraction handles a verified, new interaction. It returns the body
// of the ack (nil for an empty one) and leaves the rest to work after the
// ack.
func (g *Gateway) onInteraction(cb *slackapi.InteractionCallback, transport string) any {
	log := g.log.With("transport", transport, "type", string(cb.Type), "user", cb.User.ID)
	if cb.User.ID == "" {
		log.Warn("slack: dropped an interaction without a user")
		return nil
	}
	switch cb.Type {
	case slackapi.InteractionTypeBlockActions:
		g.onClick(cb, transport, log)
		return nil
	case slackapi.InteractionTypeViewSubmission:
		return g.onSubmit(cb, transport, log)
	case slackapi.InteractionTypeViewClosed:
		return nil
	}
	log.Info("slack: ignored an interaction firebreak does not use")
	return nil
}

// clickOrigin is where a block_actions click happened.
func clickOrigin(cb *slackapi.InteractionCallback) where {
	w := where{Channel: cb.Container.ChannelID, TS: cb.Container.MessageTs}
	if w.Channel == "" {
		w.Channel = cb.Channel.ID
	}
	if w.TS == "" {
		w.TS = cb.Message.Timestamp
	}
	w.DM = isDM(w.Channel) || cb.Channel.IsIM
	return w
}

func (g *Gateway) onClick(cb *slackapi.InteractionCallback, transport string, log *slog.Logger) {
	origin := clickOrigin(cb)
	if len(cb.ActionCallback.BlockActions) == 0 || cb.ActionCallback.BlockActions[0] == nil {
		log.Warn("slack: dropped a click without an action")
		return
	}
	act := cb.ActionCallback.BlockActions[0]
	update := AnswerOf(act.ActionID)
	if update == "" {
		log.Warn("slack: dropped a click on an element firebreak did not make", "action", clipLog(act.ActionID))
		g.ephemeralLater(origin.Channel, cb.User.ID, "That button is not one of firebreak's; nothing was answered.")
		return
	}
	ref, err := DecodeRef(act.Value)
	if err == nil && update == "decide" && ref.Option == "" {
		err = ErrBadRef
	}
	if err != nil {
		log.Warn("slack: dropped a click whose button firebreak did not make", "action", act.ActionID, "err", err)
		g.ephemeralLater(origin.Channel, cb.User.ID, "That button does not carry a firebreak prompt; nothing was answered.")
		return
	}
	if update == "deny" || update == "break_glass" {
		// The trigger ID lives 3 seconds: open the modal before anything else.
		trigger := cb.TriggerID
		blocks, text := cb.Message.Blocks.BlockSet, cb.Message.Text
		g.later(func(ctx context.Context) {
			g.openReasonModal(ctx, trigger, act.ActionID, ref, origin, modalOrigin{Blocks: blocks, Text: text}, cb.User.ID)
		})
		return
	}
	a := Answer{Update: update, Ref: ref, UserID: cb.User.ID, UserName: userName(cb.User), TeamID: teamID(cb), Transport: transport}
	orig := modalOrigin{Blocks: cb.Message.Blocks.BlockSet, Text: cb.Message.Text}
	g.later(func(ctx context.Context) { g.answer(ctx, a, origin, &orig) })
}

func userName(u slackapi.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Profile.DisplayName
}

func teamID(cb *slackapi.InteractionCallback) string {
	if cb.Team.ID != "" {
		return cb.Team.ID
	}
	return cb.User.TeamID
}

// reasonModal is the deny or break-glass modal for ref.
func reasonModal(actionID string, ref Ref, meta string) slackapi.ModalViewRequest {
	title, intro, label, submit := "Deny", "", "Reason for the denial", "Deny"
	subject := fmt.Sprintf("*%s* of incident *%s*", Mrkdwn(ref.Step, 200), Mrkdwn(ref.Incident, 200))
	switch actionID {
	case ActionBreakGlass:
		title, label, submit = "Break glass", "Why the gate must be forced", "Break glass"
		intro = "Break glass on " + subject + ": this *forces the safety gate* without the sign-offs it waits for. " +
			"It is recorded in the incident's timeline and reviewed after the incident."
	default:
		intro = "Deny " + subject + ". The reason is recorded in the incident's timeline and shown to the responders."
	}
	input := slackapi.NewPlainTextInputBlockElement(nil, ReasonAction)
	input.Multiline = true
	input.MaxLength = MaxReason
	block := slackapi.NewInputBlock(ReasonBlock, slackapi.NewTextBlockObject(slackapi.PlainTextType, Plain(label, 2000), false, false), nil, input)
	return slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      actionID,
		Title:           slackapi.NewTextBlockObject(slackapi.PlainTextType, Plain(title, MaxModalTitle), false, false),
		Submit:          slackapi.NewTextBlockObject(slackapi.PlainTextType, Plain(submit, MaxModalTitle), false, false),
		Close:           slackapi.NewTextBlockObject(slackapi.PlainTextType, "Cancel", false, false),
		PrivateMetadata: meta,
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
			// intro is ours but for the neutralised, bounded step and incident.
			slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, intro, false, true), nil, nil),
			block,
		}},
	}
}

func (g *Gateway) openReasonModal(ctx context.Context, trigger, actionID string, ref Ref, origin where, orig modalOrigin, user string) {
	enc, err := ref.Encode()
	if err != nil {
		g.log.Warn("slack: could not open a reason modal", "err", err)
		return
	}
	meta, err := json.Marshal(modalMeta{Ref: json.RawMessage(enc), Channel: origin.Channel, TS: origin.TS})
	if err != nil {
		g.log.Warn("slack: could not open a reason modal", "err", err)
		return
	}
	resp, err := g.api.OpenViewContext(ctx, trigger, reasonModal(actionID, ref, string(meta)))
	if err != nil {
		g.log.Warn("slack: views.open failed", "err", err, "incident", ref.Incident, "step", ref.Step)
		g.ephemeral(ctx, origin.Channel, user, "Slack did not open the form for the reason; click the button again.")
		return
	}
	if resp != nil && resp.View.ID != "" {
		g.modals.put(resp.View.ID, orig)
	}
}

// reasonOf is the trimmed reason of a submitted modal.
func reasonOf(v slackapi.View) string {
	if v.State == nil {
		return ""
	}
	return strings.TrimSpace(v.State.Values[ReasonBlock][ReasonAction].Value)
}

// decodeModalMeta parses a modal's private metadata.
func decodeModalMeta(s string) (Ref, where, error) {
	var m modalMeta
	if len(s) > 3000 {
		return Ref{}, where{}, ErrBadRef
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || dec.More() {
		return Ref{}, where{}, ErrBadRef
	}
	ref, err := DecodeRef(string(m.Ref))
	if err != nil {
		return Ref{}, where{}, err
	}
	w := where{Channel: m.Channel, TS: m.TS, DM: isDM(m.Channel)}
	if !w.ok() {
		return Ref{}, where{}, ErrBadRef
	}
	return ref, w, nil
}

func (g *Gateway) onSubmit(cb *slackapi.InteractionCallback, transport string, log *slog.Logger) any {
	update := AnswerOf(cb.View.CallbackID)
	if update != "deny" && update != "break_glass" {
		log.Warn("slack: dropped a modal firebreak did not open", "callback", clipLog(cb.View.CallbackID))
		return nil
	}
	ref, origin, err := decodeModalMeta(cb.View.PrivateMetadata)
	if err != nil {
		log.Warn("slack: dropped a modal whose metadata firebreak did not make", "err", err)
		return nil
	}
	reason := reasonOf(cb.View)
	switch {
	case reason == "":
		return viewErrors("Give a reason; it is recorded in the incident's timeline.")
	case utf8.RuneCountInString(reason) > MaxReason:
		return viewErrors(fmt.Sprintf("The reason is longer than %d characters; shorten it.", MaxReason))
	}
	a := Answer{Update: update, Ref: ref, Reason: reason, UserID: cb.User.ID, UserName: userName(cb.User), TeamID: teamID(cb), Transport: transport}
	viewID := cb.View.ID
	g.later(func(ctx context.Context) {
		var orig *modalOrigin
		if o, ok := g.modals.get(viewID); ok {
			orig = &o
		}
		g.answer(ctx, a, origin, orig)
	})
	return nil
}

// viewErrorsResponse is the ack that keeps a modal open and shows an error
// under its reason input.
type viewErrorsResponse struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
}

func viewErrors(msg string) viewErrorsResponse {
	return viewErrorsResponse{ResponseAction: "errors", Errors: map[string]string{ReasonBlock: msg}}
}

// answer hands a to the receiver and shows the outcome: the clicked
// message updated, or an ephemeral with the refusal.
func (g *Gateway) answer(ctx context.Context, a Answer, origin where, orig *modalOrigin) {
	log := g.log.With("transport", a.Transport, "user", a.UserID, "incident", a.Ref.Incident, "step", a.Ref.Step, "answer", a.Update)
	reply, err := g.recv.Answer(ctx, a)
	if err != nil {
		var refused *Refused
		if errors.As(err, &refused) {
			log.Info("slack: answer refused", "code", refused.Code)
			g.ephemeral(ctx, origin.Channel, a.UserID, fmt.Sprintf("Your %s for *%s* of *%s* was refused: %s",
				answerNoun(a.Update), Mrkdwn(a.Ref.Step, 200), Mrkdwn(a.Ref.Incident, 200), Mrkdwn(refused.Message, 1500)))
			return
		}
		log.Error("slack: answer failed", "err", err)
		g.ephemeral(ctx, origin.Channel, a.UserID, "Could not reach the incident; try again.")
		return
	}
	log.Info("slack: answer accepted", "person", reply.Person)
	if reply.Message != "" {
		g.ephemeral(ctx, origin.Channel, a.UserID, Mrkdwn(reply.Message, MaxSectionText))
	}
	if !origin.ok() {
		return
	}
	// The message as it is now, not as it was clicked: the worker may
	// have settled it since (the quorum was met by someone else), and an
	// edit from the click-time copy would bring its buttons back.
	if o, err := g.fetchMessage(ctx, origin); err == nil {
		orig = &o
	} else if orig == nil {
		log.Warn("slack: could not read the answered message to update it", "err", err)
		return
	}
	who := reply.Name
	if who == "" {
		who = reply.Person
	}
	if who == "" {
		who = a.UserName
	}
	line := fmt.Sprintf("%s by *%s* at %s", answerDone(a), Mrkdwn(who, 200), g.now().UTC().Format("2006-01-02 15:04 UTC"))
	if a.Reason != "" {
		// One line: a reason's line breaks could make it read as another
		// answer.
		line += ": " + Mrkdwn(strings.Join(strings.Fields(a.Reason), " "), 1500)
	}
	blocks := settledBlocks(orig.Blocks, line, reply.StepOpen && !origin.DM)
	opts := []slackapi.MsgOption{slackapi.MsgOptionBlocks(blocks...)}
	if orig.Text != "" {
		opts = append(opts, slackapi.MsgOptionText(orig.Text, false))
	}
	if err := retryLimited(ctx, func() error {
		_, _, _, err := g.api.UpdateMessageContext(ctx, origin.Channel, origin.TS, opts...)
		return err
	}); err != nil {
		log.Warn("slack: chat.update of the answered message failed", "err", err)
	}
}

// answeredPrefix starts the block ID of each line the gateway adds to an
// answered message.
const answeredPrefix = "firebreak/answered/"

// settledBlocks is the answered message: its blocks without buttons
// unless keep, and a context line saying who answered. When the message
// would pass Slack's 50 blocks, the oldest added lines go first.
func settledBlocks(in []slackapi.Block, line string, keep bool) []slackapi.Block {
	out := make([]slackapi.Block, 0, len(in)+1)
	next := 1
	for _, b := range in {
		if b == nil || (!keep && b.BlockType() == slackapi.MBTAction) {
			continue
		}
		if n, ok := answeredLine(b); ok {
			next = max(next, n+1)
		}
		out = append(out, b)
	}
	for len(out) >= maxMessageBlocks {
		i := slices.IndexFunc(out, func(b slackapi.Block) bool { _, ok := answeredLine(b); return ok })
		if i < 0 {
			i = len(out) - 1
		}
		out = slices.Delete(out, i, i+1)
	}
	id := answeredPrefix + strconv.Itoa(next)
	// verbatim: Slack parses no mention or link out of the line.
	return append(out, slackapi.NewContextBlock(id, slackapi.NewTextBlockObject(slackapi.MarkdownType, line, false, true)))
}

// answeredLine says whether b is a line settledBlocks added, and its
// number.
func answeredLine(b slackapi.Block) (int, bool) {
	c, ok := b.(*slackapi.ContextBlock)
	if !ok {
		return 0, false
	}
	rest, ok := strings.CutPrefix(c.BlockID, answeredPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}

// fetchMessage reads the message at w, for a submission whose modal the
// gateway no longer remembers.
func (g *Gateway) fetchMessage(ctx context.Context, w where) (modalOrigin, error) {
	resp, err := g.api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{
		ChannelID: w.Channel, Latest: w.TS, Oldest: w.TS, Inclusive: true, Limit: 1,
	})
	if err != nil {
		return modalOrigin{}, err
	}
	for _, m := range resp.Messages {
		if m.Timestamp == w.TS {
			return modalOrigin{Blocks: m.Blocks.BlockSet, Text: m.Text}, nil
		}
	}
	return modalOrigin{}, errors.New("the message is gone")
}

func answerNoun(update string) string {
	switch update {
	case "ack":
		return "acknowledgement"
	case "approve":
		return "approval"
	case "deny":
		return "denial"
	case "decide":
		return "choice"
	case "done":
		return "done mark"
	case "break_glass":
		return "break-glass"
	}
	return "answer"
}

func answerDone(a Answer) string {
	switch a.Update {
	case "ack":
		return "Acknowledged"
	case "approve":
		return "Approved"
	case "deny":
		return "Denied"
	case "decide":
		return "Chose *" + Mrkdwn(a.Ref.Option, 200) + "*"
	case "done":
		return "Marked done"
	case "break_glass":
		return "Glass broken"
	}
	return "Answered"
}

// ephemeral shows text to user in channel; failures are logged.
func (g *Gateway) ephemeral(ctx context.Context, channel, user, text string) {
	if !channelIDPattern.MatchString(channel) || user == "" {
		return
	}
	if err := retryLimited(ctx, func() error {
		_, err := g.api.PostEphemeralContext(ctx, channel, user, slackapi.MsgOptionText(text, false))
		return err
	}); err != nil {
		g.log.Warn("slack: chat.postEphemeral failed", "err", err)
	}
}

func (g *Gateway) ephemeralLater(channel, user, text string) {
	if !channelIDPattern.MatchString(channel) || user == "" {
		return
	}
	g.later(func(ctx context.Context) { g.ephemeral(ctx, channel, user, text) })
}

// maxRateLimitedTries bounds how often a call Slack rate-limits is made.
const maxRateLimitedTries = 3

// retryLimited makes call again while Slack answers 429, after the wait
// Slack asks for, at most maxRateLimitedTries times and never past ctx.
// views.open is not retried this way: its trigger lives 3 seconds.
func retryLimited(ctx context.Context, call func() error) error {
	for try := 1; ; try++ {
		err := call()
		var limited *slackapi.RateLimitedError
		if !errors.As(err, &limited) || try == maxRateLimitedTries {
			return err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < limited.RetryAfter {
			return err
		}
		t := time.NewTimer(limited.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// clipLog keeps a hostile string short for a log line.
func clipLog(s string) string { return Plain(s, 80) }
