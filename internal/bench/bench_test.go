package bench

import (
	"context"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/devserver"
)

// Benchmarks report times; none asserts one. Run them side by side with
//
//	go test ./internal/bench -run '^$' -bench . -benchtime 20x
//
// Every benchmark starts its own embedded server(s) and worker and stops them
// when it ends. Each calls the same measurement as `firebreak bench`; ns/op
// is the measurement's median unless a benchmark says otherwise.

// storages are the two ways the embedded server keeps state.
var storages = []struct {
	name string
	opts func(b *testing.B) devserver.Options
}{
	{"memory", func(*testing.B) devserver.Options { return devserver.Options{Ephemeral: true} }},
	{"file", func(b *testing.B) devserver.Options { return devserver.Options{DataDir: b.TempDir()} }},
}

// BenchmarkApprovalToIsolation times the path PRODUCT.md cares most about:
// the second safety sign-off of the shipped ransomware playbook, sent as an
// Update the way the CLI and Slack send it (incident.Answer), until the
// isolation activity starts cutting (the first Isolator.Cut, after guard
// three). Next to it, on the same server, a bare Update round trip on the
// smallest workflow that takes one. Per storage:
//
//	update_round_trip       ns/op: one Update sent and answered (Echo)
//	approval_to_isolation   ns/op: final approval sent -> isolation starts
//	                        reply-ns/op: the approval's own Update round trip
//	                        echo-ns/op: an Echo Update sent just before each
//	                        approval, so load and drift hit both
//	                        x-update: ns/op over echo-ns/op
func BenchmarkApprovalToIsolation(b *testing.B) {
	prep, err := PrepareRansomware("", nil)
	must(b, err)
	for _, st := range storages {
		b.Run(st.name, func(b *testing.B) {
			e := startBenchEnv(b, st.opts(b))
			b.Run("update_round_trip", func(b *testing.B) {
				s, err := UpdateRoundTrips(context.Background(), e, b.N)
				must(b, err)
				b.ReportMetric(ns(s.Median()), "ns/op")
			})
			b.Run("approval_to_isolation", func(b *testing.B) {
				ctx := context.Background()
				s, err := ApprovalToIsolation(ctx, e, prep, b.N)
				must(b, err)
				b.ReportMetric(ns(s.ToCut.Median()), "ns/op")
				b.ReportMetric(ns(s.Reply.Median()), "reply-ns/op")
				b.ReportMetric(ns(s.Echo.Median()), "echo-ns/op")
				b.ReportMetric(float64(s.ToCut.Median())/float64(s.Echo.Median()), "x-update")
				if h, err := History(ctx, e.Client, s.Last.WorkflowID, s.Last.RunID); err == nil {
					b.Logf("history of one iteration (until terminated): %s", ShapeOf(h))
				}
			})
		})
	}
}

// BenchmarkFiftySteps runs a generated plan of 50 webhook.post steps through
// the interpreter, and after each run HandWritten calling the same 50
// activities with the same options and inputs, on one in-memory server and
// one worker: as a chain (each step needs the one before) and fanned out
// (all independent). ns/op is one whole interpreter run, start to result;
// hand-ns/op the hand-written one; x-handwritten their ratio (target
// <= 1.05). events/run and wft/run (workflow tasks) are the size of the
// interpreter's history; the hand-written run's is logged.
func BenchmarkFiftySteps(b *testing.B) {
	e := startBenchEnv(b, devserver.Options{Ephemeral: true})
	for _, shape := range []struct {
		name  string
		chain bool
	}{{"chain", true}, {"parallel", false}} {
		b.Run(shape.name, func(b *testing.B) {
			p, err := CompileGenerated(FiftySteps, shape.chain)
			must(b, err)
			s, err := Steps(context.Background(), e, p, !shape.chain, b.N)
			must(b, err)
			b.ReportMetric(ns(s.Interpreter.Median()), "ns/op")
			b.ReportMetric(ns(s.HandWritten.Median()), "hand-ns/op")
			b.ReportMetric(float64(s.Interpreter.Median())/float64(s.HandWritten.Median()), "x-handwritten")
			reportHistory(b, e, s.LastInterpreter)
			if h, err := History(context.Background(), e.Client, s.LastHandWritten[0], s.LastHandWritten[1]); err == nil {
				b.Logf("hand-written history: %s", ShapeOf(h))
			}
		})
	}
}

// BenchmarkDispatchTuning runs the 50-step chain through the interpreter on
// two in-memory servers side by side: one as firebreak configures it, one
// with Temporal's defaults for the settings devserver.DispatchTuning
// changes (the rest of firebreak's configuration is the same). Each
// iteration runs once on each. ns/op is the tuned server's run (median);
// temporal-ns/op the other's, and x-temporal the ratio (how many times
// faster the tuning makes a chain of steps).
func BenchmarkDispatchTuning(b *testing.B) {
	defaults := map[string]any{}
	for k := range devserver.DispatchTuning() {
		defaults[k] = nil
	}
	tuned := startBenchEnv(b, devserver.Options{Ephemeral: true})
	temporal := startBenchEnv(b, devserver.Options{Ephemeral: true, DynamicConfig: defaults})
	p, err := CompileGenerated(FiftySteps, true)
	must(b, err)
	ctx := context.Background()
	var mine, other Samples
	for i := range b.N {
		_, d, err := InterpreterRun(ctx, tuned, p, i)
		must(b, err)
		mine = append(mine, d)
		_, d, err = InterpreterRun(ctx, temporal, p, i)
		must(b, err)
		other = append(other, d)
	}
	b.ReportMetric(ns(mine.Median()), "ns/op")
	b.ReportMetric(ns(other.Median()), "temporal-ns/op")
	b.ReportMetric(float64(other.Median())/float64(mine.Median()), "x-temporal")
}
