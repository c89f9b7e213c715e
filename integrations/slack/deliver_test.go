package slack

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
)

var people = []activities.Recipient{
	{Person: "alice", Slack: "U0ALICE"},
	{Person: "bob", Slack: "U0BOB"},
	{Person: "dave"}, // no Slack user
}

func prompt(kind string) activities.DeliverRequest {
	return activities.DeliverRequest{
		Key: "INC-3/isolate/1/prompt/" + kind, IncidentID: "INC-3", Step: "isolate", Purpose: activities.PurposePrompt,
		Kind: kind, StepKind: kind, Round: 2, To: people, Text: "Cut *cell 4* off the plant network?",
	}
}

// dmOf is the direct message conversation the fake opened with a user.
func dmOf(t *testing.T, f *slackfake.Fake, user string, refs []activities.MessageRef) activities.MessageRef {
	t.Helper()
	for _, ref := range refs {
		if ch, ok := f.Channel(ref.Channel); ok && ch.IM && slices.Contains(ch.Members, user) {
			return ref
		}
	}
	t.Fatalf("no direct message to %s in %+v", user, refs)
	return activities.MessageRef{}
}

func TestDeliverApprovalPrompt(t *testing.T) {
	r := newRig(t)
	room := r.f.AddChannel("inc-3", true)
	req := prompt("approval")
	req.Room = &activities.Room{ChannelID: room}
	req.BreakGlass = true
	resp, err := r.c.Deliver(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Delivered != 3 || len(resp.Messages) != 3 {
		t.Fatalf("delivered %d, messages %+v; want 2 DMs and the room", resp.Delivered, resp.Messages)
	}
	if len(resp.Failed) != 1 || resp.Failed[0] != "person.dave: no Slack user ID" {
		t.Errorf("failed %q", resp.Failed)
	}
	ref := dmOf(t, r.f, "U0ALICE", resp.Messages)
	m, _ := r.f.Message(ref.Channel, ref.TS)
	blocks := decodeBlocks(t, m.Blocks)
	if got := actionIDs(blocks); !slices.Equal(got, []string{ActionApprove, ActionDeny, ActionBreakGlass}) {
		t.Errorf("buttons %v", got)
	}
	btns := buttonsIn(blocks)
	if btns[0]["style"] != "primary" || btns[1]["style"] != "danger" {
		t.Errorf("styles: %v / %v", btns[0]["style"], btns[1]["style"])
	}
	confirm, _ := btns[0]["confirm"].(map[string]any)
	if confirm == nil || !strings.Contains(allText([]map[string]any{confirm}), "signs off step isolate") {
		t.Errorf("Approve asks no confirmation that says what it does: %v", btns[0])
	}
	ref0, err := DecodeRef(btns[0]["value"].(string))
	if err != nil || ref0 != (Ref{Incident: "INC-3", Step: "isolate", Round: 2}) {
		t.Errorf("button value %v: %+v, %v", btns[0]["value"], ref0, err)
	}
	if !strings.Contains(allText(blocks), "round 2") || !strings.Contains(allText(blocks), "INC-3") {
		t.Errorf("no context line with incident and round: %s", m.Blocks)
	}
	if m.Text != req.Text {
		t.Errorf("fallback text %q", m.Text)
	}
	if !slices.ContainsFunc(resp.Messages, func(x activities.MessageRef) bool { return x.Channel == room }) {
		t.Errorf("nothing in the room: %+v", resp.Messages)
	}
	// Without break glass, no such button.
	req.Key, req.BreakGlass = req.Key+"/b", false
	resp, err = r.c.Deliver(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	ref = dmOf(t, r.f, "U0BOB", resp.Messages)
	m, _ = r.f.Message(ref.Channel, ref.TS)
	if got := actionIDs(decodeBlocks(t, m.Blocks)); !slices.Equal(got, []string{ActionApprove, ActionDeny}) {
		t.Errorf("buttons without break glass: %v", got)
	}
}

func TestDeliverKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  func() activities.DeliverRequest
		want []string
	}{
		{"page", func() activities.DeliverRequest {
			q := prompt("")
			q.Purpose, q.Kind, q.StepKind, q.Round = activities.PurposePage, "", "page", 0
			return q
		}, []string{ActionAck}},
		{"page of an approval", func() activities.DeliverRequest {
			q := prompt("")
			q.Purpose, q.Kind, q.StepKind = activities.PurposePage, "", "approval"
			return q
		}, []string{ActionApprove, ActionDeny}},
		{"page of a task", func() activities.DeliverRequest {
			q := prompt("")
			q.Purpose, q.Kind, q.StepKind = activities.PurposePage, "", "task"
			return q
		}, []string{ActionDone}},
		{"task", func() activities.DeliverRequest { return prompt("task") }, []string{ActionDone}},
		{"decision", func() activities.DeliverRequest {
			q := prompt("decision")
			q.Options = []string{"isolate", "monitor", strings.Repeat("long ", 40)}
			return q
		}, []string{ActionDecide, ActionDecide, ActionDecide}},
		{"notice", func() activities.DeliverRequest {
			q := prompt("")
			q.Purpose, q.Kind, q.StepKind = activities.PurposeNotify, "", "notify"
			return q
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			built, _, err := deliverBlocks(tc.req())
			if err != nil {
				t.Fatal(err)
			}
			checkLimits(t, built)
			checkLimits(t, closedBlocks(built, strings.Repeat("outcome ", 1000), "done"))
			resp, err := r.c.Deliver(ctxT(t), tc.req())
			if err != nil {
				t.Fatal(err)
			}
			ref := dmOf(t, r.f, "U0ALICE", resp.Messages)
			m, _ := r.f.Message(ref.Channel, ref.TS)
			blocks := decodeBlocks(t, m.Blocks)
			if got := actionIDs(blocks); !slices.Equal(got, tc.want) {
				t.Errorf("buttons %v, want %v", got, tc.want)
			}
			if tc.name != "decision" {
				return
			}
			var ids []string
			for i, b := range buttonsIn(blocks) {
				label := b["text"].(map[string]any)["text"].(string)
				ref, err := DecodeRef(b["value"].(string))
				if err != nil || ref.Option != tc.req().Options[i] {
					t.Errorf("option %d carries %+v, %v", i, ref, err)
				}
				if n := len([]rune(label)); n > MaxButtonText {
					t.Errorf("label of %d characters", n)
				}
			}
			for _, b := range blocks {
				if b["type"] == "actions" {
					ids = append(ids, b["block_id"].(string))
				}
			}
			if len(ids) != 3 || len(slices.Compact(slices.Clone(ids))) != 3 {
				t.Errorf("each option needs its own actions block with its own ID: %v", ids)
			}
		})
	}
}

func TestDeliverNotice(t *testing.T) {
	r := newRig(t)
	room := r.f.AddChannel("inc-4", true)
	req := activities.DeliverRequest{Key: "n1", IncidentID: "INC-4", Step: "tell", Purpose: activities.PurposeNotify, Room: &activities.Room{ChannelID: room}, Text: "FYI", Exercise: true}
	// A notice goes to the room only when asked.
	if _, err := r.c.Deliver(ctxT(t), req); !errors.Is(err, activities.ErrPermanent) {
		t.Errorf("a notice to nobody: %v", err)
	}
	req.IncidentChannel = true
	resp, err := r.c.Deliver(ctxT(t), req)
	if err != nil || resp.Delivered != 1 || resp.Messages[0].Channel != room {
		t.Fatalf("%+v, %v", resp, err)
	}
	m, _ := r.f.Message(room, resp.Messages[0].TS)
	if !strings.Contains(allText(decodeBlocks(t, m.Blocks)), "EXERCISE") {
		t.Errorf("an exercise notice without the EXERCISE line: %s", m.Blocks)
	}
	// Asked for the room when none was opened: named in Failed.
	req.Key, req.Room, req.To = "n2", nil, people[:1]
	resp, err = r.c.Deliver(ctxT(t), req)
	if err != nil || resp.Delivered != 1 || len(resp.Failed) != 1 || !strings.HasPrefix(resp.Failed[0], "incident channel: no incident channel was opened") {
		t.Errorf("%+v, %v", resp, err)
	}
}

func TestDeliverReachesNobody(t *testing.T) {
	r := newRig(t)
	req := prompt("task")
	req.To = []activities.Recipient{{Person: "dave"}, {Person: "erin", Slack: "U0NOBODY"}}
	_, err := r.c.Deliver(ctxT(t), req)
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "person.dave: no Slack user ID") || !strings.Contains(err.Error(), "person.erin") {
		t.Errorf("nobody reachable: %v", err)
	}
	// A failure a retry may fix (Slack answering 503 until the activity's
	// time ran out) keeps the error retryable.
	cfg := r.cfg
	cfg.Sleep = func(context.Context, time.Duration) error { return context.DeadlineExceeded }
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.f.Fail("conversations.open", 1, slackfake.Fault{Status: 503})
	req.To = []activities.Recipient{{Person: "alice", Slack: "U0ALICE"}}
	_, err = c.Deliver(ctxT(t), req)
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("with a 503 until the deadline: %v", err)
	}
}

func TestDeliverSkipsRecipientsAndGoesOn(t *testing.T) {
	r := newRig(t)
	req := prompt("task")
	req.To = []activities.Recipient{{Person: "erin", Slack: "U0NOBODY"}, {Person: "alice", Slack: "U0ALICE"}, {Person: "alice", Slack: "U0ALICE"}}
	resp, err := r.c.Deliver(ctxT(t), req)
	if err != nil || resp.Delivered != 1 || len(resp.Messages) != 1 || len(resp.Failed) != 1 || !strings.HasPrefix(resp.Failed[0], "person.erin: ") {
		t.Fatalf("%+v, %v", resp, err)
	}
	if !strings.Contains(resp.Failed[0], "user_not_found") {
		t.Errorf("the failure does not say why: %q", resp.Failed[0])
	}
}

func TestDeliverRetryFindsEarlierPosts(t *testing.T) {
	r := newRig(t)
	room := r.f.AddChannel("inc-5", true)
	req := prompt("task")
	req.Room = &activities.Room{ChannelID: room}
	first, err := r.c.Deliver(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	req.Retry = true
	second, err := r.fresh(t).Deliver(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first.Messages, second.Messages) {
		t.Errorf("a retry after a restart posted anew: %+v then %+v", first.Messages, second.Messages)
	}
	if n := len(r.f.Calls("chat.postMessage")); n != 3 {
		t.Errorf("%d posts, want 3", n)
	}
}
