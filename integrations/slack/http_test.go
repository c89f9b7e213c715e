package slack

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHTTPRefusesUnverified(t *testing.T) {
	body := form(t, clickPayload(ActionApprove, `{"i":"I","s":"s"}`, "C0INC", "t"))
	now := testClock.Unix()
	headers := func(ts int64, sig string) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		h.Set("X-Slack-Signature", sig)
		return h
	}
	huge := "payload=" + strings.Repeat("a", MaxRequestBody)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		h      http.Header
		body   string
		status int
	}{
		{"forged signature", "POST", PathInteractions, headers(now, sign("another secret", now, body)), body, 401},
		{"body changed", "POST", PathInteractions, headers(now, sign(testSecret, now, body)), body + "&x=1", 401},
		{"stale timestamp", "POST", PathInteractions, headers(now-6*60, sign(testSecret, now-6*60, body)), body, 401},
		{"future timestamp", "POST", PathInteractions, headers(now+6*60, sign(testSecret, now+6*60, body)), body, 401},
		{"no headers", "POST", PathInteractions, http.Header{}, body, 401},
		{"no signature", "POST", PathInteractions, headers(now, ""), body, 401},
		{"not hex", "POST", PathInteractions, headers(now, "v0=zz"), body, 401},
		{"wrong version", "POST", PathInteractions, headers(now, strings.Replace(sign(testSecret, now, body), "v0=", "v1=", 1)), body, 401},
		{"timestamp not a number", "POST", PathCommands, http.Header{"X-Slack-Request-Timestamp": {"soon"}, "X-Slack-Signature": {sign(testSecret, now, body)}}, body, 401},
		{"GET", "GET", PathInteractions, headers(now, sign(testSecret, now, "")), "", 405},
		{"PUT", "PUT", PathCommands, headers(now, sign(testSecret, now, body)), body, 405},
		{"huge body", "POST", PathInteractions, headers(now, sign(testSecret, now, huge)), huge, 413},
		{"events forged", "POST", PathEvents, headers(now, sign("x", now, `{"type":"url_verification","challenge":"c"}`)), `{"type":"url_verification","challenge":"c"}`, 401},
		{"unknown path", "POST", "/slack/other", headers(now, sign(testSecret, now, body)), body, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			rec := e.send(t, tc.method, tc.path, tc.h, tc.body)
			if rec.Code != tc.status {
				t.Errorf("status = %d; want %d", rec.Code, tc.status)
			}
			answers, commands := e.recv.got()
			if len(answers)+len(commands) != 0 || len(e.api.allCalls()) != 0 {
				t.Errorf("dispatched: %+v %+v %+v", answers, commands, e.api.allCalls())
			}
		})
	}
}

func TestSignedButNotAnInteraction(t *testing.T) {
	e := newTestEnv(t)
	for _, body := range []string{"", "payload=", "payload=%7B", "a=%zz", "payload=" + strings.Repeat("%5B", 1000)} {
		if rec := e.post(t, PathInteractions, body); rec.Code != http.StatusBadRequest {
			t.Errorf("%.20q: status %d; want 400", body, rec.Code)
		}
	}
}

func TestRetriedDeliveryHandledOnce(t *testing.T) {
	e := newTestEnv(t)
	e.recv.reply = AnswerReply{Person: "alice"}
	body := form(t, clickPayload(ActionApprove, mustRef(t, Ref{Incident: "I", Step: "s"}), "C0INC", "trig-9"))
	e.post(t, PathInteractions, body)
	rec := e.post(t, PathInteractions, body, "X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout")
	if rec.Code != http.StatusOK {
		t.Errorf("retry status = %d", rec.Code)
	}
	// A different click on the same button is a new answer.
	e.post(t, PathInteractions, form(t, clickPayload(ActionApprove, mustRef(t, Ref{Incident: "I", Step: "s"}), "C0INC", "trig-10")))
	if answers, _ := e.recv.got(); len(answers) != 2 {
		t.Errorf("answers = %d; want 2 (the retry dropped)", len(answers))
	}
}

func TestEventsURLVerification(t *testing.T) {
	e := newTestEnv(t)
	rec := e.post(t, PathEvents, `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`, "Content-Type", "application/json")
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got["challenge"] != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("challenge answer = %d %s", rec.Code, rec.Body)
	}
	rec = e.post(t, PathEvents, `{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention"}}`, "Content-Type", "application/json")
	if rec.Code != http.StatusOK {
		t.Errorf("event ack = %d", rec.Code)
	}
}

func TestSignatureWindowUsesTheClock(t *testing.T) {
	e := newTestEnv(t)
	e.g.now = func() time.Time { return testClock.Add(10 * time.Minute) }
	rec := e.post(t, PathEvents, `{"type":"url_verification","challenge":"c"}`)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status = %d; want 401 when the clock is 10 minutes on", rec.Code)
	}
}

func FuzzInteractionPayload(f *testing.F) {
	f.Add(`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"firebreak/approve","value":"{\"i\":\"I\",\"s\":\"s\"}"}]}`)
	f.Add(`{"type":"view_submission","user":{"id":"U1"},"view":{"id":"V","callback_id":"firebreak/deny","private_metadata":"{\"ref\":{\"i\":\"I\",\"s\":\"s\"},\"c\":\"C1\",\"t\":\"1.2\"}","state":{"values":{"reason":{"reason":{"value":"x"}}}}}}`)
	f.Add(`{"type":"block_actions","actions":[null],"message":{"blocks":[{"type":"rich_text"}]}}`)
	f.Add(`[]`)
	e := newTestEnv(f)
	f.Fuzz(func(t *testing.T, payload string) {
		body := url.Values{"payload": {payload}}.Encode()
		cb, err := parseInteraction([]byte(body))
		if err != nil {
			return
		}
		// The whole path, signed, must not panic and must answer 200 or 400.
		if rec := e.post(t, PathInteractions, body); rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d", rec.Code)
		}
		_ = interactionKey(cb)
		_ = clickOrigin(cb)
		_ = reasonOf(cb.View)
		if ref, w, err := decodeModalMeta(cb.View.PrivateMetadata); err == nil {
			if ref.Incident == "" || ref.Step == "" || !w.ok() {
				t.Fatalf("decodeModalMeta accepted %+v %+v", ref, w)
			}
		}
		for _, a := range cb.ActionCallback.BlockActions {
			if a != nil {
				_, _ = DecodeRef(a.Value)
			}
		}
		_ = settledBlocks(cb.Message.Blocks.BlockSet, "line", false)
	})
}

func TestSSLCheckAnsweredWithoutDispatch(t *testing.T) {
	e := newTestEnv(t)
	rec := e.send(t, http.MethodPost, PathCommands, http.Header{}, "ssl_check=1&token=legacy")
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("ssl_check = %d %q", rec.Code, rec.Body)
	}
	// A command that claims to be a check too is verified like any other.
	rec = e.send(t, http.MethodPost, PathCommands, http.Header{}, commandForm("list", "https://hooks.slack.com/c")+"&ssl_check=1")
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("unsigned command with ssl_check = %d; want 401", rec.Code)
	}
	if _, cmds := e.recv.got(); len(cmds) != 0 || len(e.api.allCalls()) != 0 {
		t.Errorf("an ssl_check dispatched: %+v", cmds)
	}
}

// BenchmarkInteractionAck measures how long a signed click takes to be
// acknowledged over HTTP (Slack allows 3 s), reporting p50 and p99.
func BenchmarkInteractionAck(b *testing.B) {
	e := newTestEnv(b)
	e.recv.reply = AnswerReply{Person: "alice"}
	ref := mustRef(b, Ref{Incident: "INC-1", Step: "approve.isolate"})
	ts := strconv.FormatInt(testClock.Unix(), 10)
	bodies := make([]string, b.N)
	for i := range bodies {
		bodies[i] = form(b, clickPayload(ActionApprove, ref, "C0INC", "trig-"+strconv.Itoa(i)))
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, PathInteractions, strings.NewReader(bodies[i]))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sign(testSecret, testClock.Unix(), bodies[i]))
		rec := httptest.NewRecorder()
		start := time.Now()
		e.h.ServeHTTP(rec, req)
		lat = append(lat, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.StopTimer()
	e.g.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
