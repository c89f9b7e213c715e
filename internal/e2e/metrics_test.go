package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/observe"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/workflows"
)

// get fetches url and returns the status code and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestWorkerReadiness runs `firebreak worker --metrics-addr` as a process:
// while Temporal does not answer, /healthz is up and /readyz is not; once
// the worker runs against a real server, /readyz is ready and /metrics
// carries the SDK's metrics and what the incident workflow measured (a
// refused answer, a sign-off), clean for promtool; its logs are JSON.
func TestWorkerReadiness(t *testing.T) {
	// A "server" that accepts connections and never answers: the worker's
	// dial hangs (up to its 30 s limit) instead of failing at once.
	silent, err := net.Listen("tcp", net.JoinHostPort(devserver.DefaultIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	journal := filepath.Join(t.TempDir(), "simulation.jsonl")
	metricsAddr := net.JoinHostPort(devserver.DefaultIP, strconv.Itoa(freePort(t)))
	waiting := newProc(t, "worker", "Metrics:",
		[]string{"worker", "--dir", playbookDir(t), "--accept-unattested", "--journal", journal, "--metrics-addr", metricsAddr},
		temporalenv.EnvAddress+"="+silent.Addr().String(), temporalenv.EnvNamespace+"=default")
	waiting.start()
	if code, body := get(t, "http://"+metricsAddr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while dialling: %d %s", code, body)
	}
	code, body := get(t, "http://"+metricsAddr+"/readyz")
	var res observe.Result
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	if code != http.StatusServiceUnavailable || res.Ready || res.Checks["startup"] == "" {
		t.Errorf("/readyz while Temporal does not answer: %d %+v, want 503 saying it is starting", code, res)
	}
	waiting.kill()

	srv := startServer(t, devserver.Options{DataDir: t.TempDir()})
	c := newClient(t, srv)
	metricsAddr = net.JoinHostPort(devserver.DefaultIP, strconv.Itoa(freePort(t)))
	w := newProc(t, "worker", "Worker running against",
		[]string{"worker", "--dir", playbookDir(t), "--accept-unattested", "--journal", journal, "--metrics-addr", metricsAddr, "--log-format", "json", "--verbose"},
		temporalenv.EnvAddress+"="+srv.Address(), temporalenv.EnvNamespace+"="+srv.Namespace())
	w.start()
	code, body = get(t, "http://"+metricsAddr+"/readyz")
	res = observe.Result{}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	if code != http.StatusOK || !res.Ready || res.Checks["temporal"] != "ok" || res.Checks["config"] != "ok" {
		t.Errorf("/readyz of a running worker: %d %+v, want 200 with config and temporal ok", code, res)
	}
	// An incident whose answers the workflow measures: a refused one, and
	// a sign-off. Each is recorded before the answer's reply is sent.
	const id = "METRICS-1"
	startIncident(t, c, playbookDir(t), "isolate_cell", "hiro", id)
	s := waitStep(t, c, id, isolateOK, workflows.StepWaiting, 1)
	refused(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "mallory", Round: s.Round})
	answer(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "alice", Round: s.Round})
	answer(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "erin", Round: s.Round})

	code, scrape := get(t, "http://"+metricsAddr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		"temporal_request_total{", "temporal_workflow_task_execution_latency_seconds_bucket{", "go_goroutines",
		observe.MetricRefused + `{channel="cli",code="UnknownPerson"} 1` + "\n",
		observe.MetricTimeToSignoff + `_count{exercise="false",how="quorum"} 1` + "\n",
	} {
		if !bytes.Contains(scrape, []byte(want)) {
			t.Errorf("the scrape lacks %q", want)
		}
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(scrape)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics on the worker's scrape: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Error("promtool is not installed; CI installs it with apt-get install -y prometheus")
	}
	// The worker logged at info level, in JSON.
	f, err := os.Open(w.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var records int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "{") {
			continue // what the worker prints for people, on stdout
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q: %v", line, err)
			continue
		}
		if rec["time"] == nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("log record without time, level or msg: %q", line)
		}
		records++
	}
	if records == 0 {
		t.Errorf("no JSON log record in the worker's output: %s", tail(w.log, 20))
	}
}
