package e2e

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestCLIAnswerWhileWorkerDown runs `firebreak approve` as a person would
// while no worker runs: the step is given by its bare name, the command
// says it is waiting for a worker, gives up at --timeout with exit status 3,
// and the answer it sent is applied when the worker comes back, with nobody
// waiting for it any more. Sent twice, it counts once.
func TestCLIAnswerWhileWorkerDown(t *testing.T) {
	dataDir := t.TempDir()
	journal := filepath.Join(dataDir, "simulation.jsonl")
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	c := newClient(t, srv)
	w := newWorker(t, srv.Address(), journal)
	w.start()

	const id = "DOWN-CLI-1"
	startIncident(t, c, playbookDir(t), "isolate_cell", "hiro", id)
	s := waitStep(t, c, id, isolateOK, workflows.StepWaiting, 1)
	answer(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "alice", Round: s.Round})
	waitQuiet(t, c, id)
	w.kill()

	approve := func(timeout string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(firebreakBinary(t), "approve", id, "isolate_ok", "--as", "erin", "--timeout", timeout)
		cmd.Env = cleanEnv(temporalenv.EnvAddress+"="+srv.Address(), temporalenv.EnvNamespace+"="+srv.Namespace())
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("run firebreak approve: %v", err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}

	code, out, errOut := approve("8s")
	if code != 3 || out != "" {
		t.Fatalf("approve with no worker: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Waiting for a firebreak worker to pick up incident " + id,
		"Error: the answer on incident " + id + " is sent but not confirmed: no firebreak worker picked the incident up within --timeout 8s.",
		"`firebreak status " + id + "` shows whether it was",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := strings.Count(errOut, "Waiting for a firebreak worker"); n != 1 {
		t.Errorf("the waiting notice is printed %d times:\n%s", n, errOut)
	}
	// Sent again while the worker is still down: the same answer.
	if code, _, errOut := approve("4s"); code != 3 {
		t.Fatalf("approve again with no worker: exit %d, stderr:\n%s", code, errOut)
	}

	// The command has exited; exit status 3 means it found the server
	// holding the answer (an unsigned answer's update ID carries a nonce of
	// that command's own, so the test cannot ask for it by ID).

	w.start()
	ev := waitEvent(t, c, id, "erin's approval, applied with nobody waiting", isEvent(workflows.EventApproved, isolateOK, "erin"))
	if ev.Channel != workflows.ChannelCLI {
		t.Errorf("approval event: %+v", ev)
	}
	st := waitState(t, c, id, workflows.StateCompleted)
	if ap := stepOf(st, isolateOK).Approvals; len(ap) != 2 {
		t.Errorf("approvals: %+v, want alice and erin", ap)
	}

	tl, err := incident.Timeline(testContext(t, stepTimeout), c, id)
	if err != nil {
		t.Fatal(err)
	}
	approvals := 0
	for _, e := range tl.Events {
		if isEvent(workflows.EventApproved, isolateOK, "erin")(e) {
			approvals++
		}
	}
	if approvals != 1 {
		t.Errorf("erin's approval, sent twice, is in the timeline %d times", approvals)
	}
}
