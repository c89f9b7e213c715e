package main

import (
	"strings"
	"testing"
)

// TestDemoCommand runs `firebreak demo` as a user would, on a real embedded
// server, and checks it completes with the refused answer and the sign-off.
func TestDemoCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "demo", "--dir", library, "--pace", "0", "--ui-port", "-1", "--data-dir", t.TempDir())
	if code != exitOK {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"refused            hiro",
		"approved           alice",
		"approved           olga",
		"step.isolate               done               isolated plant3_control",
		"incident finished  completed",
		"1 unauthorized answer(s) refused",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestServerCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "extra"},
		{"dev", "extra"},
		{"worker", "extra"},
		{"demo", "--pace", "soon"},
		{"dev", "--db", "mysql"},
		{"dev", "--postgres-port", "5433"},
		{"dev", "--setup-schema"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestWorkerBadEnvironment(t *testing.T) {
	t.Setenv("TEMPORAL_TLS", "maybe")
	code, _, errOut := runCLI(t, "worker")
	if code != exitInvalid || !strings.Contains(errOut, "TEMPORAL_TLS") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming TEMPORAL_TLS", code, errOut)
	}
}
