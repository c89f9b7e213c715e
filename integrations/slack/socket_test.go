package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// guard bounds how long a test waits for the gateway before failing; it
// is a failure deadline, not synchronisation.
const guard = 20 * time.Second

// socketServer serves the fake's Socket Mode websocket, handing each
// connection the gateway opens to the test.
func socketServer(t *testing.T, api *fakeAPI) chan *websocket.Conn {
	conns := make(chan *websocket.Conn, 4)
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	api.ws = func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("websocket upgrade: %v", err)
			return
		}
		t.Cleanup(func() { c.Close() })
		conns <- c
	}
	return conns
}

func nextConn(t *testing.T, conns chan *websocket.Conn) *websocket.Conn {
	t.Helper()
	select {
	case c := <-conns:
		_ = c.SetReadDeadline(time.Now().Add(guard))
		return c
	case <-time.After(guard):
		t.Fatal("the gateway did not connect over Socket Mode")
		return nil
	}
}

// envelope is a Socket Mode request in the shape Slack documents.
func envelope(t *testing.T, typ, id string, payload any) map[string]any {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"envelope_id": id, "type": typ, "payload": json.RawMessage(b), "accepts_response_payload": true, "retry_attempt": 0, "retry_reason": ""}
}

type ackMsg struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

func send(t *testing.T, c *websocket.Conn, msg any) {
	t.Helper()
	if err := c.WriteJSON(msg); err != nil {
		t.Fatal(err)
	}
}

func readAck(t *testing.T, c *websocket.Conn) ackMsg {
	t.Helper()
	var a ackMsg
	if err := c.ReadJSON(&a); err != nil {
		t.Fatalf("reading an ack: %v", err)
	}
	return a
}

func hello() map[string]any {
	return map[string]any{"type": "hello", "num_connections": 1, "debug_info": map[string]any{"host": "applink-1"}, "connection_info": map[string]any{"app_id": "A0FIRE"}}
}

func TestSocketModeDispatchesAndDeduplicates(t *testing.T) {
	e := newTestEnv(t)
	e.recv.reply = AnswerReply{Person: "alice", Name: "Alice"}
	conns := socketServer(t, e.api)
	ref := Ref{Incident: "INC-5", Step: "approve.isolate", Round: 1}

	// A click already handled over HTTP, redelivered over Socket Mode.
	twice := clickPayload(ActionApprove, mustRef(t, ref), "C0INC", "trig-both")
	e.post(t, PathInteractions, form(t, twice))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.g.RunSocketMode(ctx, "xapp-1-A0FIRE-1-test") }()

	c1 := nextConn(t, conns)
	send(t, c1, hello())
	click := envelope(t, "interactive", "env-1", clickPayload(ActionDone, mustRef(t, Ref{Incident: "INC-5", Step: "task.badge"}), "C0INC", "trig-s1"))
	send(t, c1, click)
	if a := readAck(t, c1); a.EnvelopeID != "env-1" || len(a.Payload) != 0 {
		t.Fatalf("first ack = %+v; want env-1 without payload (hello is not acked)", a)
	}
	send(t, c1, envelope(t, "slash_commands", "env-2", map[string]any{
		"token": "legacy", "team_id": "T0PLANT", "channel_id": "C0INC", "user_id": "U0ALICE", "user_name": "alice",
		"command": "/firebreak", "text": "help", "response_url": "https://hooks.slack.com/commands/1", "trigger_id": "trig-cmd",
	}))
	if a := readAck(t, c1); a.EnvelopeID != "env-2" || !strings.Contains(string(a.Payload), "PLAYBOOK") {
		t.Fatalf("command ack = %+v; want the help in the payload", a)
	}
	meta := `{"ref":` + mustRef(t, ref) + `,"c":"C0INC","t":"1700000000.000100"}`
	send(t, c1, envelope(t, "interactive", "env-3", submitPayload(ActionDeny, "V7", meta, " ", "trig-s3")))
	if a := readAck(t, c1); a.EnvelopeID != "env-3" || !strings.Contains(string(a.Payload), `"response_action":"errors"`) {
		t.Fatalf("empty reason ack = %+v", a)
	}
	send(t, c1, envelope(t, "interactive", "env-4", twice))
	if a := readAck(t, c1); a.EnvelopeID != "env-4" {
		t.Fatalf("redelivered click ack = %+v", a)
	}

	// Slack asks for a reconnection and then redelivers env-1.
	send(t, c1, map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "applink-1"}})
	c2 := nextConn(t, conns)
	send(t, c2, hello())
	send(t, c2, click)
	if a := readAck(t, c2); a.EnvelopeID != "env-1" {
		t.Fatalf("redelivered ack = %+v", a)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunSocketMode = %v; want nil when the context ends", err)
		}
	case <-time.After(guard):
		t.Fatal("RunSocketMode did not return after the context ended")
	}
	e.g.Wait()
	answers, _ := e.recv.got()
	if len(answers) != 2 {
		t.Fatalf("answers = %+v; want the HTTP click and env-1 once each", answers)
	}
	if answers[1].Transport != TransportSocket || answers[1].Update != "done" || answers[1].Ref.Step != "task.badge" {
		t.Errorf("socket answer = %+v", answers[1])
	}
	if n := len(e.api.callsOf("chat.update")); n != 2 {
		t.Errorf("chat.update calls = %d; want 2", n)
	}
}

func TestSocketModeRetriesRefusedToken(t *testing.T) {
	e := newTestEnv(t)
	conns := socketServer(t, e.api)
	var opens atomic.Int32
	e.api.open = func() (int, string) {
		switch opens.Add(1) {
		case 1:
			return http.StatusOK, "invalid_auth"
		case 2:
			return http.StatusOK, "token_revoked"
		}
		return http.StatusOK, ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.g.RunSocketMode(ctx, "xapp-1-test") }()
	c := nextConn(t, conns)
	send(t, c, envelope(t, "events_api", "env-ev", map[string]any{"type": "event_callback", "event_id": "Ev1", "event": map[string]any{"type": "app_mention"}}))
	if a := readAck(t, c); a.EnvelopeID != "env-ev" {
		t.Fatalf("ack = %+v", a)
	}
	select {
	case err := <-done:
		t.Fatalf("RunSocketMode returned %v while its context was live", err)
	default:
	}
	if n := opens.Load(); n != 3 {
		t.Errorf("apps.connections.open calls = %d; want 3", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunSocketMode = %v", err)
	}
}

func TestSocketModeNeedsAnAppToken(t *testing.T) {
	e := newTestEnv(t)
	if err := e.g.RunSocketMode(context.Background(), "xoxb-bot"); err == nil || !strings.Contains(err.Error(), "xapp-") {
		t.Errorf("RunSocketMode with a bot token = %v", err)
	}
}

func TestReconnectWaitIsCappedAndJittered(t *testing.T) {
	e := newTestEnv(t)
	e.g.reconnMin, e.g.reconnMax = time.Second, 30*time.Second
	for attempt, hi := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 50: 30 * time.Second} {
		for range 20 {
			if d := e.g.reconnectWait(attempt); d < hi/2 || d > hi {
				t.Errorf("attempt %d waits %s; want between %s and %s", attempt, d, hi/2, hi)
			}
		}
	}
}
