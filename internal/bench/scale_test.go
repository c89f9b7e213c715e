package bench

import (
	"testing"
)

// TestScale opens 1,000 incidents at once on one worker (100 with -short),
// each waiting on a sign-off, then answers them all: every incident
// completes and the journal holds exactly one effect per action step of
// every incident. Its wall times, the process's memory (server, worker
// and client share it) and the sticky cache size are logged, not
// asserted; docs/performance.md records a run.
func TestScale(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	r, err := Scale(testContext(t), ScaleOptions{Incidents: n, Progress: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d incidents: all waiting after %v, all complete %v after the first answer, %v in all", r.Incidents, r.Open, r.Answered, r.Total)
	t.Logf("webhook effects %d (attempts %d); sticky cache %d workflows", r.Effects, r.Attempts, r.StickyCache)
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	t.Logf("memory MiB (RSS / peak RSS / Go heap): started %.0f/%.0f/%.0f, all waiting %.0f/%.0f/%.0f, all complete %.0f/%.0f/%.0f",
		mb(r.Before.RSS), mb(r.Before.HWM), mb(r.Before.Heap),
		mb(r.Waiting.RSS), mb(r.Waiting.HWM), mb(r.Waiting.Heap),
		mb(r.After.RSS), mb(r.After.HWM), mb(r.After.Heap))
}
