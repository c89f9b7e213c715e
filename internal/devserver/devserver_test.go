package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// The tiny workflows below stand in for firebreak's: an approval that is an
// Update with a validator, a wait for a signal, and a short timer.

const (
	approveUpdate = "approve"
	finishSignal  = "finish"
	testQueue     = "devserver-test"
	refusedPerson = "mallory"
)

// approvalWorkflow completes once someone other than refusedPerson approves.
func approvalWorkflow(ctx workflow.Context) (string, error) {
	var approvedBy string
	err := workflow.SetUpdateHandlerWithOptions(ctx, approveUpdate,
		func(ctx workflow.Context, who string) (string, error) {
			approvedBy = who
			return "approved by " + who, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, who string) error {
			if who == refusedPerson {
				return fmt.Errorf("%s may not approve", who)
			}
			return nil
		}},
	)
	if err != nil {
		return "", err
	}
	if err := workflow.Await(ctx, func() bool { return approvedBy != "" }); err != nil {
		return "", err
	}
	return approvedBy, nil
}

// countingWorkflow accepts any number of approvals until it is signalled.
func countingWorkflow(ctx workflow.Context) (int, error) {
	n := 0
	err := workflow.SetUpdateHandler(ctx, approveUpdate, func(ctx workflow.Context, who string) (int, error) {
		n++
		return n, nil
	})
	if err != nil {
		return 0, err
	}
	workflow.GetSignalChannel(ctx, finishSignal).Receive(ctx, nil)
	return n, nil
}

// signalWorkflow returns what it is signalled.
func signalWorkflow(ctx workflow.Context) (string, error) {
	var got string
	workflow.GetSignalChannel(ctx, finishSignal).Receive(ctx, &got)
	return "got " + got, nil
}

// sleepWorkflow sleeps for d.
func sleepWorkflow(ctx workflow.Context, d time.Duration) error {
	return workflow.Sleep(ctx, d)
}

func startWorker(t testing.TB, c client.Client) {
	t.Helper()
	w := worker.New(c, testQueue, worker.Options{})
	w.RegisterWorkflow(approvalWorkflow)
	w.RegisterWorkflow(countingWorkflow)
	w.RegisterWorkflow(signalWorkflow)
	w.RegisterWorkflow(sleepWorkflow)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	t.Cleanup(w.Stop)
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// recordingHandler keeps every record the server logs.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) belowWarn() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		if r.Level < slog.LevelWarn {
			out = append(out, r.Level.String()+" "+r.Message)
		}
	}
	return out
}

func freeTestPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestEphemeralServer(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	logs := &recordingHandler{}
	start := time.Now()
	srv, err := Start(ctx, Options{Ephemeral: true, UIPort: freeTestPort(t), Logger: slog.New(logs)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server ready at %s (UI %s) in %v", srv.Address(), srv.UIAddress(), time.Since(start))
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		if err := srv.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
	if srv.Namespace() != DefaultNamespace {
		t.Errorf("Namespace() = %q, want %q", srv.Namespace(), DefaultNamespace)
	}

	c, err := srv.NewClient(client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	startWorker(t, c)

	t.Run("update with validator", func(t *testing.T) {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "approval", TaskQueue: testQueue}, approvalWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		update := func(who string) (string, error) {
			h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
				WorkflowID:   run.GetID(),
				UpdateName:   approveUpdate,
				Args:         []any{who},
				WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err != nil {
				return "", err
			}
			var out string
			err = h.Get(ctx, &out)
			return out, err
		}

		if _, err := update(refusedPerson); err == nil || !strings.Contains(err.Error(), "may not approve") {
			t.Fatalf("update by %s: err = %v, want the validator's refusal", refusedPerson, err)
		}
		got, err := update("alice")
		if err != nil {
			t.Fatalf("update by alice: %v", err)
		}
		if got != "approved by alice" {
			t.Errorf("update result = %q", got)
		}
		var result string
		if err := run.Get(ctx, &result); err != nil {
			t.Fatal(err)
		}
		if result != "alice" {
			t.Errorf("workflow result = %q, want alice", result)
		}

		// A rejected update leaves no trace in history.
		iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(ev.String(), refusedPerson) {
				t.Errorf("rejected update written to history: %v", ev)
			}
		}
	})

	t.Run("search attributes", func(t *testing.T) {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range SearchAttributes {
			if got := resp.GetCustomAttributes()[name]; got != want {
				t.Errorf("search attribute %s has type %v, want %v", name, got, want)
			}
		}

		playbook := temporal.NewSearchAttributeKeyKeyword(SAPlaybook)
		exercise := temporal.NewSearchAttributeKeyBool(SAExercise)
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID:                    "tagged",
			TaskQueue:             testQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(playbook.ValueSet("ransomware-ot"), exercise.ValueSet(true)),
		}, sleepWorkflow, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
		// Visibility is eventually consistent: poll with a deadline.
		query := fmt.Sprintf("%s = 'ransomware-ot' AND %s = true", SAPlaybook, SAExercise)
		deadline := time.Now().Add(30 * time.Second)
		for {
			list, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
			if err != nil {
				t.Fatalf("list %q: %v", query, err)
			}
			if len(list.GetExecutions()) == 1 && list.GetExecutions()[0].GetExecution().GetWorkflowId() == "tagged" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("query %q found %d executions, want the tagged one", query, len(list.GetExecutions()))
			}
			time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
		}
	})

	t.Run("short timers fire promptly", func(t *testing.T) {
		// With Temporal's default 1s timer floor every run of a 100ms
		// sleep takes over a second; load only ever adds to that, so the
		// fastest of a few runs shows whether the floor is lowered.
		// Anything past stallBound is a stall, not noise. Latency
		// figures are BenchmarkShortTimer's.
		const sleep = 100 * time.Millisecond
		fastest := time.Hour
		for range 3 {
			took := timerRun(ctx, t, c, sleep)
			t.Logf("%v timer workflow took %v", sleep, took)
			if took >= stallBound {
				t.Errorf("a %v timer workflow took %v: a stall", sleep, took)
			}
			fastest = min(fastest, took)
		}
		if fastest >= 900*time.Millisecond {
			t.Errorf("the fastest %v timer workflow took %v; the timer floor is not lowered", sleep, fastest)
		}
	})

	t.Run("long polls expire promptly", func(t *testing.T) {
		// A client waiting for a result long-polls the history service;
		// a wake-up it misses costs it the rest of the poll. The server
		// must end an idle poll after longPollExpiry (Temporal's default
		// is 20s), so the client looks again.
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: testQueue}, signalWorkflow)
		if err != nil {
			t.Fatal(err)
		}
		pollCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		began := time.Now()
		resp, err := c.WorkflowService().GetWorkflowExecutionHistory(pollCtx, &workflowservice.GetWorkflowExecutionHistoryRequest{
			Namespace:              srv.Namespace(),
			Execution:              &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()},
			WaitNewEvent:           true,
			HistoryEventFilterType: enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
		})
		took := time.Since(began)
		t.Logf("an idle long poll returned after %v", took)
		if err != nil {
			t.Fatalf("long poll on a running workflow: %v", err)
		}
		if n := len(resp.GetHistory().GetEvents()); n != 0 || len(resp.GetNextPageToken()) == 0 {
			t.Errorf("idle long poll returned %d events and a %d-byte page token, want none and a token to poll again", n, len(resp.GetNextPageToken()))
		}
		if took >= stallBound {
			t.Errorf("an idle long poll took %v to expire; history.longPollExpirationInterval is not lowered", took)
		}
		if err := c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), finishSignal, "done"); err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("web UI", func(t *testing.T) {
		base := "http://" + srv.UIAddress()
		body := httpGet(t, base+"/")
		if !strings.Contains(strings.ToLower(body), "<html") {
			t.Errorf("GET / did not return the UI page: %.200s", body)
		}
		// The page's scripts are served too.
		if i := strings.Index(body, "/_app/"); i < 0 {
			t.Errorf("UI page references no /_app/ assets: %.300s", body)
		} else {
			asset := body[i:]
			asset = asset[:strings.IndexAny(asset, "\"' >")]
			if js := httpGet(t, base+asset); len(js) == 0 {
				t.Errorf("asset %s is empty", asset)
			}
		}
		// The UI's API proxies to the frontend over gRPC.
		var ns struct {
			Namespaces []struct {
				NamespaceInfo struct{ Name string } `json:"namespaceInfo"`
			} `json:"namespaces"`
		}
		if err := json.Unmarshal([]byte(httpGet(t, base+"/api/v1/namespaces")), &ns); err != nil {
			t.Fatalf("namespaces API: %v", err)
		}
		found := false
		for _, n := range ns.Namespaces {
			found = found || n.NamespaceInfo.Name == srv.Namespace()
		}
		if !found {
			t.Errorf("UI API does not list namespace %q: %+v", srv.Namespace(), ns)
		}
	})

	t.Run("quiet logs", func(t *testing.T) {
		logs.mu.Lock()
		for _, r := range logs.records {
			t.Logf("server log: %s %s", r.Level, r.Message)
		}
		logs.mu.Unlock()
		if below := logs.belowWarn(); len(below) > 0 {
			t.Errorf("%d records below warn reached the logger, e.g. %q", len(below), below[0])
		}
	})
}

// stallBound is how long a step that takes milliseconds may take on a
// loaded machine before a test calls it a stall.
const stallBound = 10 * time.Second

// timerRun runs sleepWorkflow for d and returns how long it took from start
// to result.
func timerRun(ctx context.Context, tb testing.TB, c client.Client, d time.Duration) time.Duration {
	tb.Helper()
	began := time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: testQueue}, sleepWorkflow, d)
	if err != nil {
		tb.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		tb.Fatal(err)
	}
	took := time.Since(began)
	if took > time.Second {
		// Where the time went: in the workflow (between its events) or
		// after it closed, before the client noticed.
		iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				tb.Fatal(err)
			}
			tb.Logf("  event %d at +%v: %v", ev.GetEventId(), ev.GetEventTime().AsTime().Sub(began), ev.GetEventType())
		}
	}
	return took
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %.200s", url, resp.Status, b)
	}
	return string(b)
}

func TestRestartResumesWorkflow(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	dir := t.TempDir()

	logs := &recordingHandler{}
	srv, err := Start(ctx, Options{DataDir: dir, Logger: slog.New(logs)})
	if err != nil {
		t.Fatalf("first Start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = srv.Stop()
		}
	})
	port := srv.Address()[strings.LastIndex(srv.Address(), ":")+1:]

	// A second server on the same directory is refused while the first runs.
	if other, err := Start(ctx, Options{DataDir: dir}); err == nil {
		_ = other.Stop()
		t.Fatal("second Start on a data directory in use succeeded")
	} else if !strings.Contains(err.Error(), "another firebreak dev server") {
		t.Errorf("second Start: err = %v, want a clear lock message", err)
	}

	c, err := srv.NewClient(client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, testQueue, worker.Options{})
	w.RegisterWorkflow(signalWorkflow)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "survivor", TaskQueue: testQueue}, signalWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	waitFirstTask(ctx, t, c, run.GetID())
	w.Stop()
	c.Close()
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	logs.mu.Lock()
	for _, r := range logs.records {
		t.Logf("server log: %s %s", r.Level, r.Message)
	}
	logs.mu.Unlock()

	// Same directory and the same port: Stop released both.
	var p int
	_, _ = fmt.Sscan(port, &p)
	srv2, err := Start(ctx, Options{DataDir: dir, Port: p})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(func() { _ = srv2.Stop() })
	if srv2.Address() != srv.Address() {
		t.Errorf("restart address = %s, want %s", srv2.Address(), srv.Address())
	}
	c2, err := srv2.NewClient(client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	startWorker(t, c2)
	if err := c2.SignalWorkflow(ctx, "survivor", "", finishSignal, "all clear"); err != nil {
		t.Fatalf("signal after restart: %v", err)
	}
	var got string
	if err := c2.GetWorkflow(ctx, "survivor", run.GetRunID()).Get(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got != "got all clear" {
		t.Errorf("result after restart = %q", got)
	}
}

// waitFirstTask polls until the workflow's first workflow task completed,
// so that the worker has really run it before the server stops.
func waitFirstTask(ctx context.Context, t *testing.T, c client.Client, id string) {
	t.Helper()
	for {
		iter := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("workflow %s never completed a workflow task: %v", id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestOldDataDirGetsSearchAttributes starts on a database whose namespace
// was created without firebreak's search attributes, as an older firebreak
// would have left it.
func TestOldDataDirGetsSearchAttributes(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	dir := t.TempDir()
	const ns = "plant"

	if err := prepareDatabaseWithout(filepath.Join(dir, DBFileName), ns); err != nil {
		t.Fatal(err)
	}

	srv, err := Start(ctx, Options{DataDir: dir, Namespace: ns})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c, err := srv.NewClient(client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range SearchAttributes {
		if got := resp.GetCustomAttributes()[name]; got != want {
			t.Errorf("search attribute %s has type %v, want %v", name, got, want)
		}
	}
}

// prepareDatabaseWithout creates the schema and namespace ns with no custom
// search attributes, using the same connection settings as Start.
func prepareDatabaseWithout(dbPath, ns string) error {
	cfg, err := prepareSQLite(dbPath, "scratch")
	if err != nil {
		return err
	}
	bare, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, nil)
	if err != nil {
		return err
	}
	return sqliteschema.CreateNamespaces(cfg, bare)
}

func TestDynamicConfigOverrides(t *testing.T) {
	transfer := dynamicconfig.TransferProcessorMaxPollRPS.Key()
	floor := dynamicconfig.TimerProcessorMaxTimeShift.Key()
	visibility := dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key()
	extra := dynamicconfig.MatchingNumTaskqueueWritePartitions.Key()

	dc := dynamicConfig(nil)
	if got := dc[transfer]; got != queuePollRPS {
		t.Errorf("%s = %v, want %d", transfer, got, queuePollRPS)
	}
	for k, v := range DispatchTuning() {
		if got := dc[dynamicconfig.MakeKey(k)]; got != v {
			t.Errorf("DispatchTuning says %s = %v, the server gets %v", k, v, got)
		}
	}

	dc = dynamicConfig(map[string]any{
		"History.TransferProcessorMaxPollRPS": nil, // case does not matter
		floor.String():                        nil,
		visibility.String():                   7,
		extra.String():                        1,
	})
	for _, k := range []dynamicconfig.Key{transfer, floor} {
		if v, ok := dc[k]; ok {
			t.Errorf("%s = %v after a nil override, want it unset (Temporal's default)", k, v)
		}
	}
	if dc[visibility] != 7 || dc[extra] != 1 {
		t.Errorf("overrides not applied: %s = %v, %s = %v", visibility, dc[visibility], extra, dc[extra])
	}
	if dc[dynamicconfig.TimerProcessorMaxPollRPS.Key()] != queuePollRPS {
		t.Errorf("an override of other keys dropped %s", dynamicconfig.TimerProcessorMaxPollRPS.Key())
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"neither", Options{}, "DataDir is required"},
		{"both", Options{DataDir: "x", Ephemeral: true}, "not both"},
		{"bad ip", Options{Ephemeral: true, IP: "localhost"}, "not an IP address"},
		{"bad port", Options{Ephemeral: true, Port: 70000}, "out of range"},
		{"bad UI port", Options{Ephemeral: true, UIPort: -1}, "out of range"},
		{"same ports", Options{Ephemeral: true, Port: 7233, UIPort: 7233}, "both 7233"},
		{"empty dynamic config key", Options{Ephemeral: true, DynamicConfig: map[string]any{" ": 1}}, "empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start(%+v) err = %v, want it to mention %q", tt.opts, err, tt.want)
			}
		})
	}
}

func TestBusyPortIsAClearError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = Start(testContext(t, time.Minute), Options{Ephemeral: true, Port: port})
	if err == nil || !strings.Contains(err.Error(), "another Temporal server") {
		t.Errorf("Start on a busy port: err = %v", err)
	}
	// A busy UI port fails Start cleanly (ui-server alone would exit the
	// process), before anything is created, and leaves the frontend port
	// free again.
	front := freeTestPort(t)
	dir := filepath.Join(t.TempDir(), "state")
	_, err = Start(testContext(t, time.Minute), Options{DataDir: dir, Port: front, UIPort: port})
	if err == nil || !strings.Contains(err.Error(), "web UI") {
		t.Fatalf("Start on a busy UI port: err = %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a failed Start left %s behind (stat: %v)", dir, err)
	}
	again, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(front)))
	if err != nil {
		t.Fatalf("frontend port still held after a failed Start: %v", err)
	}
	_ = again.Close()
}

func TestQuietLoggerFilters(t *testing.T) {
	var buf bytes.Buffer
	l := quietLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), minLogLevel)
	sl := serverLogger{log: l}
	sl.Info("chatty")
	sl.Debug("chattier")
	sl.With().Warn("careful")
	sl.Fatal("bad") // must not exit
	out := buf.String()
	if strings.Contains(out, "chatty") || !strings.Contains(out, "careful") || !strings.Contains(out, "bad") {
		t.Errorf("filtered log output = %q", out)
	}
}
