package slackfake

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// Fault is a failure injected into a Web API method's next calls.
type Fault struct {
	// Status is the HTTP status to answer: 429 (with RetryAfter and
	// {"ok":false,"error":"ratelimited"}), 500, 503 or any other.
	Status int
	// RetryAfter is the Retry-After header of a 429, in seconds (default 1).
	RetryAfter int
	// Drop closes the connection without an answer instead.
	Drop bool
	// AfterApply performs the call first (a post is stored) and only then
	// fails, as when Slack posts but the answer is lost.
	AfterApply bool
}

// Fail makes the next n calls of a Web API method ("chat.postMessage")
// fail with fault, after any faults already queued for it.
func (f *Fake) Fail(method string, n int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.faults[method] = append(f.faults[method], fault)
	}
}

// FailConnectionsOpen makes the next n apps.connections.open calls answer
// invalid_auth, as when the app-level token was revoked and restored.
func (f *Fake) FailConnectionsOpen(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.openFails += n
}

// takeFault pops the next fault queued for method; the caller holds f.mu.
func (f *Fake) takeFault(method string) (Fault, bool) {
	q := f.faults[method]
	if len(q) == 0 {
		return Fault{}, false
	}
	f.faults[method] = q[1:]
	return q[0], true
}

// rateLimit reports how long a channel must wait before its next post, or
// zero when it may post now; the caller holds f.mu.
func (f *Fake) rateLimit(channelID string, now time.Time) time.Duration {
	last, ok := f.lastPost[channelID]
	if !ok {
		return 0
	}
	if wait := f.postEvery - now.Sub(last); wait > 0 {
		return wait
	}
	return 0
}

// retryAfterSeconds is the Retry-After header for a wait: whole seconds,
// at least one, as Slack sends it.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// answer is what serveAPI writes back.
type answer struct {
	status     int
	body       map[string]any
	retryAfter int
	drop       bool
}

func faultAnswer(fl Fault) answer {
	switch {
	case fl.Drop:
		return answer{drop: true}
	case fl.Status == http.StatusTooManyRequests:
		ra := fl.RetryAfter
		if ra <= 0 {
			ra = 1
		}
		return answer{status: fl.Status, body: errBody("ratelimited"), retryAfter: ra}
	case fl.Status == 0:
		return answer{status: http.StatusInternalServerError}
	}
	return answer{status: fl.Status}
}

// write sends the answer, or drops the connection.
func (a answer) write(w http.ResponseWriter) {
	if a.drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // aborts the connection where hijacking is not possible
	}
	if a.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(a.retryAfter))
	}
	if a.body == nil {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte("<html><body>" + http.StatusText(a.status) + "</body></html>\n"))
		return
	}
	writeJSON(w, a.status, a.body)
}
