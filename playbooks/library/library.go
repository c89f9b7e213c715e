// Package library holds the shipped sample library (the made-up operator
// Northwind Energy: people, rosters, zones, conduits, integrations, the
// safety policy, four joint IT/OT playbooks and a tabletop exercise),
// embedded in the binary so every command works from any directory with it
// as the default. `firebreak init DIR` writes it out as a starting point for
// an organisation's own.
package library

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed *.hcl README.md
var files embed.FS

// Prefix is what the library's file names start with in diagnostics and
// plans, so a position such as built-in/people.hcl:12:3 is never mistaken
// for a file on disk.
const Prefix = "built-in/"

// Name is how messages name the library.
const Name = "the built-in library (Northwind Energy sample)"

// FS returns the library's files.
func FS() fs.FS { return files }

// Names lists the library's file names (without Prefix), sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Sources returns the playbook files (*.hcl) keyed by their names with
// Prefix, ready for playbooks.LoadSource.
func Sources() map[string][]byte {
	out := map[string][]byte{}
	for _, n := range Names() {
		if !strings.HasSuffix(n, ".hcl") {
			continue
		}
		b, err := files.ReadFile(n)
		if err != nil {
			// The files are compiled in; a read cannot fail.
			panic(fmt.Sprintf("built-in library: %v", err))
		}
		out[Prefix+n] = b
	}
	return out
}

// WriteTo writes every library file into dir, creating it. It refuses to
// overwrite a file that exists (unless force), so an organisation's own
// edits are never lost; it returns the paths written.
func WriteTo(dir string, force bool) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	var existing []string
	for _, n := range Names() {
		p := filepath.Join(dir, n)
		if _, err := os.Lstat(p); err == nil {
			existing = append(existing, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("checking %s: %w", p, err)
		}
	}
	if len(existing) == 1 && !force {
		return nil, fmt.Errorf("%s already exists; nothing was written. Choose an empty directory, or overwrite it with --force", existing[0])
	}
	if len(existing) > 1 && !force {
		names := make([]string, len(existing))
		for i, p := range existing {
			names[i] = filepath.Base(p)
		}
		return nil, fmt.Errorf("%d of the library's files already exist in %s (%s); nothing was written. Choose an empty directory, or overwrite them with --force",
			len(existing), dir, strings.Join(names, ", "))
	}
	var written []string
	for _, n := range Names() {
		b, _ := files.ReadFile(n)
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return written, fmt.Errorf("writing %s: %w", p, err)
		}
		written = append(written, p)
	}
	return written, nil
}
