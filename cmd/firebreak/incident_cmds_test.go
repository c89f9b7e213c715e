package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/incident"
)

// These tests cover everything the incident commands decide before they
// reach Temporal. Commands against a running server are tested end to end.

func TestIncidentUsageErrors(t *testing.T) {
	t.Setenv(envAs, "")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "run takes PLAYBOOK (got 0 arguments)"},
		{[]string{"run", "a", "b"}, "run takes PLAYBOOK (got 2 arguments)"},
		{[]string{"status"}, "status takes INCIDENT"},
		{[]string{"status", "INC-1", "extra"}, "status takes INCIDENT (got 2 arguments)"},
		{[]string{"status", "INC-1", "--format", "yaml"}, `--format "yaml" is not one of text, json`},
		{[]string{"timeline", "INC-1", "--format", "text"}, `--format "text" is not one of md, json`},
		{[]string{"list", "extra"}, "list takes no arguments (got 1 argument)"},
		{[]string{"list", "--state", "done"}, `State "done" is not one of running, completed, failed, cancelled.`},
		{[]string{"list", "--limit", "-1"}, "--limit -1 is not between 1 and 1000"},
		{[]string{"list", "--limit", "many"}, "invalid argument"},
		{[]string{"ack", "INC-1", "page.ot_oncall"}, "say who is answering with --as PERSON (or set FIREBREAK_AS)"},
		{[]string{"approve", "INC-1", "approval.isolate_ok"}, "--as PERSON"},
		{[]string{"approve", "INC-1"}, "approve takes INCIDENT STEP (got 1 argument)"},
		{[]string{"approve", "INC-1", "", "--as", "alice"}, "STEP is empty"},
		{[]string{"approve", "INC-1", "isolate_ok", "--as", "alice", "--round", "-1"}, "--round -1 is not a round"},
		{[]string{"approve", "INC-1", "isolate_ok", "--as", "alice", "--reason", "x"}, "unknown flag: --reason"},
		{[]string{"deny", "INC-1", "approval.isolate_ok", "--as", "bob"}, "deny needs --reason TEXT"},
		{[]string{"deny", "INC-1", "approval.isolate_ok", "--as", "bob", "--reason", "  "}, "deny needs --reason TEXT"},
		{[]string{"decide", "INC-1", "decision.scope", "--as", "carol"}, "decide takes INCIDENT STEP OPTION (got 2 arguments)"},
		{[]string{"done", "INC-1", "--as", "frank"}, "done takes INCIDENT STEP"},
		{[]string{"break-glass", "INC-1", "approval.isolate_ok", "--as", "gina"}, "break-glass needs --reason TEXT"},
		{[]string{"cancel", "INC-1", "--reason", "false positive"}, "--as PERSON"},
		{[]string{"cancel", "INC-1", "--as", "carol"}, "cancel needs --reason TEXT"},
		{[]string{"cancel", "INC-1", "step", "--as", "carol", "--reason", "x"}, "cancel takes INCIDENT (got 2 arguments)"},
		{[]string{"ack", "INC-1", "p", "--as", "carol", "--timeout", "soon"}, "invalid argument"},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(t, tc.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want 2\nstderr: %s", tc.args, code, errOut)
			continue
		}
		if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "Run 'firebreak --help' for usage.") {
			t.Errorf("%q: stderr lacks %q:\n%s", tc.args, tc.want, errOut)
		}
		if out != "" {
			t.Errorf("%q: stdout should be empty, got %q", tc.args, out)
		}
	}
}

func TestIncidentAsFromEnv(t *testing.T) {
	// FIREBREAK_AS stands in for --as: the complaint is then about --reason.
	t.Setenv(envAs, "bob")
	code, _, errOut := runCLI(t, "deny", "INC-1", "approval.isolate_ok")
	if code != exitUsage || !strings.Contains(errOut, "deny needs --reason") || strings.Contains(errOut, "--as PERSON") {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	// ...and it names the commander of run, who must be a declared person.
	t.Setenv(envAs, "carl")
	code, _, errOut = runCLI(t, "run", "ot_ransomware_containment", "--dir", library, "--input", "zone=plant3_dmz")
	if code != exitUsage || !strings.Contains(errOut, `No person "carl" is declared`) || !strings.Contains(errOut, `Did you mean "carol"?`) {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
}

func TestRunChecksBeforeStarting(t *testing.T) {
	t.Setenv(envAs, "")
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"run", "ot_ransomware_containment", "--dir", library, "--input", "zone=plant3_dmz", "--input", "host=ws-1", "--as", "carol"}, exitUsage,
			[]string{`Playbook "ot_ransomware_containment" has no input "host". Did you mean "hosts"?`,
				`Inputs of playbook "ot_ransomware_containment":`, "zone (string, required)", "hosts (list(string), default [])"}},
		{[]string{"run", "ot_ransomware_containment", "--dir", library, "--as", "carol"}, exitUsage,
			[]string{`needs input "zone" (string): add --input zone=VALUE.`}},
		{[]string{"run", "ot_ransomware_containment", "--dir", library, "--input", "zone=z", "--input", "hosts=ws-1", "--as", "carol"}, exitUsage,
			[]string{`Input "hosts" is list(string):`, `--input hosts='["a","b"]'`}},
		{[]string{"run", "ot_ransomware_containment", "--dir", library, "--input", "zone", "--as", "nobody", "--id", "bad id"}, exitUsage,
			[]string{`--input "zone" is not NAME=VALUE`, `No person "nobody"`, `Incident ID "bad id" is not usable`}},
		{[]string{"run", "ot_ransomware_containment", "--dir", library, "--input", "zone=z"}, exitUsage,
			[]string{"say who starts the incident with --as PERSON (or set FIREBREAK_AS)"}},
		{[]string{"run", "ot_ransomware_contaiment", "--dir", library, "--as", "carol"}, exitInvalid,
			[]string{"Error: Unknown playbook", `Did you mean "ot_ransomware_containment"?`}},
		{[]string{"run", library + "/ot_ransomware_containment.hcl", "--dir", library, "--as", "carol"}, exitInvalid,
			[]string{"Error: Unknown playbook", "not by a file", `Did you mean "ot_ransomware_containment"?`}},
		{[]string{"run", "p", "--dir", "no/such/dir", "--as", "carol"}, exitUsage,
			[]string{"no/such/dir: no such file or directory"}},
		{[]string{"run", "p", "--dir", writeDir(t, map[string]string{"p.hcl": brokenPlaybook}), "--as", "carol"}, exitInvalid,
			[]string{"Error: Unknown action", `Did you mean "ot.isolate_zone"?`}},
	}
	for _, tc := range cases {
		code, out, errOut := runCLI(t, tc.args...)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d\nstderr: %s", tc.args, code, tc.code, errOut)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%q: stderr lacks %q:\n%s", tc.args, w, errOut)
			}
		}
		if out != "" {
			t.Errorf("%q: nothing started, so stdout should be empty; got %q", tc.args, out)
		}
	}
}

func TestIncidentHelp(t *testing.T) {
	for _, name := range []string{"run", "status", "list", "timeline", "ack", "approve", "deny", "decide", "done", "break-glass", "cancel"} {
		code, out, errOut := runCLI(t, name, "--help")
		if code != exitOK {
			t.Errorf("%s --help: exit %d: %s", name, code, errOut)
			continue
		}
		for _, want := range []string{"Examples:", "firebreak " + name + " ", "TEMPORAL_ADDRESS"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s --help lacks %q:\n%s", name, want, out)
			}
		}
	}
	_, out, _ := runCLI(t, "approve", "--help")
	for _, want := range []string{"FIREBREAK_AS", `channel "cli"`, "--round", "just its name, isolate_ok", "--key-file", "FIREBREAK_KEY_FILE"} {
		if !strings.Contains(out, want) {
			t.Errorf("approve --help lacks %q", want)
		}
	}
	_, out, _ = runCLI(t, "run", "--help")
	for _, want := range []string{"--as names the incident commander, and is required", "--key-file", "unattested"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
	_, out, _ = runCLI(t, "--help")
	if !strings.Contains(out, "firebreak run ot_ransomware_containment") {
		t.Errorf("root help does not show run:\n%s", out)
	}
}

// TestHostileTextOnStderr: errors and refusals quote what people typed or
// the incident sent back; escape sequences in them reach stderr escaped.
func TestHostileTextOnStderr(t *testing.T) {
	code, _, errOut := runCLI(t, "run", "ot_ransomware_containment", "--as", "carol", "--dir", "/nonexistent\x1b]0;pwned\x07\u202e")
	if code != exitUsage || !strings.Contains(errOut, `Error: /nonexistent\x1b]0;pwned\x07\u202e: no such file`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	cmd := newStatusCmd()
	var errb strings.Builder
	cmd.SetErr(&errb)
	err := incidentError(cmd, &incident.Refused{Message: "bob\x1b[2J may not\ranswer"})
	if err == nil || errb.String() != "Refused: bob\\x1b[2J may not answer\n" {
		t.Errorf("refusal: %v, stderr %q", err, errb.String())
	}
}

// TestKeyFileChecksBeforeSending: a key that may not sign for --as, or a key
// file that is not usable, is refused at the command line: nothing is sent
// (no server is configured here, so getting further would fail otherwise).
func TestKeyFileChecksBeforeSending(t *testing.T) {
	t.Setenv(envAs, "")
	t.Setenv(envKeyFile, "")
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	library, err := filepath.Abs(library)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if code, _, errOut := runCLI(t, "keygen", "person.alice"); code != exitOK {
		t.Fatal(errOut)
	}
	if code, _, errOut := runCLI(t, "keygen", "slack.main"); code != exitOK {
		t.Fatal(errOut)
	}
	if err := os.WriteFile("open.key", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mismatch := "is alice's own key (person.alice), and it signs only for alice"
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"approve", "INC-1", "isolate_ok", "--as", "bob", "--key-file", "person.alice.key"}, "", mismatch},
		{[]string{"deny", "INC-1", "isolate_ok", "--as", "bob", "--reason", "no"}, "person.alice.key", mismatch},
		{[]string{"ack", "INC-1", "page.ot_oncall", "--as", "bob", "--key-file", "person.alice.key"}, "", mismatch},
		{[]string{"decide", "INC-1", "decision.reconnect", "stay", "--as", "bob", "--key-file", "person.alice.key"}, "", mismatch},
		{[]string{"done", "INC-1", "task.x", "--as", "bob", "--key-file", "person.alice.key"}, "", mismatch},
		{[]string{"break-glass", "INC-1", "isolate_ok", "--as", "bob", "--reason", "r", "--key-file", "person.alice.key"}, "", mismatch},
		{[]string{"cancel", "INC-1", "--as", "bob", "--reason", "r", "--key-file", "person.alice.key"}, "", mismatch},
		{[]string{"run", "ot_ransomware_containment", "--dir", library, "--input", "zone=plant3_dmz", "--as", "bob", "--key-file", "person.alice.key"}, "", mismatch},
		{[]string{"approve", "INC-1", "isolate_ok", "--as", "alice", "--key-file", "open.key"}, "", "may be read by others (mode 0644)"},
		{[]string{"approve", "INC-1", "isolate_ok", "--as", "alice", "--key-file", "nope.key"}, "", "nope.key cannot be read"},
	} {
		t.Setenv(envKeyFile, tc.env)
		code, out, errOut := runCLI(t, tc.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
	// A front door's key signs for anyone: run gets as far as the server.
	t.Setenv(envKeyFile, "slack.main.key")
	code, _, errOut := runCLI(t, "run", "ot_ransomware_containment", "--dir", library, "--input", "zone=plant3_dmz", "--as", "bob", "--timeout", "1s")
	if code == exitUsage || strings.Contains(errOut, "signs only") || strings.Contains(errOut, "unattested") {
		t.Errorf("run with a front door's key: exit %d\n%s", code, errOut)
	}
	// Without a key, run says the incident is unattested before it starts.
	t.Setenv(envKeyFile, "")
	_, _, errOut = runCLI(t, "run", "ot_ransomware_containment", "--dir", library, "--input", "zone=plant3_dmz", "--as", "bob", "--timeout", "1s")
	if !strings.Contains(errOut, "starts unattested: its answers need not be signed, and a worker that requires attestations (firebreak worker) will refuse its sign-offs") {
		t.Errorf("run without a key:\n%s", errOut)
	}
}
