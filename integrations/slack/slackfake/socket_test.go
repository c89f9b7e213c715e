package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

type seen struct {
	req *socketmode.Request
	ic  slackapi.InteractionCallback
	cmd slackapi.SlashCommand
}

// runSocket runs a socketmode client that acks every envelope, except the
// first delivery of a click whose value is "later".
func runSocket(ctx context.Context, t *testing.T, f *Fake) (<-chan seen, <-chan error) {
	api := slackapi.New(f.BotToken, slackapi.OptionAPIURL(f.URL()), slackapi.OptionAppLevelToken(f.AppToken))
	smc := socketmode.New(api)
	got := make(chan seen, 16)
	done := make(chan error, 1)
	go func() { done <- smc.RunContext(ctx) }()
	go func() {
		for evt := range smc.Events {
			if evt.Request == nil || evt.Request.EnvelopeID == "" {
				continue
			}
			s := seen{req: evt.Request}
			switch d := evt.Data.(type) {
			case slackapi.InteractionCallback:
				s.ic = d
				if len(d.ActionCallback.BlockActions) == 1 && d.ActionCallback.BlockActions[0].Value == "later" && evt.Request.RetryAttempt == 0 {
					got <- s
					continue
				}
				_ = smc.Ack(*evt.Request, map[string]string{"seen": d.ActionCallback.BlockActions[0].Value})
			case slackapi.SlashCommand:
				s.cmd = d
				_ = smc.Ack(*evt.Request, map[string]string{"text": "ok " + d.Text})
			}
			got <- s
		}
	}()
	return got, done
}

func next(ctx context.Context, t *testing.T, got <-chan seen) seen {
	t.Helper()
	select {
	case s := <-got:
		return s
	case <-ctx.Done():
		t.Fatal("no envelope reached the socketmode client")
	}
	return seen{}
}

func TestSocketMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f, api := newFake(t)
	ch := f.AddChannel("inc-11", false, "U1")
	_, ts, err := api.PostMessage(ch, slackapi.MsgOptionText("pick", false), buttonsBlock("now", "later"))
	if err != nil {
		t.Fatal(err)
	}

	f.FailConnectionsOpen(1)
	_, done := runSocket(ctx, t, f)
	if err := <-done; err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("socketmode with a failing apps.connections.open returned %v, want invalid_auth", err)
	}

	got, done := runSocket(ctx, t, f)
	if err := f.Wait(ctx, func(s *Snapshot) bool { return s.SocketConnections() == 1 }); err != nil {
		t.Fatal(err)
	}
	click, err := f.Click("U1", ch, ts, "firebreak/decide", "now")
	if err != nil {
		t.Fatal(err)
	}
	ack, err := f.DeliverSocket(ctx, click)
	if err != nil || string(ack) != `{"seen":"now"}` {
		t.Fatalf("ack = %s, %v", ack, err)
	}
	s := next(ctx, t, got)
	act := s.ic.ActionCallback.BlockActions[0]
	if s.req.Type != EnvelopeInteractive || s.ic.Type != slackapi.InteractionTypeBlockActions || s.ic.User.ID != "U1" ||
		s.ic.Container.MessageTs != ts || s.ic.Container.ChannelID != ch || act.ActionID != "firebreak/decide" ||
		act.BlockID != "prompt" || s.ic.Message.Timestamp != ts || s.ic.TriggerID != click.TriggerID || s.ic.ResponseURL == "" {
		t.Fatalf("block_actions arrived as %+v", s.ic)
	}

	cmd, err := f.Command("U2", ch, "/firebreak", "status inc-11")
	if err != nil {
		t.Fatal(err)
	}
	if ack, err := f.DeliverSocket(ctx, cmd); err != nil || string(ack) != `{"text":"ok status inc-11"}` {
		t.Fatalf("command ack = %s, %v", ack, err)
	}
	if s := next(ctx, t, got); s.cmd.Command != "/firebreak" || s.cmd.UserID != "U2" || s.cmd.ChannelID != ch || !s.req.AcceptsResponsePayload {
		t.Fatalf("slash command arrived as %+v", s)
	}

	// Not acked at first: redelivered after a reconnect.
	later, _ := f.Click("U1", ch, ts, "firebreak/decide", "later")
	id := f.Push(EnvelopeInteractive, later.Payload, false)
	if s := next(ctx, t, got); s.req.EnvelopeID != id || s.req.RetryAttempt != 0 {
		t.Fatalf("first delivery %+v", s.req)
	}
	f.Disconnect("refresh_requested")
	if ack, err := f.WaitAck(ctx, id); err != nil || string(ack) != `{"seen":"later"}` {
		t.Fatalf("redelivered ack = %s, %v", ack, err)
	}
	if s := next(ctx, t, got); s.req.EnvelopeID != id || s.req.RetryAttempt != 1 || s.req.RetryReason != "timeout" {
		t.Fatalf("redelivery %+v", s.req)
	}
	if n := len(f.Calls("apps.connections.open")); n != 3 {
		t.Fatalf("apps.connections.open called %d times, want 3 (failed, connected, reconnected)", n)
	}

	// Not acked at first: redelivered on request.
	id = f.Push(EnvelopeInteractive, later.Payload, false)
	next(ctx, t, got)
	f.Redeliver()
	if _, err := f.WaitAck(ctx, id); err != nil {
		t.Fatal(err)
	}
	if s := next(ctx, t, got); s.req.RetryAttempt != 1 {
		t.Fatalf("redelivery on request %+v", s.req)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunContext ended with %v", err)
	}
}

// verifier is a receiver that checks Slack's signature as the gateway must.
func verifier(t *testing.T, secret string, got chan<- *http.Request) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sv, err := slackapi.NewSecretsVerifier(r.Header, secret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		got <- r
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSignedHTTP(t *testing.T) {
	ctx := context.Background()
	f, api := newFake(t)
	ch := f.AddChannel("inc-12", false, "U1")
	_, ts, _ := api.PostMessage(ch, slackapi.MsgOptionText("ack?", false), buttonsBlock("ack"))
	got := make(chan *http.Request, 4)
	srv := verifier(t, f.SigningSecret, got)

	click, err := f.Click("U1", ch, ts, "firebreak/decide")
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := f.DeliverHTTP(ctx, srv.URL, click, Retry(1, "http_timeout"))
	if err != nil || status != 200 || string(body) != "ok" {
		t.Fatalf("signed click: %d %s %v", status, body, err)
	}
	r := <-got
	ic, err := slackapi.InteractionCallbackParse(r)
	if err != nil || ic.ActionCallback.BlockActions[0].Value != "ack" || r.Header.Get("X-Slack-Retry-Num") != "1" || r.Header.Get("X-Slack-Retry-Reason") != "http_timeout" {
		t.Fatalf("click parsed as %+v, %v; headers %v", ic, err, r.Header)
	}
	for name, opt := range map[string]DeliverOption{"forged": Forged(), "stale": Stale()} {
		if status, _, _ := f.DeliverHTTP(ctx, srv.URL, click, opt); status != http.StatusUnauthorized {
			t.Errorf("%s signature answered %d", name, status)
		}
	}

	cmd, _ := f.Command("U1", ch, "/firebreak", "run isolate-ot zone=cell-3")
	if status, _, err := f.DeliverHTTP(ctx, srv.URL, cmd); err != nil || status != 200 {
		t.Fatalf("signed command: %d %v", status, err)
	}
	sc, err := slackapi.SlashCommandParse(<-got)
	if err != nil || sc.Text != "run isolate-ot zone=cell-3" || sc.ResponseURL != cmd.ResponseURL || sc.TriggerID != cmd.TriggerID || sc.TeamID != TeamID {
		t.Fatalf("command parsed as %+v, %v", sc, err)
	}

	event := []byte(`{"type":"event_callback","event":{"type":"app_mention","text":"<@U0FAKEBOT> status"}}`)
	if status, _, err := f.PostSigned(ctx, srv.URL, event, ContentType("application/json")); err != nil || status != 200 {
		t.Fatalf("signed event: %d %v", status, err)
	}
	if r := <-got; r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("event sent as %q", r.Header.Get("Content-Type"))
	}
	if _, err := f.Click("U1", ch, ts, "firebreak/approve"); err == nil || !strings.Contains(err.Error(), "no button") {
		t.Fatalf("clicking a button the message lacks: %v", err)
	}
}

func TestResponseURL(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("inc-13", false, "U1")
	_, ts, _ := api.PostMessage(ch, slackapi.MsgOptionText("approve?", false), buttonsBlock("yes"))
	click, _ := f.Click("U1", ch, ts, "firebreak/decide")
	if _, _, err := api.PostMessage("", slackapi.MsgOptionResponseURL(click.ResponseURL, slackapi.ResponseTypeEphemeral), slackapi.MsgOptionText("not on the roster", false)); err != nil {
		t.Fatal(err)
	}
	if e := f.Ephemerals("U1"); len(e) != 1 || e[0].Text != "not on the roster" {
		t.Fatalf("ephemerals %+v", e)
	}
	if _, _, err := api.PostMessage("", slackapi.MsgOptionReplaceOriginal(click.ResponseURL), slackapi.MsgOptionText("approved by ana", false)); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message(ch, ts); m.Text != "approved by ana" || m.Blocks != nil {
		t.Fatalf("replaced message %+v", m)
	}
	if r := f.Responses(); len(r) != 2 || !r[1].ReplaceOriginal || r[0].ResponseType != "ephemeral" {
		t.Fatalf("responses %+v", r)
	}
	resp, err := http.Post(click.ResponseURL, "application/json", strings.NewReader(`{"text":`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a malformed response answered %d", resp.StatusCode)
	}
	var out map[string]any
	resp, _ = http.Post(f.srv.URL+"/respond/nope", "application/json", strings.NewReader(`{"text":"x"}`))
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || out["error"] != "invalid_url" {
		t.Fatalf("an unknown response URL answered %d %v", resp.StatusCode, out)
	}
}
