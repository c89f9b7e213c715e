package slack

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
)

// fakeWorld is a gateway wired to the fake Slack, with a prompt posted in
// an incident channel.
type fakeWorld struct {
	fk      *slackfake.Fake
	g       *Gateway
	recv    *stubReceiver
	srv     *httptest.Server
	channel string
	ctx     context.Context
}

func newFakeWorld(t *testing.T) *fakeWorld {
	t.Helper()
	fk := slackfake.New(slackfake.WithTokens("xoxb-gw", "xapp-gw"), slackfake.WithSigningSecret(testSecret))
	t.Cleanup(fk.Close)
	fk.AddUser("U0ALICE", "alice")
	ch := fk.AddChannel("inc-7", false, "U0ALICE", slackfake.BotUserID)
	recv := &stubReceiver{reply: AnswerReply{Person: "alice", Name: "Alice Ops"}}
	api := slackapi.New("xoxb-gw", slackapi.OptionAPIURL(fk.URL()))
	g, err := NewGateway(GatewayConfig{
		API: api, APIURL: fk.URL(), Receiver: recv, SigningSecret: testSecret,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ReconnectMin: time.Millisecond, ReconnectMax: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	t.Cleanup(cancel)
	return &fakeWorld{fk: fk, g: g, recv: recv, srv: srv, channel: ch, ctx: ctx}
}

// prompt posts an approval prompt with Approve and Deny buttons for ref,
// as the adapter would, and returns its ts.
func (w *fakeWorld) prompt(t *testing.T, ref Ref) string {
	t.Helper()
	v := mustRef(t, ref)
	approve := slackapi.NewButtonBlockElement(ActionApprove, v, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Approve", false, false))
	deny := slackapi.NewButtonBlockElement(ActionDeny, v, slackapi.NewTextBlockObject(slackapi.PlainTextType, "Deny", false, false))
	api := slackapi.New("xoxb-gw", slackapi.OptionAPIURL(w.fk.URL()))
	_, ts, err := api.PostMessage(w.channel,
		slackapi.MsgOptionText("Approve isolating cell-3?", false),
		slackapi.MsgOptionMetadata(slackapi.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{"key": ref.Incident + "/" + ref.Step + "/prompt", "incident": ref.Incident}}),
		slackapi.MsgOptionBlocks(
			slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, "Approve isolating *cell-3*?", false, false), nil, nil),
			slackapi.NewActionBlock("prompt", approve, deny),
		))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func (w *fakeWorld) message(t *testing.T, ts string) slackfake.Message {
	t.Helper()
	m, ok := w.fk.Message(w.channel, ts)
	if !ok {
		t.Fatalf("message %s is gone", ts)
	}
	return m
}

func TestFakeSlackDenyOverHTTP(t *testing.T) {
	w := newFakeWorld(t)
	ref := Ref{Incident: "INC-7", Step: "approve.isolate", Round: 1}
	ts := w.prompt(t, ref)
	click, err := w.fk.Click("U0ALICE", w.channel, ts, ActionDeny)
	if err != nil {
		t.Fatal(err)
	}
	// Forged and stale deliveries are refused before anything happens.
	for _, opt := range []slackfake.DeliverOption{slackfake.Forged(), slackfake.Stale()} {
		if code, _, err := w.fk.DeliverHTTP(w.ctx, w.srv.URL+PathInteractions, click, opt); err != nil || code != http.StatusUnauthorized {
			t.Errorf("refused delivery = %d, %v; want 401", code, err)
		}
	}
	if code, _, err := w.fk.DeliverHTTP(w.ctx, w.srv.URL+PathInteractions, click); err != nil || code != http.StatusOK {
		t.Fatalf("click = %d, %v", code, err)
	}
	if code, _, err := w.fk.DeliverHTTP(w.ctx, w.srv.URL+PathInteractions, click, slackfake.Retry(1, "http_timeout")); err != nil || code != http.StatusOK {
		t.Fatalf("retried click = %d, %v", code, err)
	}
	w.g.Wait()
	views := w.fk.Views()
	if len(views) != 1 || views[0].CallbackID != ActionDeny || views[0].User != "U0ALICE" {
		t.Fatalf("views = %+v; want one deny modal (the retry dropped)", views)
	}
	sub, err := w.fk.Submit("U0ALICE", views[0].ID, map[string]map[string]string{ReasonBlock: {ReasonAction: "pump P-101 still running"}})
	if err != nil {
		t.Fatal(err)
	}
	if code, body, err := w.fk.DeliverHTTP(w.ctx, w.srv.URL+PathInteractions, sub); err != nil || code != http.StatusOK || len(body) != 0 {
		t.Fatalf("submission = %d %s, %v", code, body, err)
	}
	w.g.Wait()
	answers, _ := w.recv.got()
	if len(answers) != 1 || answers[0].Update != "deny" || answers[0].Reason != "pump P-101 still running" || answers[0].Ref != ref || answers[0].TeamID != slackfake.TeamID {
		t.Fatalf("answers = %+v", answers)
	}
	m := w.message(t, ts)
	if m.Edits != 1 || strings.Contains(string(m.Blocks), `"actions"`) || !strings.Contains(string(m.Blocks), "Denied by *Alice Ops*") {
		t.Errorf("the denied prompt = %d edits, %s", m.Edits, m.Blocks)
	}
}

func TestFakeSlackRefusalOverHTTP(t *testing.T) {
	w := newFakeWorld(t)
	w.recv.err = &Refused{Code: "StaleRound", Message: "this approval was for round 1; the step is in round 2"}
	ts := w.prompt(t, Ref{Incident: "INC-7", Step: "approve.isolate", Round: 1})
	click, err := w.fk.Click("U0ALICE", w.channel, ts, ActionApprove)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, err := w.fk.DeliverHTTP(w.ctx, w.srv.URL+PathInteractions, click); err != nil || code != http.StatusOK {
		t.Fatalf("click = %d, %v", code, err)
	}
	w.g.Wait()
	if m := w.message(t, ts); m.Edits != 0 {
		t.Errorf("a refused click edited the prompt: %s", m.Blocks)
	}
	eph := w.fk.Ephemerals("U0ALICE")
	if len(eph) != 1 || eph[0].Channel != w.channel || !strings.Contains(eph[0].Text, "was refused: this approval was for round 1") {
		t.Errorf("ephemerals = %+v", eph)
	}
}

func TestFakeSlackOverSocketMode(t *testing.T) {
	w := newFakeWorld(t)
	w.recv.cmdReply = CommandReply{Text: "INC-7 open: approve.isolate waits for 1 more sign-off"}
	ref := Ref{Incident: "INC-7", Step: "approve.isolate", Round: 1}
	ts := w.prompt(t, ref)
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- w.g.RunSocketMode(ctx, "xapp-gw") }()

	click, err := w.fk.Click("U0ALICE", w.channel, ts, ActionApprove)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.fk.DeliverSocket(w.ctx, click); err != nil {
		t.Fatal(err)
	}
	// Slack refreshes the connection; the same click comes again in a new
	// envelope and is acknowledged but not answered twice.
	w.fk.Disconnect("refresh_requested")
	if _, err := w.fk.DeliverSocket(w.ctx, click); err != nil {
		t.Fatal(err)
	}
	cmd, err := w.fk.Command("U0ALICE", w.channel, SlashCommand, "status INC-7")
	if err != nil {
		t.Fatal(err)
	}
	ack, err := w.fk.DeliverSocket(w.ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	var got commandResponse
	if err := json.Unmarshal(ack, &got); err != nil || got.ResponseType != "ephemeral" || !strings.Contains(got.Text, "Working") {
		t.Errorf("command ack = %s", ack)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunSocketMode = %v", err)
	}
	w.g.Wait()

	answers, cmds := w.recv.got()
	if len(answers) != 1 || answers[0].Transport != TransportSocket || answers[0].Update != "approve" || answers[0].Ref != ref {
		t.Fatalf("answers = %+v", answers)
	}
	if len(cmds) != 1 || cmds[0].Name != "status" || cmds[0].Args[0] != "INC-7" || cmds[0].Transport != TransportSocket {
		t.Errorf("commands = %+v", cmds)
	}
	if m := w.message(t, ts); m.Edits != 1 || !strings.Contains(string(m.Blocks), "Approved by *Alice Ops*") {
		t.Errorf("the approved prompt = %d edits, %s", m.Edits, m.Blocks)
	}
	resp := w.fk.Responses()
	if len(resp) != 1 || resp[0].Text != w.recv.cmdReply.Text || resp[0].ResponseType != "ephemeral" {
		t.Errorf("responses = %+v", resp)
	}
}
