package slack

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/activities"
)

// Bounds of the status message.
const (
	blockStatusHead  = "firebreak/status"
	blockStatusSteps = "firebreak/steps"
	blockStatusMore  = "firebreak/more"
	// maxStatusSections is how many sections of step lines a status shows
	// before it summarises the rest.
	maxStatusSections = 8
	// maxStepLine bounds one step's line; maxStepNote its note.
	maxStepLine = 400
	maxStepNote = 200
)

// PublishStatus rewrites the pinned status message (chat.update) with the
// incident's title, severity, state and one line per step. A request older
// than the version already applied to that message is skipped.
func (c *Chat) PublishStatus(ctx context.Context, req activities.StatusRequest) (activities.StatusResponse, error) {
	if req.Room.ChannelID == "" || req.Room.StatusTS == "" {
		return activities.StatusResponse{}, fmt.Errorf("slack: updating the status message: the incident has no status message (no channel was opened): %w", activities.ErrPermanent)
	}
	k := req.Room.ChannelID + " " + req.Room.StatusTS
	// One update at a time per status message, so an older version in
	// flight never lands after a newer one.
	h := fnv.New32a()
	_, _ = h.Write([]byte(k))
	lock := &c.statusLocks[h.Sum32()%uint32(len(c.statusLocks))]
	lock.Lock()
	defer lock.Unlock()
	c.mu.Lock()
	applied, ok := c.versions.get(k)
	c.mu.Unlock()
	if ok && req.Version < applied {
		c.log.Debug("skipping an older status", "incident", req.IncidentID, "version", req.Version, "applied", applied)
		return activities.StatusResponse{}, nil
	}
	blocks, text := statusBlocks(req)
	err := c.q.call(ctx, op{method: "chat.update", what: "updating the status message in " + req.Room.ChannelID, do: func(ctx context.Context) error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, req.Room.ChannelID, req.Room.StatusTS, slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...))
		return err
	}})
	if err != nil {
		return activities.StatusResponse{}, err
	}
	c.mu.Lock()
	if v, ok := c.versions.get(k); !ok || v < req.Version {
		c.versions.put(k, req.Version)
	}
	c.mu.Unlock()
	return activities.StatusResponse{}, nil
}

// statusBlocks are the blocks and top-level text of a status message: a
// header with the title, a context line with incident, severity and
// state, an exercise line, and the steps, one line each, packed into
// sections under Slack's 3,000 characters; past maxStatusSections the rest
// are summarised by state.
func statusBlocks(req activities.StatusRequest) ([]slackapi.Block, string) {
	title := req.Title
	if strings.TrimSpace(strings.TrimPrefix(title, activities.ExercisePrefix)) == "" {
		title = "Incident " + req.IncidentID
	}
	if req.Exercise && !strings.Contains(title, "EXERCISE") {
		title = activities.ExercisePrefix + title
	}
	head := "Incident " + Mrkdwn(req.IncidentID, maxIDText)
	if req.Severity != "" {
		head += " · severity *" + Mrkdwn(req.Severity, 40) + "*"
	}
	head += " · " + marker(req.State) + " " + Mrkdwn(orDash(req.State), 40)
	blocks := []slackapi.Block{
		slackapi.NewHeaderBlock(plain(Plain(title, MaxHeaderText)), slackapi.HeaderBlockOptionBlockID(blockStatusHead)),
		contextLine(blockContext, head),
	}
	if req.Exercise {
		blocks = append(blocks, contextLine(blockExercise, exerciseLine))
	}
	if len(req.Steps) == 0 {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn("_Steps will appear here._"), nil, nil, slackapi.SectionBlockOptionBlockID(blockStatusSteps)))
	}
	var sections []string
	var cur strings.Builder
	shown := 0
	for _, s := range req.Steps {
		line := stepLine(s)
		if cur.Len() > 0 && utf8.RuneCountInString(cur.String())+1+utf8.RuneCountInString(line) > MaxSectionText {
			if len(sections)+1 == maxStatusSections {
				break
			}
			sections = append(sections, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(line)
		shown++
	}
	if cur.Len() > 0 {
		sections = append(sections, cur.String())
	}
	for i, s := range sections {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(s), nil, nil, slackapi.SectionBlockOptionBlockID(fmt.Sprintf("%s/%d", blockStatusSteps, i))))
	}
	if rest := req.Steps[shown:]; len(rest) > 0 {
		blocks = append(blocks, contextLine(blockStatusMore, fmt.Sprintf("… and %d more step(s): %s", len(rest), countStates(rest))))
	}
	text := Plain(title, MaxHeaderText) + ": " + orDash(req.State)
	return blocks, fallback(text)
}

// stepLine is one step of a status message.
func stepLine(s activities.StatusLine) string {
	id := strings.ReplaceAll(Mrkdwn(s.ID, maxIDText), "*", "")
	line := marker(s.State) + " *" + orDash(id) + "*"
	if s.Kind != "" {
		line += " (" + Mrkdwn(s.Kind, 30) + ")"
	}
	line += " " + Mrkdwn(orDash(s.State), 30)
	if s.Note != "" {
		line += ": " + strings.ReplaceAll(Mrkdwn(s.Note, maxStepNote), "\n", " ")
	}
	return clip(line, maxStepLine)
}

// countStates summarises steps by state: "3 done, 2 pending".
func countStates(steps []activities.StatusLine) string {
	n := map[string]int{}
	for _, s := range steps {
		n[Plain(s.State, 30)]++
	}
	states := make([]string, 0, len(n))
	for s := range n {
		states = append(states, s)
	}
	slices.Sort(states)
	parts := make([]string, 0, len(states))
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%d %s", n[s], Mrkdwn(s, 30)))
	}
	return strings.Join(parts, ", ")
}
