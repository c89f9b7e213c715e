package slack

import (
	"fmt"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/activities"
)

// Block IDs of the blocks firebreak posts. Settling finds the buttons and
// an earlier outcome line by them.
const (
	blockText     = "firebreak/text"
	blockContext  = "firebreak/context"
	blockExercise = "firebreak/exercise"
	blockActions  = "firebreak/actions"
	blockOutcome  = "firebreak/outcome"
)

// Slack's limits on blocks.
const (
	// maxBlocks is how many blocks one message may have.
	maxBlocks = 50
	// maxDecisionOptions bounds a decision's options: each button sits in
	// its own actions block (action IDs must be unique within a block).
	maxDecisionOptions = 40
	// Confirmation dialog limits.
	maxConfirmTitle = 100
	maxConfirmText  = 300
	// maxIDText bounds an incident or step ID shown in a context line.
	maxIDText = 100
)

// exerciseLine is the context line every exercise message carries.
const exerciseLine = ":rotating_light: *EXERCISE*: a tabletop exercise, not a real incident"

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, true)
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
}

// section is a section block of hostile mrkdwn text, neutralised and cut.
func section(id, text string) slackapi.Block {
	t := Mrkdwn(text, MaxSectionText)
	if strings.TrimSpace(t) == "" {
		t = "(no text)"
	}
	return slackapi.NewSectionBlock(mrkdwn(t), nil, nil, slackapi.SectionBlockOptionBlockID(id))
}

// contextLine is a context block of one mrkdwn element, already safe.
func contextLine(id, text string) slackapi.Block {
	return slackapi.NewContextBlock(id, mrkdwn(clip(text, MaxContextText)))
}

// fallback is a message's top-level text, shown in notifications: the
// hostile text neutralised (Slack parses mentions there too) and cut.
func fallback(text string) string {
	t := Mrkdwn(text, MaxFallbackText)
	if strings.TrimSpace(t) == "" {
		return "(no text)"
	}
	return t
}

// textBlocks are the blocks of a plain channel message.
func textBlocks(text string, exercise bool) ([]slackapi.Block, string) {
	blocks := []slackapi.Block{section(blockText, text)}
	if exercise {
		blocks = append(blocks, contextLine(blockExercise, exerciseLine))
	}
	return blocks, fallback(text)
}

// button is one answer a message offers.
type button struct {
	action, label, option string
	style                 slackapi.Style
	confirm               *slackapi.ConfirmationBlockObject
}

// answersOf are the buttons a delivery offers: a page is acknowledged (or,
// for an approval or task whose escalation climbs, answered as that step);
// a prompt offers its kind's answers; a notice offers none.
func answersOf(req activities.DeliverRequest) ([]button, error) {
	kind := req.Kind
	switch req.Purpose {
	case activities.PurposeNotify:
		return nil, nil
	case activities.PurposePage:
		kind = "ack"
		if req.StepKind == "approval" || req.StepKind == "task" {
			kind = req.StepKind
		}
	case activities.PurposePrompt:
	default:
		return nil, fmt.Errorf("slack: delivering a message of purpose %q, which is none of notify, page, prompt: %w", Plain(req.Purpose, 40), activities.ErrPermanent)
	}
	switch kind {
	case "ack":
		return []button{{action: ActionAck, label: "Acknowledge", style: slackapi.StylePrimary}}, nil
	case "approval":
		out := []button{
			{action: ActionApprove, label: "Approve", style: slackapi.StylePrimary, confirm: approveConfirm(req)},
			{action: ActionDeny, label: "Deny", style: slackapi.StyleDanger},
		}
		if req.BreakGlass {
			out = append(out, button{action: ActionBreakGlass, label: "Break glass"})
		}
		return out, nil
	case "task":
		return []button{{action: ActionDone, label: "Done", style: slackapi.StylePrimary}}, nil
	case "decision":
		if len(req.Options) == 0 {
			return nil, fmt.Errorf("slack: the decision %s offers no options: %w", Plain(req.Step, maxIDText), activities.ErrPermanent)
		}
		if len(req.Options) > maxDecisionOptions {
			return nil, fmt.Errorf("slack: the decision %s offers %d options; a Slack message can carry %d: %w", Plain(req.Step, maxIDText), len(req.Options), maxDecisionOptions, activities.ErrPermanent)
		}
		var out []button
		for _, o := range req.Options {
			out = append(out, button{action: ActionDecide, label: Plain(o, MaxButtonText), option: o})
		}
		return out, nil
	}
	return nil, fmt.Errorf("slack: a prompt of kind %q, which is none of approval, decision, task: %w", Plain(kind, 40), activities.ErrPermanent)
}

// approveConfirm is the dialog the Approve button asks through.
func approveConfirm(req activities.DeliverRequest) *slackapi.ConfirmationBlockObject {
	text := fmt.Sprintf("Approving signs off step %s of incident %s in your name. It counts toward the step's quorum, and once the quorum is met the plan goes on with what the step guards.",
		Plain(req.Step, 60), Plain(req.IncidentID, 60))
	return slackapi.NewConfirmationBlockObject(
		plain(Plain("Approve this step?", maxConfirmTitle)),
		plain(Plain(text, maxConfirmText)),
		plain("Approve"), plain("Cancel"))
}

// deliverBlocks are the blocks and top-level text of a notice, page or
// prompt: the text, a context line with incident, step and round, an
// exercise line, and the buttons.
func deliverBlocks(req activities.DeliverRequest) ([]slackapi.Block, string, error) {
	answers, err := answersOf(req)
	if err != nil {
		return nil, "", err
	}
	ctxText := "Incident " + Mrkdwn(req.IncidentID, maxIDText)
	if req.Step != "" {
		ctxText += " · step `" + strings.ReplaceAll(Mrkdwn(req.Step, maxIDText), "`", "'") + "`"
	}
	if req.Round > 0 {
		ctxText += fmt.Sprintf(" · round %d", req.Round)
	}
	blocks := []slackapi.Block{section(blockText, req.Text), contextLine(blockContext, ctxText)}
	if req.Exercise {
		blocks = append(blocks, contextLine(blockExercise, exerciseLine))
	}
	var row []slackapi.BlockElement
	for i, b := range answers {
		v, err := Ref{Incident: req.IncidentID, Step: req.Step, Round: req.Round, Option: b.option}.Encode()
		if err != nil {
			return nil, "", fmt.Errorf("slack: %w: %w", err, activities.ErrPermanent)
		}
		el := slackapi.NewButtonBlockElement(b.action, v, plain(b.label))
		if b.style != "" {
			el = el.WithStyle(b.style)
		}
		if b.confirm != nil {
			el = el.WithConfirm(b.confirm)
		}
		if b.action == ActionDecide {
			// One block per option: action IDs are unique within a block.
			blocks = append(blocks, slackapi.NewActionBlock(fmt.Sprintf("%s/%d", blockActions, i), el))
			continue
		}
		row = append(row, el)
	}
	if len(row) > 0 {
		blocks = append(blocks, slackapi.NewActionBlock(blockActions, row...))
	}
	return blocks, fallback(req.Text), nil
}

// stateMarkers are the emoji that show a step's (or a message's) state.
var stateMarkers = map[string]string{
	"pending":    ":white_circle:",
	"running":    ":arrows_counterclockwise:",
	"waiting":    ":hourglass_flowing_sand:",
	"done":       ":white_check_mark:",
	"denied":     ":no_entry:",
	"skipped":    ":fast_forward:",
	"failed":     ":x:",
	"timed_out":  ":alarm_clock:",
	"cancelled":  ":heavy_minus_sign:",
	"superseded": ":leftwards_arrow_with_hook:",
	"open":       ":large_blue_circle:",
	"completed":  ":white_check_mark:",
}

// marker is the emoji of a state, or a neutral one for a state it does
// not know.
func marker(state string) string {
	if m, ok := stateMarkers[state]; ok {
		return m
	}
	return ":grey_question:"
}

// closedBlocks is a message's blocks once its step takes no more answers:
// the same blocks without buttons (and without an earlier outcome line),
// ending in a context line with the outcome and the state. Settling twice
// gives the same blocks.
func closedBlocks(blocks []slackapi.Block, outcome, state string) []slackapi.Block {
	var out []slackapi.Block
	for _, b := range blocks {
		if b == nil || b.BlockType() == slackapi.MBTAction || b.ID() == blockOutcome {
			continue
		}
		out = append(out, b)
	}
	line := marker(state) + " " + Mrkdwn(outcome, MaxContextText-100)
	if st := Mrkdwn(state, 40); st != "" {
		line += " · _" + strings.ReplaceAll(st, "_", " ") + "_"
	}
	out = append(out[:min(len(out), maxBlocks-1)], contextLine(blockOutcome, line))
	return out
}
