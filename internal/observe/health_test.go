package observe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/workflows"
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

// TestScanOutOfTimeKeepsCounts: a scan whose time runs out while it asks
// open incidents for their status (many incidents, a slow worker) still
// publishes the counts it read from visibility, and the approvals it
// counted so far marked as truncated, instead of failing whole: otherwise
// a namespace with many slow incidents would freeze every gauge for ever.
func TestScanOutOfTimeKeepsCounts(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	queries := 0
	fake := &fakeTemporal{
		counts: map[string]int64{"running/false": 3},
		open:   []string{"INC-1", "INC-2", "INC-3"},
		status: map[string]workflows.Status{"INC-1": waitingApprovals(1), "INC-2": waitingApprovals(1), "INC-3": waitingApprovals(1)},
		// The scan's time runs out during the second query.
		onQuery: func() {
			if queries++; queries == 2 {
				cancel()
			}
		},
	}
	s := &Scanner{Temporal: fake, Metrics: m}
	if err := s.Scan(ctx); err != nil {
		t.Fatalf("a scan that ran out of time asking for status failed: %v", err)
	}
	families, _ := scrape(t, m)
	if got, _ := value(families, MetricIncidents, "exercise=false,state=running"); got != 3 {
		t.Errorf("running incidents %v, want 3 from visibility", got)
	}
	if got, _ := value(families, MetricApprovalsWaiting, "exercise=false"); got != 1 {
		t.Errorf("approvals waiting %v, want the 1 counted before the time ran out", got)
	}
	if got, _ := value(families, MetricScanTruncated, ""); got != 1 {
		t.Errorf("truncated = %v, want 1: the approvals gauge counts only some incidents", got)
	}
}
