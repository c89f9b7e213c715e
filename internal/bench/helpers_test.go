package bench

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/devserver"
)

// libraryDir is the shipped playbook library, seen from this package.
const libraryDir = "../../playbooks/library"

// env is a running embedded server with a client.
type env struct {
	srv *devserver.Server
	c   client.Client
	ctx context.Context
}

// startServer starts an embedded server and a client; both stop when tb ends.
func startServer(tb testing.TB, opts devserver.Options) *env {
	tb.Helper()
	ctx := testContext(tb)
	srv, err := devserver.Start(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			tb.Errorf("stopping the server: %v", err)
		}
	})
	c, err := srv.NewClient(client.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return &env{srv: srv, c: c, ctx: ctx}
}

// testContext ends when tb does, or after 30 minutes.
func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// startBenchEnv starts an Env (the built-in library's unsigned authority)
// that stops when tb ends.
func startBenchEnv(tb testing.TB, opts devserver.Options) *Env {
	tb.Helper()
	return startBenchEnvWith(tb, opts, nil)
}

// startBenchEnvWith is startBenchEnv with the worker's authority given.
func startBenchEnvWith(tb testing.TB, opts devserver.Options, authority activities.Authority) *Env {
	tb.Helper()
	e, err := StartEnv(testContext(tb), EnvOptions{Server: opts, Authority: authority, Logf: tb.Logf})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("stopping the server: %v", err)
		}
	})
	return e
}

// must fails tb on err.
func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// reportHistory reports the size of a run's history.
func reportHistory(b *testing.B, e *Env, run [2]string) {
	h, err := History(context.Background(), e.Client, run[0], run[1])
	if err != nil {
		b.Fatal(err)
	}
	s := ShapeOf(h)
	b.ReportMetric(float64(s.Events), "events/run")
	b.ReportMetric(float64(s.WorkflowTasks), "wft/run")
	b.Logf("history: %s", s)
}

// ns is a duration as a benchmark metric.
func ns(d time.Duration) float64 { return float64(d.Nanoseconds()) }
