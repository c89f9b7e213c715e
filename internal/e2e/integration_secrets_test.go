package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak-ir/firebreak/integrations/webhook"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/workflows"
)

// secretsPlaybookHCL reaches every real integration that holds a secret:
// a signed webhook whose URL carries a token, the EDR through another, a
// webhook that refuses the request, and PagerDuty.
const secretsPlaybookHCL = `integration "webhook" "fw" {
  url    = env("FW_URL")
  secret = env("FW_HMAC")
}

integration "webhook" "edr" {
  url    = env("EDR_URL")
  secret = env("EDR_HMAC")
}

integration "webhook" "refuses" {
  url    = env("BAD_URL")
  secret = env("FW_HMAC")
}

integration "pagerduty" "default" {
  routing_key = env("PD_ROUTING_KEY")
  api_url     = env("PD_URL")
}

playbook "secret_drill" {
  step "block" {
    action = "webhook.post"
    with   = { integration = "webhook.fw", body = { block = "203.0.113.7" } }
  }

  step "contain" {
    action = "edr.contain_host"
    with   = { host = "ws-eng-07", integration = "webhook.edr" }
  }

  step "refused" {
    action     = "webhook.post"
    with       = { integration = "webhook.refuses", body = { block = "203.0.113.8" } }
    on_failure = "continue"
  }

  step "alert" {
    action = "pagerduty.trigger"
    with   = { summary = "Drill ${incident.id}" }
    needs  = [step.block, step.contain, step.refused]
  }
}
`

// echoServer is a receiver that echoes back, in every answer, the URL it
// was called on (query included) and every header: the worst a careless
// or hostile receiver can do with what it was sent.
// Webhook receivers (paths by their first element, in secrets) check the
// signature with the secret they share.
type echoServer struct {
	*httptest.Server
	secrets map[string]string // first path element -> HMAC secret
	mu      sync.Mutex
	hits    map[string]int
	badSig  []string // requests whose signature did not verify
}

func newEchoServer(t *testing.T, secrets map[string]string) *echoServer {
	e := &echoServer{hits: map[string]int{}, secrets: secrets}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.hits[r.URL.Path]++
		if secret, ok := e.secrets[strings.Split(r.URL.Path, "/")[1]]; ok {
			want := webhook.Sign([]byte(secret), r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderIdempotencyKey), webhook.Mode(false), body)
			if r.Header.Get(webhook.HeaderSignature) != want {
				e.badSig = append(e.badSig, r.URL.Path)
			}
		}
		e.mu.Unlock()
		echo := map[string]any{"url": r.URL.String(), "headers": r.Header, "body": string(body)}
		switch {
		case strings.HasPrefix(r.URL.Path, "/refuses"):
			w.WriteHeader(http.StatusBadRequest)
			echo["error"] = "bad request to " + r.URL.String()
		case strings.HasPrefix(r.URL.Path, "/pd"):
			w.WriteHeader(http.StatusAccepted)
			echo["status"], echo["message"], echo["dedup_key"] = "success", "Event processed "+string(body), "k-"+r.URL.RawQuery
		case strings.HasPrefix(r.URL.Path, "/edr"):
			echo["contained"] = true
		}
		_ = json.NewEncoder(w).Encode(echo)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *echoServer) count(prefix string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for p, c := range e.hits {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

// TestIntegrationSecrets runs a playbook through real webhook, EDR and
// PagerDuty adapters (against local receivers that echo everything they
// were sent, URL tokens included) on a worker whose secrets are set, then
// searches the workflow history (JSON and raw protobuf), the worker's
// logs, the server's files and every CLI output for the secret values:
// none may be there.
func TestIntegrationSecrets(t *testing.T) {
	token := func(prefix string) string {
		raw := make([]byte, 12)
		_, _ = rand.Read(raw)
		return prefix + hex.EncodeToString(raw)
	}
	fwSecret, edrSecret, pdKey, urlToken := token("fw-hmac-"), token("edr-hmac-"), token("pdkey"), token("urltok")
	recv := newEchoServer(t, map[string]string{"fw": fwSecret, "edr": edrSecret, "refuses": fwSecret})
	secretEnv := []string{
		"FW_URL=" + recv.URL + "/fw/block?token=" + urlToken,
		"FW_HMAC=" + fwSecret,
		"EDR_URL=" + recv.URL + "/edr/contain",
		"EDR_HMAC=" + edrSecret,
		"BAD_URL=" + recv.URL + "/refuses?token=" + urlToken,
		"PD_ROUTING_KEY=" + pdKey,
		"PD_URL=" + recv.URL + "/pd/enqueue",
	}
	site := strings.Replace(siteHCL, "integration \"webhook\" \"edr\" {\n  simulate = true\n  url      = \"https://edr.example/contain\"\n}\n", "", 1)
	if site == siteHCL {
		t.Fatal("the site's edr block changed shape; update this test")
	}
	dir := writeDir(t, map[string]string{"site.hcl": site, "safety.hcl": safetyHCL, "playbooks.hcl": secretsPlaybookHCL})

	dataDir := t.TempDir()
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	c := newClient(t, srv)
	w := newProc(t, "worker", "Worker running against", []string{"worker", "--dir", dir, "--accept-unattested", "--journal", filepath.Join(dataDir, "simulation.jsonl"), "-v"},
		append(secretEnv, temporalenv.EnvAddress+"="+srv.Address(), temporalenv.EnvNamespace+"=default")...)
	w.start()

	const id = "SECRET-INTEGRATIONS"
	var outputs []string
	run := func(args ...string) string {
		t.Helper()
		code, out := cli(t, srv.Address(), secretEnv, args...)
		if code != 0 {
			t.Fatalf("firebreak %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		outputs = append(outputs, out)
		return out
	}
	run("validate", dir)
	run("plan", dir, "--playbook", "secret_drill", "--format", "json")
	run("integrations", "--dir", dir, "--format", "json")
	// The probe says the simulated gateway's namespace is missing (exit 1);
	// what it says of the real ones is searched too.
	_, probe := cli(t, srv.Address(), secretEnv, "integrations", "--dir", dir, "--probe")
	if !strings.Contains(probe, "webhook.fw") || !strings.Contains(probe, "reachable") {
		t.Errorf("the probe did not reach the receivers:\n%s", probe)
	}
	outputs = append(outputs, probe)
	run("run", "secret_drill", "--dir", dir, "--as", "hiro", "--id", id)
	st := waitState(t, c, id, workflows.StateCompleted)
	for step, want := range map[string]string{"step.block": workflows.StepDone, "step.contain": workflows.StepDone, "step.refused": workflows.StepFailed, "step.alert": workflows.StepDone} {
		if s := stepOf(st, step); s.State != want {
			t.Errorf("%s: %+v, want %s", step, s, want)
		}
	}
	recv.mu.Lock()
	hits := fmt.Sprint(recv.hits)
	recv.mu.Unlock()
	if recv.count("/fw") != 1 || recv.count("/edr") != 1 || recv.count("/pd") != 1 || recv.count("/refuses") != 1 {
		t.Errorf("receivers reached %s; want each once (a 400 is not retried)", hits)
	}
	run("status", id)
	run("timeline", id)
	run("timeline", id, "--format", "md")
	tl := run("timeline", id, "--format", "json")
	if !strings.Contains(tl, "contained ws-eng-07") {
		t.Errorf("the timeline does not show the containment, so the EDR answer was not read:\n%s", tl)
	}
	run("list")

	js, pb := historyBytes(t, c, id)
	if !bytes.Contains(js, []byte("ActivityTaskFailed")) && !bytes.Contains(js, []byte("ACTIVITY_TASK_FAILED")) {
		t.Fatal("the history holds no failed activity, so the refusal's error was not searched")
	}
	w.kill()
	_ = srv.Stop()

	haystacks, logs, _ := secretHaystacks(t, js, pb, outputs, w.logDir, dataDir)
	if len(logs) == 0 {
		t.Fatal("no worker log to search")
	}
	findSecrets(t, haystacks, fwSecret, edrSecret, pdKey, urlToken)
	// The receivers did get what they need: every signature verifies.
	if len(recv.badSig) > 0 {
		t.Errorf("signatures that do not verify with the shared secret: %v", recv.badSig)
	}
}
