package observe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// scrape fetches /metrics from the handler and parses it.
func scrape(t *testing.T, m *Metrics) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	srv := httptest.NewServer(Mux(m, &Health{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics answered %s: %s", resp.Status, body)
	}
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the scrape: %v\n%s", err, body)
	}
	return families, body
}

// value is the value of the series of family name whose labels are
// exactly labels ("k=v,k=v"), and whether there is one. Histograms give
// their count.
func value(families map[string]*dto.MetricFamily, name, labels string) (float64, bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(ls, ",") != labels {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// histogramSum is the sum of a histogram series.
func histogramSum(families map[string]*dto.MetricFamily, name, labels string) float64 {
	for _, m := range families[name].GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(ls, ",") == labels {
			return m.GetHistogram().GetSampleSum()
		}
	}
	return -1
}

// fakeTemporal answers the visibility calls the scanner makes: counts
// by state and exercise, a list of open incidents, and their status.
type fakeTemporal struct {
	client.Client
	counts  map[string]int64 // "state/exercise"
	open    []string         // incident IDs, exercise when prefixed "EX-"
	status  map[string]workflows.Status
	failAll bool
	healthy bool
	// onQuery, when set, runs before each status query is answered.
	onQuery func()
}

func (f *fakeTemporal) CountWorkflow(_ context.Context, req *workflowservice.CountWorkflowExecutionsRequest) (*workflowservice.CountWorkflowExecutionsResponse, error) {
	if f.failAll {
		return nil, errors.New("visibility is down")
	}
	q := req.GetQuery()
	for key, n := range f.counts {
		state, ex, _ := strings.Cut(key, "/")
		if strings.Contains(q, workflows.SearchState+" = '"+state+"'") && strings.Contains(q, workflows.SearchExercise+" = "+ex) {
			return &workflowservice.CountWorkflowExecutionsResponse{Count: n}, nil
		}
	}
	return &workflowservice.CountWorkflowExecutionsResponse{}, nil
}

func (f *fakeTemporal) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	dc := converter.GetDefaultDataConverter()
	var out []*workflowpb.WorkflowExecutionInfo
	for i, id := range f.open {
		if i == int(req.GetPageSize()) {
			break
		}
		ex, _ := dc.ToPayload(strings.HasPrefix(id, "EX-"))
		state, _ := dc.ToPayload(workflows.StateRunning)
		out = append(out, &workflowpb.WorkflowExecutionInfo{
			Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.IncidentWorkflowID(id)},
			Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
				workflows.SearchExercise: ex, workflows.SearchState: state,
			}},
		})
	}
	return &workflowservice.ListWorkflowExecutionsResponse{Executions: out}, nil
}

func (f *fakeTemporal) QueryWorkflow(ctx context.Context, workflowID, _, _ string, _ ...any) (converter.EncodedValue, error) {
	if f.onQuery != nil {
		f.onQuery()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	st, ok := f.status[workflows.IncidentIDFromWorkflowID(workflowID)]
	if !ok {
		return nil, errors.New("no worker answered")
	}
	b, _ := json.Marshal(st)
	return jsonValue(b), nil
}

func (f *fakeTemporal) CheckHealth(context.Context, *client.CheckHealthRequest) (*client.CheckHealthResponse, error) {
	if !f.healthy {
		return nil, errors.New("connection refused")
	}
	return &client.CheckHealthResponse{}, nil
}

type jsonValue []byte

func (v jsonValue) HasValue() bool             { return len(v) > 0 }
func (v jsonValue) Get(out any) error          { return json.Unmarshal(v, out) }
func (v jsonValue) String() string             { return string(v) }
func (v jsonValue) GoString() string           { return string(v) }
func (v jsonValue) Format(f fmt.State, _ rune) { _, _ = f.Write(v) }

func waitingApprovals(n int) workflows.Status {
	st := workflows.Status{State: workflows.StateRunning}
	for i := range n {
		st.Steps = append(st.Steps, workflows.StepStatus{ID: fmt.Sprintf("approval.a%d", i), Kind: plan.KindApproval, State: workflows.StepWaiting})
	}
	// Neither a done approval nor a waiting task counts.
	st.Steps = append(st.Steps,
		workflows.StepStatus{ID: "approval.done", Kind: plan.KindApproval, State: workflows.StepDone},
		workflows.StepStatus{ID: "task.t", Kind: plan.KindTask, State: workflows.StepWaiting})
	return st
}

// drive records one of each firebreak metric through the paths the
// process uses: the door's and the Slack adapter's calls, the workflow's
// metrics through the SDK handler, and a visibility scan.
func drive(t *testing.T, m *Metrics) {
	t.Helper()
	m.Refused("UnknownUser", "slack")
	m.Refused("BadAnswer", "slack")
	m.Refused("BadAnswer", "slack")
	m.Refused("a code nobody defined", "carrier pigeon") // bounded: other/other
	m.RateLimited("chat.postMessage")
	m.RateLimited("chat.postMessage")
	m.RateLimited("INC-20261122-4F2A") // never a label value
	h := m.SDKHandler().WithTags(map[string]string{"namespace": "default", "workflow_type": workflows.WorkflowName})
	h.WithTags(map[string]string{workflows.TagKind: "page", workflows.TagExercise: "false"}).Timer(workflows.MetricTimeToAck).Record(90 * time.Second)
	h.WithTags(map[string]string{workflows.TagKind: "page", workflows.TagExercise: "false"}).Timer(workflows.MetricTimeToAck).Record(30 * time.Second)
	h.WithTags(map[string]string{workflows.TagHow: workflows.SignoffQuorum, workflows.TagExercise: "true"}).Timer(workflows.MetricTimeToSignoff).Record(7 * time.Minute)
	h.WithTags(map[string]string{workflows.TagCode: "NotAuthorised", workflows.TagChannel: "slack:U0MALLORY"}).Counter(workflows.MetricRefused).Inc(1)
	h.WithTags(map[string]string{workflows.TagCode: "StaleRound", workflows.TagChannel: "cli"}).Counter(workflows.MetricRefused).Inc(1)
	// The SDK's own metrics go to the OpenTelemetry exporter.
	h.Counter("temporal_request").Inc(3)
	h.Timer("temporal_request_latency").Record(20 * time.Millisecond)

	fake := &fakeTemporal{
		counts: map[string]int64{"running/false": 3, "running/true": 1, "completed/false": 12, "cancelled/false": 2},
		open:   []string{"INC-1", "INC-2", "INC-3", "EX-1"},
		status: map[string]workflows.Status{"INC-1": waitingApprovals(2), "INC-2": waitingApprovals(1), "EX-1": waitingApprovals(1)},
		// INC-3 has no worker to answer its query: the others still count.
	}
	if err := (&Scanner{Temporal: fake, Metrics: m}).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestScrapeHasFirebreakMetrics(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	drive(t, m)
	families, body := scrape(t, m)
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{MetricRefused, "channel=slack,code=UnknownUser", 1},
		{MetricRefused, "channel=slack,code=BadAnswer", 2},
		{MetricRefused, "channel=other,code=other", 1},
		{MetricRefused, "channel=slack,code=NotAuthorised", 1},
		{MetricRefused, "channel=cli,code=StaleRound", 1},
		{MetricSlackRateLimited, "method=chat.postMessage", 2},
		{MetricSlackRateLimited, "method=other", 1},
		{MetricTimeToAck, "exercise=false,kind=page", 2},
		{MetricTimeToSignoff, "exercise=true,how=quorum", 1},
		{MetricIncidents, "exercise=false,state=running", 3},
		{MetricIncidents, "exercise=true,state=running", 1},
		{MetricIncidents, "exercise=false,state=completed", 12},
		{MetricIncidents, "exercise=false,state=failed", 0},
		{MetricIncidents, "exercise=false,state=cancelled", 2},
		{MetricApprovalsWaiting, "exercise=false", 3},
		{MetricApprovalsWaiting, "exercise=true", 1},
		// Series nothing drove are there at zero, for rate() and increase().
		{MetricRefused, "channel=cli,code=Tampered", 0},
		{MetricSlackRateLimited, "method=pins.add", 0},
		{MetricTimeToAck, "exercise=true,kind=approval", 0},
		{MetricTimeToSignoff, "exercise=false,how=break_glass", 0},
		{MetricScanTruncated, "", 0},
		{MetricScanErrors, "", 0},
	} {
		got, ok := value(families, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s{%s} = %v (present %t), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if sum := histogramSum(families, MetricTimeToAck, "exercise=false,kind=page"); sum != 120 {
		t.Errorf("time to acknowledge sums to %vs, want 120", sum)
	}
	if sum := histogramSum(families, MetricTimeToSignoff, "exercise=true,how=quorum"); sum != 420 {
		t.Errorf("time to sign-off sums to %vs, want 420", sum)
	}
	if last, _ := value(families, MetricScanLast, ""); last == 0 {
		t.Error("the scan's success time is not set")
	}
	// The SDK's own metrics, with the SDK's tags as labels.
	if got, ok := value(families, "temporal_request_total", "namespace=default,workflow_type=Incident"); !ok || got != 3 {
		t.Errorf("temporal_request_total = %v (present %t), want 3\n%s", got, ok, body)
	}
	if _, ok := families["temporal_request_latency_seconds"]; !ok {
		t.Errorf("no temporal_request_latency_seconds in the scrape:\n%s", body)
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics in the scrape")
	}
	// No incident ID, person or Slack user reaches a label.
	for _, leak := range []string{"INC-", "U0MALLORY", "EX-1", "carrier"} {
		if bytes.Contains(body, []byte(leak)) {
			t.Errorf("the scrape contains %q", leak)
		}
	}
}

// TestScanFailureKeepsGauges: a scan that fails counts an error and keeps
// the last values.
func TestScanFailureKeepsGauges(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeTemporal{counts: map[string]int64{"running/false": 5}, open: []string{"INC-1", "INC-2"},
		status: map[string]workflows.Status{"INC-1": waitingApprovals(1), "INC-2": waitingApprovals(1)}}
	s := &Scanner{Temporal: fake, Metrics: m, Incidents: 2}
	if err := s.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	fake.failAll = true
	if err := s.Scan(context.Background()); err == nil {
		t.Fatal("a scan of a visibility store that is down succeeded")
	}
	families, _ := scrape(t, m)
	if got, _ := value(families, MetricIncidents, "exercise=false,state=running"); got != 5 {
		t.Errorf("running incidents %v after a failed scan, want the last value 5", got)
	}
	if got, _ := value(families, MetricScanErrors, ""); got != 1 {
		t.Errorf("%v scan errors, want 1", got)
	}
	// 5 open, 2 read: the approvals gauge says it counts only some.
	if got, _ := value(families, MetricScanTruncated, ""); got != 1 {
		t.Errorf("truncated = %v, want 1 (5 open incidents, 2 read)", got)
	}
}

// TestPromtoolCheckMetrics runs promtool (Debian package prometheus) on a
// real scrape. It skips where promtool is missing, except in CI.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed; CI installs it with apt-get install -y prometheus")
		}
		t.Skip("promtool is not installed (apt-get install -y prometheus)")
	}
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	drive(t, m)
	_, body := scrape(t, m)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestReadiness(t *testing.T) {
	fake := &fakeTemporal{}
	now := time.Unix(1_800_000_000, 0)
	h := &Health{Now: func() time.Time { return now }}
	srv := httptest.NewServer(Mux(nil, h))
	defer srv.Close()
	get := func(path string) (int, Result) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r Result
		if path == "/readyz" {
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, r
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d while starting, want 200: the process is up", code)
	}
	if code, r := get("/readyz"); code != http.StatusServiceUnavailable || r.Ready {
		t.Errorf("/readyz %d %+v before the configuration loaded, want 503", code, r)
	}
	h.Add("config", func(context.Context) error { return nil })
	h.Add("temporal", TemporalCheck(fake))
	h.Loaded()
	code, r := get("/readyz")
	if code != http.StatusServiceUnavailable || r.Ready || !strings.Contains(r.Checks["temporal"], "connection refused") || r.Checks["config"] != "ok" {
		t.Errorf("/readyz %d %+v with Temporal unreachable, want 503 naming temporal", code, r)
	}
	// Temporal comes up: the cached answer holds for CheckCacheFor, then
	// the check runs again.
	fake.healthy = true
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d within the cache time, want the cached 503", code)
	}
	now = now.Add(CheckCacheFor)
	if code, r := get("/readyz"); code != http.StatusOK || !r.Ready || r.Checks["temporal"] != "ok" {
		t.Errorf("/readyz %d %+v with Temporal reachable, want 200", code, r)
	}
	if resp, err := http.Post(srv.URL+"/readyz", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /readyz: %v %v", resp, err)
	}
}

func TestListenRefusesATakenAddress(t *testing.T) {
	s, err := Listen("127.0.0.1:0", nil, &Health{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Listen(s.Addr(), nil, &Health{}); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Errorf("listening twice on %s: %v", s.Addr(), err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, "json", false)
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden below warn")
	l.Warn("reload refused", "error", "bad file")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON object: %q: %v", buf.String(), err)
	}
	if rec["level"] != "WARN" || rec["msg"] != "reload refused" || rec["error"] != "bad file" || rec["time"] == nil {
		t.Errorf("record %v", rec)
	}
	buf.Reset()
	l, _ = NewLogger(&buf, "", true)
	l.Info("started", "k", "v")
	if !strings.Contains(buf.String(), "level=INFO msg=started k=v") {
		t.Errorf("text record %q", buf.String())
	}
	if _, err := NewLogger(&buf, "yaml", false); err == nil || !strings.Contains(err.Error(), "text, json") {
		t.Errorf("--log-format yaml: %v", err)
	}
}
