package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/workflows"
)

// liveExerciseHCL is a small exercise for a live run: a page, a wait of
// ten minutes on the exercise clock, a safety sign-off, an isolation and
// a debrief task. Its responder block is there to be ignored.
const liveExerciseHCL = `escalation "live_oncall" {
  tier {
    notify     = [roster.ot_operations]
    ack_within = "2h"
  }
}

playbook "live_drill" {
  page "oncall" {
    escalation = escalation.live_oncall
    message    = "Drill ${incident.id}: join the room"
  }

  wait "settle" {
    duration = "10m"
    needs    = [page.oncall]
  }

  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.cell_control]
    prompt = "Isolate the cell control network?"
    needs  = [wait.settle]
  }

  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.cell_control, reason = "drill ${incident.id}" }
    needs  = [approval.isolate_ok]
  }

  task "debrief" {
    assign       = roster.shift_supervisor
    instructions = "Hold the debrief."
    needs        = [step.isolate]
  }
}

exercise "live_drill_ttx" {
  playbook    = playbook.live_drill
  commander   = person.hiro
  description = "The cell is isolated after a ten-minute settle"

  objective "acked" {
    within = "30m"
    of     = page.oncall
  }

  # Not met: the settle alone takes ten minutes.
  objective "contain" {
    within = "5m"
    of     = step.isolate
  }

  objective "debrief" {
    within = "8h"
    of     = task.debrief
  }

  inject "alert" {
    at      = "0m"
    message = "EDR: ransom note on the engineering workstation"
  }

  inject "hmi" {
    at      = "3m"
    message = "HMI 2 freezes\u001b[2J for seconds at a time"
  }

  inject "press" {
    at      = "6m"
    message = "A reporter calls the gatehouse"
  }

  inject "late" {
    at      = "100h"
    message = "Never told: the incident is over by then"
  }

  responder "olga" {
    acknowledges_after = "1m"
  }
}
`

// syncBuffer is a bytes.Buffer a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clockAt matches a line of the live output: the exercise clock, the step
// and the event.
var clockAt = regexp.MustCompile(`(?m)^T\+(\d\d):(\d\d):(\d\d)  (\S+)\s+(\S+)`)

// liveLine is one parsed line of the live output.
type liveLine struct {
	at          time.Duration
	step, event string
	index       int
}

func parseLive(out string) []liveLine {
	var lines []liveLine
	for i, m := range clockAt.FindAllStringSubmatch(out, -1) {
		d := func(s string) time.Duration {
			var n int
			for _, c := range s {
				n = n*10 + int(c-'0')
			}
			return time.Duration(n)
		}
		at := d(m[1])*time.Hour + d(m[2])*time.Minute + d(m[3])*time.Second
		lines = append(lines, liveLine{at: at, step: m[4], event: m[5], index: i})
	}
	return lines
}

func findLine(lines []liveLine, step, event string) (liveLine, bool) {
	for _, l := range lines {
		if l.step == step && l.event == event {
			return l, true
		}
	}
	return liveLine{}, false
}

// liveRun is a live exercise run of the installed binary, against an
// embedded server with the workers in process.
type liveRun struct {
	c        client.Client
	journal  *sim.Journal
	id       string
	md, html string
	stdout   *syncBuffer
	cmd      *exec.Cmd
	// begun is when the run had said how to answer.
	begun  time.Time
	exited chan error
}

// startLiveExercise starts the live run of live_drill_ttx at
// --time-scale 600 and waits until it has said how to answer. With
// signed, the commander's key signs the start and the worker requires
// attested starts, as firebreak worker does.
func startLiveExercise(t *testing.T, signed bool) *liveRun {
	t.Helper()
	srv := startServer(t, devserver.Options{Ephemeral: true})
	c := newClient(t, srv)
	work := t.TempDir()
	site := siteHCL
	var extra []string
	if signed {
		key := filepath.Join(work, "hiro.key")
		code, out := cliIn(t, work, srv.Address(), "keygen", "person.hiro", "--out", key)
		pub := regexp.MustCompile(`public_key = "ed25519:[A-Za-z0-9+/=]+"`).FindString(out)
		if code != 0 || pub == "" {
			t.Fatalf("keygen: exit %d\n%s", code, out)
		}
		const hiro = `person "hiro" { slack = "U01HIRO" }`
		if !strings.Contains(site, hiro) {
			t.Fatal("the site's person hiro changed shape; update this test")
		}
		site = strings.Replace(site, hiro, "person \"hiro\" {\n  slack = \"U01HIRO\"\n  "+pub+"\n}", 1)
		extra = []string{"--key-file", key}
	}
	dir := writeDir(t, map[string]string{"site.hcl": site, "safety.hcl": safetyHCL, "live.hcl": liveExerciseHCL})
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	j := sim.NewJournal()
	ws, err := runner.Start(c, runner.Options{Journal: j, Org: org.NewHolder(o, org.Options{Lenient: true}), RequireAttestation: signed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)

	lr := &liveRun{c: c, journal: j, md: filepath.Join(work, "aar.md"), html: filepath.Join(work, "aar.html"), stdout: &syncBuffer{}, exited: make(chan error, 1)}
	args := append([]string{"exercise", "run", "live_drill_ttx", "--live", "--time-scale", "600", "--dir", dir, "--report", lr.md, "--html", lr.html}, extra...)
	cmd := exec.Command(firebreakBinary(t), args...)
	cmd.Env = cleanEnv(temporalenv.EnvAddress+"="+srv.Address(), temporalenv.EnvNamespace+"=default")
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = lr.stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lr.cmd = cmd
	go func() { lr.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-lr.exited
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", lr.stdout.String(), stderr.String())
		}
	})
	idRE := regexp.MustCompile(`live as incident (INC-\d{8}-[0-9A-F]{4})`)
	waitFor(t, "the live run to print its incident ID and how to answer", startTimeout, func() bool {
		out := lr.stdout.String()
		if m := idRE.FindStringSubmatch(out); m != nil {
			lr.id = m[1]
		}
		return lr.id != "" && strings.Contains(out, "Ctrl-C stops following")
	})
	lr.begun = time.Now()
	return lr
}

// exitCode waits for the run to exit and returns its exit status.
func (lr *liveRun) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-lr.exited:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return lr.cmd.ProcessState.ExitCode()
	case <-time.After(stepTimeout):
		t.Fatal("the live run did not exit")
	}
	return -1
}

// TestExerciseLive runs an exercise live with the installed binary on the
// embedded server at --time-scale 600, a firebreak worker in process, and
// the test answering as the people would (incident.Answer, as the CLI
// and Slack do): the injects are printed in order at their times on the
// exercise clock, the ten-minute wait takes ten minutes of it (a second
// of wall time), the incident is an exercise whose every activity was
// scheduled on the exercise task queue with the scaled plan, the
// objectives are evaluated, and the after-action report is written.
func TestExerciseLive(t *testing.T) {
	lr := startLiveExercise(t, false)
	c, id, stdout := lr.c, lr.id, lr.stdout
	md, html := lr.md, lr.html
	head := stdout.String()
	for _, want := range []string{
		"The exercise's responder block is ignored: real people answer",
		"firebreak ack " + id + " page.oncall --as PERSON",
		"firebreak approve " + id + " approval.isolate_ok --as PERSON",
		"firebreak done " + id + " task.debrief --as PERSON",
		"Unattested: no --key-file",
		"600 times faster than the wall clock: an hour of it passes in 6s",
		"Ctrl-C stops following; the incident keeps running.",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("the start lacks %q", want)
		}
	}

	waitStep(t, c, id, "page.oncall", workflows.StepWaiting, 0)
	answer(t, c, workflows.UpdateAck, id, workflows.Answer{Step: "page.oncall", Person: "dmitri"})
	waitStep(t, c, id, "approval.isolate_ok", workflows.StepWaiting, 1)
	answer(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 1})
	answer(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.isolate_ok", Person: "erin", Round: 1})
	waitStep(t, c, id, "task.debrief", workflows.StepWaiting, 0)
	answer(t, c, workflows.UpdateDone, id, workflows.Answer{Step: "task.debrief", Person: "farid"})

	if code := lr.exitCode(t); code != 0 {
		t.Fatalf("the live run exited %d", code)
	}
	t.Logf("the live run took %s of wall time after its start", time.Since(lr.begun).Round(time.Millisecond))
	out := stdout.String()
	if strings.Contains(out, "\x1b") {
		t.Errorf("an inject's terminal escape reached the output")
	}
	lines := parseLive(out)

	// Injects in order, each at its time on the exercise clock (told
	// within a poll of it), before the events of later times.
	prev := -1
	for _, in := range []struct {
		name string
		at   time.Duration
	}{{"alert", 0}, {"hmi", 3 * time.Minute}, {"press", 6 * time.Minute}} {
		l, ok := findLine(lines, "inject."+in.name, exercise.EventInject)
		if !ok {
			t.Errorf("inject %s was not printed", in.name)
			continue
		}
		if l.at != in.at {
			t.Errorf("inject %s printed at %s, want %s", in.name, exercise.Clock(l.at), exercise.Clock(in.at))
		}
		if l.index <= prev {
			t.Errorf("inject %s printed out of order", in.name)
		}
		prev = l.index
	}
	if _, ok := findLine(lines, "inject.late", exercise.EventInject); ok {
		t.Errorf("the inject due after the end was told")
	}
	if !strings.Contains(out, "1 inject not told: the incident ended before its time.") {
		t.Errorf("the untold inject is not reported")
	}
	for i := 1; i < len(lines); i++ {
		// Events come as polled; allow a poll's lag (100 ms of wall time
		// is a minute at this scale) but no more.
		if lines[i].at+2*time.Minute < lines[i-1].at {
			t.Errorf("line %d (%s %s at %s) is before line %d (%s)", i, lines[i].step, lines[i].event, exercise.Clock(lines[i].at), i-1, exercise.Clock(lines[i-1].at))
		}
	}
	// The wait takes ten minutes on the exercise clock.
	started, ok1 := findLine(lines, "wait.settle", workflows.EventStepStarted)
	finished, ok2 := findLine(lines, "wait.settle", workflows.EventStepFinished)
	if !ok1 || !ok2 {
		t.Fatalf("the wait's start and end were not printed")
	}
	if d := finished.at - started.at; d < 10*time.Minute-time.Second || d > 13*time.Minute {
		t.Errorf("the ten-minute wait took %s on the exercise clock", d)
	} else {
		t.Logf("the ten-minute wait took %s on the exercise clock", d)
	}
	for _, want := range []string{
		"acked: met, page.oncall within 30m0s, done at T+",
		"contain: NOT MET, step.isolate within 5m0s, done at T+",
		"debrief: met, task.debrief within 8h0m0s, done at T+",
		"Incident " + id + " completed at T+",
		"dmitri (cli)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}

	// The incident is an exercise, started with the scaled plan, and every
	// one of its activities was scheduled on the exercise task queue.
	st, err := status(c, id)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Exercise || st.State != workflows.StateCompleted {
		t.Errorf("incident %s: exercise %v, state %s", id, st.Exercise, st.State)
	}
	ctx := testContext(t, answerTimeout)
	in, err := incident.StartInput(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Exercise || in.Plan.StepByID("wait.settle").Wait.Duration.Std() != time.Second {
		t.Errorf("started with exercise %v and a wait of %s, want an exercise and 1s", in.Exercise, in.Plan.StepByID("wait.settle").Wait.Duration.Std())
	}
	it := c.GetWorkflowHistory(ctx, workflows.IncidentWorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	scheduled := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled++
			if q := a.GetTaskQueue().GetName(); q != activities.ExerciseTaskQueue {
				t.Errorf("activity %s was scheduled on %q", a.GetActivityType().GetName(), q)
			}
		}
	}
	if scheduled < 3 {
		t.Errorf("only %d activities were scheduled", scheduled)
	}

	report, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# After-action report: exercise live_drill_ttx",
		"A live run with real people (exercise clock 600 times the wall clock)",
		"live, incident " + id,
		"| contain |",
		"inject.hmi",
		"| cli |",
	} {
		if !strings.Contains(string(report), want) {
			t.Errorf("the report lacks %q:\n%s", want, report)
		}
	}
	if b, err := os.ReadFile(html); err != nil || !bytes.Contains(b, []byte("<svg")) {
		t.Errorf("the HTML report has no SVG timeline (%v)", err)
	}
}

// TestExerciseLiveInterrupted: Ctrl-C stops following a live run (exit
// status 130) and leaves the incident running; the objectives are
// reported as of then, and the report is written, marked as made while
// the incident still ran.
func TestExerciseLiveInterrupted(t *testing.T) {
	lr := startLiveExercise(t, false)
	waitStep(t, lr.c, lr.id, "page.oncall", workflows.StepWaiting, 0)
	answer(t, lr.c, workflows.UpdateAck, lr.id, workflows.Answer{Step: "page.oncall", Person: "olga"})
	waitFor(t, "the first inject to be told", stepTimeout, func() bool { return strings.Contains(lr.stdout.String(), "inject.alert") })
	if err := lr.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := lr.exitCode(t); code != 130 {
		t.Fatalf("exit status %d after Ctrl-C, want 130", code)
	}
	out := lr.stdout.String()
	for _, want := range []string{
		"Objectives (so far: the incident still runs):",
		"acked: met, page.oncall within 30m0s, done at T+",
		"debrief: not met yet, task.debrief within 8h0m0s, not done",
		"incident " + lr.id + " is still running (firebreak status " + lr.id,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if st := waitState(t, lr.c, lr.id, workflows.StateRunning); !st.Exercise {
		t.Errorf("incident %s is not an exercise", lr.id)
	}
	report, err := os.ReadFile(lr.md)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "reported while still running") {
		t.Errorf("the report does not say the incident still ran:\n%s", report)
	}
}

// TestExerciseLiveSigned: with --key-file the commander's key signs the
// start of the scaled plan, and a worker that requires attested starts
// (as firebreak worker does) runs the exercise: the page reaches the
// exercise twin, which only an admitted start does.
func TestExerciseLiveSigned(t *testing.T) {
	lr := startLiveExercise(t, true)
	if strings.Contains(lr.stdout.String(), "Unattested") {
		t.Errorf("a signed start is said to be unattested")
	}
	waitFor(t, "the page to reach the exercise twin", stepTimeout, func() bool {
		return len(incidentEffects(lr.journal.Attempts(), lr.id, sim.OpPage)) > 0
	})
	st, err := status(lr.c, lr.id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unattested || !st.Exercise {
		t.Errorf("incident %s: unattested %v, exercise %v; want a signed exercise", lr.id, st.Unattested, st.Exercise)
	}
	if err := lr.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := lr.exitCode(t); code != 130 {
		t.Fatalf("exit status %d after Ctrl-C, want 130", code)
	}
}
