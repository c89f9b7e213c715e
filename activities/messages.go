package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Idempotency keys of messages. Actions use Call.IdempotencyKey() as is (see
// ot.go for the per-conduit keys of zone isolation). Notify, Page and Prompt
// derive theirs from it, so that the several messages one step may send
// (a page per tier and cycle, a prompt per kind) are told apart while every
// attempt of the same message shares its key.

// NotifyKey is the idempotency key of a Notify call: the call's key plus
// "/notify".
func NotifyKey(c Call) string { return c.IdempotencyKey() + "/notify" }

// PageKey is the idempotency key of a Page call for one tier of one cycle of
// an escalation ladder: the call's key plus "/page/ESCALATION/CYCLE/TIER". It
// is also the dedup key of the PagerDuty alert the page may trigger.
func PageKey(c Call, escalation string, cycle, tier int) string {
	return c.IdempotencyKey() + fmt.Sprintf("/page/%s/%d/%d", escalation, cycle, tier)
}

// PromptKey is the idempotency key of a Prompt call: the call's key plus
// "/prompt/KIND".
func PromptKey(c Call, kind string) string { return c.IdempotencyKey() + "/prompt/" + kind }

// pageIntegration is the pagerduty integration pages go through.
const pageIntegration = "pagerduty.default"

// promptKinds are the step kinds that prompt people.
var promptKinds = []string{"approval", "decision", "task"}

// Notify delivers a notify step's message to the incident channel and/or
// people, through Chat.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) (NotifyResult, error) {
	if _, err := a.admit(in.Call, NotifyActivity); err != nil {
		return NotifyResult{}, err
	}
	var problems []string
	if strings.TrimSpace(in.Text) == "" {
		problems = append(problems, "the message is empty")
	}
	if !in.IncidentChannel && len(in.To) == 0 {
		problems = append(problems, "there is no one to deliver it to (no incident channel, no recipients)")
	}
	if err := messageProblems(in.Call, NotifyActivity, problems); err != nil {
		return NotifyResult{}, err
	}
	if a.Chat == nil {
		return NotifyResult{}, missing(in.Call, NotifyActivity, "chat")
	}
	req := DeliverRequest{
		Key:             NotifyKey(in.Call),
		Exercise:        in.Call.Exercise,
		IncidentID:      in.Call.IncidentID,
		Step:            in.Call.Step,
		Purpose:         PurposeNotify,
		StepKind:        "notify",
		IncidentChannel: in.IncidentChannel,
		Room:            in.Call.Room,
		Retry:           retried(ctx),
		To:              in.To,
		Text:            markExercise(in.Call, in.Text),
	}
	logger(ctx).Info("notifying", "step", in.Call.Step, "key", req.Key, "recipients", len(in.To), "incident_channel", in.IncidentChannel, "exercise", req.Exercise)
	resp, err := a.Chat.Deliver(ctx, req)
	if err != nil {
		return NotifyResult{}, integrationError(fmt.Sprintf("%s: delivering a notice", stepName(in.Call)), err)
	}
	//lint:ignore S1016 the result and the integration's response evolve separately
	return NotifyResult{Delivered: resp.Delivered, Messages: resp.Messages, Failed: resp.Failed, Simulated: resp.Simulated}, nil
}

// Page pages one tier of an escalation ladder: a direct message to each
// recipient through Chat and, when a Pager is wired in and a recipient has a
// PagerDuty ID, an alert through the "pagerduty.default" integration whose
// dedup key is PageKey. Delivered is what Chat reports.
func (a *Activities) Page(ctx context.Context, in PageInput) (PageResult, error) {
	if _, err := a.admit(in.Call, PageActivity); err != nil {
		return PageResult{}, err
	}
	var problems []string
	if strings.TrimSpace(in.Text) == "" {
		problems = append(problems, "the message is empty")
	}
	if in.Escalation == "" {
		problems = append(problems, "the page names no escalation")
	}
	if err := messageProblems(in.Call, PageActivity, problems); err != nil {
		return PageResult{}, err
	}
	if a.Chat == nil {
		return PageResult{}, missing(in.Call, PageActivity, "chat")
	}
	key := PageKey(in.Call, in.Escalation, in.Cycle, in.Tier)
	text := markExercise(in.Call, in.Text)
	log := logger(ctx)
	log.Info("paging", "step", in.Call.Step, "key", key, "escalation", in.Escalation, "cycle", in.Cycle, "tier", in.Tier, "recipients", len(in.To), "exercise", in.Call.Exercise)
	// Chat and the pager are separate ways to reach people: a chat that
	// cannot deliver (Slack down, rate limits past the deadline) must not
	// keep the pager from paging, and the other way round. The activity
	// fails, and is retried, only when neither reached anyone.
	resp, chatErr := a.Chat.Deliver(ctx, DeliverRequest{
		Key:        key,
		Exercise:   in.Call.Exercise,
		IncidentID: in.Call.IncidentID,
		Step:       in.Call.Step,
		Purpose:    PurposePage,
		StepKind:   in.StepKind,
		Round:      in.Round,
		Room:       in.Call.Room,
		Retry:      retried(ctx),
		To:         in.To,
		Text:       text,
	})
	var pd []string
	for _, r := range in.To {
		if r.PagerDuty != "" {
			pd = append(pd, r.PagerDuty)
		}
	}
	paged := false
	var pagerErr error
	simulated := chatErr == nil && resp.Simulated
	if a.Pager != nil && len(pd) > 0 {
		tr, err := a.Pager.Trigger(ctx, TriggerRequest{
			Key:         key,
			Exercise:    in.Call.Exercise,
			Integration: pageIntegration,
			Summary:     text,
			Severity:    "critical",
			Details: map[string]string{
				"incident":   in.Call.IncidentID,
				"step":       in.Call.Step,
				"escalation": in.Escalation,
				"cycle":      fmt.Sprint(in.Cycle),
				"tier":       fmt.Sprint(in.Tier),
				"ack_within": in.AckWithin,
				"people":     strings.Join(pd, ","),
			},
		})
		pagerErr = err
		paged = err == nil
		simulated = (chatErr != nil || simulated) && (err != nil || tr.Simulated)
	}
	switch {
	case chatErr != nil && !paged:
		if pagerErr != nil {
			log.Warn("paging through the pager failed too", "step", in.Call.Step, "error", pagerErr)
		}
		return PageResult{}, integrationError(fmt.Sprintf("%s: paging tier %d of %s", stepName(in.Call), in.Tier, in.Escalation), chatErr)
	case chatErr != nil:
		log.Warn("the chat could not deliver the page; the pager did", "step", in.Call.Step, "error", chatErr)
		return PageResult{Failed: []string{"chat: " + chatErr.Error()}, Simulated: simulated}, nil
	case pagerErr != nil:
		// Retrying would page through the chat again (harmless: same key)
		// and give the pager another chance.
		return PageResult{}, integrationError(fmt.Sprintf("%s: paging tier %d of %s through %s", stepName(in.Call), in.Tier, in.Escalation, pageIntegration), pagerErr)
	}
	return PageResult{Delivered: resp.Delivered, Messages: resp.Messages, Failed: resp.Failed, Simulated: simulated}, nil
}

// Prompt puts an approval, decision or task to people through Chat; their
// answers come back to the workflow as updates, not through this activity.
func (a *Activities) Prompt(ctx context.Context, in PromptInput) (PromptResult, error) {
	if _, err := a.admit(in.Call, PromptActivity); err != nil {
		return PromptResult{}, err
	}
	var problems []string
	if !slices.Contains(promptKinds, in.Kind) {
		problems = append(problems, fmt.Sprintf("kind %q is not one of %s", in.Kind, strings.Join(promptKinds, ", ")))
	}
	if strings.TrimSpace(in.Text) == "" {
		problems = append(problems, "the prompt is empty")
	}
	if in.Kind == "decision" && len(in.Options) == 0 {
		problems = append(problems, "a decision needs options")
	}
	if err := messageProblems(in.Call, PromptActivity, problems); err != nil {
		return PromptResult{}, err
	}
	if a.Chat == nil {
		return PromptResult{}, missing(in.Call, PromptActivity, "chat")
	}
	req := DeliverRequest{
		Key:        PromptKey(in.Call, in.Kind),
		Exercise:   in.Call.Exercise,
		IncidentID: in.Call.IncidentID,
		Step:       in.Call.Step,
		Purpose:    PurposePrompt,
		Kind:       in.Kind,
		StepKind:   in.Kind,
		Round:      in.Round,
		Room:       in.Call.Room,
		Retry:      retried(ctx),
		To:         in.To,
		Text:       markExercise(in.Call, in.Text),
		Options:    in.Options,
		BreakGlass: in.BreakGlass && in.Kind == "approval",
	}
	logger(ctx).Info("prompting", "step", in.Call.Step, "key", req.Key, "kind", in.Kind, "recipients", len(in.To), "exercise", req.Exercise)
	resp, err := a.Chat.Deliver(ctx, req)
	if err != nil {
		return PromptResult{}, integrationError(fmt.Sprintf("%s: delivering the %s prompt", stepName(in.Call), in.Kind), err)
	}
	//lint:ignore S1016 the result and the integration's response evolve separately
	return PromptResult{Delivered: resp.Delivered, Messages: resp.Messages, Failed: resp.Failed, Simulated: resp.Simulated}, nil
}

// messageProblems is the ErrBadArguments failure for a malformed message
// input, or nil.
func messageProblems(c Call, activity string, problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return badArgs("%s (%s): %s", stepName(c), activity, strings.Join(problems, "; "))
}
