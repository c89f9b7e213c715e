package playbooks

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// loadDeadline bounds a load in the tests below: a loader that opens a named
// pipe blocks forever, and the test must fail, not hang.
const loadDeadline = 30 * time.Second

// loadWithDeadline runs Load in a goroutine and fails the test if it does not
// return in time.
func loadWithDeadline(t *testing.T, paths ...string) (*Module, hcl.Diagnostics) {
	t.Helper()
	type result struct {
		m     *Module
		diags hcl.Diagnostics
	}
	done := make(chan result, 1)
	go func() {
		m, diags := Load(paths...)
		done <- result{m, diags}
	}()
	select {
	case r := <-done:
		return r.m, r.diags
	case <-time.After(loadDeadline):
		t.Fatalf("Load(%v) did not return within %s: it is blocked on a file", paths, loadDeadline)
		return nil, nil
	}
}

func writeFile(t *testing.T, name, src string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Skipf("symbolic links unavailable: %v", err)
	}
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Skipf("named pipes unavailable: %v", err)
	}
}

const secretLine = `bot_token = "xoxb-outside-SECRET-4711"`

// TestLoadRefusesHostileFiles: the loader reads regular files inside the
// directory it loads, and nothing else, without ever blocking.
func TestLoadRefusesHostileFiles(t *testing.T) {
	const person = `person "alice" { slack = "U01ALICE" }` + "\n"
	cases := []struct {
		name string
		// setup builds the files below dir (and anything outside it in
		// elsewhere) and returns the paths to load.
		setup   func(t *testing.T, dir, elsewhere string) []string
		summary string   // a refusal expected, "" for none
		names   []string // strings the refusal must name
		loaded  []string // base names of the files that must load
	}{
		{
			name: "named pipe in the directory",
			setup: func(t *testing.T, dir, _ string) []string {
				mkfifo(t, filepath.Join(dir, "pipe.hcl"))
				return []string{dir}
			},
			summary: "Not a regular file", names: []string{"pipe.hcl", "named pipe"}, loaded: []string{"people.hcl"},
		},
		{
			name: "named pipe given directly",
			setup: func(t *testing.T, dir, _ string) []string {
				p := filepath.Join(dir, "sub", "pipe.hcl")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				mkfifo(t, p)
				return []string{filepath.Join(dir, "people.hcl"), p}
			},
			summary: "Not a regular file", names: []string{"pipe.hcl"}, loaded: []string{"people.hcl"},
		},
		{
			name: "named pipe not named like a playbook is ignored",
			setup: func(t *testing.T, dir, _ string) []string {
				mkfifo(t, filepath.Join(dir, "pipe"))
				return []string{dir}
			},
			loaded: []string{"people.hcl"},
		},
		{
			name: "link to /dev/zero in the directory",
			setup: func(t *testing.T, dir, _ string) []string {
				symlink(t, "/dev/zero", filepath.Join(dir, "zero.hcl"))
				return []string{dir}
			},
			summary: "Link out of the playbook directory", names: []string{"zero.hcl", "/dev/zero"}, loaded: []string{"people.hcl"},
		},
		{
			name: "link to /dev/zero given directly",
			setup: func(t *testing.T, dir, _ string) []string {
				p := filepath.Join(dir, "sub", "zero.hcl")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				symlink(t, "/dev/zero", p)
				return []string{dir, p}
			},
			summary: "Not a regular file", names: []string{"zero.hcl", "device"}, loaded: []string{"people.hcl"},
		},
		{
			name: "link outside walked and named directly",
			setup: func(t *testing.T, dir, elsewhere string) []string {
				out := filepath.Join(elsewhere, "rosters.hcl")
				writeFile(t, out, `roster "ops" { members = [person.alice] }`+"\n")
				symlink(t, out, filepath.Join(dir, "rosters.hcl"))
				return []string{dir, filepath.Join(dir, "rosters.hcl")}
			},
			loaded: []string{"people.hcl", "rosters.hcl"},
		},
		{
			name: "/dev/null given directly",
			setup: func(t *testing.T, dir, _ string) []string {
				return []string{dir, "/dev/null"}
			},
			summary: "Not a regular file", names: []string{"/dev/null", "device"}, loaded: []string{"people.hcl"},
		},
		{
			name: "unix socket in the directory",
			setup: func(t *testing.T, dir, _ string) []string {
				l, err := net.Listen("unix", filepath.Join(dir, "s.hcl"))
				if err != nil {
					t.Skipf("unix sockets unavailable: %v", err)
				}
				t.Cleanup(func() { l.Close() })
				return []string{dir}
			},
			summary: "Not a regular file", names: []string{"s.hcl", "socket"}, loaded: []string{"people.hcl"},
		},
		{
			name: "link to a file outside holding a secret",
			setup: func(t *testing.T, dir, elsewhere string) []string {
				out := filepath.Join(elsewhere, "secrets.hcl")
				writeFile(t, out, secretLine+"\n")
				symlink(t, out, filepath.Join(dir, "creds.hcl"))
				return []string{dir}
			},
			summary: "Link out of the playbook directory", names: []string{"creds.hcl"}, loaded: []string{"people.hcl"},
		},
		{
			name: "relative link climbing out",
			setup: func(t *testing.T, dir, elsewhere string) []string {
				out := filepath.Join(elsewhere, "secrets.hcl")
				writeFile(t, out, secretLine+"\n")
				rel, err := filepath.Rel(filepath.Join(dir, "sub"), out)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
					t.Fatal(err)
				}
				symlink(t, rel, filepath.Join(dir, "sub", "creds.hcl"))
				return []string{dir}
			},
			summary: "Link out of the playbook directory", names: []string{"creds.hcl"}, loaded: []string{"people.hcl"},
		},
		{
			name: "link outside named directly is its own root",
			setup: func(t *testing.T, dir, elsewhere string) []string {
				out := filepath.Join(elsewhere, "rosters.hcl")
				writeFile(t, out, `roster "ops" { members = [person.alice] }`+"\n")
				link := filepath.Join(t.TempDir(), "rosters.hcl")
				symlink(t, out, link)
				return []string{dir, link}
			},
			loaded: []string{"people.hcl", "rosters.hcl"},
		},
		{
			name: "link inside the directory",
			setup: func(t *testing.T, dir, _ string) []string {
				writeFile(t, filepath.Join(dir, "shared", "rosters.txt"), `roster "ops" { members = [person.alice] }`+"\n")
				symlink(t, filepath.Join("shared", "rosters.txt"), filepath.Join(dir, "rosters.hcl"))
				return []string{dir}
			},
			loaded: []string{"people.hcl", "rosters.hcl"},
		},
		{
			name: "link to a directory inside is not followed",
			setup: func(t *testing.T, dir, _ string) []string {
				writeFile(t, filepath.Join(dir, "sub", "rosters.hcl"), `roster "ops" { members = [person.alice] }`+"\n")
				symlink(t, "sub", filepath.Join(dir, "alias"))
				return []string{dir}
			},
			loaded: []string{"people.hcl", "rosters.hcl"},
		},
		{
			name: "link to a directory outside",
			setup: func(t *testing.T, dir, elsewhere string) []string {
				writeFile(t, filepath.Join(elsewhere, "lib", "secrets.hcl"), secretLine+"\n")
				symlink(t, filepath.Join(elsewhere, "lib"), filepath.Join(dir, "vendor"))
				return []string{dir}
			},
			summary: "Link out of the playbook directory", names: []string{"vendor", "directory"}, loaded: []string{"people.hcl"},
		},
		{
			name: "root that is a link to a directory",
			setup: func(t *testing.T, dir, _ string) []string {
				writeFile(t, filepath.Join(dir, "shared", "rosters.txt"), `roster "ops" { members = [person.alice] }`+"\n")
				symlink(t, filepath.Join("shared", "rosters.txt"), filepath.Join(dir, "rosters.hcl"))
				root := filepath.Join(t.TempDir(), "lib")
				symlink(t, dir, root)
				return []string{root}
			},
			loaded: []string{"people.hcl", "rosters.hcl"},
		},
		{
			name: "broken link",
			setup: func(t *testing.T, dir, _ string) []string {
				symlink(t, filepath.Join(dir, "gone.hcl"), filepath.Join(dir, "dangling.hcl"))
				return []string{dir}
			},
			summary: "Broken link", names: []string{"dangling.hcl"}, loaded: []string{"people.hcl"},
		},
		{
			name: "file larger than the limit",
			setup: func(t *testing.T, dir, _ string) []string {
				writeFile(t, filepath.Join(dir, "big.hcl"), strings.Repeat("#", MaxFileSize+1))
				return []string{dir}
			},
			summary: "File too large", names: []string{"big.hcl", "4 MiB"}, loaded: []string{"people.hcl"},
		},
		{
			name: "file exactly at the limit",
			setup: func(t *testing.T, dir, _ string) []string {
				line := strings.Repeat("#", 1023) + "\n"
				writeFile(t, filepath.Join(dir, "padded.hcl"), strings.Repeat(line, MaxFileSize/len(line)))
				return []string{dir}
			},
			loaded: []string{"padded.hcl", "people.hcl"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, elsewhere := t.TempDir(), t.TempDir()
			writeFile(t, filepath.Join(dir, "people.hcl"), person)
			paths := tc.setup(t, dir, elsewhere)
			m, diags := loadWithDeadline(t, paths...)
			var refusals hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					refusals = append(refusals, d)
				}
			}
			switch {
			case tc.summary == "" && len(refusals) > 0:
				t.Fatalf("unexpected errors: %s", refusals.Error())
			case tc.summary != "" && (len(refusals) != 1 || refusals[0].Summary != tc.summary):
				t.Fatalf("want one %q error, got %s", tc.summary, refusals.Error())
			}
			for _, n := range tc.names {
				if !strings.Contains(refusals[0].Detail, n) {
					t.Errorf("detail %q does not name %q", refusals[0].Detail, n)
				}
			}
			for _, d := range diags {
				if strings.Contains(d.Summary+d.Detail, "xoxb") || strings.Contains(d.Summary+d.Detail, "SECRET") {
					t.Errorf("a diagnostic shows the content of a refused file: %s: %s", d.Summary, d.Detail)
				}
			}
			var got []string
			for name, src := range m.Files {
				got = append(got, filepath.Base(name))
				if bytes.Contains(src, []byte("xoxb")) {
					t.Errorf("%s: content of a file outside was read", name)
				}
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(tc.loaded, " ") {
				t.Errorf("loaded %v, want %v", got, tc.loaded)
			}
			// Files refuses the same files, but does not read any: size is
			// for the read to find out.
			_, err := Files(paths...)
			if want := tc.summary != "" && tc.summary != "File too large"; (err != nil) != want {
				t.Errorf("Files: err = %v, want an error: %v", err, want)
			}
		})
	}
}

// TestReadSwappedForPipe: a file that turned into a named pipe between the
// walk and the read is refused, not waited on.
func TestReadSwappedForPipe(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.hcl")
	writeFile(t, name, `person "a" {}`)
	found, refused, err := walk([]string{dir})
	if err != nil || len(refused) > 0 || len(found) != 1 {
		t.Fatalf("walk: %v %v %v", found, refused, err)
	}
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, name)
	done := make(chan error, 1)
	go func() {
		_, err := readPlaybook(found[0].name, found[0].root)
		done <- err
	}()
	select {
	case err := <-done:
		var r *refusal
		if !errors.As(err, &r) || r.summary != "Not a regular file" {
			t.Fatalf("got %v, want a refusal", err)
		}
	case <-time.After(loadDeadline):
		t.Fatal("readPlaybook blocked on a named pipe")
	}
}

// endless is an infinite reader that counts what it hands out.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	e.n += int64(len(p))
	return len(p), nil
}

// TestReadAtMost: the size limit holds while reading, so an endless file (a
// link to /dev/zero, a file still growing) costs at most the limit.
func TestReadAtMost(t *testing.T) {
	r := &endless{}
	_, err := readAtMost(r, "zero.hcl")
	var ref *refusal
	if !errors.As(err, &ref) || ref.summary != "File too large" {
		t.Fatalf("got %v, want File too large", err)
	}
	if r.n > MaxFileSize+1 {
		t.Fatalf("read %d bytes, more than the limit plus one (%d)", r.n, MaxFileSize+1)
	}
	src, err := readAtMost(io.LimitReader(&endless{}, MaxFileSize), "full.hcl")
	if err != nil || len(src) != MaxFileSize {
		t.Fatalf("a file of exactly the limit: %d bytes, %v", len(src), err)
	}
}

// TestReadFile: the exported reader resolves the root it is given, reads a
// file inside it, and refuses a link that leads out of it.
func TestReadFile(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "lib")
	inside := filepath.Join(dir, "a.hcl")
	writeFile(t, inside, `person "a" {}`)
	outsideFile := filepath.Join(base, "secret.hcl")
	writeFile(t, outsideFile, `person "s" {}`)
	link := filepath.Join(base, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.hcl")
	if err := os.Symlink(outsideFile, out); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{dir, link, ""} {
		name := filepath.Join(dir, "a.hcl")
		if root == link {
			name = filepath.Join(link, "a.hcl")
		}
		if src, err := ReadFile(root, name); err != nil || string(src) != `person "a" {}` {
			t.Errorf("ReadFile(%q, %q) = %q, %v", root, name, src, err)
		}
	}
	if src, err := ReadFile(dir, out); err == nil || !strings.Contains(err.Error(), "outside "+dir) || len(src) > 0 {
		t.Errorf("link out of the root: %q, %v", src, err)
	}
	if src, err := ReadFile("", out); err != nil || string(src) != `person "s" {}` {
		t.Errorf("link named directly: %q, %v", src, err)
	}
	if _, err := ReadFile(filepath.Join(base, "missing"), inside); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
}
