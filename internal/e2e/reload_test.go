package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/playbooks/library"
)

// TestWorkerReloadsOnHangup: SIGHUP makes a running worker load its
// directory again. A version with an error is refused, logged with its
// diagnostic, and the worker keeps running on the version it had; a good
// version is taken.
func TestWorkerReloadsOnHangup(t *testing.T) {
	dir := t.TempDir()
	if _, err := library.WriteTo(dir, false); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, devserver.Options{Ephemeral: true})
	w := newProc(t, "worker", "Worker running against", []string{"worker", "--dir", dir, "--accept-unattested", "--journal", filepath.Join(t.TempDir(), "j.jsonl")},
		temporalenv.EnvAddress+"="+srv.Address(), temporalenv.EnvNamespace+"=default")
	w.start()
	logHas := func(what string) func() bool {
		return func() bool {
			b, _ := os.ReadFile(w.log)
			return strings.Contains(string(b), what)
		}
	}
	if !logHas("14 people")() {
		t.Fatalf("the worker did not say what it loaded: %s", tail(w.log, 10))
	}

	broken := filepath.Join(dir, "broken.hcl")
	if err := os.WriteFile(broken, []byte("roster \"night_shift\" {\n  members = [person.nobody]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bad reload refused", stepTimeout, logHas("Reload refused"))
	for _, want := range []string{"broken.hcl", "nobody", "reload refused"} {
		if !logHas(want)() {
			t.Errorf("the refused reload does not mention %q: %s", want, tail(w.log, 20))
		}
	}
	if !w.running() {
		t.Fatal("the worker stopped after a bad reload")
	}

	if err := os.WriteFile(broken, []byte("person \"newbie\" {\n  name = \"New Starter\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the good reload taken", stepTimeout, logHas("Reloaded: "+dir+": 15 people"))
	if !w.running() {
		t.Fatal("the worker stopped after a reload")
	}
}
