package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
)

func TestSettle(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	room := r.f.AddChannel("inc-6", true)
	req := prompt("approval")
	req.Room = &activities.Room{ChannelID: room}
	sent, err := r.c.Deliver(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := r.f.Message(sent.Messages[0].Channel, sent.Messages[0].TS)
	// The gateway says who answered, on the message itself.
	api := slackapi.New(r.f.BotToken, slackapi.OptionAPIURL(r.f.URL()))
	var posted slackapi.Blocks
	if err := json.Unmarshal(before.Blocks, &posted); err != nil {
		t.Fatal(err)
	}
	answered := append(posted.BlockSet, slackapi.NewContextBlock("firebreak/answered/1", mrkdwn("approved by *Bob* at 12:00")))
	if _, _, _, err := api.UpdateMessageContext(ctx, before.Channel, before.TS, slackapi.MsgOptionText(before.Text, false), slackapi.MsgOptionBlocks(answered...)); err != nil {
		t.Fatal(err)
	}
	settle := activities.SettleRequest{Key: "s", IncidentID: "INC-3", Step: "isolate", StepKind: "approval", State: "done",
		Outcome: "approved by Alice <!here>", Messages: sent.Messages}
	resp, err := r.c.Settle(ctx, settle)
	if err != nil || resp.Updated != len(sent.Messages) {
		t.Fatalf("%+v, %v", resp, err)
	}
	check := func(when string) string {
		t.Helper()
		m, _ := r.f.Message(sent.Messages[0].Channel, sent.Messages[0].TS)
		blocks := decodeBlocks(t, m.Blocks)
		text := allText(blocks)
		if ids := actionIDs(blocks); len(ids) != 0 {
			t.Errorf("%s: buttons left: %v", when, ids)
		}
		if metadataKey(t, m) != req.Key+"/dm/U0ALICE" && metadataKey(t, m) != req.Key+"/dm/U0BOB" && metadataKey(t, m) != req.Key+"/room" {
			t.Errorf("%s: the message lost its key: %+v", when, m.Metadata)
		}
		if !strings.Contains(text, "Cut *cell 4*") || m.Text != before.Text {
			t.Errorf("%s: the original text is gone: %s", when, text)
		}
		if !strings.Contains(text, "approved by *Bob* at 12:00") {
			t.Errorf("%s: the gateway's answered line is gone: %s", when, text)
		}
		if strings.Count(text, "approved by Alice") != 1 || strings.Contains(text, "<!here>") || !strings.Contains(text, "&lt;!here&gt;") {
			t.Errorf("%s: outcome line: %s", when, text)
		}
		return string(m.Blocks)
	}
	first := check("settled")
	// Again, and again from a worker that remembers nothing: the same.
	if _, err := r.c.Settle(ctx, settle); err != nil {
		t.Fatal(err)
	}
	if again := check("settled twice"); again != first {
		t.Errorf("settling twice changed the message:\n%s\n%s", first, again)
	}
	if _, err := r.fresh(t).Settle(ctx, settle); err != nil {
		t.Fatal(err)
	}
	if again := check("settled after a restart"); again != first {
		t.Errorf("settling after a restart changed the message:\n%s\n%s", first, again)
	}
	// A request naming this message for another incident is refused and
	// leaves it alone: requests are claims.
	other := settle
	other.IncidentID = "INC-OTHER"
	other.Outcome = "forged outcome"
	if _, err := r.fresh(t).Settle(ctx, other); err == nil || !errors.Is(err, activities.ErrPermanent) {
		t.Errorf("settling another incident's message: %v; want a permanent refusal", err)
	}
	if again := check("after a forged settle"); again != first {
		t.Errorf("a settle for another incident changed the message:\n%s\n%s", first, again)
	}
	// A message that is gone counts as settled.
	gone := settle
	gone.Messages = []activities.MessageRef{{Channel: room, TS: "1733058999.000100"}, {Channel: "C0GONE", TS: "1.2"}}
	if resp, err := r.fresh(t).Settle(ctx, gone); err != nil || resp.Updated != 0 {
		t.Errorf("gone messages: %+v, %v", resp, err)
	}
}

func TestPublishStatus(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	open, err := r.c.OpenChannel(ctx, activities.OpenChannelRequest{Key: "o", IncidentID: "INC-8", Name: "inc-8"})
	if err != nil {
		t.Fatal(err)
	}
	room := activities.Room{ChannelID: open.ChannelID, StatusTS: open.StatusTS}
	status := func(v int, state string) activities.StatusRequest {
		return activities.StatusRequest{Key: fmt.Sprint(v), IncidentID: "INC-8", Room: room, Version: v, Title: "Ransomware on HMI-2", Severity: "high", State: state,
			Steps: []activities.StatusLine{{ID: "page", Kind: "page", State: "done", Note: "acknowledged by alice"}, {ID: "isolate", Kind: "approval", State: "waiting", Note: "2 of 2 sign-offs <@U1>"}}}
	}
	if _, err := r.c.PublishStatus(ctx, status(3, "running")); err != nil {
		t.Fatal(err)
	}
	m, _ := r.f.Message(room.ChannelID, room.StatusTS)
	text := allText(decodeBlocks(t, m.Blocks))
	for _, want := range []string{"Ransomware on HMI-2", "high", ":white_check_mark: *page*", "acknowledged by alice", ":hourglass_flowing_sand: *isolate*", "&lt;@U1&gt;"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q: %s", want, text)
		}
	}
	// An older version is skipped; the same or a newer one applies.
	if _, err := r.c.PublishStatus(ctx, status(2, "stale")); err != nil {
		t.Fatal(err)
	}
	if m2, _ := r.f.Message(room.ChannelID, room.StatusTS); m2.Edits != 1 || strings.Contains(string(m2.Blocks), "stale") {
		t.Errorf("an older version was applied: %d edits", m2.Edits)
	}
	if _, err := r.c.PublishStatus(ctx, status(4, "completed")); err != nil {
		t.Fatal(err)
	}
	if m3, _ := r.f.Message(room.ChannelID, room.StatusTS); m3.Edits != 2 || !strings.Contains(string(m3.Blocks), "completed") {
		t.Errorf("a newer version was not applied: %d edits", m3.Edits)
	}
	if _, err := r.c.PublishStatus(ctx, activities.StatusRequest{IncidentID: "INC-8"}); err == nil {
		t.Error("a status without a room was accepted")
	}
}

// checkLimits fails when blocks break Slack's limits on messages.
func checkLimits(t *testing.T, blocks []slackapi.Block) {
	t.Helper()
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks", len(blocks))
	}
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []map[string]any
	_ = json.Unmarshal(raw, &decoded)
	var walk func(any, string)
	walk = func(v any, parent string) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				limit := MaxSectionText
				switch parent {
				case "header":
					limit = MaxHeaderText
				case "button":
					limit = MaxButtonText
				case "context":
					limit = MaxContextText
				}
				if n := utf8.RuneCountInString(s); n > limit || n == 0 {
					t.Errorf("a %s text of %d characters (limit %d)", parent, n, limit)
				}
			}
			typ, _ := x["type"].(string)
			if typ == "mrkdwn" || typ == "plain_text" {
				typ = parent
			}
			for _, c := range x {
				walk(c, typ)
			}
		case []any:
			for _, c := range x {
				walk(c, parent)
			}
		}
	}
	walk(decoded, "")
}

func TestStatusBlocksOfABigPlan(t *testing.T) {
	req := activities.StatusRequest{IncidentID: "INC-1", Title: strings.Repeat("T", 500), State: "running", Exercise: true}
	for i := range 400 {
		req.Steps = append(req.Steps, activities.StatusLine{ID: fmt.Sprintf("step-%03d", i), Kind: "action", State: []string{"done", "pending", "running"}[i%3], Note: strings.Repeat("n", 300)})
	}
	blocks, text := statusBlocks(req)
	checkLimits(t, blocks)
	all, _ := json.Marshal(blocks)
	if !strings.Contains(string(all), "more step(s)") || !strings.Contains(string(all), "EXERCISE") {
		t.Errorf("a big plan is not summarised, or the exercise line is missing")
	}
	if !strings.Contains(string(all), "step-000") || utf8.RuneCountInString(text) > MaxFallbackText {
		t.Errorf("first step missing or fallback too long")
	}
	if len(all) > 40000 {
		t.Errorf("the status message is %d bytes", len(all))
	}
}

func TestHostileText(t *testing.T) {
	r := newRig(t)
	room := r.f.AddChannel("inc-h", true)
	hostile := "<!channel> see <https://evil.example|your bank> & \u202e<@U0ALICE>" + strings.Repeat("x", 100_000)
	req := prompt("decision")
	req.Room = &activities.Room{ChannelID: room}
	req.Text = hostile
	req.Step = "<!here>"
	req.Options = []string{"<!channel>", strings.Repeat("o", 500)}
	blocks, text, err := deliverBlocks(req)
	if err != nil {
		t.Fatal(err)
	}
	checkLimits(t, blocks)
	if utf8.RuneCountInString(text) > MaxFallbackText {
		t.Errorf("fallback of %d characters", utf8.RuneCountInString(text))
	}
	resp, err := r.c.Deliver(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range resp.Messages {
		m, _ := r.f.Message(ref.Channel, ref.TS)
		// Every mrkdwn text and the top-level text must be escaped;
		// plain_text (button labels) shows text as written and never
		// notifies or links, but loses the bidi override too.
		texts := []string{m.Text}
		var labels []string
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if s, ok := x["text"].(string); ok {
					if x["type"] == "mrkdwn" {
						texts = append(texts, s)
					} else {
						labels = append(labels, s)
					}
				}
				for _, c := range x {
					walk(c)
				}
			case []any:
				for _, c := range x {
					walk(c)
				}
			}
		}
		var decoded any
		_ = json.Unmarshal(m.Blocks, &decoded)
		walk(decoded)
		if len(texts) < 3 {
			t.Fatalf("found %d mrkdwn texts in %s", len(texts), m.Blocks)
		}
		for _, s := range texts {
			if strings.ContainsAny(s, "<>\u202e") {
				t.Errorf("hostile mrkdwn survived: %.80q", s)
			}
		}
		for _, s := range labels {
			if strings.ContainsRune(s, '\u202e') {
				t.Errorf("a bidi override survived in %.80q", s)
			}
		}
		if !strings.Contains(texts[1], "&lt;!channel&gt;") {
			t.Errorf("the text was not escaped but dropped: %.80q", texts[1])
		}
		if len(m.Text) > 4*MaxFallbackText {
			t.Errorf("top-level text of %d bytes", len(m.Text))
		}
	}
}

func TestSettleKeepsGoingAndStaysRetryable(t *testing.T) {
	r := newRig(t)
	room := r.f.AddChannel("inc-s", true)
	req := prompt("task")
	req.Room = &activities.Room{ChannelID: room}
	sent, err := r.c.Deliver(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.cfg
	cfg.Sleep = func(context.Context, time.Duration) error { return context.DeadlineExceeded }
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.f.Fail("chat.update", 1, slackfake.Fault{Status: 503})
	resp, err := c.Settle(ctxT(t), activities.SettleRequest{Key: "s", IncidentID: "INC-3", Step: "isolate", State: "timed_out", Outcome: "nobody answered", Messages: sent.Messages})
	if err == nil || errors.Is(err, activities.ErrPermanent) || resp.Updated != len(sent.Messages)-1 {
		t.Errorf("one update failing with 503 until the deadline: %+v, %v", resp, err)
	}
}

func TestStatusTitle(t *testing.T) {
	for _, tc := range []struct {
		req  activities.StatusRequest
		want string
	}{
		{activities.StatusRequest{IncidentID: "INC-1"}, "Incident INC-1"},
		{activities.StatusRequest{IncidentID: "EX-1", Exercise: true, Title: activities.ExercisePrefix}, "[EXERCISE] Incident EX-1"},
		{activities.StatusRequest{IncidentID: "EX-1", Exercise: true, Title: "Drill"}, "[EXERCISE] Drill"},
		{activities.StatusRequest{IncidentID: "INC-2", Title: "<!channel>\u202e"}, "<!channel>"},
	} {
		blocks, _ := statusBlocks(tc.req)
		h, ok := blocks[0].(*slackapi.HeaderBlock)
		if !ok || h.Text.Type != slackapi.PlainTextType || h.Text.Text != tc.want {
			t.Errorf("%+v: header %+v, want plain %q", tc.req, blocks[0], tc.want)
		}
	}
}
