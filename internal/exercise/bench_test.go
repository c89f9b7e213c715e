package exercise_test

import (
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/workflows"
)

// sixHourDir holds a drill spanning more than six hours of exercise time.
const sixHourDir = "testdata/sixhour"

func sixHourOrg(tb testing.TB) *org.Org {
	tb.Helper()
	o, m, diags := org.Load(sixHourDir, org.Options{Lenient: true})
	if o == nil || diags.HasErrors() {
		tb.Fatalf("loading %s: %s (%d files)", sixHourDir, diags.Error(), len(m.Files))
	}
	return o
}

// TestSixHourScenario: the benchmark's drill runs to completion and spans
// more than six hours on the exercise clock, for several seeds, and
// climbs its ladder, escalates its sign-off and applies its decision's
// default on the way.
func TestSixHourScenario(t *testing.T) {
	o := sixHourOrg(t)
	for seed := uint64(1); seed <= 5; seed++ {
		res, err := exercise.Run(o, "six_hour_drill", exercise.Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if res.State != workflows.StateCompleted || time.Duration(res.Duration) < 6*time.Hour {
			t.Fatalf("seed %d: %s at %s, want completed after at least 6h", seed, res.State, time.Duration(res.Duration))
		}
		seen := map[string]bool{}
		for _, e := range res.Timeline {
			seen[e.Step+" "+e.Event] = true
		}
		for _, want := range []string{"page.first escalated", "approval.go escalated", "decision.next timed_out", "step.read_plc step_finished"} {
			if !seen[want] {
				t.Errorf("seed %d: no %q in the timeline", seed, want)
			}
		}
	}
}

// BenchmarkSixHourScenario is the wall time of one automated run of a
// drill of more than six hours on the exercise clock (target: at most
// 100 ms a run).
func BenchmarkSixHourScenario(b *testing.B) {
	o := sixHourOrg(b)
	start := time.Now()
	n := 0
	for b.Loop() {
		res, err := exercise.Run(o, "six_hour_drill", exercise.Options{Seed: uint64(n + 1)})
		if err != nil {
			b.Fatal(err)
		}
		if time.Duration(res.Duration) < 6*time.Hour {
			b.Fatalf("seed %d: the drill ended at %s, under six hours", n+1, time.Duration(res.Duration))
		}
		n++
	}
	b.ReportMetric(time.Since(start).Seconds()*1000/float64(n), "ms/run")
}
