package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const library = "../../playbooks/library"

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeDir writes files into a new temporary directory and returns it.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const brokenPlaybook = `playbook "p" {
  step "s" {
    action = "ot.isolate_zon"
  }
}
`

func TestValidate(t *testing.T) {
	code, out, errOut := runCLI(t, "validate", library)
	if code != exitOK || !strings.Contains(out, "Valid: 4 playbooks, 2 exercises") || errOut != "" {
		t.Fatalf("library: code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	dir := writeDir(t, map[string]string{"p.hcl": brokenPlaybook})
	code, out, errOut = runCLI(t, "validate", dir)
	if code != exitInvalid {
		t.Fatalf("broken playbook: exit %d, want 1", code)
	}
	for _, want := range []string{
		"Error: Unknown action",
		"p.hcl line 3",
		`3:     action = "ot.isolate_zon"`,
		"^^^^^^^^^^^^^^^^",
		`Did you mean "ot.isolate_zone"?`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "\x1b[") {
		t.Errorf("colour written to a non-terminal:\n%s", errOut)
	}
	if out != "" {
		t.Errorf("stdout should be empty on errors, got %q", out)
	}
}

func TestValidateJSON(t *testing.T) {
	dir := writeDir(t, map[string]string{"p.hcl": brokenPlaybook})
	code, out, _ := runCLI(t, "validate", "--format", "json", dir)
	if code != exitInvalid {
		t.Fatalf("exit %d, want 1", code)
	}
	var report struct {
		Valid       bool `json:"valid"`
		ErrorCount  int  `json:"error_count"`
		Diagnostics []struct {
			Severity string `json:"severity"`
			Summary  string `json:"summary"`
			Range    struct {
				Filename string `json:"filename"`
				Start    struct{ Line, Column int }
			} `json:"range"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if report.Valid || report.ErrorCount != 1 || len(report.Diagnostics) != 1 {
		t.Fatalf("report: %+v", report)
	}
	d := report.Diagnostics[0]
	if d.Severity != "error" || d.Summary != "Unknown action" || d.Range.Start.Line != 3 || d.Range.Start.Column != 14 {
		t.Fatalf("diagnostic: %+v", d)
	}
	code, out, _ = runCLI(t, "validate", "--format", "json", library)
	if code != exitOK || !strings.Contains(out, `"valid": true`) {
		t.Fatalf("library as JSON: exit %d: %s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"validate", "--format", "yaml", library},
		{"validate", "--no-such-flag"},
		{"no-such-command"},
		{"plan", library, "--playbook"},
		{"plan", library},
		{"graph", library, "--playbook", "ot_ransomware_containment", "--format", "png"},
		{"actions", "extra"},
		{"validate", "no/such/directory"},
		{"plan", "no/such/directory", "--playbook", "p"},
	}
	for _, args := range cases {
		code, _, errOut := runCLI(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr: %s)", args, code, errOut)
		}
		if !strings.HasPrefix(errOut, "Error: ") {
			t.Errorf("%v: stderr does not start with Error: %q", args, errOut)
		}
	}
}

func TestPlan(t *testing.T) {
	code, out, errOut := runCLI(t, "plan", library, "--playbook", "ot_ransomware_containment", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden, err := os.ReadFile("../../playbooks/testdata/golden/ot_ransomware_containment.json")
	if err != nil {
		t.Fatal(err)
	}
	// The golden file was compiled from "library"; the CLI was given a longer path.
	want := strings.ReplaceAll(string(golden), `"file": "library/`, `"file": "`+library+`/`)
	if out != want {
		t.Fatalf("plan --format json differs from the golden plan")
	}

	code, out, _ = runCLI(t, "plan", library, "--playbook", "ot_ransomware_containment")
	if code != exitOK || !strings.Contains(out, "guarded by    approval.isolate_ok") {
		t.Fatalf("summary: exit %d\n%s", code, out)
	}

	code, _, errOut = runCLI(t, "plan", library, "--playbook", "ot_ransomware")
	if code != exitInvalid || !strings.Contains(errOut, `Did you mean "ot_ransomware_containment"?`) {
		t.Fatalf("unknown playbook: exit %d\n%s", code, errOut)
	}
}

func TestGraph(t *testing.T) {
	code, out, _ := runCLI(t, "graph", library, "--playbook", "ot_ransomware_containment")
	if code != exitOK || !strings.HasPrefix(out, "flowchart") || !strings.Contains(out, ":::critical") || !strings.Contains(out, ":::safety") {
		t.Fatalf("mermaid: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "graph", library, "--playbook", "ot_ransomware_containment", "--format", "dot")
	if code != exitOK || !strings.HasPrefix(out, "digraph") || !strings.Contains(out, "SAFETY-CRITICAL") {
		t.Fatalf("dot: exit %d\n%s", code, out)
	}
	// With one playbook in the directory, --playbook may be left out.
	dir := writeDir(t, map[string]string{"p.hcl": "playbook \"only\" {\n  wait \"w\" {\n    duration = \"1m\"\n  }\n}\n"})
	if code, out, errOut := runCLI(t, "graph", dir); code != exitOK || !strings.Contains(out, "wait.w") {
		t.Fatalf("single playbook: exit %d\n%s%s", code, out, errOut)
	}
}

func TestActions(t *testing.T) {
	code, out, _ := runCLI(t, "actions")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"ot.isolate_zone  [SAFETY-CRITICAL", "with.zone", "required", "output.conduits_cut", "modbus.read"} {
		if !strings.Contains(out, want) {
			t.Errorf("actions output lacks %q", want)
		}
	}
	code, out, _ = runCLI(t, "actions", "--format", "json")
	var specs []struct {
		Name           string `json:"name"`
		SafetyCritical bool   `json:"safety_critical"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &specs) != nil || len(specs) < 9 {
		t.Fatalf("actions json: exit %d\n%s", code, out)
	}
	critical := 0
	for _, s := range specs {
		if s.SafetyCritical {
			critical++
		}
	}
	if critical != 4 {
		t.Fatalf("%d safety-critical actions, want 4", critical)
	}
}

func TestFmt(t *testing.T) {
	messy := "person \"a\" {\nname = \"A\"\n    slack=\"U01A\"\n}\n"
	dir := writeDir(t, map[string]string{"people.hcl": messy})
	path := filepath.Join(dir, "people.hcl")

	code, out, _ := runCLI(t, "fmt", "-check", dir)
	if code != exitInvalid || !strings.Contains(out, "people.hcl") {
		t.Fatalf("fmt -check on a messy file: exit %d, out %q", code, out)
	}
	if b, _ := os.ReadFile(path); string(b) != messy {
		t.Fatal("fmt -check changed the file")
	}
	if code, _, errOut := runCLI(t, "fmt", dir); code != exitOK {
		t.Fatalf("fmt: exit %d: %s", code, errOut)
	}
	b, _ := os.ReadFile(path)
	if want := "person \"a\" {\n  name  = \"A\"\n  slack = \"U01A\"\n}\n"; string(b) != want {
		t.Fatalf("formatted:\n%s\nwant:\n%s", b, want)
	}
	if code, out, _ := runCLI(t, "fmt", "--check", dir); code != exitOK || out != "" {
		t.Fatalf("fmt --check on a formatted file: exit %d, out %q", code, out)
	}
	// The shipped library is formatted.
	if code, out, _ := runCLI(t, "fmt", "-check", library); code != exitOK {
		t.Fatalf("library is not formatted:\n%s", out)
	}
	// A syntax error is reported and the file left alone.
	bad := writeDir(t, map[string]string{"bad.hcl": "person \"a\" {\n"})
	if code, _, errOut := runCLI(t, "fmt", bad); code != exitInvalid || !strings.Contains(errOut, "bad.hcl line 1") {
		t.Fatalf("fmt on a syntax error: exit %d: %s", code, errOut)
	}
}
