package main

import (
	"os"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
)

func TestKeygen(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errOut := runCLI(t, "keygen", "person.alice")
	if code != exitOK {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	st, err := os.Stat("person.alice.key")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile("person.alice.key")
	s, err := attest.ParsePrivateKey(data, "")
	if err != nil || s.ID != "person.alice" {
		t.Fatalf("the key file does not read back: %v", err)
	}
	line := strings.TrimSpace(out)
	if line != `public_key = "`+s.Public()+`"` {
		t.Fatalf("stdout %q, want the public_key line of the key written", out)
	}
	for _, want := range []string{`person "alice" block`, "--as alice --key-file person.alice.key", "FIREBREAK_KEY_FILE", "mode 0600"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	// The printed line is what the playbooks take.
	dir := writeDir(t, map[string]string{"people.hcl": "person \"alice\" {\n  " + line + "\n}\n"})
	if code, vout, verr := runCLI(t, "validate", dir); code != exitOK {
		t.Fatalf("validate with the pasted key: exit %d\n%s%s", code, vout, verr)
	}

	// Never overwritten without --force.
	if code, out, errOut := runCLI(t, "keygen", "person.alice"); code != exitInvalid || out != "" || !strings.Contains(errOut, "person.alice.key already exists") || !strings.Contains(errOut, "--force") {
		t.Fatalf("keygen over an existing key: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if again, _ := os.ReadFile("person.alice.key"); string(again) != string(data) {
		t.Fatal("the existing key was changed")
	}
	// --force replaces it, and a file others could read becomes 0600.
	if err := os.WriteFile("door.key", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "keygen", "slack.main", "--out", "door.key", "--force")
	if code != exitOK || !strings.Contains(errOut, `integration "slack" "main" block`) {
		t.Fatalf("keygen --force: exit %d\n%s%s", code, out, errOut)
	}
	if st, _ := os.Stat("door.key"); st.Mode().Perm() != 0o600 {
		t.Errorf("replaced key file mode %v, want 0600", st.Mode().Perm())
	}
	data, _ = os.ReadFile("door.key")
	if s, err := attest.ParsePrivateKey(data, "slack.main"); err != nil || !strings.Contains(out, s.Public()) {
		t.Fatalf("replaced key: %v\n%s", err, out)
	}
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".keygen-") {
			t.Errorf("a temporary file is left: %s", e.Name())
		}
	}
}

func TestKeygenRefusesBadIDs(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"keygen", "alice"}, "write person.NAME"},
		{[]string{"keygen", "persn.alice"}, `Did you mean "person"?`},
		{[]string{"keygen", "person.9lives"}, "not a valid name"},
		{[]string{"keygen"}, "keygen takes ID"},
		{[]string{"keygen", "person.a", "person.b"}, "keygen takes ID"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q, want usage error with %q", c.args, code, errOut, c.msg)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("a refused keygen wrote %v", entries)
	}
	code, out, _ := runCLI(t, "keygen", "--help")
	for _, want := range []string{"person.NAME", "slack.main", "mode 0600", "--force", "FIREBREAK_KEY_FILE", "public_key = "} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("keygen --help lacks %q", want)
		}
	}
}
