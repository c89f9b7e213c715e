package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/internal/retry"
)

const key = "R0UT1NGKEYsecret0123456789abcdef"

// fake is an Events API v2 endpoint answering with the given statuses in
// turn (202 once they run out), each 429 with the next of retryAfter as its
// Retry-After header (none once they run out), and recording every body.
type fake struct {
	mu         sync.Mutex
	statuses   []int
	retryAfter []string
	bodies     []map[string]any
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	f.mu.Lock()
	f.bodies = append(f.bodies, m)
	status := http.StatusAccepted
	if len(f.statuses) > 0 {
		status, f.statuses = f.statuses[0], f.statuses[1:]
	}
	if status == http.StatusTooManyRequests && len(f.retryAfter) > 0 {
		w.Header().Set("Retry-After", f.retryAfter[0])
		f.retryAfter = f.retryAfter[1:]
	}
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		status = http.StatusMethodNotAllowed
	}
	w.WriteHeader(status)
	switch status {
	case http.StatusAccepted:
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": str(m["dedup_key"])})
	case http.StatusBadRequest:
		// PagerDuty echoes nothing secret, but a hostile proxy might.
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{"bad key " + str(m["routing_key"])}})
	default:
		_, _ = w.Write([]byte(`{"status":"throttled"}`))
	}
}

func (f *fake) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func str(v any) string { s, _ := v.(string); return s }

// clockNow is the rig's clock, which Retry-After dates are read against.
var clockNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

type rig struct {
	c      *Client
	fakes  map[string]*fake
	logs   *bytes.Buffer
	sleeps []time.Duration
}

func newRig(t *testing.T, ids ...string) *rig {
	t.Helper()
	if len(ids) == 0 {
		ids = []string{"pagerduty.default"}
	}
	r := &rig{fakes: map[string]*fake{}, logs: &bytes.Buffer{}}
	inst := map[string]Instance{}
	for i, id := range ids {
		f := &fake{}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		r.fakes[id] = f
		inst[id] = Instance{RoutingKey: key + string(rune('A'+i)), URL: srv.URL + "/v2/enqueue"}
	}
	var mu sync.Mutex
	c, err := New(Config{
		Instances: inst,
		Logger:    slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:       func() time.Time { return clockNow },
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			r.sleeps = append(r.sleeps, d)
			mu.Unlock()
			return ctx.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	return r
}

func trigger(summary string) activities.TriggerRequest {
	return activities.TriggerRequest{
		Key:         "inc-1/page-ot",
		Integration: "pagerduty.default",
		Summary:     summary,
		Severity:    "critical",
		Details:     map[string]string{"incident": "inc-1", "step": "page-ot"},
	}
}

func (r *rig) noSecret(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), key) {
			t.Errorf("error carries the routing key: %v", err)
		}
	}
	if strings.Contains(r.logs.String(), key) {
		t.Errorf("logs carry the routing key:\n%s", r.logs)
	}
}

func TestTriggerShape(t *testing.T) {
	r := newRig(t)
	resp, err := r.c.Trigger(context.Background(), trigger("[EXERCISE] Zone plant3 isolated"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.DedupKey != "inc-1/page-ot" || resp.Simulated {
		t.Errorf("response %+v", resp)
	}
	got, _ := json.Marshal(r.fakes["pagerduty.default"].bodies[0])
	want := `{"dedup_key":"inc-1/page-ot","event_action":"trigger","payload":{"custom_details":{"incident":"inc-1","step":"page-ot"},"severity":"critical","source":"firebreak","summary":"[EXERCISE] Zone plant3 isolated"},"routing_key":"` + key + `A"}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	r.noSecret(t)
}

func TestResolveShape(t *testing.T) {
	r := newRig(t)
	if _, err := r.c.Resolve(context.Background(), activities.ResolveRequest{Key: "k", Integration: "pagerduty.default", DedupKey: "inc-1/page-ot"}); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(r.fakes["pagerduty.default"].bodies[0])
	want := `{"dedup_key":"inc-1/page-ot","event_action":"resolve","routing_key":"` + key + `A"}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestAcknowledgeShape(t *testing.T) {
	r := newRig(t)
	resp, err := r.c.Acknowledge(context.Background(), activities.AcknowledgeRequest{Key: "inc-1/ack", Integration: "pagerduty.default", DedupKey: "inc-1/page-ot"})
	if err != nil || resp.Simulated {
		t.Fatalf("%+v %v", resp, err)
	}
	got, _ := json.Marshal(r.fakes["pagerduty.default"].bodies[0])
	want := `{"dedup_key":"inc-1/page-ot","event_action":"acknowledge","routing_key":"` + key + `A"}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	_, err = r.c.Acknowledge(context.Background(), activities.AcknowledgeRequest{Key: "k", Integration: "pagerduty.default"})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "no dedup key") {
		t.Errorf("acknowledge without a dedup key: %v", err)
	}
	if n := r.fakes["pagerduty.default"].calls(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
	r.noSecret(t, err)
}

func TestRetryAfterHonoured(t *testing.T) {
	r := newRig(t)
	f := r.fakes["pagerduty.default"]
	f.statuses = []int{429, 429, 429, 429, 429, 202}
	f.retryAfter = []string{"7", clockNow.Add(42 * time.Second).Format(http.TimeFormat), "3600", "0", "soon"}
	if _, err := r.c.Trigger(context.Background(), trigger("x")); err != nil {
		t.Fatal(err)
	}
	s := r.sleeps
	if len(s) != 5 || s[0] != 7*time.Second || s[1] != 42*time.Second || s[2] != DefaultMaxRetryAfter || s[3] != time.Millisecond {
		t.Fatalf("sleeps %v; want 7s, 42s, the %s cap, 1ms, then a backoff", s, DefaultMaxRetryAfter)
	}
	if hi := min(baseDelay<<4, maxDelay); s[4] < hi/2 || s[4] > hi {
		t.Errorf("an unreadable Retry-After waited %s, want the backoff of the attempt (%s to %s)", s[4], hi/2, hi)
	}
}

func TestRetryAfterPastDeadline(t *testing.T) {
	r := newRig(t)
	f := r.fakes["pagerduty.default"]
	f.statuses = []int{429}
	f.retryAfter = []string{"30"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.c.Trigger(ctx, trigger("x"))
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "deadline") || !strings.Contains(err.Error(), "429") {
		t.Fatalf("want a retryable error saying the wait passes the deadline, got %v", err)
	}
	if len(r.sleeps) != 0 || f.calls() != 1 {
		t.Errorf("%d sleeps, %d calls; want none and 1", len(r.sleeps), f.calls())
	}
	r.noSecret(t, err)
}

func TestRetried(t *testing.T) {
	for _, statuses := range [][]int{{429, 202}, {500, 503, 202}} {
		r := newRig(t)
		f := r.fakes["pagerduty.default"]
		f.statuses = statuses
		if _, err := r.c.Trigger(context.Background(), trigger("x")); err != nil {
			t.Fatalf("%v: %v", statuses, err)
		}
		if f.calls() != len(statuses) || len(r.sleeps) != len(statuses)-1 {
			t.Errorf("%v: %d calls, %d sleeps", statuses, f.calls(), len(r.sleeps))
		}
		for i, d := range r.sleeps {
			if d <= 0 || d > maxDelay {
				t.Errorf("sleep %d is %v", i, d)
			}
		}
		if f.bodies[0]["dedup_key"] != f.bodies[len(f.bodies)-1]["dedup_key"] {
			t.Error("a retry changed the dedup key")
		}
		r.noSecret(t)
	}
}

func TestInvalidEventPermanent(t *testing.T) {
	r := newRig(t)
	f := r.fakes["pagerduty.default"]
	f.statuses = []int{400}
	_, err := r.c.Trigger(context.Background(), trigger("x"))
	if !errors.Is(err, activities.ErrPermanent) {
		t.Fatalf("want permanent, got %v", err)
	}
	if f.calls() != 1 {
		t.Errorf("400 was retried: %d calls", f.calls())
	}
	if !strings.Contains(err.Error(), "Event object is invalid") {
		t.Errorf("error lacks PagerDuty's message: %v", err)
	}
	r.noSecret(t, err)
}

func TestNetworkErrorRetriedAndScrubbed(t *testing.T) {
	var logs bytes.Buffer
	n := 0
	c, err := New(Config{
		Instances: map[string]Instance{"pagerduty.default": {RoutingKey: key, URL: "http://127.0.0.1:1/" + key}},
		Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
		Sleep: func(ctx context.Context, d time.Duration) error {
			if n++; n == 3 {
				return context.DeadlineExceeded
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Trigger(context.Background(), trigger("x"))
	if err == nil || errors.Is(err, activities.ErrPermanent) {
		t.Fatalf("want a retryable error, got %v", err)
	}
	if n != 3 {
		t.Errorf("network errors retried %d times, want 3", n)
	}
	if strings.Contains(err.Error(), key) || strings.Contains(logs.String(), key) {
		t.Errorf("routing key leaked:\n%v\n%s", err, logs.String())
	}
}

func TestDeadlineEndsRetries(t *testing.T) {
	r := newRig(t)
	f := r.fakes["pagerduty.default"]
	f.statuses = []int{500, 500, 500, 500, 500, 500, 500, 500}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r.c.sleep = retry.Sleep // real waits, short deadline
	_, err := r.c.Trigger(ctx, trigger("x"))
	if err == nil || !strings.Contains(err.Error(), "gave up") || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("want an error saying the deadline ended the retries, got %v", err)
	}
	if errors.Is(err, activities.ErrPermanent) {
		t.Error("a deadline is not permanent: Temporal may retry the activity")
	}
	r.noSecret(t, err)
}

func TestHostileSummary(t *testing.T) {
	r := newRig(t)
	s := "[EXERCISE] \x1b[31mred\r\nline\x00" + strings.Repeat("é", 100<<10)
	if _, err := r.c.Trigger(context.Background(), trigger(s)); err != nil {
		t.Fatal(err)
	}
	p := r.fakes["pagerduty.default"].bodies[0]["payload"].(map[string]any)
	got := p["summary"].(string)
	if n := utf8.RuneCountInString(got); n != MaxSummary {
		t.Errorf("summary has %d characters, want %d", n, MaxSummary)
	}
	if !strings.HasPrefix(got, "[EXERCISE]  [31mred  line ") {
		t.Errorf("summary starts %q", got[:40])
	}
	if strings.ContainsAny(got, "\x1b\r\n\x00") {
		t.Error("control characters survived")
	}
}

func TestRoutedByIntegration(t *testing.T) {
	r := newRig(t, "pagerduty.default", "pagerduty.ot")
	req := trigger("x")
	req.Integration = "pagerduty.ot"
	if _, err := r.c.Trigger(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if r.fakes["pagerduty.default"].calls() != 0 || r.fakes["pagerduty.ot"].calls() != 1 {
		t.Fatal("request went to the wrong instance")
	}
	if got := r.fakes["pagerduty.ot"].bodies[0]["routing_key"]; got != key+"B" {
		t.Errorf("routing key of the other instance used")
	}
	req.Integration = "pagerduty.nope"
	_, err := r.c.Trigger(context.Background(), req)
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "pagerduty.nope") {
		t.Errorf("unknown instance: %v", err)
	}
	r.noSecret(t, err)
}

func TestJoin(t *testing.T) {
	a, _ := New(Config{Instances: map[string]Instance{"pagerduty.a": {RoutingKey: "1"}}})
	b, _ := New(Config{Instances: map[string]Instance{"pagerduty.b": {RoutingKey: "2"}}})
	if got := strings.Join(a.Join(b).IDs(), ","); got != "pagerduty.a,pagerduty.b" {
		t.Errorf("joined IDs %s", got)
	}
	if _, err := New(Config{Instances: map[string]Instance{"pagerduty.a": {}}}); err == nil {
		t.Error("an instance without a routing key was accepted")
	}
}

type twinDouble struct{ triggers, acks, resolves int }

func (d *twinDouble) Acknowledge(context.Context, activities.AcknowledgeRequest) (activities.AcknowledgeResponse, error) {
	d.acks++
	return activities.AcknowledgeResponse{Simulated: true}, nil
}

func (d *twinDouble) Trigger(context.Context, activities.TriggerRequest) (activities.TriggerResponse, error) {
	d.triggers++
	return activities.TriggerResponse{DedupKey: "sim", Simulated: true}, nil
}

func (d *twinDouble) Resolve(context.Context, activities.ResolveRequest) (activities.ResolveResponse, error) {
	d.resolves++
	return activities.ResolveResponse{Simulated: true}, nil
}

func TestWithTwin(t *testing.T) {
	r := newRig(t)
	d := &twinDouble{}
	c := r.c.WithTwin("pagerduty.spare", d)
	req := trigger("x")
	req.Integration = "pagerduty.spare"
	if resp, err := c.Trigger(context.Background(), req); err != nil || !resp.Simulated {
		t.Fatalf("%+v %v", resp, err)
	}
	if _, err := c.Acknowledge(context.Background(), activities.AcknowledgeRequest{Integration: "pagerduty.spare", DedupKey: "sim"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(context.Background(), activities.ResolveRequest{Integration: "pagerduty.spare", DedupKey: "sim"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Trigger(context.Background(), trigger("x")); err != nil {
		t.Fatal(err)
	}
	if d.triggers != 1 || d.acks != 1 || d.resolves != 1 || r.fakes["pagerduty.default"].calls() != 1 {
		t.Errorf("twin %+v, PagerDuty %d calls", d, r.fakes["pagerduty.default"].calls())
	}
	if _, err := r.c.Trigger(context.Background(), req); !errors.Is(err, activities.ErrPermanent) {
		t.Errorf("WithTwin changed the client it was called on: %v", err)
	}
}

// TestHostileDedupKeyAnswer: an Events API lookalike knows the routing
// key (every event carries it) and may answer anything as the dedup_key.
// The dedup key the step outputs (and the log line) is the one firebreak
// sent, never the answer's: the answer could carry the routing key into
// the incident's history, or megabytes of control characters.
func TestHostileDedupKeyAnswer(t *testing.T) {
	for name, answer := range map[string]func(routingKey string) string{
		"routing key": func(k string) string { return "echo " + k },
		"hostile":     func(string) string { return strings.Repeat("\x1b[2J\n", 2000) },
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var m map[string]any
				_ = json.NewDecoder(r.Body).Decode(&m)
				w.WriteHeader(http.StatusAccepted)
				_ = json.NewEncoder(w).Encode(map[string]string{"status": "success", "dedup_key": answer(str(m["routing_key"]))})
			}))
			defer srv.Close()
			c, err := New(Config{Instances: map[string]Instance{"pagerduty.default": {RoutingKey: key, URL: srv.URL}},
				Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Trigger(context.Background(), trigger("s"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.DedupKey != "inc-1/page-ot" {
				t.Errorf("dedup key %.80q, want the one sent, inc-1/page-ot", resp.DedupKey)
			}
			if strings.Contains(logs.String(), key) || strings.Contains(logs.String(), `\u001b[2J`) {
				t.Errorf("the log carries the answer's dedup key: %.300s", logs.String())
			}
		})
	}
}

// TestRedirectNotFollowed: an Events API URL that redirects (a proxy's
// login page, an http-to-https hop, a lookalike) is not followed. Following
// a 302 turns the POST into a GET whose 200 counted as an accepted event
// though no alert was raised; following a 307 re-sends the routing key to
// wherever the Location points, in clear if it says http://.
func TestRedirectNotFollowed(t *testing.T) {
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var elsewhere atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
				elsewhere.Add(1)
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, "<html>sign in</html>")
			})
			mux.HandleFunc("/v2/enqueue", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", code)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			c, err := New(Config{Instances: map[string]Instance{"pagerduty.default": {RoutingKey: key, URL: srv.URL + "/v2/enqueue"}},
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Trigger(context.Background(), trigger("s"))
			if err == nil || !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "redirect") {
				t.Errorf("Trigger through a %d: %v; want a permanent error saying the URL redirects", code, err)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Errorf("the redirect was followed %d time(s)", n)
			}
		})
	}
}

// TestOKWithoutSuccessIsNoPage: a 200 that is not the Events API's answer
// (a captive portal's sign-in page, a proxy) raised no alert, so the
// trigger does not count it as a page: it is retried, and fails saying why.
func TestOKWithoutSuccessIsNoPage(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html>sign in to the guest network</html>")
	}))
	defer srv.Close()
	// The third wait between attempts ends the retries, as a deadline would.
	sleeps := 0
	c, err := New(Config{Instances: map[string]Instance{"pagerduty.default": {RoutingKey: key, URL: srv.URL}}, Logger: slog.New(slog.DiscardHandler),
		Sleep: func(context.Context, time.Duration) error {
			if sleeps++; sleeps == 3 {
				return errors.New("no more time")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Trigger(context.Background(), trigger("s"))
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "without \"status\": \"success\"") {
		t.Errorf("Trigger answered by a portal: %v; want a retryable error saying no alert was raised", err)
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("the portal was asked %d times; want 3 (each answer retried until the retries end)", n)
	}
}
