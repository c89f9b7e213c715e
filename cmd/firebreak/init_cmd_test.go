package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/org"
)

func TestInit(t *testing.T) {
	t.Setenv(org.EnvDir, "")
	t.Chdir(t.TempDir())
	code, out, errOut := runCLI(t, "init", "org")
	if code != exitOK {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Wrote the built-in library (Northwind Energy sample) into org:", "org/people.hcl", "org/README.md",
		"firebreak validate org", "firebreak dev --dir org", "export FIREBREAK_DIR=/"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, "validate", "org")
	if code != exitOK || !strings.Contains(out, "Valid: 4 playbooks, 2 exercises in 9 files (0 warnings).") || errOut != "" {
		t.Fatalf("validate the written library: exit %d\n%s%s", code, out, errOut)
	}

	// A second init refuses, names what is there, and leaves edits alone.
	people := filepath.Join("org", "people.hcl")
	if err := os.WriteFile(people, []byte("# ours\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "init", "org")
	if code != exitInvalid || out != "" || !strings.Contains(errOut, "already exist in org (README.md, ") || !strings.Contains(errOut, "nothing was written") || !strings.Contains(errOut, "--force") {
		t.Fatalf("init over an existing library: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if b, _ := os.ReadFile(people); string(b) != "# ours\n" {
		t.Fatal("init overwrote an existing file without --force")
	}
	if code, _, errOut := runCLI(t, "init", "org", "--force"); code != exitOK {
		t.Fatalf("init --force: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(people); string(b) == "# ours\n" {
		t.Fatal("init --force left the old file")
	}

	// No DIR: the default directory.
	if code, out, errOut := runCLI(t, "init"); code != exitOK || !strings.Contains(out, "into "+defaultInitDir+":") {
		t.Fatalf("init with no DIR: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(defaultInitDir, "safety.hcl")); err != nil {
		t.Fatal(err)
	}

	// A file where the directory should be is a clear failure.
	if err := os.WriteFile("afile", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "init", "afile"); code != exitInvalid || !strings.Contains(errOut, "afile") {
		t.Fatalf("init into a file: exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{{"init", "a", "b"}, {"init", ""}, {"init", "--forse"}} {
		if code, _, errOut := runCLI(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want 2: %s", args, code, errOut)
		}
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"./org":          "./org",
		"my org":         "'my org'",
		"it's":           `'it'\''s'`,
		"bad\x1b[2Jname": `"bad\x1b[2Jname"`,
		"/tmp/a-b_c.d":   "/tmp/a-b_c.d",
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}
