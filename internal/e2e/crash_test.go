package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/workflows"
)

// scripted is one answer a scripted responder gives.
type scripted struct {
	update, step, person, option string
}

// drillScript answers every prompt of the crash_drill playbook, in order.
var drillScript = []scripted{
	{workflows.UpdateAck, "page.oncall", "dmitri", ""},
	{workflows.UpdateApprove, "approval.isolate_ok", "alice", ""},
	{workflows.UpdateApprove, "approval.isolate_ok", "erin", ""},
	{workflows.UpdateDone, "task.verify", "farid", ""},
	{workflows.UpdateDecide, "decision.reconnect", "olga", "reconnect"},
	{workflows.UpdateApprove, "approval.restore_ok", "bob", ""},
	{workflows.UpdateApprove, "approval.restore_ok", "dmitri", ""},
}

// drillEvents are the timeline events drillScript's answers leave.
var drillEvents = []drillEvent{
	{workflows.EventAcknowledged, "page.oncall", "dmitri"},
	{workflows.EventApproved, "approval.isolate_ok", "alice"},
	{workflows.EventApproved, "approval.isolate_ok", "erin"},
	{workflows.EventTaskDone, "task.verify", "farid"},
	{workflows.EventDecided, "decision.reconnect", "olga"},
	{workflows.EventApproved, "approval.restore_ok", "bob"},
	{workflows.EventApproved, "approval.restore_ok", "dmitri"},
}

// drillEffects are the effects one crash_drill incident with hosts hosts
// applies, each exactly once.
func drillEffects(id string, hosts int) []effectKey {
	call := func(step string) activities.Call { return activities.Call{IncidentID: id, Step: step} }
	want := []effectKey{
		{sim.OpOpenChannel, call("step.open_room").IdempotencyKey()},
		{sim.OpPage, activities.PageKey(call("page.oncall"), "oncall", 0, 0)},
		{sim.OpPrompt, activities.PromptKey(call("approval.isolate_ok"), "approval")},
		{sim.OpPrompt, activities.PromptKey(call("task.verify"), "task")},
		{sim.OpPrompt, activities.PromptKey(call("decision.reconnect"), "decision")},
		{sim.OpPrompt, activities.PromptKey(call("approval.restore_ok"), "approval")},
		{sim.OpNotify, activities.NotifyKey(call("notify.isolated"))},
	}
	// Every page and prompt is settled once its step is done.
	for _, step := range []string{"page.oncall", "approval.isolate_ok", "task.verify", "decision.reconnect", "approval.restore_ok"} {
		want = append(want, effectKey{sim.OpSettle, call(step).IdempotencyKey() + "/settle/" + workflows.StepDone})
	}
	for i := range hosts {
		c := activities.Call{IncidentID: id, Step: "step.contain", Iteration: strconv.Itoa(i)}
		want = append(want, effectKey{sim.OpContain, c.IdempotencyKey()})
	}
	want = append(want, conduitKeys(id, "step.isolate", sim.OpCut, cutConduits)...)
	return append(want, conduitKeys(id, "step.restore", sim.OpRestore, cutConduits)...)
}

// hostsInput is the hosts input of a drill with n hosts.
func hostsInput(n int) string {
	var hs []string
	for i := range n {
		hs = append(hs, fmt.Sprintf("%q", fmt.Sprintf("ws-%d", i+1)))
	}
	return "hosts=[" + strings.Join(hs, ",") + "]"
}

// respond plays script against incident id: it waits for each step to take
// answers (polling the status query every `every`) and sends the answer
// through incident.Answer, retrying the same answer (the same update ID)
// after errors that are not refusals, such as no worker answering while it
// is being killed. It returns how many sends were retried.
func respond(ctx context.Context, c client.Client, id string, script []scripted, every time.Duration) (retries int, err error) {
	pause := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
			return true
		}
	}
	for _, a := range script {
		var round int
		var lastErr error
		var last workflows.Status
		for {
			st, err := status(c, id)
			if err == nil {
				last = st
				if s := stepOf(st, a.step); s.State == workflows.StepWaiting {
					round = s.Round
					break
				}
				if st.State != workflows.StateRunning {
					return retries, fmt.Errorf("incident %s is %s before %s answered %s", id, st.State, a.person, a.step)
				}
			}
			lastErr = err
			if !pause() {
				return retries, fmt.Errorf("incident %s: %s never waited for answers (step %+v, last error %v)", id, a.step, stepOf(last, a.step), lastErr)
			}
		}
		ans := workflows.Answer{Step: a.step, Person: a.person, Option: a.option, Round: round, Channel: workflows.ChannelScript}
		// One nonce for all the retries: they are one update.
		nonce := incident.NewNonce()
		for {
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := incident.Send(actx, c, a.update, id, ans, nonce)
			cancel()
			if err == nil {
				break
			}
			var r *incident.Refused
			if errors.As(err, &r) {
				return retries, fmt.Errorf("incident %s: %s by %s on %s refused: %v", id, a.update, a.person, a.step, err)
			}
			retries++
			if !pause() {
				return retries, fmt.Errorf("incident %s: %s by %s on %s never went through: %v", id, a.update, a.person, a.step, err)
			}
		}
	}
	return retries, nil
}

// drillEvent is a timeline event a scripted answer leaves.
type drillEvent struct{ kind, step, person string }

// checkDrillTimeline checks that every event of want is in the timeline of
// incident id exactly once, and that nothing was refused.
func checkDrillTimeline(t *testing.T, c client.Client, id string, want []drillEvent) {
	t.Helper()
	// Right after a server restart a query can fail until the worker polls
	// the new server again.
	var tl workflows.Timeline
	var err error
	waitFor(t, "the timeline of "+id, stepTimeout, func() bool {
		tl, err = timeline(c, id)
		return err == nil
	})
	for _, want := range want {
		n := 0
		for _, e := range tl.Events {
			if isEvent(want.kind, want.step, want.person)(e) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("incident %s: %d %s events by %s on %s in the timeline, want 1", id, n, want.kind, want.person, want.step)
		}
	}
	if r := events(tl, workflows.EventRefused); len(r) > 0 {
		t.Errorf("incident %s: refusals in the timeline: %+v", id, r)
	}
}

// envInt reads a positive whole number from the environment.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// chaosSeed returns the seed of a chaos test (FIREBREAK_CRASH_SEED, or the
// clock) and a generator seeded with it.
func chaosSeed(t *testing.T) (uint64, *rand.Rand) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("FIREBREAK_CRASH_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("FIREBREAK_CRASH_SEED=%q: %v", v, err)
		}
		seed = s
	}
	return seed, rand.New(rand.NewPCG(seed, seed^0x5eed))
}

// drillRun is one crash_drill incident of a chaos test.
type drillRun struct {
	id      string
	hosts   int
	retries int // answers sent again after an error
	err     error
	result  workflows.IncidentResult
	resErr  error
}

// drillSpec says what a drill's incidents run: a playbook of a directory,
// started by commander, with inputs for each run, and the answers a
// scripted responder gives and the timeline events they leave.
type drillSpec struct {
	dir, playbook, commander string
	inputs                   func(r *drillRun) []string
	script                   []scripted
	events                   []drillEvent
}

// crashDrill is the crash_drill playbook of the main directory, with 1 to
// 3 hosts per incident.
func crashDrill(t *testing.T) drillSpec {
	return drillSpec{
		dir: playbookDir(t), playbook: "crash_drill", commander: "hiro",
		inputs: func(r *drillRun) []string { return []string{hostsInput(r.hosts)} },
		script: drillScript, events: drillEvents,
	}
}

// drill is a set of incidents of one drillSpec, each with a scripted
// responder and a goroutine waiting for its result.
type drill struct {
	t    *testing.T
	c    client.Client
	runs []*drillRun
	spec drillSpec
	ctx  context.Context
	wg   sync.WaitGroup
	// started counts the incidents started so far.
	started int
	done    chan struct{} // closed when every responder and result is in
	// failed is closed when a responder gives up: the incidents it answers
	// for cannot finish, so there is no point waiting for them.
	failed     chan struct{}
	failedOnce sync.Once
	mu         sync.Mutex
	errs       []error // what the responders that gave up said
	began      time.Time
}

// newDrill prepares n crash_drill incidents named PREFIX-NN, with 1 to 3
// hosts each (from rng). timeout bounds the whole drill; the test cancels
// and waits for its goroutines at the end.
func newDrill(t *testing.T, c client.Client, prefix string, n int, rng *rand.Rand, timeout time.Duration) *drill {
	return newDrillOf(t, c, crashDrill(t), prefix, n, rng, timeout)
}

// newDrillOf prepares n incidents of spec named PREFIX-NN (see newDrill).
func newDrillOf(t *testing.T, c client.Client, spec drillSpec, prefix string, n int, rng *rand.Rand, timeout time.Duration) *drill {
	d := &drill{t: t, c: c, spec: spec, done: make(chan struct{}), failed: make(chan struct{}), began: time.Now()}
	for i := range n {
		d.runs = append(d.runs, &drillRun{id: fmt.Sprintf("%s-%02d", prefix, i+1), hosts: 1 + rng.IntN(3)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	d.ctx = ctx
	t.Cleanup(func() { cancel(); d.wg.Wait() })
	return d
}

// startDrill prepares n incidents (see newDrill) and starts them all.
func startDrill(t *testing.T, c client.Client, prefix string, n int, rng *rand.Rand, timeout time.Duration) *drill {
	d := newDrill(t, c, prefix, n, rng, timeout)
	for d.startNext() {
	}
	return d
}

// startNext starts the next incident, its scripted responder and a
// goroutine waiting for its result. It reports false when every incident
// has been started; done closes once they have all finished.
func (d *drill) startNext() bool {
	if d.started == len(d.runs) {
		return false
	}
	r := d.runs[d.started]
	d.started++
	startIncident(d.t, d.c, d.spec.dir, d.spec.playbook, d.spec.commander, r.id, d.spec.inputs(r)...)
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		r.retries, r.err = respond(d.ctx, d.c, r.id, d.spec.script, 150*time.Millisecond)
		if r.err != nil {
			d.mu.Lock()
			d.errs = append(d.errs, r.err)
			d.mu.Unlock()
			d.failedOnce.Do(func() { close(d.failed) })
		}
	}()
	go func() {
		defer d.wg.Done()
		r.result, r.resErr = incidentResult(d.ctx, d.c, r.id)
	}()
	if d.started == len(d.runs) {
		go func() { d.wg.Wait(); close(d.done) }()
	}
	return true
}

// incidentResult waits for an incident's result, asking again after errors
// (the server may be down for a moment) until ctx ends.
func incidentResult(ctx context.Context, c client.Client, id string) (workflows.IncidentResult, error) {
	var res workflows.IncidentResult
	for {
		err := c.GetWorkflow(ctx, workflows.IncidentWorkflowID(id), "").Get(ctx, &res)
		if err == nil || ctx.Err() != nil {
			return res, err
		}
		var app *temporal.ApplicationError
		if errors.As(err, &app) {
			return res, err // the workflow failed
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// finish waits for every incident to end and checks them: each completed,
// each answer once in its timeline, each expected effect applied exactly
// once in the journal and nothing applied twice. It returns the journal's
// figures.
func (d *drill) finish(journal string) stats {
	t := d.t
	t.Helper()
	d.wait()
	entries, err := sim.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	checkNoDuplicateEffects(t, entries)
	for _, r := range d.runs {
		checkEffects(t, entries, r.id, drillEffects(r.id, r.hosts))
	}
	return journalStats(entries)
}

// wait waits for every incident to end and checks them: each completed,
// each answer of the script once in its timeline.
func (d *drill) wait() {
	t := d.t
	t.Helper()
	select {
	case <-d.done:
	case <-d.failed:
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, err := range d.errs {
			t.Errorf("responder: %v", err)
		}
		t.FailNow()
	case <-d.ctx.Done():
		for _, r := range d.runs {
			st, err := status(d.c, r.id)
			t.Logf("%s: state %s, responder %v, result %v, status error %v", r.id, st.State, r.err, r.resErr, err)
		}
		t.Fatalf("incidents not finished %s after the start", time.Since(d.began).Round(time.Second))
	}
	for _, r := range d.runs {
		if r.err != nil {
			t.Errorf("responder: %v", r.err)
		}
		if r.resErr != nil {
			t.Errorf("incident %s: %v", r.id, r.resErr)
		} else if r.result.State != workflows.StateCompleted {
			t.Errorf("incident %s ended %s: %+v", r.id, r.result.State, r.result.Steps)
		}
		checkDrillTimeline(t, d.c, r.id, d.spec.events)
	}
}

// retries is how many answers were sent again after an error.
func (d *drill) retries() int {
	n := 0
	for _, r := range d.runs {
		n += r.retries
	}
	return n
}

// TestCrashKillWorker runs incidents with scripted answers while a chaos
// loop kills the worker process with SIGKILL at random moments and starts
// it again on the same journal. Every incident must complete with every
// answer in its timeline, and every effect must be applied exactly once.
//
// FIREBREAK_CRASH_RUNS sets the number of incidents (default 12, 3 with
// -short), FIREBREAK_CRASH_KILLS the number of kills (default 2 per
// incident, plus 4), and FIREBREAK_CRASH_SEED the seed of the chaos, which
// the test logs so that a failure can be replayed.
func TestCrashKillWorker(t *testing.T) {
	defRuns := 12
	if testing.Short() {
		defRuns = 3
	}
	runs := envInt(t, "FIREBREAK_CRASH_RUNS", defRuns)
	maxKills := envInt(t, "FIREBREAK_CRASH_KILLS", 2*runs+4)
	seed, rng := chaosSeed(t)
	t.Logf("%d incidents, up to %d kills, seed %d (replay: FIREBREAK_CRASH_SEED=%d FIREBREAK_CRASH_RUNS=%d FIREBREAK_CRASH_KILLS=%d)",
		runs, maxKills, seed, seed, runs, maxKills)

	dataDir := t.TempDir()
	journal := filepath.Join(dataDir, "simulation.jsonl")
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	c := newClient(t, srv)
	w := newWorker(t, srv.Address(), journal)
	w.start()
	d := startDrill(t, c, "CRASH", runs, rng, 3*time.Minute+time.Duration(runs)*3*time.Second)

	kills, onWrite := 0, 0
	for kills < maxKills {
		// The chaos: a random moment to kill at, 50-700ms after the worker
		// is up. Every other kill, on a coin flip, comes as soon as the
		// worker journals an attempt instead, if that is sooner: the moment
		// an effect has been applied and Temporal may not know it yet.
		delay := time.Duration(50+rng.IntN(651)) * time.Millisecond
		afterWrite := rng.IntN(2) == 0
		wrote, done := waitChaos(journal, delay, afterWrite, d.done)
		if done {
			break
		}
		if wrote {
			onWrite++
		}
		w.kill()
		kills++
		w.start()
	}
	chaosTime := time.Since(d.began)
	st := d.finish(journal)
	t.Logf("incidents %d, kills %d (%d right after a journal write; %s of chaos, all done after %s), worker starts %d, answer retries %d",
		runs, kills, onWrite, chaosTime.Round(time.Millisecond), time.Since(d.began).Round(time.Millisecond), w.starts, d.retries())
	t.Logf("journal: attempts %d, effects %d, duplicate attempts absorbed by idempotency %d, failed attempts %d", st.attempts, st.effects, st.absorbed, st.failed)
}

// TestCrashKillServer runs incidents while a chaos loop kills the Temporal
// server itself (`firebreak dev --no-worker`, a separate process) with
// SIGKILL at random moments and starts it again on the same SQLite file and
// port; the incidents start one per round of chaos. The worker process
// stays up and reconnects. Every incident must
// complete with every answer in its timeline, and every effect must be
// applied exactly once.
//
// FIREBREAK_CRASH_SERVER_RUNS and FIREBREAK_CRASH_SERVER_KILLS set the
// number of incidents and kills (default 6 and 8; 2 and 3 with -short; at
// least one kill per incident);
// FIREBREAK_CRASH_SEED the seed.
func TestCrashKillServer(t *testing.T) {
	defRuns, defKills := 6, 8
	if testing.Short() {
		defRuns, defKills = 2, 3
	}
	runs := envInt(t, "FIREBREAK_CRASH_SERVER_RUNS", defRuns)
	maxKills := envInt(t, "FIREBREAK_CRASH_SERVER_KILLS", defKills)
	seed, rng := chaosSeed(t)
	t.Logf("%d incidents, %d server kills, seed %d (replay: FIREBREAK_CRASH_SEED=%d FIREBREAK_CRASH_SERVER_RUNS=%d FIREBREAK_CRASH_SERVER_KILLS=%d)",
		runs, maxKills, seed, seed, runs, maxKills)

	port := freePort(t)
	addr := net.JoinHostPort(devserver.DefaultIP, strconv.Itoa(port))
	srv := newDevServer(t, t.TempDir(), port)
	srv.start()
	journal := filepath.Join(t.TempDir(), "simulation.jsonl")
	w := newWorker(t, addr, journal)
	w.start()
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: devserver.DefaultNamespace, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	// The incidents start one per round of chaos, so the kills fall on
	// every phase of them.
	d := newDrill(t, c, "SRVKILL", runs, rng, 3*time.Minute)
	kills := 0
	for kills < maxKills || d.started < runs {
		d.startNext()
		// The chaos: a random moment, 50-700ms after the server is up.
		delay := time.Duration(50+rng.IntN(651)) * time.Millisecond
		if _, done := waitChaos(journal, delay, false, d.done); done {
			break
		}
		srv.kill()
		kills++
		srv.start()
	}
	chaosTime := time.Since(d.began)
	st := d.finish(journal)
	t.Logf("incidents %d, server kills %d (%s of chaos, all done after %s), answer retries %d",
		runs, kills, chaosTime.Round(time.Millisecond), time.Since(d.began).Round(time.Millisecond), d.retries())
	t.Logf("journal: attempts %d, effects %d, duplicate attempts absorbed by idempotency %d, failed attempts %d", st.attempts, st.effects, st.absorbed, st.failed)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(devserver.DefaultIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitChaos waits for the moment of the next kill: delay, or, with
// afterWrite, the journal growing first (polled every millisecond). It
// reports whether the journal grew and whether done closed first.
func waitChaos(journal string, delay time.Duration, afterWrite bool, done <-chan struct{}) (wrote, finished bool) {
	return waitChaosOn(func() int64 {
		st, err := os.Stat(journal)
		if err != nil {
			return 0
		}
		return st.Size()
	}, delay, afterWrite, done)
}

// waitChaosOn is waitChaos watching what size says (polled every
// millisecond) instead of a journal: with afterChange, the moment it
// changes, if that comes before delay.
func waitChaosOn(size func() int64, delay time.Duration, afterChange bool, done <-chan struct{}) (changed, finished bool) {
	timer := time.NewTimer(delay)
	defer timer.Stop()
	if !afterChange {
		select {
		case <-done:
			return false, true
		case <-timer.C:
			return false, false
		}
	}
	base := size()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false, true
		case <-timer.C:
			return false, false
		case <-tick.C:
			if size() != base {
				return true, false
			}
		}
	}
}

// waitQuiet waits until incident id has no activity and no workflow task
// in flight (the room's status updates and settling included): a worker
// killed in the middle of a workflow task leaves queries waiting for the
// task's timeout.
func waitQuiet(t *testing.T, c client.Client, id string) {
	t.Helper()
	waitFor(t, "no activity or workflow task in flight in incident "+id, stepTimeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d, err := c.DescribeWorkflowExecution(ctx, workflows.IncidentWorkflowID(id), "")
		return err == nil && len(d.GetPendingActivities()) == 0 && d.GetPendingWorkflowTask() == nil
	})
}

// stats sums up a journal.
type stats struct{ attempts, effects, absorbed, failed int }

// journalStats counts attempts, effects, repeats of an applied effect that
// its idempotency key absorbed, and failed attempts.
func journalStats(entries []sim.Entry) stats {
	s := stats{attempts: len(entries)}
	applied := map[effectKey]bool{}
	for _, e := range entries {
		k := effectKey{e.Op, e.Key}
		switch {
		case e.Error != "":
			s.failed++
		case e.Effect:
			s.effects++
			applied[k] = true
		case applied[k]:
			s.absorbed++
		}
	}
	return s
}

// TestCrashServerRestart stops the server and the worker in the middle of
// an incident and starts both again on the same state and port: the
// incident carries on, takes the rest of its answers and completes, with
// every answer in its timeline and every effect applied once.
func TestCrashServerRestart(t *testing.T) {
	dataDir := t.TempDir()
	journal := filepath.Join(dataDir, "simulation.jsonl")
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	addr := srv.Address()
	port := portOf(t, addr)
	c := newClient(t, srv)
	w := newWorker(t, addr, journal)
	w.start()

	const id = "RESTART-1"
	startIncident(t, c, playbookDir(t), "crash_drill", "hiro", id, hostsInput(2))
	ctx := testContext(t, 2*time.Minute)
	if _, err := respond(ctx, c, id, drillScript[:3], pollEvery); err != nil {
		t.Fatal(err)
	}
	// The isolation has run and the incident waits for the supervisor. No
	// activity is in flight: one lost with the worker would be retried only
	// after its start-to-close timeout, which is not what this test is about.
	waitStep(t, c, id, "task.verify", workflows.StepWaiting, 0)
	waitQuiet(t, c, id)

	w.kill()
	c.Close()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop the server: %v", err)
	}

	srv2 := startServer(t, devserver.Options{DataDir: dataDir, Port: port})
	if srv2.Address() != addr {
		t.Fatalf("restarted server at %s, want %s", srv2.Address(), addr)
	}
	c2 := newClient(t, srv2)
	w.start()
	// The restarted worker answers the query once it polls again.
	var st workflows.Status
	waitFor(t, "the restarted worker to answer a query on "+id, stepTimeout, func() bool {
		var err error
		st, err = status(c2, id)
		return err == nil
	})
	if s := stepOf(st, "step.isolate"); s.State != workflows.StepDone {
		t.Errorf("after the restart the isolation is %s, want done", s.State)
	}
	if _, err := respond(ctx, c2, id, drillScript[3:], pollEvery); err != nil {
		t.Fatal(err)
	}
	var res workflows.IncidentResult
	if err := c2.GetWorkflow(ctx, workflows.IncidentWorkflowID(id), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.State != workflows.StateCompleted {
		t.Errorf("incident ended %s: %+v", res.State, res.Steps)
	}
	checkDrillTimeline(t, c2, id, drillEvents)
	entries, err := sim.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	checkNoDuplicateEffects(t, entries)
	checkEffects(t, entries, id, drillEffects(id, 2))
}

// TestCrashAnswerWhileWorkerDown sends an approval while no worker runs:
// the call waits (the server holds the update), and once a worker is back
// the approval is applied, the call returns its result and the timeline has
// it. In the second case the server is also restarted while the call waits:
// the client sends the same update again and it is not lost.
func TestCrashAnswerWhileWorkerDown(t *testing.T) {
	t.Run("worker down", func(t *testing.T) { answerWhileWorkerDown(t, false) })
	t.Run("worker down and server restarted", func(t *testing.T) { answerWhileWorkerDown(t, true) })
}

func answerWhileWorkerDown(t *testing.T, restartServer bool) {
	dataDir := t.TempDir()
	journal := filepath.Join(dataDir, "simulation.jsonl")
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	c := newClient(t, srv)
	w := newWorker(t, srv.Address(), journal)
	w.start()

	const id = "DOWN-1"
	startIncident(t, c, playbookDir(t), "isolate_cell", "hiro", id)
	s := waitStep(t, c, id, isolateOK, workflows.StepWaiting, 1)
	answer(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "alice", Round: s.Round})
	waitQuiet(t, c, id)

	w.kill()
	a := workflows.Answer{Step: isolateOK, Person: "erin", Round: s.Round, Channel: workflows.ChannelCLI}
	nonce := incident.NewNonce()
	type reply struct {
		res workflows.AnswerResult
		err error
	}
	replied := make(chan reply, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := incident.Send(ctx, c, workflows.UpdateApprove, id, a, nonce)
		replied <- reply{res, err}
	}()

	// The server has the update and holds it for a worker.
	waitAdmitted(t, c, srv.Namespace(), id, incident.UpdateID(workflows.UpdateApprove, a, nonce))
	select {
	case r := <-replied:
		t.Fatalf("the answer returned with no worker running: %+v, %v", r.res, r.err)
	default:
	}

	if restartServer {
		// An admitted update lives in the server's memory only.
		addr := srv.Address()
		if err := srv.Stop(); err != nil {
			t.Fatalf("stop the server: %v", err)
		}
		srv = startServer(t, devserver.Options{DataDir: dataDir, Port: portOf(t, addr)})
		c = newClient(t, srv)
	}
	w.start()
	var r reply
	select {
	case r = <-replied:
	case <-time.After(answerTimeout):
		t.Fatal("the answer did not return after the worker came back")
	}
	if r.err != nil {
		t.Fatalf("answer sent while the worker was down: %v", r.err)
	}
	if r.res.StepState != workflows.StepDone || !strings.Contains(r.res.Message, "(2 of 2); sign-off complete") {
		t.Errorf("answer result: %+v", r.res)
	}
	ev := waitEvent(t, c, id, "erin's approval", isEvent(workflows.EventApproved, isolateOK, "erin"))
	if ev.Channel != workflows.ChannelCLI {
		t.Errorf("approval event: %+v", ev)
	}
	st := waitState(t, c, id, workflows.StateCompleted)
	if ap := stepOf(st, isolateOK).Approvals; len(ap) != 2 {
		t.Errorf("approvals: %+v, want alice and erin", ap)
	}
	entries, err := sim.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	checkEffects(t, entries, id, conduitKeys(id, isolate, sim.OpCut, cutConduits), isolatorOps...)
}

// portOf returns the port of a host:port address.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestCrashAnswerArrivesWithTheEventThatOpensItsStep delivers an approval
// in the same workflow task as the event that opens the approval: the
// worker is down while the timer in front of the sign-off fires, and the
// answer waits on the server with that event. This is what happens when a
// status query, answered from a worker's not yet committed state, shows the
// step waiting and the server or the worker dies before that state is
// committed: the person answers what they were shown. The answer must be
// applied, not refused as "pending".
func TestCrashAnswerArrivesWithTheEventThatOpensItsStep(t *testing.T) {
	dataDir := t.TempDir()
	journal := filepath.Join(dataDir, "simulation.jsonl")
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	c := newClient(t, srv)
	w := newWorker(t, srv.Address(), journal)
	w.start()

	const id = "SAMETASK-1"
	startIncident(t, c, playbookDir(t), "timed_signoff", "hiro", id)
	waitStep(t, c, id, "wait.settle", workflows.StepRunning, 0)
	w.kill()
	waitFor(t, "the settle timer to fire with no worker running", stepTimeout, func() bool {
		return hasEvent(c, id, enumspb.EVENT_TYPE_TIMER_FIRED)
	})

	a := workflows.Answer{Step: isolateOK, Person: "alice", Channel: workflows.ChannelCLI}
	nonce := incident.NewNonce()
	replied := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := incident.Send(ctx, c, workflows.UpdateApprove, id, a, nonce)
		replied <- err
	}()
	waitAdmitted(t, c, srv.Namespace(), id, incident.UpdateID(workflows.UpdateApprove, a, nonce))
	w.start()
	select {
	case err := <-replied:
		if err != nil {
			st, serr := status(c, id)
			t.Fatalf("approval delivered with the event that opens the sign-off: %v (once the worker has applied that event the step is %s, status error %v)",
				err, stepOf(st, isolateOK).State, serr)
		}
	case <-time.After(answerTimeout):
		t.Fatal("the answer did not return after the worker came back")
	}
	s := waitStep(t, c, id, isolateOK, workflows.StepWaiting, 1)
	if len(s.Approvals) != 1 || s.Approvals[0].Person != "alice" {
		t.Errorf("approvals: %+v, want alice's", s.Approvals)
	}
}

// hasEvent reports whether the history of incident id has an event of type.
func hasEvent(c client.Client, id string, typ enumspb.EventType) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflows.IncidentWorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false
		}
		if e.GetEventType() == typ {
			return true
		}
	}
	return false
}

// waitAdmitted waits until the server holds update updateID of incident id
// (with no worker, it cannot go further than admitted).
func waitAdmitted(t *testing.T, c client.Client, namespace, id, updateID string) {
	t.Helper()
	var stage enumspb.UpdateWorkflowExecutionLifecycleStage
	waitFor(t, "the server to admit update "+updateID, stepTimeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := c.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
			Namespace: namespace,
			UpdateRef: &updatepb.UpdateRef{
				WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflows.IncidentWorkflowID(id)},
				UpdateId:          updateID,
			},
			WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED},
		})
		if err != nil {
			return false
		}
		stage = resp.GetStage()
		return true
	})
	if stage != enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED {
		t.Fatalf("with no worker update %s is at stage %s, want admitted", updateID, stage)
	}
}
