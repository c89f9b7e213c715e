package main

import (
	"strings"
	"testing"
)

func TestServerCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"dev", "extra"},
		{"worker", "extra"},
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
