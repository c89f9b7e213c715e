package observe

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestHealthAddWhileServing: /readyz is served from the start, while the
// command is still adding its checks, so a probe may be running a check
// when the next one is added. The added check must not disturb the running
// one, nor leave a later probe waiting on it for ever (a failure here is a
// test that never ends).
func TestHealthAddWhileServing(t *testing.T) {
	h := &Health{}
	entered, release := make(chan struct{}), make(chan struct{})
	h.Add("config", func(context.Context) error {
		close(entered)
		<-release
		return nil
	})
	probed := make(chan Result)
	go func() { probed <- h.Ready(context.Background()) }()
	<-entered
	for i := range 8 {
		h.Add(fmt.Sprint("check", i), func(context.Context) error { return nil })
	}
	h.Loaded()
	close(release)
	<-probed
	res := h.Ready(context.Background())
	if !res.Ready || len(res.Checks) != 9 {
		t.Errorf("after 9 checks were added: %+v", res)
	}
}

// TestReadinessIgnoresAbandonedProbe: a probe that hangs up while a check
// runs must not leave its cancellation in the cache, or every probe for
// CheckCacheFor says the process is not ready though nothing is wrong.
func TestReadinessIgnoresAbandonedProbe(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := &Health{Now: func() time.Time { return now }}
	h.Add("temporal", func(ctx context.Context) error {
		if ctx.Err() != nil {
			return fmt.Errorf("temporal is not reachable: %w", ctx.Err())
		}
		return nil
	})
	h.Loaded()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if res := h.Ready(gone); res.Ready {
		t.Errorf("a probe that hung up got %+v", res)
	}
	if res := h.Ready(context.Background()); !res.Ready {
		t.Errorf("the next probe, within the cache time, got %+v: the abandoned probe's cancellation was cached", res)
	}
}

// TestReadinessCachesTimeouts: a check that times out is a real answer
// (Temporal too slow), and is cached like any other.
func TestReadinessCachesTimeouts(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := &Health{Now: func() time.Time { return now }}
	calls := 0
	h.Add("temporal", func(context.Context) error {
		calls++
		return context.DeadlineExceeded
	})
	h.Loaded()
	for range 3 {
		if res := h.Ready(context.Background()); res.Ready {
			t.Fatalf("got %+v", res)
		}
	}
	if calls != 1 {
		t.Errorf("the check ran %d times within the cache time, want 1", calls)
	}
}
