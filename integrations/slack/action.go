// Package slack connects firebreak to Slack: the Chat adapter the worker's
// activities deliver through (incident rooms, pages, Block Kit prompts, the
// pinned status message, user groups), the delivery queue that keeps to
// Slack's rate limits, and the gateway that receives clicks, modal
// submissions and slash commands over Socket Mode or signed HTTP and hands
// them, verified, to a Receiver.
//
// The package does not know the incident workflow. Answers reach Temporal
// through the Receiver the gateway is given, which maps the Slack user to a
// person of the worker's own configuration and signs the answer.
package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Action IDs of the interactive elements firebreak posts. Each names the
// answer it gives (the rule book's answer names), so a click is dispatched
// by its action ID alone.
const (
	// ActionPrefix starts every firebreak action ID and modal callback ID.
	ActionPrefix = "firebreak/"
	// ActionAck acknowledges a page.
	ActionAck = ActionPrefix + "ack"
	// ActionApprove approves an approval (the button asks to confirm first).
	ActionApprove = ActionPrefix + "approve"
	// ActionDeny opens the modal that asks for the reason of a denial.
	ActionDeny = ActionPrefix + "deny"
	// ActionDecide picks the option a decision button carries.
	ActionDecide = ActionPrefix + "decide"
	// ActionDone marks a task done.
	ActionDone = ActionPrefix + "done"
	// ActionBreakGlass opens the modal that asks for a break-glass reason.
	ActionBreakGlass = ActionPrefix + "break_glass"
)

// Modal fields: the block and action IDs of the reason input in the deny
// and break-glass modals.
const (
	// ReasonBlock is the block ID of a modal's reason input.
	ReasonBlock = "reason"
	// ReasonAction is the action ID of a modal's reason input.
	ReasonAction = "reason"
)

// MaxRefLen bounds an encoded Ref: Slack allows 2,000 characters in a
// button value and 3,000 in a modal's private metadata.
const MaxRefLen = 2000

// Ref is what a button (and the modal it opens) carries back with a click:
// which incident, step, round and option the answer is for. It is a claim
// the click makes; the incident checks it like any answer.
type Ref struct {
	Incident string `json:"i"`
	Step     string `json:"s"`
	Round    int    `json:"r,omitempty"`
	Option   string `json:"o,omitempty"`
}

// Encode is the compact JSON form of r, for a button value or a modal's
// private metadata. It fails when the result is longer than MaxRefLen.
func (r Ref) Encode() (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	if len(b) > MaxRefLen {
		return "", fmt.Errorf("the button value for %s would be %d characters; Slack allows %d", r.Step, len(b), MaxRefLen)
	}
	return string(b), nil
}

// ErrBadRef means a button value or modal metadata is not a Ref firebreak
// made.
var ErrBadRef = errors.New("not a firebreak button")

// DecodeRef parses a button value or a modal's private metadata. Anything
// that is not a Ref with an incident and a step, or is longer than
// MaxRefLen, is ErrBadRef.
func DecodeRef(s string) (Ref, error) {
	var r Ref
	if len(s) > MaxRefLen || !strings.HasPrefix(s, "{") {
		return Ref{}, ErrBadRef
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || dec.More() {
		return Ref{}, ErrBadRef
	}
	if r.Incident == "" || r.Step == "" || r.Round < 0 {
		return Ref{}, ErrBadRef
	}
	return r, nil
}

// AnswerOf is the answer an action ID gives ("approve" for ActionApprove),
// or "" for an action ID firebreak did not make.
func AnswerOf(actionID string) string {
	switch actionID {
	case ActionAck, ActionApprove, ActionDeny, ActionDecide, ActionDone, ActionBreakGlass:
		return strings.TrimPrefix(actionID, ActionPrefix)
	}
	return ""
}
