package slack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
)

// TestFindByKeyIgnoresOtherApps: another app in the channel posts a
// message whose metadata carries the key firebreak is about to post under;
// a retried post must not take it for its own (and so never post).
func TestFindByKeyIgnoresOtherApps(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/conversations.history"):
			_, _ = w.Write([]byte(`{"ok":true,"has_more":false,"messages":[{"type":"message","ts":"1700000000.000100","bot_id":"BSTRANGER","user":"USTRANGER","text":"nothing to see","metadata":{"event_type":"firebreak_message","event_payload":{"key":"inc-1/step.approve/deliver","incident":"inc-1"}}}]}`))
		case strings.HasSuffix(r.URL.Path, "/chat.postMessage"):
			posts.Add(1)
			_, _ = w.Write([]byte(`{"ok":true,"channel":"C0ROOM001","ts":"1700000000.000200"}`))
		case strings.HasSuffix(r.URL.Path, "/auth.test"):
			_, _ = w.Write([]byte(`{"ok":true,"user_id":"UFIREBREAK","bot_id":"BFIREBREAK"}`))
		default:
			_, _ = w.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
		}
	}))
	defer srv.Close()
	c, err := New(Config{Token: "xoxb-test", APIURL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.PostMessage(context.Background(), activities.PostMessageRequest{Key: "inc-1/step.approve/deliver", IncidentID: "inc-1", Channel: "C0ROOM001", Text: "Approve the isolation", Retry: true})
	if err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Fatalf("the message was never posted: the adapter took a stranger's message %s for its own", resp.TS)
	}
}

// TestAnswerEditKeepsASettledPromptSettled: when the step is settled
// between a click and the gateway's chat.update of the clicked message (a
// second approver met the quorum meanwhile), the update must not bring the
// buttons back or drop the outcome line.
func TestAnswerEditKeepsASettledPromptSettled(t *testing.T) {
	w := newFakeWorld(t)
	ref := Ref{Incident: "INC-7", Step: "approve.isolate", Round: 1}
	ts := w.prompt(t, ref)
	click, err := w.fk.Click("U0ALICE", w.channel, ts, ActionApprove)
	if err != nil {
		t.Fatal(err)
	}
	chat, err := New(Config{Token: "xoxb-gw", APIURL: w.fk.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Settle(w.ctx, activities.SettleRequest{Key: "k", IncidentID: "INC-7", Step: ref.Step, StepKind: "approval", State: "done",
		Outcome: "approved by Bob and Carol", Messages: []activities.MessageRef{{Channel: w.channel, TS: ts}}}); err != nil {
		t.Fatal(err)
	}
	w.recv.reply.StepOpen = true // Alice's approval was accepted before the quorum closed
	if code, _, err := w.fk.DeliverHTTP(w.ctx, w.srv.URL+PathInteractions, click); err != nil || code != http.StatusOK {
		t.Fatalf("click = %d, %v", code, err)
	}
	w.g.Wait()
	m := w.message(t, ts)
	if strings.Contains(string(m.Blocks), `"actions"`) || !strings.Contains(string(m.Blocks), "approved by Bob and Carol") {
		t.Fatalf("the settled prompt was rewritten with buttons / without its outcome: %s", m.Blocks)
	}
}
