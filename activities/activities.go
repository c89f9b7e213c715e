package activities

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"

	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Activities carries out plan steps through the integrations it holds. The
// worker registers it with w.RegisterActivity(&Activities{...}), which
// registers every exported method under its own name; workflows call them by
// the names ActivityFor, NotifyActivity, PageActivity and PromptActivity
// return. Every exported method is an activity: helpers live elsewhere.
//
// A nil integration is allowed: the actions that need it fail with a
// non-retryable ErrNotConfigured failure, and the rest keep working.
type Activities struct {
	// Chat delivers channel messages, notices, pages and prompts (Slack).
	Chat Chat
	// Pager opens, acknowledges and resolves alerts (PagerDuty). When
	// set, Page also triggers an alert for recipients with a PagerDuty ID.
	Pager Pager
	// Isolator cuts and restores conduits (nftables, vendor firewalls).
	Isolator Isolator
	// Webhook posts JSON to webhook integrations.
	Webhook Webhook
	// PlantState reads PLC registers (Modbus TCP).
	PlantState PlantState
	// EDR contains hosts.
	EDR EDR
	// Authority is the worker's own configuration, which guard three checks
	// every sign-off against. Nil means the worker has none: every
	// safety-critical action is refused.
	Authority Authority
	// Now is the clock guard three checks sign-off freshness against; nil
	// means time.Now. Tests set it.
	Now func() time.Time
}

// now is the activity clock.
func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// logger is the activity logger, or slog's default outside an activity (a
// method called directly from a test).
func logger(ctx context.Context) log.Logger {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return log.NewStructuredLogger(slog.Default())
}

// stepName names the call's step in messages.
func stepName(c Call) string {
	if c.Step == "" {
		return "a step"
	}
	return c.Step
}

// missing is the failure for an action whose integration is not wired in.
func missing(c Call, action, what string) error {
	return notConfigured("%s (%s): no %s integration is configured in this worker", stepName(c), action, what)
}

// SlackOpenChannel carries out slack.open_channel: it opens (or, under the
// same idempotency key, reuses) the incident channel. The name is made a
// valid Slack channel name (lower case; other characters become '-'); the
// output says the name as created.
func (a *Activities) SlackOpenChannel(ctx context.Context, in ActionInput) (ActionResult, error) {
	const action = "slack.open_channel"
	if _, err := a.admit(in.Call, action); err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "name", "invite", "topic", "private")
	name := r.str("name", true)
	invite := r.strs("invite", false)
	topic := r.str("topic", false)
	private := r.boolean("private", true)
	for _, p := range invite {
		if k, n, _ := strings.Cut(p, "."); (k != "person" && k != "roster") || n == "" {
			r.fail("argument \"invite\" must list people and rosters (person.NAME, roster.NAME); got %q", p)
		}
	}
	channel := roomName(in.Call, channelName(name))
	if name != "" && channel == "" {
		r.fail("argument \"name\" %q has no letters or digits to make a channel name of", name)
	}
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	if a.Chat == nil {
		return ActionResult{}, missing(in.Call, action, "chat")
	}
	if in.Call.Exercise && topic == "" {
		topic = "tabletop exercise, not a real incident"
	}
	topic = markExercise(in.Call, topic)
	req := OpenChannelRequest{
		Key:        in.Call.IdempotencyKey(),
		Exercise:   in.Call.Exercise,
		IncidentID: in.Call.IncidentID,
		Name:       channel,
		Topic:      topic,
		Invite:     invite,
		Public:     !private,
	}
	logger(ctx).Info("opening incident channel", "step", in.Call.Step, "key", req.Key, "channel", channel, "exercise", req.Exercise)
	resp, err := a.Chat.OpenChannel(ctx, req)
	if err != nil {
		return ActionResult{}, integrationError(fmt.Sprintf("%s: opening channel #%s", stepName(in.Call), channel), err)
	}
	return ActionResult{
		Output:    map[string]any{"channel_id": resp.ChannelID, "channel_name": resp.ChannelName},
		Simulated: resp.Simulated,
		Summary:   fmt.Sprintf("opened #%s (%s)", resp.ChannelName, resp.ChannelID),
		Room:      &Room{ChannelID: resp.ChannelID, StatusTS: resp.StatusTS},
	}, nil
}

// roomName is the channel name an incident room is opened under: a doubled
// "inc-" prefix (a playbook that wrote "inc-${incident.id}" for an ID that
// starts with INC-) appears once, and an exercise room starts with
// "exercise-" (or the exercise ID's own "ex-"), so nobody mistakes it for a
// real incident's.
func roomName(c Call, channel string) string {
	for strings.HasPrefix(channel, "inc-inc-") {
		channel = strings.TrimPrefix(channel, "inc-")
	}
	if c.Exercise && channel != "" && !strings.HasPrefix(channel, "exercise-") && !strings.HasPrefix(channel, "ex-") {
		channel = strings.TrimRight(channelName("exercise-"+channel), "-")
	}
	return channel
}

// channelName makes s a valid Slack channel name: lower case letters,
// digits, '-' and '_', at most 80 characters; runs of anything else become
// one '-'.
func channelName(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(strings.TrimSpace(strings.TrimPrefix(s, "#"))) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
			b.WriteRune(c)
			dash = c == '-'
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 80 {
		out = strings.TrimRight(out[:80], "-")
	}
	if strings.Trim(out, "-_") == "" {
		return ""
	}
	return out
}

// SlackPost carries out slack.post: a message to a channel, or to the
// incident channel when no channel is given.
func (a *Activities) SlackPost(ctx context.Context, in ActionInput) (ActionResult, error) {
	const action = "slack.post"
	if _, err := a.admit(in.Call, action); err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "channel", "text")
	channel := r.str("channel", false)
	text := r.str("text", true)
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	if a.Chat == nil {
		return ActionResult{}, missing(in.Call, action, "chat")
	}
	req := PostMessageRequest{
		Key:        in.Call.IdempotencyKey(),
		Exercise:   in.Call.Exercise,
		IncidentID: in.Call.IncidentID,
		Channel:    channel,
		Text:       markExercise(in.Call, text),
	}
	logger(ctx).Info("posting message", "step", in.Call.Step, "key", req.Key, "channel", channel, "exercise", req.Exercise)
	resp, err := a.Chat.PostMessage(ctx, req)
	if err != nil {
		where := channel
		if where == "" {
			where = "the incident channel"
		}
		return ActionResult{}, integrationError(fmt.Sprintf("%s: posting to %s", stepName(in.Call), where), err)
	}
	return ActionResult{
		Output:    map[string]any{"ts": resp.TS, "channel_id": resp.ChannelID},
		Simulated: resp.Simulated,
		Summary:   fmt.Sprintf("posted to %s", resp.ChannelID),
	}, nil
}

// pagerDutySeverities are the severities the Events API v2 accepts.
var pagerDutySeverities = []string{"critical", "error", "warning", "info"}

// PagerDutyTrigger carries out pagerduty.trigger. The alert's dedup key is
// the call's idempotency key, so a retried trigger updates the same alert.
func (a *Activities) PagerDutyTrigger(ctx context.Context, in ActionInput) (ActionResult, error) {
	const action = "pagerduty.trigger"
	if _, err := a.admit(in.Call, action); err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "summary", "severity", "integration")
	summary := r.str("summary", true)
	severity := r.str("severity", false)
	integration := r.integration("integration", "pagerduty", "default")
	if severity == "" {
		severity = "critical"
	}
	if !slices.Contains(pagerDutySeverities, severity) {
		r.fail("argument \"severity\" must be one of %s; got %q", strings.Join(pagerDutySeverities, ", "), severity)
	}
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	if a.Pager == nil {
		return ActionResult{}, missing(in.Call, action, "pagerduty")
	}
	req := TriggerRequest{
		Key:         in.Call.IdempotencyKey(),
		Exercise:    in.Call.Exercise,
		Integration: integration,
		Summary:     markExercise(in.Call, summary),
		Severity:    severity,
		Details:     map[string]string{"incident": in.Call.IncidentID, "step": in.Call.Step},
	}
	logger(ctx).Info("triggering alert", "step", in.Call.Step, "key", req.Key, "integration", integration, "exercise", req.Exercise)
	resp, err := a.Pager.Trigger(ctx, req)
	if err != nil {
		return ActionResult{}, integrationError(fmt.Sprintf("%s: triggering an alert through %s", stepName(in.Call), integration), err)
	}
	return ActionResult{
		Output:    map[string]any{"dedup_key": resp.DedupKey},
		Simulated: resp.Simulated,
		Summary:   fmt.Sprintf("triggered %s alert %s", severity, resp.DedupKey),
	}, nil
}

// PagerDutyResolve carries out pagerduty.resolve.
func (a *Activities) PagerDutyResolve(ctx context.Context, in ActionInput) (ActionResult, error) {
	return a.alertFollowUp(ctx, in, "pagerduty.resolve", "resolving", "resolved", func(key, integration, dedup string) (bool, error) {
		resp, err := a.Pager.Resolve(ctx, ResolveRequest{Key: key, Exercise: in.Call.Exercise, Integration: integration, DedupKey: dedup})
		return resp.Simulated, err
	})
}

// PagerDutyAcknowledge carries out pagerduty.acknowledge.
func (a *Activities) PagerDutyAcknowledge(ctx context.Context, in ActionInput) (ActionResult, error) {
	return a.alertFollowUp(ctx, in, "pagerduty.acknowledge", "acknowledging", "acknowledged", func(key, integration, dedup string) (bool, error) {
		resp, err := a.Pager.Acknowledge(ctx, AcknowledgeRequest{Key: key, Exercise: in.Call.Exercise, Integration: integration, DedupKey: dedup})
		return resp.Simulated, err
	})
}

// alertFollowUp carries out an action on an alert that pagerduty.trigger
// opened (resolve, acknowledge): it reads the same arguments and makes the
// same checks for each, and send reaches the pager under the call's key,
// saying whether a twin answered.
func (a *Activities) alertFollowUp(ctx context.Context, in ActionInput, action, doing, done string, send func(key, integration, dedup string) (bool, error)) (ActionResult, error) {
	if _, err := a.admit(in.Call, action); err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "dedup_key", "integration")
	dedup := r.str("dedup_key", true)
	integration := r.integration("integration", "pagerduty", "default")
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	if a.Pager == nil {
		return ActionResult{}, missing(in.Call, action, "pagerduty")
	}
	key := in.Call.IdempotencyKey()
	logger(ctx).Info(doing+" alert", "step", in.Call.Step, "key", key, "dedup_key", dedup, "exercise", in.Call.Exercise)
	simulated, err := send(key, integration, dedup)
	if err != nil {
		return ActionResult{}, integrationError(fmt.Sprintf("%s: %s alert %s through %s", stepName(in.Call), doing, dedup, integration), err)
	}
	return ActionResult{
		Output:    map[string]any{},
		Simulated: simulated,
		Summary:   fmt.Sprintf("%s alert %s", done, dedup),
	}, nil
}

// WebhookPost carries out webhook.post. The body is sent as given (it is
// data, not a message, so it is not marked for exercises; the request's
// Exercise flag is).
func (a *Activities) WebhookPost(ctx context.Context, in ActionInput) (ActionResult, error) {
	const action = "webhook.post"
	if _, err := a.admit(in.Call, action); err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "integration", "body")
	integration := r.integration("integration", "webhook", "")
	body := r.raw("body")
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	if a.Webhook == nil {
		return ActionResult{}, missing(in.Call, action, "webhook")
	}
	req := WebhookRequest{
		Key:         in.Call.IdempotencyKey(),
		Exercise:    in.Call.Exercise,
		Integration: integration,
		Body:        body,
	}
	logger(ctx).Info("posting webhook", "step", in.Call.Step, "key", req.Key, "integration", integration, "exercise", req.Exercise)
	resp, err := a.Webhook.Send(ctx, req)
	if err != nil {
		return ActionResult{}, integrationError(fmt.Sprintf("%s: posting to %s", stepName(in.Call), integration), err)
	}
	return ActionResult{
		Output:    map[string]any{"status": float64(resp.Status), "body": resp.Body},
		Simulated: resp.Simulated,
		Summary:   fmt.Sprintf("%s answered %d", integration, resp.Status),
	}, nil
}

// maxRegister is the largest register address accepted: the six-digit
// holding-register notation ends at 465536. rules.RegisterOffset says which
// numbers below it are holding registers; the adapter maps them to protocol
// offsets.
const maxRegister = rules.MaxRegister

// ModbusRead carries out modbus.read: one holding register, for a
// plant-state check. A read is not an effect, but it carries a key like
// every call.
func (a *Activities) ModbusRead(ctx context.Context, in ActionInput) (ActionResult, error) {
	const action = "modbus.read"
	if _, err := a.admit(in.Call, action); err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "integration", "register")
	integration := r.integration("integration", "modbus", "")
	register := r.wholeNumber("register", true, maxRegister)
	if _, msg := rules.RegisterOffset(float64(register)); msg != "" && r.err() == nil {
		// A register computed from an input: the compiler checks literals.
		r.fail("argument %q: %s", "register", msg)
	}
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	if a.PlantState == nil {
		return ActionResult{}, missing(in.Call, action, "modbus")
	}
	req := ReadRegisterRequest{
		Key:         in.Call.IdempotencyKey(),
		Exercise:    in.Call.Exercise,
		Integration: integration,
		Register:    register,
	}
	logger(ctx).Info("reading register", "step", in.Call.Step, "key", req.Key, "integration", integration, "register", register, "exercise", req.Exercise)
	resp, err := a.PlantState.ReadRegister(ctx, req)
	if err != nil {
		return ActionResult{}, integrationError(fmt.Sprintf("%s: reading register %d through %s", stepName(in.Call), register, integration), err)
	}
	return ActionResult{
		Output:    map[string]any{"value": float64(resp.Value)},
		Simulated: resp.Simulated,
		Summary:   fmt.Sprintf("register %d on %s reads %d", register, integration, resp.Value),
	}, nil
}

// ContainHost carries out edr.contain_host through the EDR integration
// (the webhook integration "edr" unless the step names another).
func (a *Activities) ContainHost(ctx context.Context, in ActionInput) (ActionResult, error) {
	const action = "edr.contain_host"
	if _, err := a.admit(in.Call, action); err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "host", "integration")
	host := r.str("host", true)
	integration := r.integration("integration", "webhook", "edr")
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	if a.EDR == nil {
		return ActionResult{}, missing(in.Call, action, "EDR")
	}
	req := ContainRequest{
		Key:         in.Call.IdempotencyKey(),
		Exercise:    in.Call.Exercise,
		Integration: integration,
		Host:        host,
		IncidentID:  in.Call.IncidentID,
		Step:        in.Call.Step,
	}
	logger(ctx).Info("containing host", "step", in.Call.Step, "key", req.Key, "host", host, "integration", integration, "exercise", req.Exercise)
	resp, err := a.EDR.Contain(ctx, req)
	if err != nil {
		return ActionResult{}, integrationError(fmt.Sprintf("%s: containing host %s through %s", stepName(in.Call), host, integration), err)
	}
	summary := fmt.Sprintf("contained %s", host)
	if !resp.Contained {
		summary = fmt.Sprintf("%s did not confirm containment of %s", integration, host)
	}
	return ActionResult{
		Output:    map[string]any{"contained": resp.Contained},
		Simulated: resp.Simulated,
		Summary:   summary,
	}, nil
}
