package offline_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/bench/offline"
)

// BenchmarkCompile compiles a generated 500-step playbook (already parsed)
// next to a bare HCL parse of its file. Target: under 50 ms per compile on
// a 2-core machine. parse-ns/op is the parse, x-parse the compile over it.
func BenchmarkCompile(b *testing.B) {
	s, err := offline.Compile(offline.BigPlaybookSteps, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(s.Compile.Mean().Nanoseconds()), "ns/op")
	b.ReportMetric(float64(s.Parse.Mean().Nanoseconds()), "parse-ns/op")
	b.ReportMetric(float64(s.Compile.Mean())/float64(s.Parse.Mean()), "x-parse")
	b.ReportMetric(float64(s.SourceBytes)/1024, "KB")
}

// BenchmarkLoadAndCompile parses, decodes and compiles the same playbook
// from source, as `firebreak plan` does.
func BenchmarkLoadAndCompile(b *testing.B) {
	s, err := offline.LoadAndCompile(offline.BigPlaybookSteps, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(s.Mean().Nanoseconds()), "ns/op")
}

// BenchmarkSixHourScenario is the wall time of one automated run of a
// drill of more than six hours on the exercise clock (target: at most
// 100 ms a run).
func BenchmarkSixHourScenario(b *testing.B) {
	o, err := offline.SixHourOrg()
	if err != nil {
		b.Fatal(err)
	}
	s, err := offline.SixHour(o, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(s.Mean().Microseconds())/1000, "ms/run")
	b.ReportMetric(float64(s.Mean().Nanoseconds()), "ns/op")
}

// BenchmarkMonteCarlo is a 1,000-run Monte Carlo of the library's exercise
// on two workers. Each op is one Monte Carlo; it reports the seconds one
// takes (target: at most 15) and the runs per second.
func BenchmarkMonteCarlo(b *testing.B) {
	s, err := offline.MonteCarlo(offline.MonteCarloRuns, 2, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(s.Mean().Seconds(), "s/1000runs")
	b.ReportMetric(offline.MonteCarloRuns/s.Mean().Seconds(), "runs/s")
	b.ReportMetric(float64(s.Mean().Nanoseconds()), "ns/op")
}

// BenchmarkBurst posts 200 messages at once to one channel of a fake Slack
// that rate-limits posts per channel, on the wall clock. It reports the
// messages per second, the 429s the fake answered, and the wall time
// against the floor of count/rate. FIREBREAK_BENCH_SLACK_RATE sets the
// rate (default 20 a second so it finishes quickly; 1 is Slack's).
func BenchmarkBurst(b *testing.B) {
	rate := 20.0
	if v := os.Getenv("FIREBREAK_BENCH_SLACK_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			b.Fatalf("FIREBREAK_BENCH_SLACK_RATE=%q: want a positive number of messages per second", v)
		}
		rate = r
	}
	var wall, floor float64
	var limited int
	for b.Loop() {
		r, err := offline.Burst(context.Background(), offline.BurstMessages, rate)
		if err != nil {
			b.Fatal(err)
		}
		wall += r.Wall.Seconds()
		floor = r.Floor.Seconds()
		limited += r.Limited
	}
	n := float64(b.N)
	b.ReportMetric(offline.BurstMessages*n/wall, "msgs/s")
	b.ReportMetric(float64(limited)/n, "429s/op")
	b.ReportMetric(wall/n/floor, "wall/floor")
}

// TestSamples: median, min and max of an odd and an even count.
func TestSamples(t *testing.T) {
	odd := offline.Samples{3, 1, 2}
	if odd.Median() != 2 || odd.Min() != 1 || odd.Max() != 3 || odd.Mean() != 2 {
		t.Errorf("%v: median %v min %v max %v mean %v", odd, odd.Median(), odd.Min(), odd.Max(), odd.Mean())
	}
	even := offline.Samples{4, 1, 3, 2}
	if even.Median() != 2 {
		t.Errorf("%v: median %v, want 2", even, even.Median())
	}
	if (offline.Samples{}).Median() != 0 {
		t.Error("no samples: want a median of 0")
	}
}
