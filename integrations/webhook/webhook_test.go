package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/firebreak-ir/firebreak/activities"
)

const secret = "hm4c-S3CRET-value-0123456789abcdef"

// seen is one request the fake received.
type seen struct {
	header http.Header
	body   []byte
	sigOK  bool
}

// answer is one response the fake gives.
type answer struct {
	status int
	header map[string]string
	body   string
}

// fake is a webhook receiver that verifies each request's signature the
// way docs/webhooks.md tells receivers to, and answers from a script (200
// {"ok":true} once it runs out).
type fake struct {
	mu      sync.Mutex
	script  []answer
	got     []seen
	clockTS func() int64
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	// Computed here independently of Sign.
	m := hmac.New(sha256.New, []byte(secret))
	mode := "live"
	if r.Header.Get("X-Firebreak-Exercise") == "true" {
		mode = "exercise"
	}
	m.Write([]byte("v1:" + r.Header.Get("X-Firebreak-Timestamp") + ":" + r.Header.Get("Idempotency-Key") + ":" + mode + ":"))
	m.Write(body)
	want := "v1=" + hex.EncodeToString(m.Sum(nil))
	ok := hmac.Equal([]byte(want), []byte(r.Header.Get("X-Firebreak-Signature"))) &&
		r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/json"
	if f.clockTS != nil {
		ts, err := strconv.ParseInt(r.Header.Get("X-Firebreak-Timestamp"), 10, 64)
		ok = ok && err == nil && ts == f.clockTS()
	}
	f.mu.Lock()
	f.got = append(f.got, seen{header: r.Header.Clone(), body: body, sigOK: ok})
	a := answer{status: 200, body: `{"ok":true}`}
	if len(f.script) > 0 {
		a, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	if !ok {
		a = answer{status: 401, body: "bad signature"}
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.got...)
}

// clock is a fake clock that moves only when the client sleeps.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

type rig struct {
	c     *Client
	f     *fake
	srv   *httptest.Server
	clock *clock
	logs  *bytes.Buffer
}

func newRig(t *testing.T, script ...answer) *rig {
	t.Helper()
	return newRigWith(t, func(*Config) {}, script...)
}

func newRigWith(t *testing.T, edit func(*Config), script ...answer) *rig {
	t.Helper()
	r := &rig{f: &fake{script: script}, clock: &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	r.f.clockTS = func() int64 { return r.clock.now().Unix() }
	r.srv = httptest.NewServer(r.f)
	t.Cleanup(r.srv.Close)
	cfg := Config{ID: "webhook.fw", URL: r.srv.URL + "/api/block", Secret: secret, Timeout: 5 * time.Second,
		Now: r.clock.now, Sleep: r.clock.sleep, Logger: slog.New(slog.NewTextHandler(r.logs, nil))}
	edit(&cfg)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	return r
}

// clean fails the test when err or the logs show the secret.
func (r *rig) clean(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the secret: %v", err)
	}
	if strings.Contains(r.logs.String(), secret) {
		t.Errorf("the logs show the secret:\n%s", r.logs)
	}
}

func post(r *rig, body any) (activities.WebhookResponse, error) {
	return r.c.Send(context.Background(), activities.WebhookRequest{Key: "inc-7/block_vpn", Integration: "webhook.fw", Body: body})
}

func TestSendSignedRequest(t *testing.T) {
	r := newRig(t)
	resp, err := post(r, map[string]any{"block": "203.0.113.9", "n": 3})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || resp.Body != `{"ok":true}` || resp.Simulated {
		t.Errorf("response = %+v", resp)
	}
	got := r.f.requests()
	if len(got) != 1 || !got[0].sigOK {
		t.Fatalf("requests = %+v; want one with a valid signature", got)
	}
	h := got[0].header
	if string(got[0].body) != `{"block":"203.0.113.9","n":3}` {
		t.Errorf("body = %s", got[0].body)
	}
	sum := sha256.Sum256([]byte("inc-7/block_vpn"))
	if want := "fb1-" + hex.EncodeToString(sum[:16]); h.Get("Idempotency-Key") != want {
		t.Errorf("Idempotency-Key = %q, want %q", h.Get("Idempotency-Key"), want)
	}
	if h.Get("User-Agent") != UserAgent || h.Get("X-Firebreak-Exercise") != "" {
		t.Errorf("headers = %v", h)
	}
	if strings.Contains(h.Get("Idempotency-Key"), "inc-7") {
		t.Error("the idempotency key shows the incident ID")
	}
	r.clean(t, err)
}

func TestSendNilBodyAndExercise(t *testing.T) {
	r := newRig(t)
	if _, err := r.c.Send(context.Background(), activities.WebhookRequest{Key: "k", Integration: "webhook.fw", Exercise: true}); err != nil {
		t.Fatal(err)
	}
	got := r.f.requests()
	if len(got) != 1 || string(got[0].body) != "{}" || got[0].header.Get("X-Firebreak-Exercise") != "true" || !got[0].sigOK {
		t.Fatalf("requests = %+v", got)
	}
}

func TestSignatureCoversModeKeyAndBody(t *testing.T) {
	base := Sign([]byte(secret), "100", "fb1-a", "live", []byte(`{}`))
	for name, s := range map[string]string{
		"timestamp": Sign([]byte(secret), "101", "fb1-a", "live", []byte(`{}`)),
		"key":       Sign([]byte(secret), "100", "fb1-b", "live", []byte(`{}`)),
		"mode":      Sign([]byte(secret), "100", "fb1-a", "exercise", []byte(`{}`)),
		"body":      Sign([]byte(secret), "100", "fb1-a", "live", []byte(`{ }`)),
		"secret":    Sign([]byte(secret+"x"), "100", "fb1-a", "live", []byte(`{}`)),
	} {
		if s == base {
			t.Errorf("changing the %s does not change the signature", name)
		}
	}
}

func TestRetriesKeepKeyAndResign(t *testing.T) {
	r := newRig(t, answer{status: 503, body: "down"}, answer{status: 500}, answer{status: 408}, answer{status: 429})
	if _, err := post(r, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	got := r.f.requests()
	if len(got) != 5 {
		t.Fatalf("%d requests, want 5", len(got))
	}
	tss := map[string]bool{}
	for i, g := range got {
		if !g.sigOK {
			t.Errorf("request %d: signature does not verify (or its timestamp is not the clock's)", i)
		}
		if g.header.Get("Idempotency-Key") != got[0].header.Get("Idempotency-Key") {
			t.Errorf("request %d: idempotency key changed on retry", i)
		}
		tss[g.header.Get("X-Firebreak-Timestamp")] = true
	}
	if len(tss) < 2 {
		t.Errorf("every retry carries the same timestamp; retries must be signed afresh")
	}
	if len(r.clock.sleeps) != 4 {
		t.Fatalf("sleeps = %v", r.clock.sleeps)
	}
	for i, d := range r.clock.sleeps {
		hi := min(baseDelay<<i, maxDelay)
		if d < hi/2 || d > hi {
			t.Errorf("sleep %d = %s, want within [%s, %s]", i, d, hi/2, hi)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	date := time.Date(2026, 12, 1, 12, 0, 42, 0, time.UTC).Format(http.TimeFormat)
	r := newRig(t,
		answer{status: 429, header: map[string]string{"Retry-After": "7"}},
		answer{status: 429, header: map[string]string{"Retry-After": date}},
		answer{status: 429, header: map[string]string{"Retry-After": "soon"}})
	if _, err := post(r, nil); err != nil {
		t.Fatal(err)
	}
	// 7 s, then until 12:00:42 (the clock reads 12:00:07), then an
	// unreadable Retry-After falls back to the backoff of attempt 3.
	if s := r.clock.sleeps; len(s) != 3 || s[0] != 7*time.Second || s[1] != 35*time.Second || s[2] < baseDelay*2 || s[2] > baseDelay*4 {
		t.Fatalf("sleeps = %v, want [7s 35s 1s-2s]", s)
	}
	if n := len(r.f.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}

	// A 503 that says when to come back is honoured too.
	r = newRig(t, answer{status: 503, header: map[string]string{"Retry-After": "4"}})
	if _, err := post(r, nil); err != nil {
		t.Fatal(err)
	}
	if s := r.clock.sleeps; len(s) != 1 || s[0] != 4*time.Second {
		t.Errorf("sleeps = %v; want [4s]", s)
	}

	// A long Retry-After is capped.
	r = newRig(t, answer{status: 429, header: map[string]string{"Retry-After": "3600"}})
	if _, err := post(r, nil); err != nil {
		t.Fatal(err)
	}
	if s := r.clock.sleeps; len(s) != 1 || s[0] != DefaultMaxRetryAfter {
		t.Errorf("sleeps = %v; want one capped at %s", s, DefaultMaxRetryAfter)
	}

	// A wait past the retry budget ends the call with a retryable error.
	r = newRigWith(t, func(c *Config) { c.RetryFor = 30 * time.Second }, answer{status: 429, header: map[string]string{"Retry-After": "45"}})
	_, err := post(r, nil)
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("err = %v; want a retryable 429 error past the budget", err)
	}
	if len(r.clock.sleeps) != 0 || len(r.f.requests()) != 1 {
		t.Errorf("sleeps = %v, requests = %d; want none and 1", r.clock.sleeps, len(r.f.requests()))
	}
}

func TestGivesUpRetryable(t *testing.T) {
	var script []answer
	for range 20 {
		script = append(script, answer{status: 502, body: "bad gateway"})
	}
	r := newRig(t, script...)
	_, err := post(r, nil)
	if err == nil || errors.Is(err, activities.ErrPermanent) {
		t.Fatalf("err = %v; want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("err = %v", err)
	}
	var total time.Duration
	for _, d := range r.clock.sleeps {
		total += d
	}
	if total > DefaultRetryFor || len(r.f.requests()) > maxAttempts {
		t.Errorf("retried for %s over %d requests; want at most %s and %d", total, len(r.f.requests()), DefaultRetryFor, maxAttempts)
	}
	r.clean(t, err)
}

func TestDeadlineEndsRetries(t *testing.T) {
	r := newRig(t, answer{status: 503}, answer{status: 503})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(100*time.Millisecond))
	defer cancel()
	_, err := r.c.Send(ctx, activities.WebhookRequest{Key: "k", Integration: "webhook.fw"})
	// The first backoff (250-500 ms) would pass the deadline.
	if err == nil || !strings.Contains(err.Error(), "deadline") || len(r.clock.sleeps) != 0 {
		t.Fatalf("err = %v, sleeps = %v", err, r.clock.sleeps)
	}
}

func TestCancelEndsRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := newRig(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cancel() // the worker stops while the request is in flight
		w.WriteHeader(503)
	}))
	defer srv.Close()
	c := must(New(Config{ID: "webhook.fw", URL: srv.URL, Secret: secret, Now: r.clock.now, Sleep: r.clock.sleep}))
	_, err := c.Send(ctx, activities.WebhookRequest{Key: "k", Integration: "webhook.fw"})
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "gave up after 1 attempts") {
		t.Fatalf("err = %v; want a retryable error after one attempt", err)
	}
	if len(r.clock.sleeps) != 0 {
		t.Errorf("slept %v after the context ended", r.clock.sleeps)
	}
}

func TestClientErrorsPermanent(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409, 422} {
		r := newRig(t, answer{status: code, body: "nope: " + secret + "\x1b[31m"})
		_, err := post(r, nil)
		if !errors.Is(err, activities.ErrPermanent) {
			t.Errorf("%d: err = %v; want ErrPermanent", code, err)
		}
		if n := len(r.f.requests()); n != 1 {
			t.Errorf("%d: %d requests; a client error must not be retried", code, n)
		}
		if err != nil && (strings.Contains(err.Error(), "\x1b") || !strings.Contains(err.Error(), strconv.Itoa(code))) {
			t.Errorf("%d: err = %q", code, err)
		}
		r.clean(t, err)
	}
}

func TestRedirectRefused(t *testing.T) {
	elsewhere := &fake{}
	other := httptest.NewServer(elsewhere)
	defer other.Close()
	for _, code := range []int{301, 302, 307, 308} {
		r := newRig(t, answer{status: code, header: map[string]string{"Location": other.URL + "/steal"}})
		_, err := post(r, map[string]string{"a": "b"})
		if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "redirect") {
			t.Errorf("%d: err = %v; want a permanent redirect error", code, err)
		}
		if strings.Contains(err.Error(), "/steal") {
			t.Errorf("%d: the error repeats the Location: %v", code, err)
		}
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

func TestResponseCut(t *testing.T) {
	big := strings.Repeat("é", MaxResponseBody) // two bytes each: the cut lands mid-rune
	r := newRig(t, answer{status: 200, body: "x" + big})
	resp, err := post(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Body) > MaxResponseBody || len(resp.Body) < MaxResponseBody-utf8.UTFMax || !utf8.ValidString(resp.Body) {
		t.Errorf("body is %d bytes, valid UTF-8 %v; want at most %d, valid", len(resp.Body), utf8.ValidString(resp.Body), MaxResponseBody)
	}
	if strings.ContainsRune(resp.Body, utf8.RuneError) {
		t.Error("the cut left a broken rune")
	}
}

func TestHostileResponse(t *testing.T) {
	r := newRig(t, answer{status: 200, body: "\xff\xfe ok \x00"})
	resp, err := post(r, nil)
	if err != nil || !utf8.ValidString(resp.Body) {
		t.Fatalf("resp = %q, err = %v", resp.Body, err)
	}
	hostile := answer{status: 500, body: strings.Repeat("\u202e\x07", 5000) + "tail"}
	r = newRig(t, hostile, hostile, hostile, hostile, hostile, hostile, hostile, hostile)
	r.c = must(New(Config{ID: "webhook.fw", URL: r.srv.URL, Secret: secret, Now: r.clock.now, Sleep: r.clock.sleep, RetryFor: time.Second}))
	_, err = post(r, nil)
	if err == nil || len(err.Error()) > 1200 || strings.ContainsAny(err.Error(), "\a\u202e") {
		t.Errorf("err = %q", err)
	}
}

func TestHostileRequest(t *testing.T) {
	r := newRig(t)
	_, err := post(r, map[string]any{"f": func() {}})
	if !errors.Is(err, activities.ErrPermanent) {
		t.Errorf("unencodable body: err = %v", err)
	}
	_, err = post(r, strings.Repeat("a", MaxRequestBody))
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("huge body: err = %v", err)
	}
	_, err = r.c.Send(context.Background(), activities.WebhookRequest{Key: "k", Integration: "webhook.other\x1b[2J"})
	if !errors.Is(err, activities.ErrPermanent) || strings.Contains(err.Error(), "\x1b") || !strings.Contains(err.Error(), "webhook.fw") {
		t.Errorf("unknown integration: err = %q", err)
	}
	if n := len(r.f.requests()); n != 0 {
		t.Errorf("%d requests sent for refused input", n)
	}
}

func TestNetworkErrorsRetriedAndScrubbed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ck := &clock{t: time.Unix(1e9, 0)}
	for _, tc := range []struct {
		name, env string
		hidden    []string
	}{
		{"literal url", "", []string{secret, "tok3n-in-query", "pa55word"}},
		{"url from env", "EDR_URL", []string{secret, "tok3n-in-query", "pa55word", addr}},
	} {
		var logs bytes.Buffer
		c := must(New(Config{ID: "webhook.edr", URL: "http://ops:pa55word@" + addr + "/hook?token=tok3n-in-query", URLFromEnv: tc.env,
			Secret: secret, Now: ck.now, Sleep: ck.sleep, Logger: slog.New(slog.NewTextHandler(&logs, nil))}))
		_, err := c.Contain(context.Background(), activities.ContainRequest{Key: "k", Integration: "webhook.edr", Host: "ws-1"})
		if err == nil || errors.Is(err, activities.ErrPermanent) {
			t.Fatalf("%s: err = %v; want a retryable error", tc.name, err)
		}
		for _, h := range tc.hidden {
			if strings.Contains(err.Error(), h) || strings.Contains(logs.String(), h) {
				t.Errorf("%s: %q shows in the error or the logs: %v\n%s", tc.name, h, err, logs.String())
			}
		}
		if tc.env != "" && !strings.Contains(err.Error(), "$EDR_URL") {
			t.Errorf("%s: err = %v; want it to name the variable", tc.name, err)
		}
	}
}

func TestTimeoutPerAttempt(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	ck := &clock{t: time.Unix(1e9, 0)}
	c := must(New(Config{ID: "webhook.fw", URL: slow.URL, Secret: secret, Timeout: 20 * time.Millisecond, Now: ck.now, Sleep: ck.sleep}))
	_, err := c.Send(context.Background(), activities.WebhookRequest{Key: "k", Integration: "webhook.fw"})
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v; want a retryable timeout", err)
	}
	if len(ck.sleeps) == 0 {
		t.Error("a timed-out attempt was not retried")
	}
}

func TestContain(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   bool
	}{
		{`{"contained":true}`, true},
		{`{"status":"contained"}`, true},
		{`{"status":"CONTAINED","id":"x"}`, true},
		{`{"contained":false,"status":"contained"}`, false},
		{`{"contained":"true"}`, false},
		{`{"status":"pending"}`, false},
		{`accepted`, false},
		{``, false},
		{`[true]`, false},
	} {
		r := newRig(t, answer{status: 202, body: tc.answer})
		resp, err := r.c.Contain(context.Background(), activities.ContainRequest{Key: "inc-7/contain", Integration: "webhook.fw",
			Host: "ws-0042.corp", IncidentID: "inc-7", Step: "contain"})
		if err != nil {
			t.Fatalf("%s: %v", tc.answer, err)
		}
		if resp.Contained != tc.want {
			t.Errorf("answer %s: contained = %v, want %v", tc.answer, resp.Contained, tc.want)
		}
		got := r.f.requests()
		var body map[string]any
		if len(got) != 1 || !got[0].sigOK || json.Unmarshal(got[0].body, &body) != nil {
			t.Fatalf("requests = %+v", got)
		}
		want := map[string]any{"action": "contain", "host": "ws-0042.corp", "incident": "inc-7", "step": "contain", "key": got[0].header.Get("Idempotency-Key")}
		if len(body) != len(want) {
			t.Errorf("body = %v, want %v", body, want)
		}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("body[%s] = %v, want %v", k, body[k], v)
			}
		}
	}
}

func TestContainRefusesBadHost(t *testing.T) {
	r := newRig(t)
	for _, h := range []string{"", "ws 1", "ws\n1", "a\x00", "\xff", strings.Repeat("h", MaxHost+1)} {
		_, err := r.c.Contain(context.Background(), activities.ContainRequest{Key: "k", Integration: "webhook.fw", Host: h})
		if !errors.Is(err, activities.ErrPermanent) || strings.ContainsAny(err.Error(), "\n\x00") {
			t.Errorf("host %q: err = %q; want a permanent error", h, err)
		}
	}
	if n := len(r.f.requests()); n != 0 {
		t.Errorf("%d requests sent for bad hosts", n)
	}
}

func TestContainErrors(t *testing.T) {
	r := newRig(t, answer{status: 404, body: "no such host"})
	_, err := r.c.Contain(context.Background(), activities.ContainRequest{Key: "k", Integration: "webhook.fw", Host: "ws-1"})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "no such host") {
		t.Errorf("err = %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no id", Config{URL: "https://edr.example", Secret: secret}, "integration ID"},
		{"no url", Config{ID: "webhook.x", Secret: secret}, "empty"},
		{"ftp", Config{ID: "webhook.x", URL: "ftp://edr.example/x", Secret: secret}, "http(s)"},
		{"relative", Config{ID: "webhook.x", URL: "/api", Secret: secret}, "absolute"},
		{"http to a remote host", Config{ID: "webhook.x", URL: "http://edr.example/x", Secret: secret}, "https"},
		{"http to a remote address", Config{ID: "webhook.x", URL: "http://10.1.2.3/x", Secret: secret}, "https"},
		{"no secret", Config{ID: "webhook.x", URL: "https://edr.example/x"}, "no secret"},
		{"short secret", Config{ID: "webhook.x", URL: "https://edr.example/x", Secret: "short"}, "at least"},
		{"negative timeout", Config{ID: "webhook.x", URL: "https://edr.example/x", Secret: secret, Timeout: -time.Second}, "timeout"},
		{"long timeout", Config{ID: "webhook.x", URL: "https://edr.example/x", Secret: secret, Timeout: time.Hour}, "timeout"},
		{"secret url not echoed", Config{ID: "webhook.x", URL: "gopher://tok3n@edr.example", URLFromEnv: "EDR_URL", Secret: secret}, "$EDR_URL"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want one saying %q", tc.name, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "tok3n") {
			t.Errorf("%s: the error shows a secret: %v", tc.name, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x", "https://edr.example/x"} {
		if _, err := New(Config{ID: "webhook.x", URL: u, Secret: secret}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	if d, err := ParseTimeout(""); err != nil || d != DefaultTimeout {
		t.Errorf("\"\" = %s, %v", d, err)
	}
	if d, err := ParseTimeout("1m30s"); err != nil || d != 90*time.Second {
		t.Errorf("1m30s = %s, %v", d, err)
	}
	for _, s := range []string{"10", "-1s", "0s", "1h", "ten\x1b seconds"} {
		if _, err := ParseTimeout(s); err == nil || strings.Contains(err.Error(), "\x1b") {
			t.Errorf("%q: err = %v", s, err)
		}
	}
}

func TestJoinRoutes(t *testing.T) {
	a, b := newRig(t), newRig(t)
	b.c = must(New(Config{ID: "webhook.edr", URL: b.srv.URL, Secret: secret, Now: b.clock.now, Sleep: b.clock.sleep}))
	c := a.c.Join(b.c)
	if got := strings.Join(c.IDs(), ","); got != "webhook.edr,webhook.fw" {
		t.Errorf("IDs = %s", got)
	}
	if _, err := c.Send(context.Background(), activities.WebhookRequest{Key: "k", Integration: "webhook.edr"}); err != nil {
		t.Fatal(err)
	}
	if len(a.f.requests()) != 0 || len(b.f.requests()) != 1 {
		t.Errorf("requests: fw %d, edr %d; want 0 and 1", len(a.f.requests()), len(b.f.requests()))
	}
}

func TestOverTLS(t *testing.T) {
	f := &fake{}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	c := must(New(Config{ID: "webhook.fw", URL: srv.URL, Secret: secret, HTTPClient: srv.Client()}))
	if _, err := c.Send(context.Background(), activities.WebhookRequest{Key: "k", Integration: "webhook.fw"}); err != nil {
		t.Fatal(err)
	}
	if got := f.requests(); len(got) != 1 || !got[0].sigOK {
		t.Errorf("requests = %+v", got)
	}
}

func must(c *Client, err error) *Client {
	if err != nil {
		panic(err)
	}
	return c
}

// TestResponseEchoScrubbed: a receiver that echoes the URL token and the
// secret back in a 200 answer has both replaced in the body returned (it
// goes into the incident's history), and the rest is kept.
func TestResponseEchoScrubbed(t *testing.T) {
	const token = "tok-3f9a1c77e0"
	r := newRigWith(t, func(c *Config) { c.URL += "?token=" + token; c.URLFromEnv = "FW_URL" },
		answer{status: 200, body: `{"seen":"/api/block?token=` + token + `","key":"` + secret + `","ok":true}`})
	resp, err := post(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.Body, token) || strings.Contains(resp.Body, secret) || !strings.Contains(resp.Body, `"ok":true`) {
		t.Errorf("body %q: want the token and the secret replaced and the rest kept", resp.Body)
	}
}

// TestPathTokenScrubbed: many webhook URLs carry their credential in the
// path (https://hooks.example/services/T0/B0/TOKEN). When the URL is a
// secret (read through env()), a receiver that echoes the path, whole or
// JSON-escaped, in an answer or a refusal does not put it into the
// step's output or error.
func TestPathTokenScrubbed(t *testing.T) {
	const token = "Xq7hT2mB9vLk4sW1pZ8c"
	path := "/services/T01/B02/" + token
	for name, echo := range map[string]string{
		"whole":        `{"seen":"` + path + `","ok":true}`,
		"json-escaped": `{"seen":"` + strings.ReplaceAll(path, "/", `\/`) + `","ok":true}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := newRigWith(t, func(c *Config) { c.URL = r0(c.URL) + path; c.URLFromEnv = "HOOK_URL" },
				answer{status: 200, body: echo}, answer{status: 403, body: echo})
			resp, err := post(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(resp.Body, token) || !strings.Contains(resp.Body, `"ok":true`) {
				t.Errorf("answer %q: want the path token replaced and the rest kept", resp.Body)
			}
			_, err = post(r, nil)
			if err == nil || strings.Contains(err.Error(), token) {
				t.Errorf("refusal: %v; want an error without the path token", err)
			}
		})
	}
}

// r0 strips the path newRigWith gives the URL.
func r0(u string) string { return strings.TrimSuffix(u, "/api/block") }
