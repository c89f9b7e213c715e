package bench

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	tb.Cleanup(cancel)
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

// benchEnv is a server with the benchmark worker: the incident workflow and
// the simulated activities as runner.Register wires them (with the isolator
// reporting cuts), plus HandWritten and Echo, all on the main task queue.
type benchEnv struct {
	*env
	cuts *NotifyingIsolator
}

func startBenchEnv(tb testing.TB, opts devserver.Options) *benchEnv {
	tb.Helper()
	// The worker's own configuration is the library, the organisation the
	// benchmarked plans are compiled from; answers are unsigned.
	o, _, diags := org.Load(libraryDir, org.Options{Lenient: true})
	if diags.HasErrors() {
		tb.Fatal(diags.Error())
	}
	return startBenchEnvWith(tb, opts, org.NewAuthority(org.NewHolder(o, org.Options{Lenient: true}), false))
}

// startBenchEnvWith is startBenchEnv with the worker's authority given.
func startBenchEnvWith(tb testing.TB, opts devserver.Options, authority activities.Authority) *benchEnv {
	tb.Helper()
	e := &benchEnv{env: startServer(tb, opts)}
	twin := sim.New(sim.NewJournal())
	acts := twin.Activities()
	acts.Authority = authority
	e.cuts = NewNotifyingIsolator(acts.Isolator, 1024)
	acts.Isolator = e.cuts
	w := worker.New(e.c, activities.TaskQueue, worker.Options{})
	runner.Register(w, acts)
	w.RegisterWorkflowWithOptions(HandWritten, workflow.RegisterOptions{Name: HandWrittenName})
	w.RegisterWorkflowWithOptions(Echo, workflow.RegisterOptions{Name: EchoName})
	if err := w.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.Stop)
	return e
}

// waitCut returns the first cut of incident id.
func (e *benchEnv) waitCut(tb testing.TB, id string) Cut {
	tb.Helper()
	timeout := time.NewTimer(2 * time.Minute)
	defer timeout.Stop()
	for {
		select {
		case cut := <-e.cuts.Cuts:
			if cut.Incident() == id {
				return cut
			}
		case <-timeout.C:
			tb.Fatalf("incident %s: no isolation started within 2 minutes", id)
		}
	}
}

// waitFor polls the incident's status until cond holds.
func waitFor(tb testing.TB, ctx context.Context, c client.Client, id, what string, cond func(workflows.Status) bool) workflows.Status {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := incident.Status(ctx, c, id)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			tb.Fatalf("incident %s: %s did not happen within 2 minutes (last status %+v, error %v)", id, what, st, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stepIs reports whether step id is in state.
func stepIs(id, state string) func(workflows.Status) bool {
	return func(st workflows.Status) bool {
		for _, s := range st.Steps {
			if s.ID == id {
				return s.State == state
			}
		}
		return false
	}
}

// compileSource compiles playbook name from in-memory HCL files.
func compileSource(tb testing.TB, files map[string]string, name string) *plan.Plan {
	tb.Helper()
	src := map[string][]byte{}
	for k, v := range files {
		src[k] = []byte(v)
	}
	m, diags := playbooks.LoadSource(src)
	if diags.HasErrors() {
		tb.Fatal(diags.Error())
	}
	p, diags := m.Compile(name, actions.Builtin())
	if p == nil || diags.HasErrors() {
		tb.Fatal(diags.Error())
	}
	return p
}

// history fetches the whole history of a workflow run.
func history(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		return nil, errors.New("empty history")
	}
	return h, nil
}

// historyShape counts a history's events and workflow tasks, and lists the
// event types that occur, for reporting.
type historyShape struct {
	Events, WorkflowTasks int
	Types                 map[string]int
}

func shapeOf(h *historypb.History) historyShape {
	s := historyShape{Events: len(h.Events), Types: map[string]int{}}
	for _, ev := range h.Events {
		t := strings.TrimPrefix(ev.GetEventType().String(), "EVENT_TYPE_")
		s.Types[t]++
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			s.WorkflowTasks++
		}
	}
	return s
}

func (s historyShape) String() string {
	keys := make([]string, 0, len(s.Types))
	for k := range s.Types {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, s.Types[k]))
	}
	return fmt.Sprintf("%d events, %d workflow tasks: %s", s.Events, s.WorkflowTasks, strings.Join(parts, " "))
}

// slowRun is how long one benchmark run may take before it is treated as a
// stall and its history is explained in the log. Runs take well under a
// second; this only catches what is plainly stuck.
const slowRun = 30 * time.Second

// explainSlow logs, for a run that took longer than slowRun, the longest
// gaps between consecutive events of its history and the events around
// them, so a stall (an activity lost until its timeout, a task waiting in
// a queue) can be told from a slow machine next time one happens.
func explainSlow(tb testing.TB, e *env, workflowID, runID string, took time.Duration) {
	if took < slowRun {
		return
	}
	h, err := history(e.ctx, e.c, workflowID, runID)
	if err != nil {
		tb.Logf("a run took %v; its history could not be read: %v", took, err)
		return
	}
	tb.Logf("STALL: %s took %v (%d events); the longest gaps between events:", workflowID, took, len(h.Events))
	for _, line := range longestGaps(h, 3) {
		tb.Log("  " + line)
	}
}

// longestGaps describes the n longest gaps between consecutive events of a
// history, longest first.
func longestGaps(h *historypb.History, n int) []string {
	type gap struct {
		d    time.Duration
		from int
	}
	var gaps []gap
	for i := 1; i < len(h.Events); i++ {
		d := h.Events[i].GetEventTime().AsTime().Sub(h.Events[i-1].GetEventTime().AsTime())
		gaps = append(gaps, gap{d, i - 1})
	}
	sort.SliceStable(gaps, func(a, b int) bool { return gaps[a].d > gaps[b].d })
	var out []string
	for _, g := range gaps[:min(n, len(gaps))] {
		a, b := h.Events[g.from], h.Events[g.from+1]
		out = append(out, fmt.Sprintf("%v between event %d %v and event %d %v", g.d, a.GetEventId(), a.GetEventType(), b.GetEventId(), b.GetEventType()))
	}
	return out
}
