package exercise_test

import (
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/bench/offline"
	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/workflows"
)

// sixHourOrg loads the drill of internal/bench/offline's six-hour
// measurement, which spans more than six hours of exercise time.
func sixHourOrg(tb testing.TB) *org.Org {
	tb.Helper()
	o, err := offline.SixHourOrg()
	if err != nil {
		tb.Fatal(err)
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
