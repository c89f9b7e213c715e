package library_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/library"
)

// TestEmbeddedMatchesDirectory: the library compiled into the binary is the
// directory in the source tree, file for file.
func TestEmbeddedMatchesDirectory(t *testing.T) {
	onDisk, err := filepath.Glob("*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	onDisk = append(onDisk, "README.md")
	if got := library.Names(); strings.Join(got, ",") != strings.Join(sorted(onDisk), ",") {
		t.Fatalf("embedded %v, directory %v", got, onDisk)
	}
	for name, src := range library.Sources() {
		disk, err := os.ReadFile(strings.TrimPrefix(name, library.Prefix))
		if err != nil || string(disk) != string(src) {
			t.Errorf("%s differs from the directory (%v)", name, err)
		}
	}
}

// TestEmbeddedValidates: the built-in library loads and checks with no
// diagnostics at all.
func TestEmbeddedValidates(t *testing.T) {
	m, diags := playbooks.LoadSource(library.Sources())
	if !diags.HasErrors() {
		diags = append(diags, m.Check(actions.Builtin())...)
	}
	if len(diags) > 0 {
		t.Fatalf("built-in library: %s", diags.Error())
	}
}

func TestWriteTo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "org")
	written, err := library.WriteTo(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != len(library.Names()) {
		t.Errorf("wrote %d files, want %d", len(written), len(library.Names()))
	}
	m, diags := playbooks.Load(dir)
	if !diags.HasErrors() {
		diags = append(diags, m.Check(actions.Builtin())...)
	}
	if len(diags) > 0 {
		t.Fatalf("the written library: %s", diags.Error())
	}
	// A second write refuses to overwrite and writes nothing.
	if err := os.WriteFile(filepath.Join(dir, "people.hcl"), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := library.WriteTo(dir, false); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d of the library's files already exist in %s (README.md, credential_phishing.hcl,", len(library.Names()), dir)) {
		t.Fatalf("second write: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "people.hcl")); string(b) != "# mine\n" {
		t.Error("an existing file was overwritten")
	}
	if _, err := library.WriteTo(dir, true); err != nil {
		t.Fatalf("forced write: %v", err)
	}
	// One file in the way is named with its path.
	one := t.TempDir()
	if err := os.WriteFile(filepath.Join(one, "safety.hcl"), []byte("# mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := library.WriteTo(one, false); err == nil || !strings.Contains(err.Error(), filepath.Join(one, "safety.hcl")+" already exists; nothing was written") {
		t.Fatalf("write over one file: %v", err)
	}
	if names, _ := os.ReadDir(one); len(names) != 1 {
		t.Errorf("a refused write left %d files, want 1", len(names))
	}
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	sort.Strings(out)
	return out
}
