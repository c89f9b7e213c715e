package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
)

// vclock is a virtual clock: Sleep moves it on at once, so pacing,
// Retry-After and backoff take no wall time. The fake Slack reads the
// same clock for its rate limit.
type vclock struct {
	mu sync.Mutex
	t  time.Time
}

func newVClock() *vclock { return &vclock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }

func (v *vclock) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.t
}

func (v *vclock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	v.t = v.t.Add(d)
	v.mu.Unlock()
	return nil
}

// rig is a fake Slack and a Chat against it, on one virtual clock.
type rig struct {
	f   *slackfake.Fake
	c   *Chat
	clk *vclock
	cfg Config
}

func resolver(m map[string][]string) func(string) ([]string, error) {
	return func(p string) ([]string, error) {
		if ids, ok := m[p]; ok {
			return ids, nil
		}
		return nil, fmt.Errorf("%s is not a person or roster of this worker", p)
	}
}

func newRig(t testing.TB, opts ...slackfake.Option) *rig {
	t.Helper()
	clk := newVClock()
	f := slackfake.New(append([]slackfake.Option{slackfake.WithClock(clk.Now)}, opts...)...)
	t.Cleanup(f.Close)
	for _, u := range []string{"U0ALICE", "U0BOB", "U0CAROL"} {
		f.AddUser(u, strings.ToLower(u[2:]))
	}
	cfg := Config{
		Token:  f.BotToken,
		APIURL: f.URL(),
		Resolve: resolver(map[string][]string{
			"person.alice":  {"U0ALICE"},
			"roster.safety": {"U0BOB", "U0CAROL", "U0ALICE"},
			"person.ghost":  {"U0GHOST"},
		}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    clk.Now,
		Sleep:  clk.Sleep,
	}
	r := &rig{f: f, clk: clk, cfg: cfg}
	r.c = r.fresh(t)
	return r
}

// fresh is another Chat on the same fake: a worker that restarted and
// remembers nothing.
func (r *rig) fresh(t testing.TB) *Chat {
	t.Helper()
	c, err := New(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func decodeBlocks(t testing.TB, raw json.RawMessage) []map[string]any {
	t.Helper()
	var b []map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("blocks %s: %v", raw, err)
		}
	}
	return b
}

// buttonsIn are the button elements of a message's actions blocks.
func buttonsIn(blocks []map[string]any) []map[string]any {
	var out []map[string]any
	for _, b := range blocks {
		if b["type"] != "actions" {
			continue
		}
		els, _ := b["elements"].([]any)
		for _, e := range els {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

func actionIDs(blocks []map[string]any) []string {
	var out []string
	for _, b := range buttonsIn(blocks) {
		out = append(out, fmt.Sprint(b["action_id"]))
	}
	return out
}

// allText is every text of a message's blocks, joined.
func allText(blocks []map[string]any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(blocks)
	return b.String()
}

func metadataKey(t testing.TB, m slackfake.Message) string {
	t.Helper()
	if m.Metadata == nil || m.Metadata.EventType != MetadataEventType {
		t.Fatalf("message %s has no firebreak metadata: %+v", m.TS, m.Metadata)
	}
	var p map[string]string
	if err := json.Unmarshal(m.Metadata.EventPayload, &p); err != nil {
		t.Fatal(err)
	}
	return p["key"]
}

func TestNewRefusesEmptyToken(t *testing.T) {
	for _, tok := range []string{"", "  "} {
		if _, err := New(Config{Token: tok}); err == nil || !strings.Contains(err.Error(), "bot token") {
			t.Errorf("New(%q) = %v, want an error about the bot token", tok, err)
		}
	}
	for _, rate := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := New(Config{Token: "xoxb-1", Rate: rate}); err == nil {
			t.Errorf("the rate %g was accepted", rate)
		}
	}
}

func TestOpenChannel(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	req := activities.OpenChannelRequest{
		Key: "INC-7/open/1", IncidentID: "INC-7", Name: "inc-7", Topic: "Pump station <!channel> down",
		Invite: []string{"person.alice", "roster.safety", "person.nobody", "person.ghost"},
	}
	resp, err := r.c.OpenChannel(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := r.f.Channel(resp.ChannelID)
	if !ok || resp.ChannelName != "inc-7" || !ch.Private || ch.Topic != req.Topic {
		t.Fatalf("channel %+v (found %v), response %+v", ch, ok, resp)
	}
	for _, u := range []string{"U0ALICE", "U0BOB", "U0CAROL"} {
		if !strings.Contains(strings.Join(ch.Members, ","), u) {
			t.Errorf("%s was not invited: members %v", u, ch.Members)
		}
	}
	msgs := r.f.Messages(resp.ChannelID)
	if len(msgs) != 1 || msgs[0].TS != resp.StatusTS || metadataKey(t, msgs[0]) != req.Key+"/status" {
		t.Fatalf("status message: %+v, response %+v", msgs, resp)
	}
	if !strings.Contains(allText(decodeBlocks(t, msgs[0].Blocks)), "Steps will appear here") {
		t.Errorf("status blocks: %s", msgs[0].Blocks)
	}
	if pins := r.f.Pins(resp.ChannelID); len(pins) != 1 || pins[0].TS != resp.StatusTS {
		t.Errorf("pins %+v", pins)
	}

	// The same key again, and a worker that remembers nothing: the same
	// room, one status message, one pin.
	again, err := r.c.OpenChannel(ctx, req)
	if err != nil || again != resp {
		t.Fatalf("again: %+v, %v; want %+v", again, err, resp)
	}
	other, err := r.fresh(t).OpenChannel(ctx, req)
	if err != nil || other.ChannelID != resp.ChannelID || other.StatusTS != resp.StatusTS {
		t.Fatalf("after a restart: %+v, %v; want %+v", other, err, resp)
	}
	if n := len(r.f.Messages(resp.ChannelID)); n != 1 {
		t.Errorf("%d messages after reopening, want 1", n)
	}
	if n := len(r.f.Pins(resp.ChannelID)); n != 1 {
		t.Errorf("%d pins after reopening, want 1", n)
	}
	if n := len(r.f.Calls("conversations.setTopic")); n != 1 {
		t.Errorf("the topic was set %d times; an unchanged topic is left alone", n)
	}
}

func TestOpenChannelExercisePublic(t *testing.T) {
	r := newRig(t)
	resp, err := r.c.OpenChannel(ctxT(t), activities.OpenChannelRequest{Key: "EX-1/open", Exercise: true, IncidentID: "EX-1", Name: "exercise-1", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := r.f.Channel(resp.ChannelID)
	if ch.Private || !strings.Contains(ch.Topic, "EXERCISE") {
		t.Errorf("channel %+v: want public, topic saying EXERCISE", ch)
	}
	m, _ := r.f.Message(resp.ChannelID, resp.StatusTS)
	if !strings.Contains(allText(decodeBlocks(t, m.Blocks)), "EXERCISE") || !strings.Contains(m.Text, "EXERCISE") {
		t.Errorf("status message does not say EXERCISE: %s / %s", m.Text, m.Blocks)
	}
}

func TestPostMessage(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	named := r.f.AddChannel("ops-bridge", false)
	room := r.f.AddChannel("inc-9", true)

	resp, err := r.c.PostMessage(ctx, activities.PostMessageRequest{Key: "k1", IncidentID: "INC-9", Channel: "#ops-bridge", Text: "to the bridge"})
	if err != nil || resp.ChannelID != named {
		t.Fatalf("by name: %+v, %v", resp, err)
	}
	resp, err = r.c.PostMessage(ctx, activities.PostMessageRequest{Key: "k2", IncidentID: "INC-9", Room: &activities.Room{ChannelID: room}, Text: "to the room"})
	if err != nil || resp.ChannelID != room {
		t.Fatalf("to the room: %+v, %v", resp, err)
	}
	m, _ := r.f.Message(room, resp.TS)
	if m.Text != "to the room" || metadataKey(t, m) != "k2" {
		t.Errorf("posted %+v", m)
	}
	// The same key again posts nothing.
	if again, err := r.c.PostMessage(ctx, activities.PostMessageRequest{Key: "k2", IncidentID: "INC-9", Room: &activities.Room{ChannelID: room}, Text: "to the room"}); err != nil || again != resp {
		t.Errorf("again: %+v, %v", again, err)
	}
	if n := len(r.f.Messages(room)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	_, err = r.c.PostMessage(ctx, activities.PostMessageRequest{Key: "k3", IncidentID: "INC-9", Text: "nowhere"})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "no incident channel was opened") {
		t.Errorf("no channel: %v", err)
	}
	_, err = r.c.PostMessage(ctx, activities.PostMessageRequest{Key: "k4", IncidentID: "INC-9", Channel: "no-such-room", Text: "x"})
	if !errors.Is(err, activities.ErrPermanent) {
		t.Errorf("unknown channel: %v", err)
	}
}

func TestGroupMembers(t *testing.T) {
	r := newRig(t)
	r.f.SetUsergroup("S0SAFETY", "U0BOB", "U0CAROL")
	r.f.SetUsergroup("S0EMPTY")
	got, err := r.c.GroupMembers(ctxT(t), activities.GroupRequest{Key: "g", Usergroup: "S0SAFETY"})
	if err != nil || strings.Join(got.Users, ",") != "U0BOB,U0CAROL" {
		t.Errorf("got %+v, %v", got, err)
	}
	got, err = r.c.GroupMembers(ctxT(t), activities.GroupRequest{Key: "g", Usergroup: "S0EMPTY"})
	if err != nil || got.Users == nil || len(got.Users) != 0 {
		t.Errorf("empty group: %+v, %v", got, err)
	}
	_, err = r.c.GroupMembers(ctxT(t), activities.GroupRequest{Key: "g", Usergroup: "S0NONE"})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "no_such_subteam") {
		t.Errorf("unknown group: %v", err)
	}
}

func TestOpenChannelRefusesARoomItDidNotMake(t *testing.T) {
	r := newRig(t)
	r.f.AddChannel("inc-11", false) // made "before"; the proxy says by someone else
	target, _ := url.Parse(r.f.URL())
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/conversations.list") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(`"creator":"`+slackfake.BotUserID+`"`), []byte(`"creator":"U0MALLORY"`))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	cfg := r.cfg
	cfg.APIURL = srv.URL + "/api/"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.OpenChannel(ctxT(t), activities.OpenChannelRequest{Key: "o", IncidentID: "INC-11", Name: "inc-11"})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "was not made by the app") {
		t.Errorf("a same-named room someone else made: %v", err)
	}
	if n := len(r.f.Calls("chat.postMessage")); n != 0 {
		t.Errorf("%d posts to a room someone else made", n)
	}
}

func TestSameKeyAtOnceIsOneMessage(t *testing.T) {
	r := newRig(t)
	room := r.f.AddChannel("inc-12", true)
	req := activities.PostMessageRequest{Key: "twice", IncidentID: "INC-12", Room: &activities.Room{ChannelID: room}, Text: "once"}
	var wg sync.WaitGroup
	refs := make([]activities.PostMessageResponse, 4)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if refs[i], err = r.c.PostMessage(ctxT(t), req); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(r.f.Messages(room)); n != 1 {
		t.Errorf("%d messages for one key", n)
	}
	for _, ref := range refs[1:] {
		if ref != refs[0] {
			t.Errorf("answers differ: %+v", refs)
		}
	}
	if _, err := r.c.PostMessage(ctxT(t), activities.PostMessageRequest{Room: req.Room, Text: "x"}); !errors.Is(err, activities.ErrPermanent) {
		t.Errorf("no key: %v", err)
	}
}

func TestOpenChannelThroughLostAnswers(t *testing.T) {
	r := newRig(t)
	// Slack creates the channel, pins the message and posts the status,
	// and each time the answer is lost.
	for _, m := range []string{"conversations.create", "pins.add", "chat.postMessage", "conversations.setTopic"} {
		r.f.Fail(m, 1, slackfake.Fault{Status: 500, AfterApply: true})
	}
	r.f.Fail("conversations.invite", 1, slackfake.Fault{Drop: true, AfterApply: true})
	resp, err := r.c.OpenChannel(ctxT(t), activities.OpenChannelRequest{Key: "INC-13/open", IncidentID: "INC-13", Name: "inc-13", Topic: "t", Invite: []string{"person.alice"}})
	if err != nil {
		t.Fatal(err)
	}
	// The resend finds the name taken and reuses the room it made.
	if calls := r.f.Calls("conversations.create"); len(calls) != 2 || calls[0].Status != 500 || calls[1].Error != "name_taken" {
		t.Errorf("conversations.create calls: %+v", calls)
	}
	if n := len(r.f.Messages(resp.ChannelID)); n != 1 {
		t.Errorf("%d status messages", n)
	}
	if pins := r.f.Pins(resp.ChannelID); len(pins) != 1 || pins[0].TS != resp.StatusTS {
		t.Errorf("pins %+v, status %s", pins, resp.StatusTS)
	}
	if ch, _ := r.f.Channel(resp.ChannelID); !slices.Contains(ch.Members, "U0ALICE") {
		t.Errorf("members %v", ch.Members)
	}
}
