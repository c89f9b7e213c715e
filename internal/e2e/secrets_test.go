package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/playbooks/library"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// realSlackDir writes the built-in library with its Slack instance no
// longer simulated, so a worker must read $SLACK_BOT_TOKEN and the other
// Slack variables at start.
func realSlackDir(t *testing.T, apiURL string) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := library.WriteTo(dir, false); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "integrations.hcl")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// The real adapter and its probe reach the local fake Slack at
	// apiURL, never slack.com.
	real := strings.Replace(string(b), "integration \"slack\" \"main\" {\n  simulate       = true\n", fmt.Sprintf("integration \"slack\" \"main\" {\n  api_url = %q\n", apiURL), 1)
	if real == string(b) {
		t.Fatal("the library's slack block changed shape; update this test")
	}
	if err := os.WriteFile(p, []byte(real), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cli runs one firebreak command against the server at address with env
// added, and returns its exit code and combined output.
func cli(t *testing.T, address string, env []string, args ...string) (int, string) {
	t.Helper()
	return cliEnvIn(t, "", address, env, args...)
}

// cliIn is cli run in the directory dir.
func cliIn(t *testing.T, dir, address string, args ...string) (int, string) {
	t.Helper()
	return cliEnvIn(t, dir, address, nil, args...)
}

func cliEnvIn(t *testing.T, dir, address string, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(firebreakBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(temporalenv.EnvAddress+"="+address, temporalenv.EnvNamespace+"=default"), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("firebreak %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// TestWorkerSecrets: a worker whose integration reads an unset env()
// variable does not start, and says which variable and where. With the
// variable set to a known value, the value appears in no plan, workflow
// history (as JSON and as raw protobuf), log, SQLite file or CLI output.
func TestWorkerSecrets(t *testing.T) {
	raw := make([]byte, 12)
	_, _ = rand.Read(raw)
	secret := "xoxb-firebreak-test-" + hex.EncodeToString(raw)
	fake := slackfake.New(slackfake.WithTokens(secret, "xapp-"+secret))
	t.Cleanup(fake.Close)
	dir := realSlackDir(t, fake.URL())
	secretEnv := []string{"SLACK_BOT_TOKEN=" + secret, "SLACK_APP_TOKEN=xapp-" + secret, "SLACK_SIGNING_SECRET=sig-" + secret}

	// Unset: the worker refuses to start, naming the variable and file:line.
	code, out := cli(t, "127.0.0.1:1", nil, "worker", "--dir", dir)
	if code == 0 {
		t.Fatalf("the worker started without SLACK_BOT_TOKEN:\n%s", out)
	}
	for _, want := range []string{"$SLACK_BOT_TOKEN", `integration "slack" "main"`, "integrations.hcl line 9"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal to start does not say %q:\n%s", want, out)
		}
	}

	dataDir := t.TempDir()
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	c := newClient(t, srv)
	w := newProc(t, "worker", "Worker running against", []string{"worker", "--dir", dir, "--accept-unattested", "--journal", filepath.Join(dataDir, "simulation.jsonl"), "-v"},
		append(secretEnv, temporalenv.EnvAddress+"="+srv.Address(), temporalenv.EnvNamespace+"=default")...)
	w.start()

	const id = "SECRET-1"
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
	run("plan", dir, "--playbook", "ot_ransomware_containment")
	run("plan", dir, "--playbook", "ot_ransomware_containment", "--format", "json")
	run("graph", dir, "--playbook", "ot_ransomware_containment")
	run("integrations", "--dir", dir, "--format", "json")
	run("integrations", "--dir", dir)
	run("run", "ot_ransomware_containment", "--dir", dir, "--input", "zone=plant3_dmz", "--as", "ines", "--id", id)
	waitStep(t, c, id, "page.ot_engineer", workflows.StepWaiting, 0)
	run("ack", id, "page.ot_engineer", "--as", "dmitri")
	run("status", id)
	run("cancel", id, "--as", "ines", "--reason", "test over")
	waitState(t, c, id, workflows.StateCancelled)
	run("timeline", id)
	run("timeline", id, "--format", "md")
	run("timeline", id, "--format", "json")
	run("list")

	// The workflow history, as JSON and as the raw protobuf the server stores.
	js, pb := historyBytes(t, c, id)
	if !bytes.Contains(pb, []byte("ot_ransomware_containment")) {
		t.Fatal("the history does not hold the plan; the search below would prove nothing")
	}
	w.kill()
	_ = srv.Stop()

	haystacks, logs, files := secretHaystacks(t, js, pb, outputs, w.logDir, dataDir)
	if len(logs) == 0 || len(files) < 2 {
		t.Fatalf("nothing to search: logs %v, data files %v", logs, files)
	}
	findSecrets(t, haystacks, secret)
	if !bytes.Contains(haystacks[logs[0]], []byte("slack.main")) {
		t.Errorf("the worker log does not mention the Slack instance, so it was not exercised:\n%s", haystacks[logs[0]])
	}
}

// TestMegabyteReasonRefused: a 1 MB denial reason is refused by the
// validator with a TooLong refusal, and nothing is written to the history.
func TestMegabyteReasonRefused(t *testing.T) {
	ip := startInProcess(t)
	const id = "HUGE-1"
	startIncident(t, ip.c, playbookDir(t), "isolate_cell", "hiro", id)
	waitStep(t, ip.c, id, isolateOK, workflows.StepWaiting, 1)
	waitQuiet(t, ip.c, id)
	length := func() int64 {
		d, err := ip.c.DescribeWorkflowExecution(testContext(t, 10*time.Second), workflows.IncidentWorkflowID(id), "")
		if err != nil {
			t.Fatal(err)
		}
		return d.GetWorkflowExecutionInfo().GetHistoryLength()
	}
	before := length()
	huge := strings.Repeat("the compressor is mid-restart. ", (1<<20)/31+1)
	ref := refused(t, ip.c, workflows.UpdateDeny, id, workflows.Answer{Step: isolateOK, Person: "alice", Reason: huge, Channel: workflows.ChannelCLI}, "characters long")
	if ref.Code != rules.TooLong {
		t.Errorf("refusal coded %q, want %q", ref.Code, rules.TooLong)
	}
	// A text over its limit is refused by the validator and leaves no
	// trace. An approval sent after it is the fence: it is all the history
	// gains.
	answer(t, ip.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "alice", Round: 1})
	ctx := testContext(t, time.Minute)
	iter := ip.c.GetWorkflowHistory(ctx, workflows.IncidentWorkflowID(id), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var size, accepted int
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.GetEventId() <= before {
			continue
		}
		size += proto.Size(e)
		if e.GetEventType() == enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED {
			accepted++
			if got := e.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName(); got != workflows.UpdateApprove {
				t.Errorf("the history gained a %s update; only the approval should be there", got)
			}
		}
	}
	if accepted != 1 {
		t.Errorf("%d updates accepted after the refused one, want the approval only", accepted)
	}
	if size > 16<<10 {
		t.Errorf("the history grew by %d bytes after a refused answer", size)
	}
	st, err := status(ip.c, id)
	if err != nil {
		t.Fatal(err)
	}
	if s := stepOf(st, isolateOK); s.State != workflows.StepWaiting || len(s.Approvals) != 1 {
		t.Errorf("%s after a refused denial and one approval: %+v", isolateOK, s)
	}
}

// historyBytes is incident id's whole workflow history, as JSON and as the
// raw protobuf the server stores, for searching.
func historyBytes(t *testing.T, c client.Client, id string) (js, pb []byte) {
	t.Helper()
	var hist historypb.History
	iter := c.GetWorkflowHistory(testContext(t, time.Minute), workflows.IncidentWorkflowID(id), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, e)
	}
	js, err := protojson.Marshal(&hist)
	if err != nil {
		t.Fatal(err)
	}
	pb, err = proto.Marshal(&hist)
	if err != nil {
		t.Fatal(err)
	}
	return js, pb
}

// secretHaystacks gathers what a secrets test searches: an incident's
// history (as JSON and as protobuf), every CLI output, the worker's logs
// in logDir and the server's files in dataDir, by name. It also returns
// the log and data files it read.
func secretHaystacks(t *testing.T, js, pb []byte, outputs []string, logDir, dataDir string) (haystacks map[string][]byte, logs, files []string) {
	t.Helper()
	haystacks = map[string][]byte{"history (JSON)": js, "history (protobuf)": pb}
	for i, o := range outputs {
		haystacks[fmt.Sprintf("CLI output %d", i+1)] = []byte(o)
	}
	logs, _ = filepath.Glob(filepath.Join(logDir, "*.log"))
	files, _ = filepath.Glob(filepath.Join(dataDir, "*"))
	for _, f := range append(slices.Clone(logs), files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		haystacks[f] = b
	}
	return haystacks, logs, files
}

// findSecrets fails the test for every secret value, as it is or in
// base64, found in any of the haystacks.
func findSecrets(t *testing.T, haystacks map[string][]byte, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		for _, n := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))} {
			for name, hay := range haystacks {
				if bytes.Contains(hay, []byte(n)) {
					t.Errorf("a secret's value (%s...) is in %s", secret[:min(6, len(secret))], name)
				}
			}
		}
	}
}
