package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
)

// burst posts n messages to one channel from n goroutines, each started
// only once the one before it has joined the channel's lane, so the order
// they were queued in is known. It returns the texts in that order.
func burst(t testing.TB, c *Chat, channel string, n int) []string {
	t.Helper()
	queued := make(chan struct{}, 1)
	c.q.mu.Lock()
	c.q.onQueued = func(string) { queued <- struct{}{} }
	c.q.mu.Unlock()
	defer func() {
		c.q.mu.Lock()
		c.q.onQueued = nil
		c.q.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	texts := make([]string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		texts[i] = fmt.Sprintf("message %03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.PostMessage(ctx, activities.PostMessageRequest{Key: fmt.Sprintf("burst/%d", i), IncidentID: "INC-B", Channel: channel, Text: texts[i]})
			errs <- err
		}()
		<-queued
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return texts
}

// inOrderOnce fails unless channel holds exactly texts, in order.
func inOrderOnce(t *testing.T, f *slackfake.Fake, channel string, texts []string) {
	t.Helper()
	msgs := f.Messages(channel)
	var got []string
	for _, m := range msgs {
		got = append(got, m.Text)
	}
	if strings.Join(got, "\n") != strings.Join(texts, "\n") {
		t.Fatalf("the channel holds %d messages:\n%s\nwant %d, in order", len(got), strings.Join(got, "\n"), len(texts))
	}
}

func TestBurstWithFaultsArrivesOnceInOrder(t *testing.T) {
	r := newRig(t)
	room := r.f.AddChannel("inc-b", true)
	f := r.f
	f.Fail("chat.postMessage", 2, slackfake.Fault{Status: 429, RetryAfter: 3})
	f.Fail("chat.postMessage", 1, slackfake.Fault{Status: 500})
	f.Fail("chat.postMessage", 1, slackfake.Fault{Drop: true})
	f.Fail("chat.postMessage", 1, slackfake.Fault{Status: 503, AfterApply: true})
	f.Fail("chat.postMessage", 1, slackfake.Fault{Status: 429, RetryAfter: 1})
	f.Fail("chat.postMessage", 1, slackfake.Fault{Drop: true, AfterApply: true})
	f.Fail("chat.postMessage", 1, slackfake.Fault{Status: 502})
	// The lookup after a lost answer fails once too.
	f.Fail("conversations.history", 1, slackfake.Fault{Status: 503})
	texts := burst(t, r.c, room, 30)
	inOrderOnce(t, f, room, texts)
	if n := f.RateLimited(); n < 3 {
		t.Errorf("%d 429s answered, want the 3 injected", n)
	}
	var failed int
	for _, c := range f.Calls("chat.postMessage") {
		if c.Status != 200 {
			failed++
		}
	}
	if failed != 8 {
		t.Errorf("%d posts failed, want the 8 injected", failed)
	}
}

func TestBurstAboveTheRateLimitArrivesInOrder(t *testing.T) {
	r := newRig(t) // the fake takes 1 post a second per channel
	r.cfg.Rate = 4
	c := r.fresh(t)
	room := r.f.AddChannel("inc-r", true)
	texts := burst(t, c, room, 30)
	inOrderOnce(t, r.f, room, texts)
	if r.f.RateLimited() == 0 {
		t.Error("posting at 4 a second to a channel that takes 1 earned no 429s")
	}
}

func TestLostAnswerThenRetryLeavesOneMessage(t *testing.T) {
	r := newRig(t)
	room := r.f.AddChannel("inc-l", true)
	// Slack posts, and the answer is lost; the worker dies before it can
	// look (its sleep fails: the activity's time is up).
	r.f.Fail("chat.postMessage", 1, slackfake.Fault{Drop: true, AfterApply: true})
	cfg := r.cfg
	cfg.Sleep = func(context.Context, time.Duration) error { return context.DeadlineExceeded }
	dying, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := activities.PostMessageRequest{Key: "INC-L/post/1", IncidentID: "INC-L", Room: &activities.Room{ChannelID: room}, Text: "Cell 4 is isolated"}
	if _, err := dying.PostMessage(ctxT(t), req); err == nil || errors.Is(err, activities.ErrPermanent) {
		t.Fatalf("a lost answer: %v, want a retryable error", err)
	}
	if n := len(r.f.Messages(room)); n != 1 {
		t.Fatalf("the fake holds %d messages, want the 1 applied", n)
	}
	// The activity's next attempt, on a worker that remembers nothing.
	req.Retry = true
	resp, err := r.fresh(t).PostMessage(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	msgs := r.f.Messages(room)
	if len(msgs) != 1 || msgs[0].TS != resp.TS {
		t.Errorf("after the retry: %d messages, response %+v", len(msgs), resp)
	}
	// The same in one attempt: the loop looks before it sends again.
	r.f.Fail("chat.postMessage", 1, slackfake.Fault{Status: 500, AfterApply: true})
	req.Key, req.Retry = "INC-L/post/2", false
	if _, err := r.c.PostMessage(ctxT(t), req); err != nil {
		t.Fatal(err)
	}
	if n := len(r.f.Messages(room)); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
}

func TestQueueKeepsOrderWithInjectedFailures(t *testing.T) {
	clk := newVClock()
	q := newQueue(time.Second, clk.Now, clk.Sleep, "xoxb-secret")
	queued := make(chan struct{}, 1)
	q.onQueued = func(string) { queued <- struct{}{} }
	var mu sync.Mutex
	var sent []int
	var sentAt []time.Time
	attempts := map[int]int{}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := q.post(context.Background(), "C1", op{method: "chat.postMessage", what: "posting", do: func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				attempts[i]++
				switch {
				case i%7 == 3 && attempts[i] == 1:
					return &slackapi.RateLimitedError{RetryAfter: 2 * time.Second}
				case i%5 == 1 && attempts[i] < 3:
					return slackapi.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}
				}
				sent = append(sent, i)
				sentAt = append(sentAt, clk.Now())
				return nil
			}})
			if err != nil {
				t.Error(err)
			}
		}()
		<-queued
	}
	wg.Wait()
	for i, v := range sent {
		if v != i {
			t.Fatalf("sent in the order %v", sent)
		}
	}
	for i := 1; i < len(sentAt); i++ {
		if gap := sentAt[i].Sub(sentAt[i-1]); gap < time.Second {
			t.Fatalf("messages %d and %d went %s apart, under the rate", i-1, i, gap)
		}
	}
}

func TestQueueGivesUpWhenTheCallerStops(t *testing.T) {
	clk := newVClock()
	q := newQueue(time.Second, clk.Now, clk.Sleep, "xoxb-secret")
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := q.post(ctx, "C1", op{method: "chat.postMessage", what: "posting to C1", do: func(context.Context) error {
		if n++; n == 4 {
			cancel()
		}
		return slackapi.StatusCodeError{Code: 502, Status: "502 Bad Gateway"}
	}})
	if err == nil || !strings.Contains(err.Error(), "gave up after 4 attempt(s)") || !strings.Contains(err.Error(), "HTTP 502") || errors.Is(err, activities.ErrPermanent) {
		t.Errorf("got %v", err)
	}
	// A job waiting behind one that never ends gives up too, and the lane
	// still serves the jobs behind it once the first is done.
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = q.post(context.Background(), "C2", op{method: "m", what: "w", do: func(context.Context) error {
			close(started)
			<-release
			return nil
		}})
	}()
	<-started
	waitCtx, stop := context.WithCancel(context.Background())
	stop()
	if err := q.post(waitCtx, "C2", op{method: "m", what: "posting to C2", do: func(context.Context) error { return nil }}); err == nil || !strings.Contains(err.Error(), "waiting for earlier messages") {
		t.Errorf("a job whose caller stopped while queued: %v", err)
	}
	close(release)
	if err := q.post(context.Background(), "C2", op{method: "m", what: "w", do: func(context.Context) error { return nil }}); err != nil {
		t.Error(err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err       error
		kind      errKind
		permanent bool
		code      string
	}{
		{slackapi.SlackErrorResponse{Err: "channel_not_found"}, kindPermanent, true, "channel_not_found"},
		{slackapi.SlackErrorResponse{Err: "not_in_channel"}, kindPermanent, true, "not_in_channel"},
		{slackapi.SlackErrorResponse{Err: "invalid_blocks"}, kindPermanent, true, "invalid_blocks"},
		{slackapi.SlackErrorResponse{Err: "msg_too_long"}, kindPermanent, true, "msg_too_long"},
		{slackapi.SlackErrorResponse{Err: "user_not_found"}, kindPermanent, true, "user_not_found"},
		{slackapi.SlackErrorResponse{Err: "invalid_auth"}, kindPermanent, true, "invalid_auth"},
		{slackapi.SlackErrorResponse{Err: "account_inactive"}, kindPermanent, true, "account_inactive"},
		{slackapi.SlackErrorResponse{Err: "missing_scope", Needed: "pins:write"}, kindPermanent, true, "missing_scope"},
		{slackapi.SlackErrorResponse{Err: "internal_error"}, kindTransient, false, "internal_error"},
		{slackapi.SlackErrorResponse{Err: "name_taken"}, kindOther, false, "name_taken"},
		{slackapi.SlackErrorResponse{Err: "something_new"}, kindOther, false, "something_new"},
		{&slackapi.RateLimitedError{RetryAfter: time.Second}, kindLimited, false, "ratelimited"},
		{slackapi.StatusCodeError{Code: 503}, kindTransient, false, "http_503"},
		{slackapi.StatusCodeError{Code: 401}, kindPermanent, true, "http_401"},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, kindTransient, false, "connection"},
		{errors.New("unexpected EOF"), kindTransient, false, "connection"},
	} {
		e := classify("chat.postMessage", "xoxb-1", tc.err)
		if e.kind != tc.kind || errors.Is(e, activities.ErrPermanent) != tc.permanent || e.code != tc.code {
			t.Errorf("%v: kind %d permanent %v code %q; want %d %v %q", tc.err, e.kind, errors.Is(e, activities.ErrPermanent), e.code, tc.kind, tc.permanent, tc.code)
		}
		if !strings.Contains(e.Error(), "chat.postMessage") {
			t.Errorf("%v: the error does not name the method: %s", tc.err, e)
		}
	}
	if e := classify("pins.add", "", slackapi.SlackErrorResponse{Err: "missing_scope", Needed: "pins:write"}); !strings.Contains(e.Error(), "add the scope pins:write") {
		t.Errorf("missing_scope does not say which: %s", e)
	}
}

// leaky is a transport whose errors quote the request's token, as a
// careless proxy might.
type leaky struct{}

func (leaky) RoundTrip(r *http.Request) (*http.Response, error) {
	var b []byte
	if r.Body != nil {
		b, _ = io.ReadAll(r.Body)
	}
	return nil, fmt.Errorf("proxy refused %q %s", r.Header.Get("Authorization"), b)
}

func TestErrorsNeverHoldTheToken(t *testing.T) {
	const token = "xoxb-123-456-verysecret"
	clk := newVClock()
	n := 0
	c, err := New(Config{Token: token, APIURL: "http://127.0.0.1:1/api/", HTTPClient: &http.Client{Transport: leaky{}}, Now: clk.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if n++; n > 3 {
				return context.DeadlineExceeded
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PostMessage(context.Background(), activities.PostMessageRequest{Key: "k", Channel: "C0123456", Text: "x"})
	if err == nil || strings.Contains(err.Error(), "verysecret") || !strings.Contains(err.Error(), "[token]") {
		t.Errorf("error: %v", err)
	}
}

func TestRateLimitedIsReportedPerMethod(t *testing.T) {
	r := newRig(t)
	var mu sync.Mutex
	got := map[string]int{}
	r.cfg.OnRateLimited = func(method string) {
		mu.Lock()
		got[method]++
		mu.Unlock()
	}
	r.c = r.fresh(t)
	room := r.f.AddChannel("inc-rl", true)
	r.f.Fail("chat.postMessage", 2, slackfake.Fault{Status: 429, RetryAfter: 2})
	r.f.Fail("chat.postMessage", 1, slackfake.Fault{Status: 500})
	texts := burst(t, r.c, room, 5)
	inOrderOnce(t, r.f, room, texts)
	mu.Lock()
	defer mu.Unlock()
	if got["chat.postMessage"] != 2 || len(got) != 1 {
		t.Fatalf("429s reported %v, want chat.postMessage twice (the 500 is not a 429)", got)
	}
	if n := r.f.RateLimited(); n != 2 {
		t.Fatalf("the fake answered %d 429s, want 2", n)
	}
}
