package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/temporalenv"
)

// The crash tests run the worker (and, in one test, the server) as real
// firebreak processes, so that SIGKILL takes them down the way a power cut
// or the OOM killer would.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	// binDir is the GOBIN the binary is installed into; TestMain removes it.
	binDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// firebreakBinary installs cmd/firebreak once per test binary, on first use,
// the way a user does (`go install ./cmd/firebreak`), into a temporary GOBIN
// outside the repository. Tests that do not run a firebreak process do not
// pay for the build.
func firebreakBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "firebreak-e2e-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "firebreak")
		root, err := filepath.Abs("../..")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "install", "-buildvcs=false", "./cmd/firebreak")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOBIN="+binDir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go install ./cmd/firebreak: %v\n%s", err, out.String())
			return
		}
		if _, err := os.Stat(binPath); err != nil {
			buildErr = fmt.Errorf("go install ./cmd/firebreak with GOBIN=%s: %w", binDir, err)
			return
		}
		t.Logf("installed %s in %s", binPath, time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a firebreak subprocess (`firebreak worker` or `firebreak dev`)
// that the test starts, kills with SIGKILL and starts again with the same
// arguments. Only the test goroutine calls its methods; the test kills it
// at the end.
type proc struct {
	t      *testing.T
	name   string
	args   []string
	env    []string
	marker string // what the process prints once it is ready
	logDir string

	cmd    *exec.Cmd
	exited chan struct{}
	log    string
	starts int
}

// newProc prepares a firebreak subprocess. Its environment is the test's
// without TEMPORAL_* and FIREBREAK_* variables, plus extraEnv: only the
// test decides where it connects.
func newProc(t *testing.T, name, marker string, args []string, extraEnv ...string) *proc {
	p := &proc{t: t, name: name, args: append([]string{}, args...), marker: marker, logDir: t.TempDir(), env: cleanEnv(extraEnv...)}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.dumpLog()
		}
	})
	return p
}

// newWorker prepares `firebreak worker` reaching the server at address and
// journaling into journal. Its organisation is the main end-to-end
// directory (playbookDir), the one the incidents are compiled from, and it
// accepts unattested starts and answers, which these tests send.
func newWorker(t *testing.T, address, journal string) *proc {
	return newProc(t, "worker", "Worker running against", []string{"worker", "--dir", playbookDir(t), "--accept-unattested", "--journal", journal},
		temporalenv.EnvAddress+"="+address, temporalenv.EnvNamespace+"=default")
}

// newDevServer prepares `firebreak dev --no-worker` on dataDir and port,
// without the Web UI.
func newDevServer(t *testing.T, dataDir string, port int) *proc {
	return newProc(t, "server", "Press Ctrl-C to stop.",
		[]string{"dev", "--no-worker", "--data-dir", dataDir, "--port", strconv.Itoa(port), "--ui-port", "0"})
}

// cleanEnv is the test's environment without the variables that steer
// firebreak (TEMPORAL_*, FIREBREAK_*, SLACK_*), plus extra: only the test
// decides where a subprocess connects and what it reads.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") && !strings.HasPrefix(kv, "FIREBREAK_") && !strings.HasPrefix(kv, "SLACK_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// start starts the process and waits until it is ready.
func (p *proc) start() {
	p.t.Helper()
	if p.running() {
		p.t.Fatalf("%s already running", p.name)
	}
	p.starts++
	p.log = filepath.Join(p.logDir, fmt.Sprintf("%s-%03d.log", p.name, p.starts))
	f, err := os.Create(p.log)
	if err != nil {
		p.t.Fatal(err)
	}
	ready := make(chan struct{})
	cmd := exec.Command(firebreakBinary(p.t), p.args...)
	cmd.Env = p.env
	cmd.Stdout = &markerWriter{w: f, marker: p.marker, found: ready}
	cmd.Stderr = f
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	select {
	case <-ready:
	case <-exited:
		p.cmd = nil
		p.t.Fatalf("%s exited before it was ready (%s): %s", p.name, cmd.ProcessState, tail(p.log, 20))
	case <-time.After(time.Minute):
		p.t.Fatalf("%s not ready after a minute: %s", p.name, tail(p.log, 20))
	}
}

// running reports whether the process is alive.
func (p *proc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone. A process that
// has died on its own before is a test failure: neither the worker nor the
// server exits by itself.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	if !p.running() {
		p.t.Errorf("%s %d exited by itself (%s): %s", p.name, p.starts, p.cmd.ProcessState, tail(p.log, 20))
		p.cmd = nil
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd = nil
}

func (p *proc) dumpLog() {
	if p.log != "" {
		p.t.Logf("last %s log (%s):\n%s", p.name, p.log, tail(p.log, 40))
	}
}

// markerWriter writes to w and closes found once marker has been written.
type markerWriter struct {
	w      *os.File
	marker string
	found  chan struct{}
	seen   []byte
	done   bool
}

func (m *markerWriter) Write(p []byte) (int, error) {
	if !m.done {
		m.seen = append(m.seen, p...)
		if bytes.Contains(m.seen, []byte(m.marker)) {
			m.done = true
			m.seen = nil
			close(m.found)
		}
	}
	return m.w.Write(p)
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
