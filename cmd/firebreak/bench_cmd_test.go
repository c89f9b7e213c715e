//go:build !noembedded

package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestBenchUsage: a wrong format or an argument is a usage error, caught
// before any server starts; --help names every measurement.
func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{{"bench", "--format", "xml"}, {"bench", "extra"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "Error:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	code, stdout, _ := runCLI(t, "bench", "--help")
	if code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	for _, want := range []string{"--quick", "approval to isolation", "signed Slack click", "50-step chain", "Monte Carlo", "500-step playbook", "Slack burst"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
}

// TestBenchStopsOnSIGTERM: a bench stopped as a service manager or
// timeout(1) stops it (SIGTERM) stops its servers and removes its
// temporary directories, as Ctrl-C does. The signal is sent once the run
// is about to make its SQLite directory.
func TestBenchStopsOnSIGTERM(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var out bytes.Buffer
	go func() {
		code := run([]string{"bench", "--quick"}, &out, pw)
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "SQLite file: starting") {
			break
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if code := <-done; code != exitInterrupted {
		t.Errorf("bench exited %d after SIGTERM, want %d", code, exitInterrupted)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("bench left %s in the temporary directory", e.Name())
	}
}
