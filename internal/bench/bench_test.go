package bench

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Benchmarks report times; none asserts one. Run them side by side with
//
//	go test ./internal/bench -run '^$' -bench . -benchtime 20x
//
// Every benchmark starts its own embedded server(s) and worker and stops them
// when it ends.

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
//	                        approval (untimed), so load and drift hit both
//	                        x-update: ns/op over echo-ns/op
func BenchmarkApprovalToIsolation(b *testing.B) {
	prep, err := incident.Prepare(incident.StartRequest{
		Dir: libraryDir, Playbook: "ot_ransomware_containment", Inputs: ransomwareInputs, Commander: "ines", IncidentID: "BENCH-0",
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, st := range storages {
		b.Run(st.name, func(b *testing.B) {
			e := startBenchEnv(b, st.opts(b))
			b.Run("update_round_trip", func(b *testing.B) { benchUpdateRoundTrip(b, e) })
			b.Run("approval_to_isolation", func(b *testing.B) { benchApprovalToIsolation(b, e, prep) })
		})
	}
}

// echoRun is a running Echo workflow.
type echoRun struct {
	e    *benchEnv
	run  client.WorkflowRun
	sent int
}

// startEcho starts Echo and sends it one untimed Update, so its first
// workflow task is over before anything is measured.
func startEcho(b *testing.B, e *benchEnv) *echoRun {
	run, err := e.c.ExecuteWorkflow(e.ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("echo-%d", time.Now().UnixNano()), TaskQueue: activities.TaskQueue}, EchoName)
	if err != nil {
		b.Fatal(err)
	}
	r := &echoRun{e: e, run: run}
	r.update(b)
	return r
}

// update sends one Update and waits for its answer.
func (r *echoRun) update(b *testing.B) time.Duration {
	t0 := time.Now()
	h, err := r.e.c.UpdateWorkflow(r.e.ctx, client.UpdateWorkflowOptions{
		WorkflowID:   r.run.GetID(),
		RunID:        r.run.GetRunID(),
		UpdateName:   EchoUpdate,
		Args:         []any{"alice"},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		b.Fatal(err)
	}
	var n int
	if err := h.Get(r.e.ctx, &n); err != nil {
		b.Fatal(err)
	}
	d := time.Since(t0)
	r.sent++
	if n != r.sent {
		b.Fatalf("Echo answered %d to update %d", n, r.sent)
	}
	return d
}

// finish ends the run and checks it counted every Update.
func (r *echoRun) finish(b *testing.B) {
	if err := r.e.c.SignalWorkflow(r.e.ctx, r.run.GetID(), r.run.GetRunID(), EchoFinish, nil); err != nil {
		b.Fatal(err)
	}
	var total int
	if err := r.run.Get(r.e.ctx, &total); err != nil {
		b.Fatal(err)
	}
	if total != r.sent {
		b.Fatalf("Echo counted %d updates, %d were sent", total, r.sent)
	}
}

// benchUpdateRoundTrip measures Updates on one Echo run.
func benchUpdateRoundTrip(b *testing.B, e *benchEnv) {
	r := startEcho(b, e)
	for b.Loop() {
		r.update(b)
	}
	b.StopTimer()
	r.finish(b)
}

// benchApprovalToIsolation runs one incident per iteration. Untimed: start
// it, acknowledge the page, give the first sign-off. Timed: the second
// sign-off until the first Cut. The time is taken from the Cut's own
// timestamp, so it does not include waiting for the Update's reply when that
// comes later; ns/op is overridden with it.
func benchApprovalToIsolation(b *testing.B, e *benchEnv, prep *incident.Prepared) {
	ctx := e.ctx
	echo := startEcho(b, e)
	var toCut, reply, bare time.Duration
	i := 0
	var last incident.Started
	for b.Loop() {
		b.StopTimer()
		i++
		p := *prep
		p.Input.IncidentID = fmt.Sprintf("BENCH-%d-%d", time.Now().UnixNano(), i)
		started, err := incident.StartPrepared(ctx, e.c, &p)
		if err != nil {
			b.Fatal(err)
		}
		last = started
		id := started.IncidentID
		waitFor(b, ctx, e.c, id, "page waiting", stepIs("page.ot_engineer", workflows.StepWaiting))
		mustAnswer(b, e, workflows.UpdateAck, id, workflows.Answer{Step: "page.ot_engineer", Person: "dmitri", Channel: workflows.ChannelScript})
		waitFor(b, ctx, e.c, id, "sign-off waiting", stepIs("approval.isolate_ok", workflows.StepWaiting))
		mustAnswer(b, e, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Channel: workflows.ChannelScript})
		bare += echo.update(b)
		b.StartTimer()

		t0 := time.Now()
		mustAnswer(b, e, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.isolate_ok", Person: "olga", Channel: workflows.ChannelScript})
		reply += time.Since(t0)
		cut := e.waitCut(b, id)
		toCut += cut.At.Sub(t0)

		b.StopTimer()
		// The rest of the incident (tasks, a decision) would wait for
		// people; end it so idle incidents do not pile up on the server.
		if err := e.c.TerminateWorkflow(ctx, started.WorkflowID, started.RunID, "benchmark iteration done"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	echo.finish(b)
	b.ReportMetric(float64(toCut.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(reply.Nanoseconds())/float64(b.N), "reply-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "echo-ns/op")
	b.ReportMetric(float64(toCut)/float64(bare), "x-update")
	if h, err := history(ctx, e.c, last.WorkflowID, last.RunID); err == nil {
		b.Logf("history of one iteration (until terminated): %s", shapeOf(h))
	}
}

func mustAnswer(b *testing.B, e *benchEnv, update, id string, a workflows.Answer) {
	b.Helper()
	if _, err := incident.Answer(e.ctx, e.c, update, id, a); err != nil {
		b.Fatalf("%s %s by %s on %s: %v", update, a.Step, a.Person, id, err)
	}
}

// fiftySteps is the plan size of BenchmarkFiftySteps.
const fiftySteps = 50

// BenchmarkFiftySteps runs a generated plan of 50 webhook.post steps through
// the interpreter, and HandWritten calling the same 50 activities with the
// same options and inputs, on one in-memory server and one worker: as a chain
// (each step needs the one before) and fanned out (all independent). ns/op
// is one whole run, start to result. Both report their history's size
// (events/run, wft/run: workflow tasks). The interpreter also runs one
// untimed hand-written run after each of its own, so load and drift hit
// both alike, and reports hand-ns/op (those runs) and x-handwritten, its
// ns/op over hand-ns/op (target <= 1.05).
func BenchmarkFiftySteps(b *testing.B) {
	e := startBenchEnv(b, devserver.Options{Ephemeral: true})
	for _, shape := range []struct {
		name  string
		chain bool
	}{{"chain", true}, {"parallel", false}} {
		b.Run(shape.name, func(b *testing.B) {
			p := compileSource(b, map[string]string{"bench.hcl": GeneratePlaybook(fiftySteps, shape.chain)}, GeneratedPlaybook)
			b.Run("handwritten", func(b *testing.B) { benchHandWritten(b, e, p, !shape.chain) })
			b.Run("interpreter", func(b *testing.B) { benchInterpreter(b, e, p, !shape.chain) })
		})
	}
}

// BenchmarkDispatchTuning runs the 50-step chain through the interpreter on
// two in-memory servers side by side: one as firebreak configures it, one
// with Temporal's defaults for the settings devserver.DispatchTuning
// changes (the rest of firebreak's configuration is the same). Each
// iteration runs once on each, the tuned one timed. ns/op is the tuned
// server's run; temporal-ns/op the other's, and x-temporal the ratio
// (how many times faster the tuning makes a chain of steps).
func BenchmarkDispatchTuning(b *testing.B) {
	defaults := map[string]any{}
	for k := range devserver.DispatchTuning() {
		defaults[k] = nil
	}
	tuned := startBenchEnv(b, devserver.Options{Ephemeral: true})
	temporal := startBenchEnv(b, devserver.Options{Ephemeral: true, DynamicConfig: defaults})
	p := compileSource(b, map[string]string{"bench.hcl": GeneratePlaybook(fiftySteps, true)}, GeneratedPlaybook)
	var other time.Duration
	i := 0
	for b.Loop() {
		i++
		interpreterRun(b, tuned, p, i)
		b.StopTimer()
		_, d := interpreterRun(b, temporal, p, i)
		other += d
		b.StartTimer()
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(other.Nanoseconds())/float64(b.N), "temporal-ns/op")
	b.ReportMetric(float64(other.Nanoseconds())/float64(b.N)/ns, "x-temporal")
}

func benchHandWritten(b *testing.B, e *benchEnv, p *plan.Plan, parallel bool) {
	var run client.WorkflowRun
	i := 0
	for b.Loop() {
		i++
		run, _ = handWrittenRun(b, e, p, parallel, i)
	}
	b.StopTimer()
	reportHistory(b, e, run.GetID(), run.GetRunID())
}

func benchInterpreter(b *testing.B, e *benchEnv, p *plan.Plan, parallel bool) {
	var started incident.Started
	var hand time.Duration
	i := 0
	for b.Loop() {
		i++
		started, _ = interpreterRun(b, e, p, i)
		b.StopTimer()
		_, d := handWrittenRun(b, e, p, parallel, i)
		hand += d
		b.StartTimer()
	}
	b.StopTimer()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	handNs := float64(hand.Nanoseconds()) / float64(b.N)
	b.ReportMetric(handNs, "hand-ns/op")
	b.ReportMetric(ns/handNs, "x-handwritten")
	reportHistory(b, e, started.WorkflowID, started.RunID)
}

// handWrittenRun runs HandWritten over plan p to its result (iteration i
// names it) and returns the run and how long it took.
func handWrittenRun(b *testing.B, e *benchEnv, p *plan.Plan, parallel bool, i int) (client.WorkflowRun, time.Duration) {
	t0 := time.Now()
	id := fmt.Sprintf("HAND-%d-%d", time.Now().UnixNano(), i)
	in, err := HandInputFor(p, id, parallel)
	if err != nil {
		b.Fatal(err)
	}
	run, err := e.c.ExecuteWorkflow(e.ctx, client.StartWorkflowOptions{ID: "hand-" + id, TaskQueue: activities.TaskQueue}, HandWrittenName, in)
	if err != nil {
		b.Fatal(err)
	}
	var res HandResult
	if err := run.Get(e.ctx, &res); err != nil {
		b.Fatal(err)
	}
	if res.Done != len(p.Steps) {
		b.Fatalf("hand-written run did %d of %d steps", res.Done, len(p.Steps))
	}
	took := time.Since(t0)
	explainSlow(b, e.env, run.GetID(), run.GetRunID(), took)
	return run, took
}

// interpreterRun runs plan p as an incident to its result (iteration i
// names it) and returns the incident and how long it took.
func interpreterRun(b *testing.B, e *benchEnv, p *plan.Plan, i int) (incident.Started, time.Duration) {
	t0 := time.Now()
	prep := &incident.Prepared{Plan: p, Input: workflows.IncidentInput{Plan: p, IncidentID: fmt.Sprintf("STEPS-%d-%d", time.Now().UnixNano(), i), Commander: "ines", AcceptUnattested: true}}
	started, err := incident.StartPrepared(e.ctx, e.c, prep)
	if err != nil {
		b.Fatal(err)
	}
	var res workflows.IncidentResult
	if err := e.c.GetWorkflow(e.ctx, started.WorkflowID, started.RunID).Get(e.ctx, &res); err != nil {
		b.Fatal(err)
	}
	if res.State != workflows.StateCompleted {
		b.Fatalf("interpreter run ended %s: %+v", res.State, res.Steps)
	}
	took := time.Since(t0)
	explainSlow(b, e.env, started.WorkflowID, started.RunID, took)
	return started, took
}

// reportHistory reports the size of the last run's history.
func reportHistory(b *testing.B, e *benchEnv, workflowID, runID string) {
	h, err := history(e.ctx, e.c, workflowID, runID)
	if err != nil {
		b.Fatal(err)
	}
	s := shapeOf(h)
	b.ReportMetric(float64(s.Events), "events/run")
	b.ReportMetric(float64(s.WorkflowTasks), "wft/run")
	b.Logf("history: %s", s)
}
