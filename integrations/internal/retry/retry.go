// Package retry holds what the HTTP integrations (webhook, pagerduty)
// share when they try a request again: a capped, jittered backoff, a
// sleep that ends with its context, and the reading of a Retry-After
// header.
package retry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a Retry-After given in seconds, so that an absurd
// value cannot overflow a duration; callers cap it further.
const maxRetryAfter = 86400

// Backoff is the delay before another try after n earlier failures
// (n >= 1): base doubled n-1 times, at most max, then jittered to between
// half of that and all of it.
func Backoff(n int, base, max time.Duration) time.Duration {
	d := max
	if n >= 1 && n < 16 {
		d = min(base<<(n-1), max)
	}
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, or until ctx ends (returning its error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// After reads a Retry-After header: whole seconds, or an HTTP date read
// against now (a date in the past is 0). It reports false for a missing
// or unreadable header.
func After(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, maxRetryAfter)) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}
