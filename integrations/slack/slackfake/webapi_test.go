package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	slackapi "github.com/slack-go/slack"
)

// clock is a test clock the fake reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newFake(t *testing.T, opts ...Option) (*Fake, *slackapi.Client) {
	t.Helper()
	f := New(opts...)
	t.Cleanup(f.Close)
	f.AddUser("U1", "ana")
	f.AddUser("U2", "ben")
	return f, slackapi.New(f.BotToken, slackapi.OptionAPIURL(f.URL()))
}

func slackErr(t *testing.T, err error, want string) {
	t.Helper()
	var se slackapi.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != want {
		t.Fatalf("error = %v, want Slack error %q", err, want)
	}
}

func buttonsBlock(values ...string) slackapi.MsgOption {
	var els []slackapi.BlockElement
	for _, v := range values {
		els = append(els, slackapi.NewButtonBlockElement("firebreak/decide", v, slackapi.NewTextBlockObject("plain_text", v, false, false)))
	}
	return slackapi.MsgOptionBlocks(slackapi.NewActionBlock("prompt", els...))
}

func TestAuth(t *testing.T) {
	f, api := newFake(t)
	at, err := api.AuthTest()
	if err != nil || at.UserID != BotUserID || at.TeamID != TeamID || at.BotID != BotID {
		t.Fatalf("auth.test = %+v, %v", at, err)
	}
	_, err = slackapi.New("xoxb-wrong", slackapi.OptionAPIURL(f.URL())).AuthTest()
	slackErr(t, err, "invalid_auth")
	_, err = slackapi.New("", slackapi.OptionAPIURL(f.URL())).AuthTest()
	slackErr(t, err, "not_authed")
	_, err = slackapi.New(f.AppToken, slackapi.OptionAPIURL(f.URL())).AuthTest()
	slackErr(t, err, "not_allowed_token_type")
	_, _, err = slackapi.New(f.BotToken, slackapi.OptionAPIURL(f.URL()), slackapi.OptionAppLevelToken(f.BotToken)).StartSocketModeContext(context.Background())
	slackErr(t, err, "not_allowed_token_type")

	resp, err := http.Post(f.URL()+"chat.nonsense", "application/x-www-form-urlencoded", strings.NewReader("token="+f.BotToken))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"error":"unknown_method","ok":false}` {
		t.Fatalf("unknown method answered %s", body)
	}
}

func TestConversations(t *testing.T) {
	f, api := newFake(t)
	ch, err := api.CreateConversation(slackapi.CreateConversationParams{ChannelName: "inc-42", IsPrivate: true})
	if err != nil || !ch.IsPrivate || ch.Name != "inc-42" {
		t.Fatalf("create = %+v, %v", ch, err)
	}
	_, err = api.CreateConversation(slackapi.CreateConversationParams{ChannelName: "inc-42"})
	slackErr(t, err, "name_taken")
	for name, code := range map[string]string{"": "invalid_name_required", "Inc 42": "invalid_name_specials",
		strings.Repeat("a", 81): "invalid_name_maxlength", "--": "invalid_name_punctuation"} {
		_, err = api.CreateConversation(slackapi.CreateConversationParams{ChannelName: name})
		slackErr(t, err, code)
	}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		if _, err := api.CreateConversation(slackapi.CreateConversationParams{ChannelName: n}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		chs, next, err := api.GetConversations(&slackapi.GetConversationsParameters{Limit: 2, Cursor: cursor, Types: []string{"public_channel", "private_channel"}})
		if err != nil || pages > 5 {
			t.Fatalf("list: %v after %d pages", err, pages)
		}
		for _, c := range chs {
			names = append(names, c.Name)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if strings.Join(names, ",") != "inc-42,a,b,c,d,e" {
		t.Fatalf("listed %v", names)
	}
	if chs, _, _ := api.GetConversations(&slackapi.GetConversationsParameters{}); len(chs) != 5 {
		t.Fatalf("public channels only by default, got %d", len(chs))
	}
	_, _, err = api.GetConversations(&slackapi.GetConversationsParameters{Cursor: "garbage"})
	slackErr(t, err, "invalid_cursor")

	if _, err := api.InviteUsersToConversation(ch.ID, "U1", "U2"); err != nil {
		t.Fatal(err)
	}
	_, err = api.InviteUsersToConversation(ch.ID, "U1")
	slackErr(t, err, "already_in_channel")
	_, err = api.InviteUsersToConversation(ch.ID, "U9")
	slackErr(t, err, "user_not_found")
	if _, err := api.SetTopicOfConversation(ch.ID, "Incident 42: OT segment"); err != nil {
		t.Fatal(err)
	}
	info, err := api.GetConversationInfo(&slackapi.GetConversationInfoInput{ChannelID: ch.ID})
	if err != nil || info.Topic.Value != "Incident 42: OT segment" || info.NumMembers != 3 {
		t.Fatalf("info = %+v, %v", info, err)
	}
	_, err = api.GetConversationInfo(&slackapi.GetConversationInfoInput{ChannelID: "C404"})
	slackErr(t, err, "channel_not_found")

	dm, _, already, err := api.OpenConversation(&slackapi.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || already || !strings.HasPrefix(dm.ID, "D") {
		t.Fatalf("open = %+v %v %v", dm, already, err)
	}
	dm2, _, already, err := api.OpenConversation(&slackapi.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || !already || dm2.ID != dm.ID {
		t.Fatalf("reopen = %+v %v %v", dm2, already, err)
	}
	if _, _, err := api.PostMessage(dm.ID, slackapi.MsgOptionText("page", false)); err != nil {
		t.Fatal(err)
	}
	if got := f.Messages(dm.ID); len(got) != 1 || got[0].Text != "page" {
		t.Fatalf("DM holds %+v", got)
	}
	f.SetUsergroup("S1", "U1", "U2")
	if m, err := api.GetUserGroupMembers("S1"); err != nil || strings.Join(m, ",") != "U1,U2" {
		t.Fatalf("usergroup = %v, %v", m, err)
	}
	_, err = api.GetUserGroupMembers("S404")
	slackErr(t, err, "no_such_subteam")
	if u, err := api.GetUserInfo("U2"); err != nil || u.Name != "ben" {
		t.Fatalf("user = %+v, %v", u, err)
	}
	_, err = api.GetUserInfo("U404")
	slackErr(t, err, "user_not_found")
}

func TestMessages(t *testing.T) {
	clk := &clock{t: time.Unix(1733058000, 0)}
	f, api := newFake(t, WithClock(clk.now))
	ch := f.AddChannel("inc-7", false, "U1")
	md := slackapi.SlackMetadata{EventType: "firebreak_message", EventPayload: map[string]any{"key": "inc-7/status"}}
	var tss []string
	for i, text := range []string{"one", "two", "three"} {
		_, ts, err := api.PostMessage("#inc-7", slackapi.MsgOptionText(text, false), buttonsBlock("a", "b"), slackapi.MsgOptionMetadata(md))
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
		if len(tss) > 0 && ts <= tss[len(tss)-1] {
			t.Fatalf("timestamps not increasing: %s after %s", ts, tss[len(tss)-1])
		}
		tss = append(tss, ts)
		clk.add(time.Second)
	}
	_, _, err := api.PostMessage(ch, slackapi.MsgOptionText("", false))
	slackErr(t, err, "no_text")
	_, _, err = api.PostMessage(ch, slackapi.MsgOptionText(strings.Repeat("x", 40001), false))
	slackErr(t, err, "msg_too_long")
	_, _, err = api.PostMessage("C404", slackapi.MsgOptionText("x", false))
	slackErr(t, err, "channel_not_found")

	h, err := api.GetConversationHistory(&slackapi.GetConversationHistoryParameters{ChannelID: ch, Limit: 2, IncludeAllMetadata: true})
	if err != nil || len(h.Messages) != 2 || !h.HasMore || h.Messages[0].Text != "three" || h.Messages[0].Metadata.EventType != "firebreak_message" {
		t.Fatalf("history page 1 = %+v, %v", h, err)
	}
	if h.Messages[0].Metadata.EventPayload["key"] != "inc-7/status" || len(h.Messages[0].Blocks.BlockSet) != 1 {
		t.Fatalf("history lost metadata or blocks: %+v", h.Messages[0])
	}
	h2, err := api.GetConversationHistory(&slackapi.GetConversationHistoryParameters{ChannelID: ch, Limit: 2, Cursor: h.ResponseMetaData.NextCursor})
	if err != nil || len(h2.Messages) != 1 || h2.Messages[0].Text != "one" || h2.HasMore || h2.Messages[0].Metadata.EventType != "" {
		t.Fatalf("history page 2 = %+v, %v", h2, err)
	}
	h3, err := api.GetConversationHistory(&slackapi.GetConversationHistoryParameters{ChannelID: ch, Oldest: tss[0], Latest: tss[2]})
	if err != nil || len(h3.Messages) != 1 || h3.Messages[0].Timestamp != tss[1] {
		t.Fatalf("history between = %+v, %v", h3, err)
	}

	_, _, _, err = api.UpdateMessage(ch, tss[0], slackapi.MsgOptionText("one, answered", false), slackapi.MsgOptionBlocks())
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := f.Message(ch, tss[0]); m.Text != "one, answered" || m.Blocks != nil || m.Edits != 1 || m.Metadata == nil {
		t.Fatalf("updated message = %+v", m)
	}
	_, _, _, err = api.UpdateMessage(ch, "1.000001", slackapi.MsgOptionText("x", false))
	slackErr(t, err, "message_not_found")

	if _, err := api.PostEphemeral(ch, "U1", slackapi.MsgOptionText("you are not on the roster", false)); err != nil {
		t.Fatal(err)
	}
	_, err = api.PostEphemeral(ch, "U2", slackapi.MsgOptionText("x", false))
	slackErr(t, err, "user_not_in_channel")
	if e := f.Ephemerals("U1"); len(e) != 1 || e[0].Text != "you are not on the roster" || e[0].Channel != ch {
		t.Fatalf("ephemerals = %+v", e)
	}

	if err := api.AddPin(ch, slackapi.NewRefToMessage(ch, tss[1])); err != nil {
		t.Fatal(err)
	}
	slackErr(t, api.AddPin(ch, slackapi.NewRefToMessage(ch, tss[1])), "already_pinned")
	items, _, err := api.ListPins(ch)
	if err != nil || len(items) != 1 || items[0].Message == nil || items[0].Message.Timestamp != tss[1] {
		t.Fatalf("pins = %+v, %v", items, err)
	}
	if p := f.Pins(ch); len(p) != 1 || p[0].TS != tss[1] {
		t.Fatalf("Pins = %+v", p)
	}
	if n := len(f.Calls("chat.postMessage")); n != 6 {
		t.Fatalf("%d chat.postMessage calls recorded, want 6", n)
	}
}

func TestRateLimit(t *testing.T) {
	clk := &clock{t: time.Unix(1733058000, 0)}
	f, api := newFake(t, WithClock(clk.now))
	ch := f.AddChannel("inc-1", false)
	other := f.AddChannel("inc-2", false)
	if _, _, err := api.PostMessage(ch, slackapi.MsgOptionText("1", false)); err != nil {
		t.Fatal(err)
	}
	_, _, err := api.PostMessage(ch, slackapi.MsgOptionText("2", false))
	var rl *slackapi.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("second post in a second: %v, want RateLimitedError of 1s", err)
	}
	if _, _, err := api.PostMessage(other, slackapi.MsgOptionText("1", false)); err != nil {
		t.Fatalf("the limit is per channel: %v", err)
	}
	clk.add(time.Second)
	if _, _, err := api.PostMessage(ch, slackapi.MsgOptionText("2", false)); err != nil {
		t.Fatal(err)
	}
	if f.RateLimited() != 1 || len(f.Messages(ch)) != 2 {
		t.Fatalf("RateLimited = %d, messages %d", f.RateLimited(), len(f.Messages(ch)))
	}

	g, gapi := newFake(t, WithClock(clk.now), WithPostRate(4))
	gch := g.AddChannel("fast", false)
	gapi.PostMessage(gch, slackapi.MsgOptionText("1", false))
	clk.add(250 * time.Millisecond)
	if _, _, err := gapi.PostMessage(gch, slackapi.MsgOptionText("2", false)); err != nil {
		t.Fatalf("4 per second allows a post every 250ms: %v", err)
	}
}

func TestFaults(t *testing.T) {
	f, api := newFake(t, WithPostRate(1e6))
	ch := f.AddChannel("inc-3", false)
	f.Fail("chat.postMessage", 1, Fault{Status: 429, RetryAfter: 7})
	f.Fail("chat.postMessage", 1, Fault{Status: 503})
	f.Fail("chat.postMessage", 1, Fault{Drop: true})
	f.Fail("chat.postMessage", 1, Fault{Status: 500, AfterApply: true})
	f.Fail("chat.postMessage", 1, Fault{Drop: true, AfterApply: true})

	_, _, err := api.PostMessage(ch, slackapi.MsgOptionText("x", false))
	var rl *slackapi.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Fatalf("injected 429: %v", err)
	}
	_, _, err = api.PostMessage(ch, slackapi.MsgOptionText("x", false))
	var sc slackapi.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 503 {
		t.Fatalf("injected 503: %v", err)
	}
	if _, _, err = api.PostMessage(ch, slackapi.MsgOptionText("x", false)); err == nil {
		t.Fatal("a dropped connection gave no error")
	}
	if n := len(f.Messages(ch)); n != 0 {
		t.Fatalf("faults before applying stored %d messages", n)
	}
	if _, _, err = api.PostMessage(ch, slackapi.MsgOptionText("applied", false)); !errors.As(err, &sc) || sc.Code != 500 {
		t.Fatalf("500 after applying: %v", err)
	}
	if _, _, err = api.PostMessage(ch, slackapi.MsgOptionText("applied too", false)); err == nil {
		t.Fatal("a dropped connection after applying gave no error")
	}
	if m := f.Messages(ch); len(m) != 2 || m[0].Text != "applied" || m[1].Text != "applied too" {
		t.Fatalf("faults after applying stored %+v", m)
	}
	if _, _, err = api.PostMessage(ch, slackapi.MsgOptionText("fine", false)); err != nil {
		t.Fatal(err)
	}
	if f.RateLimited() != 1 {
		t.Fatalf("RateLimited = %d", f.RateLimited())
	}
}

func TestViewsOpenTrigger(t *testing.T) {
	clk := &clock{t: time.Unix(1733058000, 0)}
	f, api := newFake(t, WithClock(clk.now))
	ch := f.AddChannel("inc-5", false, "U1")
	_, ts, err := api.PostMessage(ch, slackapi.MsgOptionText("deny?", false), buttonsBlock("deny"))
	if err != nil {
		t.Fatal(err)
	}
	modal := slackapi.ModalViewRequest{Type: slackapi.VTModal, CallbackID: "firebreak/deny", PrivateMetadata: `{"i":"inc-5","s":"s"}`,
		Title: slackapi.NewTextBlockObject("plain_text", "Deny", false, false),
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{slackapi.NewInputBlock("reason", slackapi.NewTextBlockObject("plain_text", "Reason", false, false), nil,
			slackapi.NewPlainTextInputBlockElement(nil, "reason"))}}}
	click, err := f.Click("U1", ch, ts, "firebreak/decide", "deny")
	if err != nil {
		t.Fatal(err)
	}
	v, err := api.OpenView(click.TriggerID, modal)
	if err != nil || !strings.HasPrefix(v.View.ID, "V") || v.View.CallbackID != "firebreak/deny" {
		t.Fatalf("views.open = %+v, %v", v, err)
	}
	_, err = api.OpenView(click.TriggerID, modal)
	slackErr(t, err, "expired_trigger_id")
	_, err = api.OpenView("12345.98765.abcdef", modal)
	slackErr(t, err, "invalid_trigger_id")
	late, _ := f.Click("U1", ch, ts, "firebreak/decide", "deny")
	clk.add(3*time.Second + time.Millisecond)
	_, err = api.OpenView(late.TriggerID, modal)
	slackErr(t, err, "expired_trigger_id")
	if vs := f.Views(); len(vs) != 1 || vs[0].User != "U1" || vs[0].PrivateMetadata != `{"i":"inc-5","s":"s"}` {
		t.Fatalf("views = %+v", vs)
	}

	if _, err := f.Submit("U1", v.View.ID, map[string]map[string]string{"reason": {"wrong": "x"}}); err == nil {
		t.Fatal("submitting a value for an input the view lacks was accepted")
	}
	if _, err := f.Submit("U2", v.View.ID, map[string]map[string]string{"reason": {"reason": "x"}}); err == nil {
		t.Fatal("another user submitted the view")
	}
	sub, err := f.Submit("U1", v.View.ID, map[string]map[string]string{"reason": {"reason": "pump 3 is running"}})
	if err != nil {
		t.Fatal(err)
	}
	var ic slackapi.InteractionCallback
	if err := json.Unmarshal(sub.Payload, &ic); err != nil {
		t.Fatal(err)
	}
	if ic.Type != slackapi.InteractionTypeViewSubmission || ic.User.ID != "U1" || ic.View.PrivateMetadata != `{"i":"inc-5","s":"s"}` ||
		ic.View.State.Values["reason"]["reason"].Value != "pump 3 is running" || ic.View.CallbackID != "firebreak/deny" {
		t.Fatalf("view_submission = %+v", ic)
	}
	if _, err := f.Submit("U1", v.View.ID, map[string]map[string]string{"reason": {"reason": "again"}}); err == nil {
		t.Fatal("a view was submitted twice")
	}
}

func TestWait(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("inc-9", false)
	go api.PostMessage(ch, slackapi.MsgOptionText("later", false))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Wait(ctx, func(s *Snapshot) bool { return len(s.Messages(ch)) == 1 }); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := f.Wait(short, func(s *Snapshot) bool { return len(s.Messages(ch)) == 2 }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context = %v", err)
	}
}

func TestHostileInput(t *testing.T) {
	f, api := newFake(t)
	ch := f.AddChannel("inc-66", false)
	post := func(ctype, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(f.URL()+"chat.postMessage", ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("answer to %.40q is not JSON: %v", body, err)
		}
		return out
	}
	form := "application/x-www-form-urlencoded"
	for body, code := range map[string]string{
		"token=" + f.BotToken + "&channel=" + ch + "&blocks=%5B%7B%22x%22%3A1%7D%5D":                  "invalid_blocks",
		"token=" + f.BotToken + "&channel=" + ch + "&blocks=%7Bnot+json":                              "invalid_blocks",
		"token=" + f.BotToken + "&channel=" + ch + "&text=x&metadata=%7B%22event_type%22%3A%22%22%7D": "invalid_metadata_format",
		"token=" + f.BotToken + "&channel=" + ch + "&text=" + strings.Repeat("x", maxBody):            "invalid_form_data",
		"token=" + f.BotToken + "&channel=%00%1b[2J&text=x":                                           "channel_not_found",
		"%zz": "invalid_form_data",
	} {
		if out := post(form, body); out["error"] != code {
			t.Errorf("%.60q answered %v, want %s", body, out, code)
		}
	}
	if out := post("application/json", `["not","an","object"]`); out["error"] != "invalid_form_data" {
		t.Errorf("a JSON array answered %v", out)
	}
	_, err := api.GetConversationHistory(&slackapi.GetConversationHistoryParameters{ChannelID: ch, Oldest: "yesterday"})
	slackErr(t, err, "invalid_ts_oldest")
	if n := len(f.Messages(ch)); n != 0 {
		t.Fatalf("hostile posts stored %d messages", n)
	}

	// A raw Socket Mode client: the hello is Slack's, garbage is ignored.
	sm := slackapi.New("", slackapi.OptionAPIURL(f.URL()), slackapi.OptionAppLevelToken(f.AppToken))
	_, wsURL, err := sm.StartSocketModeContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var hello struct {
		Type           string `json:"type"`
		NumConnections int    `json:"num_connections"`
		ConnectionInfo struct {
			AppID string `json:"app_id"`
		} `json:"connection_info"`
	}
	if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" || hello.NumConnections != 1 || hello.ConnectionInfo.AppID != AppID {
		t.Fatalf("hello = %+v, %v", hello, err)
	}
	for _, frame := range []string{"", "{", `{"envelope_id":7}`, `{"envelope_id":"nobody"}`} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	id := f.Push(EnvelopeEventsAPI, json.RawMessage(`{"type":"event_callback"}`), false)
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	if err := ws.ReadJSON(&env); err != nil || env.EnvelopeID != id || env.Type != EnvelopeEventsAPI {
		t.Fatalf("envelope = %+v, %v", env, err)
	}
	ws.WriteJSON(map[string]string{"envelope_id": id})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.WaitAck(ctx, id); err != nil {
		t.Fatal(err)
	}
	if acks := f.Acks(); len(acks) != 2 || acks[0].EnvelopeID != "nobody" || acks[1].Payload != nil {
		t.Fatalf("acks = %+v", acks)
	}
	if _, _, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil {
		t.Fatal("a Socket Mode URL was used twice")
	}
}
