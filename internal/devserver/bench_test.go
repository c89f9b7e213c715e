package devserver

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// BenchmarkUpdateRoundTrip measures one Workflow Update, sent and answered,
// on a running workflow: the path every Slack click or CLI answer takes.
// PRODUCT.md anchors ~5 ms in memory and ~36 ms on a SQLite file.
func BenchmarkUpdateRoundTrip(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchUpdate(b, Options{Ephemeral: true}) })
	b.Run("file", func(b *testing.B) { benchUpdate(b, Options{DataDir: b.TempDir()}) })
}

func benchUpdate(b *testing.B, opts Options) {
	ctx := testContext(b, 10*time.Minute)
	c := startBenchServer(ctx, b, opts)

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: testQueue}, countingWorkflow)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID:   run.GetID(),
			RunID:        run.GetRunID(),
			UpdateName:   approveUpdate,
			Args:         []any{"alice"},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Get(ctx, &n); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), finishSignal, nil); err != nil {
		b.Fatal(err)
	}
	var total int
	if err := run.Get(ctx, &total); err != nil {
		b.Fatal(err)
	}
	if total != n {
		b.Fatalf("workflow counted %d updates, last answer was %d", total, n)
	}
}

// BenchmarkShortTimer runs a workflow that sleeps 100ms, start to result, in
// memory: the timer floor, timer and task dispatch, and the client noticing
// the result. ns/op is the mean; p50-ns and max-ns show the spread (a stall
// shows in max-ns).
func BenchmarkShortTimer(b *testing.B) {
	ctx := testContext(b, 10*time.Minute)
	c := startBenchServer(ctx, b, Options{Ephemeral: true})

	var took []time.Duration
	for b.Loop() {
		took = append(took, timerRun(ctx, b, c, 100*time.Millisecond))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(took[len(took)-1].Nanoseconds()), "max-ns")
}

// startBenchServer starts a server with opts and the test worker on it,
// both stopped when b ends, and returns a client.
func startBenchServer(ctx context.Context, b *testing.B, opts Options) client.Client {
	b.Helper()
	srv, err := Start(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Stop() })
	c, err := srv.NewClient(client.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	startWorker(b, c)
	return c
}
