//go:build noembedded

package main

import (
	"strings"
	"testing"
)

// TestNoEmbeddedCommands: in the build without the embedded server, dev and
// demo say in their help and when run that this build cannot run them and
// what to use instead, and do nothing else.
func TestNoEmbeddedCommands(t *testing.T) {
	for _, args := range [][]string{
		{"dev"},
		{"dev", "--dir", library, "--port", "0"},
		{"dev", "--no-worker"},
		{"demo"},
		{"demo", "--pace", "0", "--ui-port", "0"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != exitInvalid || out != "" {
			t.Errorf("%v: exit %d, stdout %q; want exit %d and nothing on stdout", args, code, out, exitInvalid)
		}
		for _, want := range []string{"firebreak " + args[0] + ": this build of firebreak has no embedded Temporal server", "TEMPORAL_ADDRESS", "go build ./cmd/firebreak"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, errOut)
			}
		}
	}
	for _, name := range []string{"dev", "demo"} {
		code, out, _ := runCLI(t, name, "--help")
		if code != exitOK || !strings.HasPrefix(out, "Not in this build: this build of firebreak has no embedded Temporal server") {
			t.Errorf("%s --help: exit %d:\n%s", name, code, out)
		}
	}
	code, out, _ := runCLI(t, "--help")
	if code != exitOK || !strings.Contains(out, "(not in this build)") {
		t.Errorf("firebreak --help does not mark dev and demo as not in this build: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "dev", "extra"); code != exitUsage {
		t.Errorf("dev extra: exit %d, want %d", code, exitUsage)
	}
}
