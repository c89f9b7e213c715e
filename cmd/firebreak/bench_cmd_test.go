//go:build !noembedded

package main

import (
	"strings"
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
