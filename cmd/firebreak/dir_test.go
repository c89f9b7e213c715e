package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/org"
)

// onePlaybook is a directory's worth of files with a single playbook, so a
// test can tell it from the built-in library by the "Valid:" line.
var onePlaybook = map[string]string{"p.hcl": "playbook \"only\" {\n  wait \"w\" {\n    duration = \"1m\"\n  }\n}\n"}

// TestPlaybookSelection: every compile command picks its playbooks the same
// way: paths given, else --dir, else $FIREBREAK_DIR, else the built-in
// library (with a note on stderr), from any working directory.
func TestPlaybookSelection(t *testing.T) {
	mine := writeDir(t, onePlaybook)
	// other is invalid, so using it by mistake fails the case.
	other := writeDir(t, map[string]string{"p.hcl": brokenPlaybook})
	t.Chdir(t.TempDir())
	t.Setenv(org.EnvDir, "")

	const builtInValid = "Valid: 4 playbooks, 2 exercises"
	const mineValid = "Valid: 1 playbook, 0 exercises in 1 file"
	cases := []struct {
		name   string
		env    string
		args   []string
		code   int
		stdout string // a part of stdout
		stderr string // a part of stderr; "" means stderr must be empty
	}{
		{name: "built-in", args: []string{"validate"}, stdout: builtInValid, stderr: builtInNote},
		{name: "positional", args: []string{"validate", mine}, stdout: mineValid},
		{name: "--dir", args: []string{"validate", "--dir", mine}, stdout: mineValid},
		{name: "FIREBREAK_DIR", env: mine, args: []string{"validate"}, stdout: mineValid},
		{name: "--dir beats FIREBREAK_DIR", env: other, args: []string{"validate", "--dir", mine}, stdout: mineValid},
		{name: "a path beats FIREBREAK_DIR", env: other, args: []string{"validate", mine}, stdout: mineValid},
		{name: "paths and --dir", args: []string{"validate", mine, "--dir", other}, code: exitUsage,
			stderr: "give the playbooks either as paths or with --dir, not both"},
		{name: "plan: paths and --dir", args: []string{"plan", mine, "--dir", other}, code: exitUsage,
			stderr: "not both"},
		{name: "missing --dir", args: []string{"validate", "--dir", "no/such/dir"}, code: exitUsage,
			stderr: "--dir no/such/dir: no such file or directory"},
		{name: "missing FIREBREAK_DIR", env: "no/such/dir", args: []string{"validate"}, code: exitUsage,
			stderr: "FIREBREAK_DIR=no/such/dir: no such file or directory"},
		{name: "plan built-in", args: []string{"plan", "--playbook", "ot_ransomware_containment"},
			stdout: "guarded by    approval.isolate_ok", stderr: builtInNote},
		{name: "plan FIREBREAK_DIR", env: mine, args: []string{"plan"}, stdout: "only"},
		{name: "graph built-in", args: []string{"graph", "--playbook", "ot_ransomware_containment"},
			stdout: ":::critical", stderr: builtInNote},
		{name: "graph --dir", args: []string{"graph", "--dir", mine}, stdout: "wait.w"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(org.EnvDir, tc.env)
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) {
				t.Fatalf("%q: exit %d (want %d)\nstdout: %s\nstderr: %s", tc.args, code, tc.code, out, errOut)
			}
			if tc.stderr == "" && errOut != "" {
				t.Errorf("%q: stderr should be empty, got %q", tc.args, errOut)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("%q: stderr lacks %q: %q", tc.args, tc.stderr, errOut)
			}
			if tc.stderr != builtInNote && strings.Contains(errOut, builtInNote) {
				t.Errorf("%q: the built-in note was printed though the library was not used", tc.args)
			}
		})
	}
}

// TestBuiltInJSON: the JSON forms stay machine-readable when the built-in
// library is used (the note goes to stderr), and the plan is the golden
// plan with the library's files named built-in/.
func TestBuiltInJSON(t *testing.T) {
	golden, err := os.ReadFile("../../playbooks/testdata/golden/ot_ransomware_containment.json")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	t.Setenv(org.EnvDir, "")
	code, out, errOut := runCLI(t, "validate", "--format", "json")
	var report struct {
		Valid bool `json:"valid"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &report) != nil || !report.Valid || strings.TrimSpace(errOut) != builtInNote {
		t.Fatalf("validate --format json: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "plan", "--playbook", "ot_ransomware_containment", "--format", "json")
	if code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	if want := strings.ReplaceAll(string(golden), `"file": "library/`, `"file": "built-in/`); out != want {
		t.Fatalf("plan --format json of the built-in library differs from the golden plan:\n%s", out)
	}
}

// TestRunSelection: run picks the playbooks like the compile commands, and
// says which it loaded when the request does not fit it, before it reaches a
// server. TestDemoSelection checks demo the same way.
func TestRunSelection(t *testing.T) {
	mine := writeDir(t, onePlaybook)
	t.Chdir(t.TempDir())
	t.Setenv(envAs, "")
	t.Setenv(org.EnvDir, "")

	code, out, errOut := runCLI(t, "run", "ot_ransomware_containment", "--input", "zone=plant3_dmz", "--as", "carl")
	if code != exitUsage || out != "" || !strings.Contains(errOut, builtInNote) ||
		!strings.Contains(errOut, `No person "carl" is declared in the built-in library (Northwind Energy sample)`) {
		t.Fatalf("run from the built-in library: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	t.Setenv(org.EnvDir, mine)
	code, _, errOut = runCLI(t, "run", "only", "--as", "carl")
	if code != exitUsage || strings.Contains(errOut, builtInNote) || !strings.Contains(errOut, `No person "carl" is declared in `+mine) {
		t.Fatalf("run from FIREBREAK_DIR: exit %d\n%s", code, errOut)
	}
}
