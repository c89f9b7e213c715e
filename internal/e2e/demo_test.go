package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/demo"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestDemoFlow runs `firebreak demo` (the shipped ransomware playbook with
// scripted responders) on a real server with a file-backed state, then
// checks what the simulated twins did in the journal and, on a server
// restarted on the same state, the incident's timeline.
func TestDemoFlow(t *testing.T) {
	dataDir := t.TempDir()
	var out bytes.Buffer
	res, err := demo.Run(testContext(t, 3*time.Minute), demo.Options{Dir: libraryDir, DataDir: dataDir, UIPort: -1, Pace: 0, Out: &out})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if res.State != workflows.StateCompleted {
		t.Errorf("demo incident ended %q, want completed", res.State)
	}
	if len(res.Refusals) != 1 || !strings.Contains(res.Refusals[0], "hiro may not answer approval.isolate_ok") {
		t.Errorf("refusals %q, want exactly hiro's", res.Refusals)
	}
	if res.UIAddress != "" {
		t.Errorf("UIPort -1 still served a Web UI at %s", res.UIAddress)
	}

	// The conduits isolating plant3_control cuts, from the compiled plan.
	prep, err := incident.Prepare(incident.StartRequest{Dir: libraryDir, Playbook: demo.Playbook, Inputs: []string{"zone=plant3_dmz"}, Commander: demo.Commander})
	if err != nil {
		t.Fatal(err)
	}
	var conduits, kept []string
	for _, c := range prep.Plan.Conduits {
		switch {
		case c.To != "plant3_control":
		case c.KeepOpenOnIsolation:
			kept = append(kept, c.ID)
		default:
			conduits = append(conduits, c.ID)
		}
	}
	if len(conduits) == 0 || len(kept) == 0 {
		t.Fatalf("the library's plant3_control should have conduits to cut and to keep; cut %v kept %v", conduits, kept)
	}

	entries, err := sim.ReadJournal(filepath.Join(dataDir, "simulation.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	checkNoDuplicateEffects(t, entries)
	id := res.IncidentID
	cuts := conduitKeys(id, "step.isolate", sim.OpCut, conduits)
	restores := conduitKeys(id, "step.restore", sim.OpRestore, conduits)
	checkEffects(t, entries, id, append(slices.Clone(cuts), restores...), isolatorOps...)
	if len(res.Effects) != countEffects(entries) {
		t.Errorf("demo reports %d effects, the journal file has %d", len(res.Effects), countEffects(entries))
	}
	// Every restore comes after every cut.
	lastCut, firstRestore := 0, 0
	for _, e := range entries {
		switch {
		case e.Effect && e.Op == sim.OpCut:
			lastCut = e.Seq
		case e.Effect && e.Op == sim.OpRestore && firstRestore == 0:
			firstRestore = e.Seq
		}
	}
	if firstRestore < lastCut {
		t.Errorf("a restore (journal seq %d) came before a cut (seq %d)", firstRestore, lastCut)
	}

	// Bring the state back up and read the finished incident's timeline.
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	c := newClient(t, srv)
	ws, err := runner.Start(c, runner.Options{Journal: sim.NewJournal()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)
	tl, err := timeline(c, id)
	if err != nil {
		t.Fatal(err)
	}
	approvals := map[string][]string{}
	for _, e := range events(tl, workflows.EventApproved) {
		approvals[e.Step] = append(approvals[e.Step], e.Person)
	}
	for step, want := range map[string][]string{
		"approval.isolate_ok": {"alice", "olga"},
		"approval.restore_ok": {"bob", "erin"},
	} {
		if got := approvals[step]; !slices.Equal(got, want) {
			t.Errorf("approvals of %s in the timeline: %v, want %v", step, got, want)
		}
	}
	ref := events(tl, workflows.EventRefused)
	if len(ref) != 1 || ref[0].Person != "hiro" || ref[0].Step != "approval.isolate_ok" || !strings.Contains(ref[0].Detail, "hiro may not answer") {
		t.Errorf("refusals in the timeline: %+v, want hiro's on approval.isolate_ok", ref)
	}
	// The interlock: the isolation finished after the sign-off completed.
	seq := func(match func(workflows.Event) bool) int {
		for _, e := range tl.Events {
			if match(e) {
				return e.Seq
			}
		}
		return 0
	}
	signed := seq(isEvent(workflows.EventStepFinished, "approval.isolate_ok", ""))
	isolated := seq(isEvent(workflows.EventStepFinished, "step.isolate", ""))
	if signed == 0 || isolated < signed {
		t.Errorf("isolation finished at event %d, sign-off at %d", isolated, signed)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out.String())
	}
}

// TestInstalledBinary: after `go install ./cmd/firebreak`, the commands work
// from an empty directory, with the library built into the binary as the
// default, and `firebreak init` writes out a copy that validates.
func TestInstalledBinary(t *testing.T) {
	bin := firebreakBinary(t)
	work := t.TempDir()
	ctx := testContext(t, 4*time.Minute)
	firebreak := func(args ...string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = work
		cmd.Env = cleanEnv()
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee) && ctx.Err() == nil:
			code = ee.ExitCode()
		default:
			t.Fatalf("firebreak %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
		}
		return code, out.String(), errb.String()
	}
	const note = "Using the built-in library (Northwind Energy sample); give a directory or set FIREBREAK_DIR for your own."

	code, out, errOut := firebreak("demo", "--pace", "0", "--ui-port", "0")
	if code != 0 || !strings.Contains(out, "completed; 1 unauthorized answer(s) refused.") {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if left, err := os.ReadDir(work); err != nil || len(left) != 0 {
		t.Errorf("demo left %v in the working directory (%v)", left, err)
	}

	code, out, errOut = firebreak("validate")
	if code != 0 || !strings.Contains(out, "Valid: 4 playbooks, 2 exercises in 9 files") || !strings.Contains(errOut, note) {
		t.Fatalf("validate: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = firebreak("plan", "--playbook", "ot_ransomware_containment")
	if code != 0 || !strings.Contains(out, "built-in/ot_ransomware_containment.hcl:1:1") || !strings.Contains(errOut, note) {
		t.Fatalf("plan: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = firebreak("graph", "--playbook", "ot_ransomware_containment")
	if code != 0 || !strings.HasPrefix(out, "flowchart") || !strings.Contains(out, ":::critical") {
		t.Fatalf("graph: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	code, out, errOut = firebreak("init", "./org")
	if code != 0 || !strings.Contains(out, "firebreak validate ./org") {
		t.Fatalf("init: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = firebreak("validate", "--dir", "./org")
	if code != 0 || !strings.Contains(out, "Valid: 4 playbooks, 2 exercises in 9 files") || errOut != "" {
		t.Fatalf("validate --dir ./org: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

func countEffects(entries []sim.Entry) int {
	n := 0
	for _, e := range entries {
		if e.Effect {
			n++
		}
	}
	return n
}
