package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestSignedCLI is the signed path as an operator sets it up, with the
// installed binary only: init writes the library out, keygen makes keys for
// the commander and three responders and their public_key lines go into
// the person blocks, and a `firebreak worker` (which requires signatures)
// runs the incident. Unsigned answers and a key used for someone else are
// refused; the signed ones isolate plant 3; the timeline exported and
// sealed by the commander verifies, and a changed byte does not.
func TestSignedCLI(t *testing.T) {
	work := t.TempDir()
	srv := startServer(t, devserver.Options{Ephemeral: true})
	c := newClient(t, srv)
	firebreak := func(want int, args ...string) string {
		t.Helper()
		code, out := cliIn(t, work, srv.Address(), args...)
		if code != want {
			t.Fatalf("firebreak %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		return out
	}
	firebreak(0, "init", "./org")
	people := filepath.Join(work, "org", "people.hcl")
	src, err := os.ReadFile(people)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(work, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	pub := regexp.MustCompile(`public_key = "ed25519:[A-Za-z0-9+/=]+"`)
	for _, p := range []string{"ines", "dmitri", "alice", "olga"} {
		out := firebreak(0, "keygen", "person."+p, "--out", filepath.Join("keys", p+".key"))
		line := pub.FindString(out)
		if line == "" {
			t.Fatalf("keygen printed no public_key line:\n%s", out)
		}
		block := "person \"" + p + "\" {\n"
		if !strings.Contains(string(src), block) {
			t.Fatalf("no %q in people.hcl", block)
		}
		src = []byte(strings.Replace(string(src), block, block+"  "+line+"\n", 1))
	}
	if err := os.WriteFile(people, src, 0o644); err != nil {
		t.Fatal(err)
	}
	firebreak(0, "validate", "./org")

	w := newProc(t, "worker", "Worker running against", []string{"worker", "--dir", filepath.Join(work, "org"), "--journal", filepath.Join(work, "journal.jsonl")},
		temporalenv.EnvAddress+"="+srv.Address(), temporalenv.EnvNamespace+"=default")
	w.start()

	const id = "CLI-SIGNED"
	key := func(p string) string { return filepath.Join("keys", p+".key") }
	firebreak(0, "run", "ot_ransomware_containment", "--dir", "./org", "--input", "zone=plant3_dmz", "--as", "ines", "--key-file", key("ines"), "--id", id)
	waitStep(t, c, id, "page.ot_engineer", workflows.StepWaiting, 0)
	if out := firebreak(1, "ack", id, "page.ot_engineer", "--as", "dmitri"); !strings.Contains(out, "signed answers only") {
		t.Errorf("an unsigned ack was not refused for want of a signature:\n%s", out)
	}
	firebreak(0, "ack", id, "page.ot_engineer", "--as", "dmitri", "--key-file", key("dmitri"))
	waitStep(t, c, "CLI-SIGNED", "approval.isolate_ok", workflows.StepWaiting, 1)
	if out := firebreak(2, "approve", id, "approval.isolate_ok", "--as", "alice", "--key-file", key("olga")); !strings.Contains(out, "olga") {
		t.Errorf("olga's key used for alice was not refused as hers:\n%s", out)
	}
	firebreak(0, "approve", id, "approval.isolate_ok", "--as", "alice", "--key-file", key("alice"))
	firebreak(0, "approve", id, "approval.isolate_ok", "--as", "olga", "--key-file", key("olga"))
	waitStep(t, c, id, "step.isolate", workflows.StepDone, 0)
	firebreak(0, "cancel", id, "--as", "ines", "--reason", "contained; the rest is done by hand", "--key-file", key("ines"))
	waitState(t, c, id, workflows.StateCancelled)

	export := firebreak(0, "timeline", id, "--format", "json", "--key-file", key("ines"))
	// cliIn merges stderr into the output: keep the JSON document only.
	if i := strings.Index(export, "{"); i > 0 {
		export = export[i:]
	}
	file := filepath.Join(work, id+".json")
	if err := os.WriteFile(file, []byte(export), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := firebreak(0, "verify", file, "--dir", "./org"); !strings.Contains(out, "0 failed") {
		t.Errorf("verify:\n%s", out)
	}
	changed := strings.Replace(export, `"person": "olga"`, `"person": "olgb"`, 1)
	if changed == export {
		t.Fatal("the export names no approval by olga")
	}
	if err := os.WriteFile(file, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	firebreak(1, "verify", file, "--dir", "./org")
}
