package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

// stubReceiver records what the gateway hands it and answers as told.
type stubReceiver struct {
	mu       sync.Mutex
	answers  []Answer
	commands []Command
	reply    AnswerReply
	err      error
	cmdReply CommandReply
	cmdErr   error
}

func (s *stubReceiver) Answer(_ context.Context, a Answer) (AnswerReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, a)
	return s.reply, s.err
}

func (s *stubReceiver) Command(_ context.Context, c Command) (CommandReply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands = append(s.commands, c)
	return s.cmdReply, s.cmdErr
}

func (s *stubReceiver) got() ([]Answer, []Command) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Answer(nil), s.answers...), append([]Command(nil), s.commands...)
}

// apiCall is one Web API call the fake received.
type apiCall struct {
	Method string
	Form   url.Values
	JSON   map[string]any
}

// fakeAPI is the part of Slack's Web API and response URLs the gateway
// uses, recording each call.
type fakeAPI struct {
	mu      sync.Mutex
	calls   []apiCall
	hooks   []map[string]any
	history []map[string]any
	srv     *httptest.Server
	ws      http.HandlerFunc
	open    func() (int, string) // apps.connections.open
	views   int
	limit   map[string]int // 429s still to answer, by method
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.URL.Path == "/ws":
		f.ws(w, r)
		return
	case r.URL.Path == "/hooks/redirect":
		http.Redirect(w, r, "/hooks/elsewhere", http.StatusTemporaryRedirect)
		return
	case strings.HasPrefix(r.URL.Path, "/hooks/"):
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		f.mu.Lock()
		f.hooks = append(f.hooks, m)
		f.mu.Unlock()
		return
	}
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	c := apiCall{Method: method}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(body, &c.JSON)
	} else {
		c.Form, _ = url.ParseQuery(string(body))
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	limited := f.limit[method] > 0
	if limited {
		f.limit[method]--
	}
	f.mu.Unlock()
	if limited {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "views.open":
		f.mu.Lock()
		f.views++
		id := fmt.Sprintf("V%03d", f.views)
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "view": map[string]any{"id": id}})
	case "chat.update":
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": c.Form.Get("ts")})
	case "chat.postEphemeral":
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "message_ts": "1700000009.000001"})
	case "conversations.history":
		f.mu.Lock()
		msgs := f.history
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "messages": msgs})
	case "apps.connections.open":
		status, errName := http.StatusOK, ""
		if f.open != nil {
			status, errName = f.open()
		}
		if errName != "" {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": errName})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws"})
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (f *fakeAPI) callsOf(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeAPI) allCalls() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

func (f *fakeAPI) hookPosts() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.hooks...)
}

// testClock is the fixed time of a test, close to the real one so
// slack-go's own five-minute check passes.
var testClock = time.Now().UTC().Truncate(time.Second)

type testEnv struct {
	g    *Gateway
	h    http.Handler
	api  *fakeAPI
	recv *stubReceiver
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	api := newFakeAPI(t)
	recv := &stubReceiver{}
	g, err := NewGateway(GatewayConfig{
		API:           slackapi.New("xoxb-test", slackapi.OptionAPIURL(api.srv.URL+"/api/")),
		APIURL:        api.srv.URL + "/api/",
		Receiver:      recv,
		SigningSecret: testSecret,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:           func() time.Time { return testClock },
		ReconnectMin:  time.Millisecond,
		ReconnectMax:  5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{g: g, h: g.Handler(), api: api, recv: recv}
}

// sign is Slack's v0 signature of body at ts, computed here independently.
func sign(secret string, ts int64, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%d:%s", ts, body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// post sends body to path signed at the test clock, with extra headers,
// and returns the response after the work it started is done.
func (e *testEnv) post(t testing.TB, path, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	ts := testClock.Unix()
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("X-Slack-Signature", sign(testSecret, ts, body))
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Set(hdr[i], hdr[i+1])
	}
	return e.send(t, http.MethodPost, path, h, body)
}

func (e *testEnv) send(t testing.TB, method, path string, h http.Header, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header = h
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	e.g.Wait()
	return rec
}

// plainJSON is s re-encoded without HTML escapes, for reading.
func plainJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.String()
}

func mustRef(t testing.TB, r Ref) string {
	t.Helper()
	s, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// clickPayload is a block_actions payload in the shape Slack documents,
// for a click on actionID carrying value, in channel.
func clickPayload(actionID, value, channel, trigger string) map[string]any {
	ts := "1700000000.000100"
	return map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": "U0ALICE", "username": "alice", "name": "alice", "team_id": "T0PLANT"},
		"api_app_id":   "A0FIRE",
		"token":        "legacy",
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"trigger_id":   trigger,
		"team":         map[string]any{"id": "T0PLANT", "domain": "plant"},
		"channel":      map[string]any{"id": channel, "name": "inc-1"},
		"response_url": "https://hooks.slack.com/actions/T0PLANT/1/abc",
		"message": map[string]any{
			"type": "message", "ts": ts, "text": "Approve isolation of zone cell-3?",
			"blocks": []any{
				map[string]any{"type": "section", "block_id": "q", "text": map[string]any{"type": "mrkdwn", "text": "Approve isolation of *cell-3*?"}},
				map[string]any{"type": "actions", "block_id": "a", "elements": []any{
					map[string]any{"type": "button", "action_id": actionID, "text": map[string]any{"type": "plain_text", "text": "Go"}, "value": value},
				}},
			},
		},
		"actions": []any{map[string]any{
			"type": "button", "action_id": actionID, "block_id": "a", "value": value,
			"text": map[string]any{"type": "plain_text", "text": "Go"}, "action_ts": "1700000001.000200",
		}},
	}
}

// submitPayload is a view_submission payload for a reason modal.
func submitPayload(callbackID, viewID, meta, reason, trigger string) map[string]any {
	return map[string]any{
		"type":       "view_submission",
		"team":       map[string]any{"id": "T0PLANT", "domain": "plant"},
		"user":       map[string]any{"id": "U0ALICE", "username": "alice", "name": "alice", "team_id": "T0PLANT"},
		"api_app_id": "A0FIRE",
		"trigger_id": trigger,
		"view": map[string]any{
			"id": viewID, "type": "modal", "callback_id": callbackID, "private_metadata": meta, "hash": "1.abc",
			"state": map[string]any{"values": map[string]any{
				ReasonBlock: map[string]any{ReasonAction: map[string]any{"type": "plain_text_input", "value": reason}},
			}},
		},
		"response_urls": []any{},
	}
}

func form(t testing.TB, payload map[string]any) string {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(b)}}.Encode()
}

func TestNewGatewayRefusesEmptySecret(t *testing.T) {
	for _, secret := range []string{"", "  "} {
		_, err := NewGateway(GatewayConfig{API: slackapi.New("x"), Receiver: &stubReceiver{}, SigningSecret: secret})
		if err == nil || !strings.Contains(err.Error(), "signing secret") {
			t.Errorf("NewGateway with secret %q: %v; want a signing secret error", secret, err)
		}
	}
}

func TestClickGoesToTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		action, update string
		ref            Ref
	}{
		{ActionAck, "ack", Ref{Incident: "INC-1", Step: "page.soc", Round: 1}},
		{ActionApprove, "approve", Ref{Incident: "INC-1", Step: "approve.isolate", Round: 2}},
		{ActionDecide, "decide", Ref{Incident: "INC-1", Step: "decide.scope", Option: "cell-3 only"}},
		{ActionDone, "done", Ref{Incident: "INC-2", Step: "task.badge"}},
	} {
		t.Run(tc.update, func(t *testing.T) {
			e := newTestEnv(t)
			e.recv.reply = AnswerReply{Person: "alice", Name: "Alice <Ops>"}
			rec := e.post(t, PathInteractions, form(t, clickPayload(tc.action, mustRef(t, tc.ref), "C0INC", "trig-1")))
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
				t.Fatalf("ack = %d %q; want an empty 200", rec.Code, rec.Body)
			}
			answers, _ := e.recv.got()
			want := Answer{Update: tc.update, Ref: tc.ref, UserID: "U0ALICE", UserName: "alice", TeamID: "T0PLANT", Transport: TransportHTTP}
			if len(answers) != 1 || answers[0] != want {
				t.Fatalf("answers = %+v; want %+v", answers, want)
			}
			ups := e.api.callsOf("chat.update")
			if len(ups) != 1 {
				t.Fatalf("chat.update calls = %d; want 1", len(ups))
			}
			u := ups[0].Form
			if u.Get("channel") != "C0INC" || u.Get("ts") != "1700000000.000100" {
				t.Errorf("chat.update of %s/%s; want C0INC/1700000000.000100", u.Get("channel"), u.Get("ts"))
			}
			blocks := plainJSON(u.Get("blocks"))
			if strings.Contains(blocks, `"actions"`) {
				t.Errorf("the answered message kept its buttons: %s", blocks)
			}
			when := testClock.Format("2006-01-02 15:04 UTC")
			if !strings.Contains(blocks, "Alice &lt;Ops&gt;") || !strings.Contains(blocks, when) || !strings.Contains(blocks, "cell-3") {
				t.Errorf("the answered message does not say who (escaped) and when (%s): %s", when, blocks)
			}
			if n := len(e.api.callsOf("chat.postEphemeral")); n != 0 {
				t.Errorf("an accepted click sent %d ephemerals", n)
			}
		})
	}
}

func TestOpenStepKeepsChannelButtons(t *testing.T) {
	for _, tc := range []struct {
		channel string
		keep    bool
	}{{"C0INC", true}, {"D0ALICE", false}} {
		e := newTestEnv(t)
		e.recv.reply = AnswerReply{Person: "alice", Name: "Alice", StepOpen: true}
		e.post(t, PathInteractions, form(t, clickPayload(ActionApprove, mustRef(t, Ref{Incident: "I", Step: "s"}), tc.channel, "t")))
		ups := e.api.callsOf("chat.update")
		if len(ups) != 1 {
			t.Fatalf("%s: chat.update calls = %d", tc.channel, len(ups))
		}
		blocks := ups[0].Form.Get("blocks")
		if got := strings.Contains(blocks, `"actions"`); got != tc.keep {
			t.Errorf("%s: buttons kept = %v; want %v (%s)", tc.channel, got, tc.keep, blocks)
		}
		if !strings.Contains(blocks, "Approved by *Alice*") {
			t.Errorf("%s: no answered line: %s", tc.channel, blocks)
		}
	}
}

func TestRefusalIsEphemeral(t *testing.T) {
	e := newTestEnv(t)
	e.recv.err = fmt.Errorf("update: %w", &Refused{Code: "NotAuthorised", Message: "alice is not on the <!channel> roster"})
	e.post(t, PathInteractions, form(t, clickPayload(ActionApprove, mustRef(t, Ref{Incident: "INC-9", Step: "approve.isolate"}), "C0INC", "t")))
	if n := len(e.api.callsOf("chat.update")); n != 0 {
		t.Errorf("a refused click changed the message (%d updates)", n)
	}
	eph := e.api.callsOf("chat.postEphemeral")
	if len(eph) != 1 {
		t.Fatalf("ephemerals = %d; want 1", len(eph))
	}
	f := eph[0].Form
	if f.Get("channel") != "C0INC" || f.Get("user") != "U0ALICE" {
		t.Errorf("ephemeral to %s in %s", f.Get("user"), f.Get("channel"))
	}
	if txt := f.Get("text"); !strings.Contains(txt, "approval for *approve.isolate* of *INC-9* was refused") ||
		!strings.Contains(txt, "&lt;!channel&gt;") || strings.Contains(txt, "<!channel>") {
		t.Errorf("ephemeral text = %q", txt)
	}
}

func TestReceiverFailureHidesInternals(t *testing.T) {
	e := newTestEnv(t)
	e.recv.err = errors.New("dial tcp 10.0.0.7:7233: connection refused")
	e.post(t, PathInteractions, form(t, clickPayload(ActionDone, mustRef(t, Ref{Incident: "I", Step: "s"}), "C0INC", "t")))
	eph := e.api.callsOf("chat.postEphemeral")
	if len(eph) != 1 || strings.Contains(eph[0].Form.Get("text"), "10.0.0.7") || !strings.Contains(eph[0].Form.Get("text"), "try again") {
		t.Fatalf("ephemerals = %+v", eph)
	}
	if n := len(e.api.callsOf("chat.update")); n != 0 {
		t.Errorf("a failed answer changed the message")
	}
}

func TestDenyOpensModalThenSubmissionAnswers(t *testing.T) {
	for _, action := range []string{ActionDeny, ActionBreakGlass} {
		t.Run(AnswerOf(action), func(t *testing.T) {
			e := newTestEnv(t)
			e.recv.reply = AnswerReply{Person: "alice", Name: "Alice"}
			ref := Ref{Incident: "INC-3", Step: "approve.isolate", Round: 1}
			rec := e.post(t, PathInteractions, form(t, clickPayload(action, mustRef(t, ref), "C0INC", "trig-deny")))
			if rec.Code != http.StatusOK {
				t.Fatalf("ack = %d", rec.Code)
			}
			if answers, _ := e.recv.got(); len(answers) != 0 {
				t.Fatalf("the click answered before the reason: %+v", answers)
			}
			calls := e.api.allCalls()
			if len(calls) != 1 || calls[0].Method != "views.open" {
				t.Fatalf("calls = %+v; want views.open first and only", calls)
			}
			if calls[0].JSON["trigger_id"] != "trig-deny" {
				t.Errorf("views.open trigger = %v", calls[0].JSON["trigger_id"])
			}
			view, _ := calls[0].JSON["view"].(map[string]any)
			if view["callback_id"] != action {
				t.Errorf("callback_id = %v; want %s", view["callback_id"], action)
			}
			vb, _ := json.Marshal(view)
			if !strings.Contains(string(vb), `"max_length":2000`) || !strings.Contains(string(vb), `"block_id":"reason"`) {
				t.Errorf("the modal lacks the bounded reason input: %s", vb)
			}
			if action == ActionBreakGlass && !strings.Contains(string(vb), "reviewed after the incident") {
				t.Errorf("the break-glass modal does not say it is reviewed: %s", vb)
			}
			meta, _ := view["private_metadata"].(string)
			gotRef, origin, err := decodeModalMeta(meta)
			if err != nil || gotRef != ref || origin.Channel != "C0INC" || origin.TS != "1700000000.000100" {
				t.Fatalf("metadata %q = %+v %+v %v", meta, gotRef, origin, err)
			}

			rec = e.post(t, PathInteractions, form(t, submitPayload(action, "V001", meta, "  pump P-101 is running  ", "trig-sub")))
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
				t.Fatalf("submission ack = %d %q", rec.Code, rec.Body)
			}
			answers, _ := e.recv.got()
			want := Answer{Update: AnswerOf(action), Ref: ref, Reason: "pump P-101 is running", UserID: "U0ALICE", UserName: "alice", TeamID: "T0PLANT", Transport: TransportHTTP}
			if len(answers) != 1 || answers[0] != want {
				t.Fatalf("answers = %+v; want %+v", answers, want)
			}
			ups := e.api.callsOf("chat.update")
			if len(ups) != 1 || ups[0].Form.Get("channel") != "C0INC" {
				t.Fatalf("chat.update calls = %+v", ups)
			}
			if b := ups[0].Form.Get("blocks"); !strings.Contains(b, "cell-3") || strings.Contains(b, `"actions"`) || !strings.Contains(b, "pump P-101 is running") {
				t.Errorf("updated blocks = %s", b)
			}
		})
	}
}

func TestSubmissionWithoutRememberedModalReadsTheMessage(t *testing.T) {
	e := newTestEnv(t)
	e.api.history = []map[string]any{{"type": "message", "ts": "1700000000.000100", "text": "prompt",
		"blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "from history"}}}}}
	ref := mustRef(t, Ref{Incident: "I", Step: "s"})
	meta := `{"ref":` + ref + `,"c":"C0INC","t":"1700000000.000100"}`
	e.post(t, PathInteractions, form(t, submitPayload(ActionDeny, "V999", meta, "no", "t")))
	ups := e.api.callsOf("chat.update")
	if len(ups) != 1 || !strings.Contains(ups[0].Form.Get("blocks"), "from history") {
		t.Fatalf("chat.update = %+v", ups)
	}
}

func TestEmptyReasonAnsweredWithErrors(t *testing.T) {
	e := newTestEnv(t)
	meta := `{"ref":` + mustRef(t, Ref{Incident: "I", Step: "s"}) + `,"c":"C0INC","t":"1700000000.000100"}`
	for _, reason := range []string{"", " \n\t ", strings.Repeat("x", MaxReason+1)} {
		rec := e.post(t, PathInteractions, form(t, submitPayload(ActionDeny, "V1", meta, reason, "t-"+strconv.Itoa(len(reason)))))
		var got viewErrorsResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.ResponseAction != "errors" || got.Errors[ReasonBlock] == "" {
			t.Errorf("reason %.10q: ack = %d %s", reason, rec.Code, rec.Body)
		}
	}
	if answers, _ := e.recv.got(); len(answers) != 0 {
		t.Errorf("an empty reason answered: %+v", answers)
	}
	if calls := e.api.allCalls(); len(calls) != 0 {
		t.Errorf("an empty reason called Slack: %+v", calls)
	}
}

func TestForeignButtonsDropped(t *testing.T) {
	good := mustRef(t, Ref{Incident: "I", Step: "s"})
	noUser := clickPayload(ActionApprove, good, "C0INC", "t3")
	delete(noUser, "user")
	badMeta := submitPayload(ActionDeny, "V1", `{"ref":{"i":"I"},"c":"C0INC","t":"1.2"}`, "why", "t5")
	badChannel := submitPayload(ActionDeny, "V1", `{"ref":`+good+`,"c":"<!here>","t":"1.2"}`, "why", "t6")
	for name, tc := range map[string]struct {
		payload   map[string]any
		ephemeral bool
	}{
		"unknown action":    {clickPayload("firebreak/cancel", good, "C0INC", "t1"), true},
		"bad ref":           {clickPayload(ActionApprove, `{"i":"I","s":"s","x":1}`, "C0INC", "t2"), true},
		"decide, no option": {clickPayload(ActionDecide, good, "C0INC", "t7"), true},
		"no user":           {noUser, false},
		"foreign modal":     {submitPayload("other/modal", "V1", `{}`, "why", "t4"), false},
		"bad metadata":      {badMeta, false},
		"bad channel":       {badChannel, false},
	} {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t)
			rec := e.post(t, PathInteractions, form(t, tc.payload))
			if rec.Code != http.StatusOK {
				t.Errorf("ack = %d", rec.Code)
			}
			if answers, _ := e.recv.got(); len(answers) != 0 {
				t.Errorf("dispatched: %+v", answers)
			}
			calls := e.api.allCalls()
			if tc.ephemeral && (len(calls) != 1 || calls[0].Method != "chat.postEphemeral") {
				t.Errorf("calls = %+v; want one ephemeral", calls)
			}
			if !tc.ephemeral && len(calls) != 0 {
				t.Errorf("calls = %+v; want none", calls)
			}
		})
	}
}

func TestExpiringCacheIsBounded(t *testing.T) {
	now := testClock
	c := newExpiring[int](3, time.Minute, func() time.Time { return now })
	for i := range 10 {
		c.put(strconv.Itoa(i), i)
	}
	if c.len() != 3 || !c.has("9") || c.has("0") {
		t.Errorf("len %d, has 9 %v, has 0 %v", c.len(), c.has("9"), c.has("0"))
	}
	now = now.Add(time.Minute)
	if c.has("9") {
		t.Error("an entry outlived its expiry")
	}
	c.put("x", 1)
	if c.len() != 1 {
		t.Errorf("expired entries kept: len %d", c.len())
	}
}

func TestReasonModalNeutralisesOnce(t *testing.T) {
	m := reasonModal(ActionBreakGlass, Ref{Incident: "I&1", Step: "<!channel> *now*"}, "{}")
	b, _ := json.Marshal(m)
	s := plainJSON(string(b))
	if !strings.Contains(s, "&lt;!channel&gt; *now*") || !strings.Contains(s, "I&amp;1") || strings.Contains(s, "&amp;lt;") || strings.Contains(s, "<!channel>") {
		t.Errorf("modal text = %s", s)
	}
	if m.Title.Text != "Break glass" || len([]rune(m.Title.Text)) > MaxModalTitle {
		t.Errorf("title = %q", m.Title.Text)
	}
}

func TestSettledBlocksStayWithinSlacksLimit(t *testing.T) {
	blocks := []slackapi.Block{
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, "prompt", false, false), nil, nil),
		slackapi.NewActionBlock("a", slackapi.NewButtonBlockElement(ActionApprove, "{}", slackapi.NewTextBlockObject(slackapi.PlainTextType, "Approve", false, false))),
	}
	for i := range 60 {
		blocks = settledBlocks(blocks, "answer "+strconv.Itoa(i), true)
	}
	if len(blocks) != maxMessageBlocks {
		t.Fatalf("%d blocks; want Slack's limit, %d", len(blocks), maxMessageBlocks)
	}
	if blocks[0].BlockType() != slackapi.MBTSection || blocks[1].BlockType() != slackapi.MBTAction {
		t.Errorf("the prompt or its buttons were dropped: %v %v", blocks[0].BlockType(), blocks[1].BlockType())
	}
	last, _ := blocks[len(blocks)-1].(*slackapi.ContextBlock)
	if last == nil || last.ContextElements.Elements[0].(*slackapi.TextBlockObject).Text != "answer 59" {
		t.Errorf("the newest line is not last: %+v", blocks[len(blocks)-1])
	}
	ids := map[string]bool{}
	for _, b := range blocks {
		if c, ok := b.(*slackapi.ContextBlock); ok {
			if ids[c.BlockID] {
				t.Errorf("block ID %s twice", c.BlockID)
			}
			ids[c.BlockID] = true
		}
	}
}

func TestRateLimitedUpdateRetried(t *testing.T) {
	e := newTestEnv(t)
	e.recv.reply = AnswerReply{Person: "alice"}
	e.api.limit = map[string]int{"chat.update": 2}
	e.post(t, PathInteractions, form(t, clickPayload(ActionAck, mustRef(t, Ref{Incident: "I", Step: "s"}), "C0INC", "t")))
	if n := len(e.api.callsOf("chat.update")); n != 3 {
		t.Errorf("chat.update calls = %d; want 2 refused and 1 answered", n)
	}
	e = newTestEnv(t)
	e.recv.err = &Refused{Code: "Duplicate", Message: "already answered"}
	e.api.limit = map[string]int{"chat.postEphemeral": maxRateLimitedTries}
	e.post(t, PathInteractions, form(t, clickPayload(ActionAck, mustRef(t, Ref{Incident: "I", Step: "s"}), "C0INC", "t")))
	if n := len(e.api.callsOf("chat.postEphemeral")); n != maxRateLimitedTries {
		t.Errorf("chat.postEphemeral calls = %d; want %d, then give up", n, maxRateLimitedTries)
	}
}
