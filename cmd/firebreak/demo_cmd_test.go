//go:build !noembedded

package main

import (
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/org"
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

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "extra"},
		{"demo", "--pace", "soon"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestDemoSelection: demo picks the playbooks like the compile commands and
// says which it loaded when they do not fit its script, before it starts a
// server.
func TestDemoSelection(t *testing.T) {
	mine := writeDir(t, onePlaybook)
	t.Chdir(t.TempDir())
	t.Setenv(org.EnvDir, mine)
	code, _, errOut := runCLI(t, "demo", "--ui-port", "0")
	if code != exitInvalid || !strings.Contains(errOut, "the demo runs ot_ransomware_containment with the people of the built-in library") ||
		!strings.Contains(errOut, mine+" does not fit") || !strings.Contains(errOut, "unset FIREBREAK_DIR") {
		t.Fatalf("demo on another directory: exit %d\n%s", code, errOut)
	}
}
