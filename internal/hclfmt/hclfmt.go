// Package hclfmt formats playbook files in the canonical HCL style, like
// `terraform fmt`. Only native syntax (*.hcl) is formatted; JSON syntax
// (*.hcl.json) is left alone. A file with syntax errors is never rewritten.
package hclfmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in canonical HCL style. It first parses src as native
// HCL syntax; if that reports errors, the errors are returned and the result
// is nil, so a broken file is never reformatted. filename is only used in
// diagnostics.
func Format(src []byte, filename string) (out []byte, diags hcl.Diagnostics) {
	defer func() {
		if r := recover(); r != nil {
			out = nil
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Formatter failed",
				Detail:   fmt.Sprintf("The formatter could not process %s: %v. The file was left unchanged.", filename, r),
			})
		}
	}()
	if d := playbooks.Screen(filename, src); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	_, diags = playbooks.ParseFile(src, filename)
	if diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), diags
}

// Files expands paths into the list of files to format: the playbook files
// playbooks.Files finds, less JSON ones (only native syntax is formatted). A
// path that does not exist, or a JSON file named explicitly, is an error.
func Files(paths []string) ([]string, error) {
	for _, p := range paths {
		if info, err := os.Stat(p); err == nil && !info.IsDir() && strings.HasSuffix(strings.ToLower(p), ".json") {
			return nil, fmt.Errorf("%s: JSON files are not formatted; only native syntax (*.hcl) is", p)
		}
	}
	all, err := playbooks.Files(paths...)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".json") {
			out = append(out, f)
		}
	}
	return out, nil
}

// Run formats the files named by paths (expanded with Files). In write mode
// it rewrites every file whose formatting changes, atomically and keeping its
// permissions, and prints its name to w. In check mode it changes nothing and
// prints the name of every file that would change, followed by a short diff
// when the diff is small. Files with syntax errors are left alone and their
// diagnostics returned, with sources holding the contents (as read) of
// every file a diagnostic is about, for showing them without reading the
// file again. changed lists the files that changed (or would change). err
// reports a bad path or a file that could not be read or written; the other
// files are still processed.
func Run(paths []string, check bool, w io.Writer) (changed []string, diags hcl.Diagnostics, sources map[string][]byte, err error) {
	if w == nil {
		w = io.Discard
	}
	files, err := Files(paths)
	if err != nil {
		return nil, nil, nil, err
	}
	sources = map[string][]byte{}
	var errs []error
	for _, name := range files {
		fchanged, fdiags, src, ferr := formatFile(name, rootOf(name, paths), check, w)
		if len(fdiags) > 0 {
			sources[name] = src
		}
		diags = append(diags, fdiags...)
		if ferr != nil {
			errs = append(errs, ferr)
		}
		if fchanged {
			changed = append(changed, name)
		}
	}
	return changed, diags, sources, errors.Join(errs...)
}

// formatFile formats one file that Files found under root (see rootOf), as
// Run describes. It reads the file with playbooks.ReadFile, as the loader
// does: a file swapped since Files looked at it for a named pipe, a device or
// a link out of root is refused, never waited on or read without end.
func formatFile(name, root string, check bool, w io.Writer) (changed bool, diags hcl.Diagnostics, src []byte, err error) {
	src, err = playbooks.ReadFile(root, name)
	if err != nil {
		return false, nil, nil, err
	}
	out, diags := Format(src, name)
	if diags.HasErrors() || bytes.Equal(src, out) {
		return false, diags, src, nil
	}
	if check {
		fmt.Fprintln(w, name)
		if d := diff(name, src, out); d != "" {
			io.WriteString(w, d)
		}
		return true, diags, src, nil
	}
	if err := writeAtomic(name, out); err != nil {
		return false, diags, src, err
	}
	fmt.Fprintln(w, name)
	return true, diags, src, nil
}

// rootOf is the directory among paths that Files found name in, for
// playbooks.ReadFile: "" for a file named in paths itself (it is its own
// root), else the first directory in paths that holds it, which is the one
// the loader would read it from. Should none hold it, its own directory is
// used, so that a link there is never followed out.
func rootOf(name string, paths []string) string {
	for _, p := range paths {
		if filepath.Clean(p) == name {
			return ""
		}
	}
	for _, p := range paths {
		rel, err := filepath.Rel(filepath.Clean(p), name)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			return p
		}
	}
	return filepath.Dir(name)
}

// writeAtomic replaces the file at name with data by writing a temporary file
// in the same directory and renaming it over the original, keeping the
// original's permission bits. A symlink is followed and its target replaced.
func writeAtomic(name string, data []byte) (err error) {
	target, err := filepath.EvalSymlinks(name)
	if err != nil {
		return err
	}
	info, err := os.Stat(target)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".fmt-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("writing %s: %w", name, err)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}

// Diff limits: beyond these the diff is skipped.
const (
	maxDiffCells = 1 << 20 // lines(old) * lines(new) for the LCS table
	maxDiffLines = 60      // printed diff lines
	diffContext  = 1       // unchanged lines around each change
)

// diff returns a small unified-style diff between a and b, or "" when it
// would be too long to be useful.
func diff(name string, a, b []byte) string {
	al, bl := splitLines(a), splitLines(b)
	n, m := len(al), len(bl)
	if n*m > maxDiffCells {
		return ""
	}
	// lcs[i][j] is the length of the longest common subsequence of al[i:], bl[j:].
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if al[i] == bl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte // ' ', '-', '+'
		text string
		ai   int // 1-based line in a (for ' ' and '-')
		bj   int // 1-based line in b (for ' ' and '+')
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && al[i] == bl[j]:
			ops = append(ops, op{' ', al[i], i + 1, j + 1})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', al[i], i + 1, j + 1})
			i++
		default:
			ops = append(ops, op{'+', bl[j], i + 1, j + 1})
			j++
		}
	}

	// Group changes into hunks with context.
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s (formatted)\n", name, name)
	lines, hunks := 0, 0
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(0, k-diffContext)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			// Look ahead: does another change follow within 2*context lines?
			next := end
			for next < len(ops) && ops[next].kind == ' ' && next-end < 2*diffContext+1 {
				next++
			}
			if next < len(ops) && ops[next].kind != ' ' {
				end = next
				continue
			}
			end = min(len(ops), end+diffContext)
			break
		}
		hunk := ops[start:end]
		var aStart, bStart, aLen, bLen int
		aStart, bStart = hunk[0].ai, hunk[0].bj
		for _, o := range hunk {
			if o.kind != '+' {
				aLen++
			}
			if o.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", aStart, aLen, bStart, bLen)
		for _, o := range hunk {
			sb.WriteByte(o.kind)
			if playbooks.LineHoldsSecret(o.text) {
				sb.WriteString("(line not shown: it holds a secret)")
			} else {
				sb.WriteString(o.text)
			}
			sb.WriteByte('\n')
		}
		hunks++
		lines += len(hunk) + 1
		if lines > maxDiffLines {
			return ""
		}
		k = end
	}
	if hunks == 0 {
		return ""
	}
	return sb.String()
}

// splitLines splits text into lines without their line endings.
func splitLines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
