package hclfmt

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

const messy = `playbook "p" {
title="Containment"
  severity   =   "sev1"
  step "isolate" {
      action = "ot.isolate_zone"
    with = { zone = zone.plant3_control }
    needs=[approval.isolate_ok]
  }
}
`

const tidy = `playbook "p" {
  title    = "Containment"
  severity = "sev1"
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.plant3_control }
    needs  = [approval.isolate_ok]
  }
}
`

const broken = "playbook \"p\" {\n  title = \n"

func TestFormat(t *testing.T) {
	out, diags := Format([]byte(messy), "messy.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if string(out) != tidy {
		t.Errorf("got:\n%s\nwant:\n%s", out, tidy)
	}
	out, diags = Format([]byte(tidy), "tidy.hcl")
	if diags.HasErrors() || string(out) != tidy {
		t.Errorf("formatting is not idempotent: %v\n%s", diags, out)
	}
	out, diags = Format([]byte(broken), "broken.hcl")
	if !diags.HasErrors() || out != nil {
		t.Errorf("broken file: out=%q diags=%v", out, diags)
	}
	if diags[0].Subject == nil || diags[0].Subject.Filename != "broken.hcl" {
		t.Errorf("diagnostic lacks its file: %v", diags[0])
	}
	for _, src := range []string{"", "\xff\xfe", "a = \"${\"", "x {", "}}}}", "# only a comment"} {
		Format([]byte(src), "f.hcl") // must not panic
	}
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.hcl"), tidy, 0o644)
	write(t, filepath.Join(dir, "a.hcl"), tidy, 0o644)
	write(t, filepath.Join(dir, "sub", "c.hcl"), tidy, 0o644)
	write(t, filepath.Join(dir, "sub", "d.hcl.json"), "{}", 0o644)
	write(t, filepath.Join(dir, "notes.txt"), "x", 0o644)
	write(t, filepath.Join(dir, ".git", "e.hcl"), tidy, 0o644)

	got, err := Files([]string{dir, filepath.Join(dir, "a.hcl")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "a.hcl"),
		filepath.Join(dir, "b.hcl"),
		filepath.Join(dir, "sub", "c.hcl"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}

	_, err = Files([]string{dir, filepath.Join(dir, "missing.hcl")})
	if err == nil || !strings.Contains(err.Error(), "missing.hcl: no such file or directory") {
		t.Errorf("missing path: err = %v", err)
	}
	_, err = Files([]string{filepath.Join(dir, "sub", "d.hcl.json")})
	if err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Errorf("explicit JSON file: err = %v", err)
	}
}

func TestRunWrite(t *testing.T) {
	dir := t.TempDir()
	messyPath := filepath.Join(dir, "messy.hcl")
	tidyPath := filepath.Join(dir, "tidy.hcl")
	brokenPath := filepath.Join(dir, "lib", "broken.hcl")
	write(t, messyPath, messy, 0o640)
	write(t, tidyPath, tidy, 0o644)
	write(t, brokenPath, broken, 0o644)

	var out bytes.Buffer
	changed, diags, _, err := Run([]string{dir}, false, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(changed, []string{messyPath}) {
		t.Errorf("changed = %v", changed)
	}
	if out.String() != messyPath+"\n" {
		t.Errorf("output = %q", out.String())
	}
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Filename != brokenPath {
		t.Errorf("diags = %v", diags)
	}
	if b, _ := os.ReadFile(messyPath); string(b) != tidy {
		t.Errorf("messy.hcl not rewritten:\n%s", b)
	}
	if b, _ := os.ReadFile(brokenPath); string(b) != broken {
		t.Errorf("broken.hcl was touched:\n%s", b)
	}
	if fi, err := os.Stat(messyPath); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode not kept: %v %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !reflect.DeepEqual(names, []string{"lib", "messy.hcl", "tidy.hcl"}) {
		t.Errorf("directory holds %v (temp file left behind?)", names)
	}

	// A second run changes nothing.
	out.Reset()
	changed, _, _, err = Run([]string{messyPath, tidyPath}, false, &out)
	if err != nil || len(changed) != 0 || out.Len() != 0 {
		t.Errorf("second run: changed=%v out=%q err=%v", changed, out.String(), err)
	}

	if _, _, _, err := Run([]string{filepath.Join(dir, "nope")}, false, &out); err == nil {
		t.Error("missing path: want error")
	}
}

func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	messyPath := filepath.Join(dir, "messy.hcl")
	write(t, messyPath, messy, 0o644)
	write(t, filepath.Join(dir, "tidy.hcl"), tidy, 0o644)

	var out bytes.Buffer
	changed, diags, _, err := Run([]string{dir}, true, &out)
	if err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	if !reflect.DeepEqual(changed, []string{messyPath}) {
		t.Errorf("changed = %v", changed)
	}
	if b, _ := os.ReadFile(messyPath); string(b) != messy {
		t.Error("check mode rewrote the file")
	}
	got := out.String()
	if !strings.HasPrefix(got, messyPath+"\n--- "+messyPath+"\n+++ "+messyPath+" (formatted)\n@@ ") {
		t.Errorf("check output:\n%s", got)
	}
	for _, want := range []string{"\n-title=\"Containment\"\n", "\n+  title    = \"Containment\"\n", "\n   step \"isolate\" {\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("diff lacks %q:\n%s", want, got)
		}
	}
}

func TestDiff(t *testing.T) {
	a := []byte("a\nb\nc\nd\ne\nf\ng\nh\n")
	b := []byte("a\nB\nc\nd\ne\nf\nG\nh\n")
	want := "--- f\n+++ f (formatted)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -6,3 +6,3 @@\n f\n-g\n+G\n h\n"
	if got := diff("f", a, b); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := diff("f", a, a); got != "" {
		t.Errorf("no change: %q", got)
	}
	long := strings.Repeat("x\n", 200)
	if got := diff("f", []byte(long), []byte(strings.ReplaceAll(long, "x", "y"))); got != "" {
		t.Error("long diff not skipped")
	}
}

// readDeadline bounds a read that must return at once; a formatter that
// blocks on a named pipe, or reads /dev/zero without end, fails the test
// instead of hanging it.
const readDeadline = 10 * time.Second

// formatWithin runs formatFile in a goroutine and fails the test if it has
// not returned by readDeadline.
func formatWithin(t *testing.T, name, root string) (bool, error) {
	t.Helper()
	type result struct {
		changed bool
		err     error
	}
	done := make(chan result, 1)
	go func() {
		changed, _, _, err := formatFile(name, root, false, io.Discard)
		done <- result{changed, err}
	}()
	select {
	case r := <-done:
		return r.changed, r.err
	case <-time.After(readDeadline):
		t.Fatalf("formatting %s (root %q) did not return within %v: it blocked on, or kept reading, something that is not a regular file", name, root, readDeadline)
		return false, nil
	}
}

// swapped finds dir/a.hcl with Files, as Run does, then puts replace(name) in
// its place before the read.
func swapped(t *testing.T, replace func(name string) error) (dir, name string) {
	t.Helper()
	dir = t.TempDir()
	name = filepath.Join(dir, "a.hcl")
	write(t, name, messy, 0o644)
	files, err := Files([]string{dir})
	if err != nil || len(files) != 1 || files[0] != name {
		t.Fatalf("Files = %v, %v; want [%s]", files, err, name)
	}
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
	if err := replace(name); err != nil {
		t.Fatal(err)
	}
	return dir, name
}

// TestRunRefusesSwappedFile: a file replaced by a named pipe, or by a link to
// /dev/zero, after Files listed it is refused, never waited on or read.
func TestRunRefusesSwappedFile(t *testing.T) {
	mkfifo := func(name string) error { return syscall.Mkfifo(name, 0o644) }
	zero := func(name string) error { return os.Symlink("/dev/zero", name) }
	cases := []struct {
		name    string
		replace func(string) error
		inDir   string // refusal when read from the directory walked
		direct  string // refusal when the file was named directly
	}{
		{"named pipe", mkfifo, "is a named pipe (FIFO), not a regular file", "is a named pipe (FIFO), not a regular file"},
		{"link to /dev/zero", zero, "is a device, not a regular file", "is a device, not a regular file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, name := swapped(t, tc.replace)
			for _, c := range []struct{ root, want string }{{rootOf(name, []string{dir}), tc.inDir}, {"", tc.direct}} {
				changed, err := formatWithin(t, name, c.root)
				if changed || err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("root %q: changed=%v err=%v, want an error containing %q", c.root, changed, err, c.want)
				}
			}
		})
	}
}

// TestRunRefusesPipe: a named pipe called *.hcl in a directory to format is
// an error from Run, which returns at once.
func TestRunRefusesPipe(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.hcl"), messy, 0o644)
	pipe := filepath.Join(dir, "pipe.hcl")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, _, err := Run([]string{dir}, true, io.Discard)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), pipe+" is a named pipe (FIFO)") {
			t.Fatalf("Run: err = %v, want the named pipe refused", err)
		}
	case <-time.After(readDeadline):
		t.Fatal("Run blocked on a named pipe")
	}
}

func TestRootOf(t *testing.T) {
	cases := []struct {
		name  string
		paths []string
		want  string
	}{
		{"lib/a.hcl", []string{"lib"}, "lib"},
		{"lib/a.hcl", []string{"./lib/"}, "./lib/"},
		{"lib/a.hcl", []string{"lib/a.hcl", "lib"}, ""},
		{"lib/a.hcl", []string{"lib", "./lib/a.hcl"}, ""},
		{"lib/sub/a.hcl", []string{"other", "lib", "lib/sub"}, "lib"},
		{"a.hcl", []string{"."}, "."},
		{"lib/a.hcl", []string{"library"}, "lib"},
	}
	dir := t.TempDir()
	for _, d := range []string{"lib/sub", "other", "library"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for _, tc := range cases {
		if got := rootOf(tc.name, tc.paths); got != tc.want {
			t.Errorf("rootOf(%q, %q) = %q, want %q", tc.name, tc.paths, got, tc.want)
		}
	}
}
