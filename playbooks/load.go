// Package playbooks loads firebreak playbook files (HCL, or HCL's JSON
// syntax), checks them and compiles a playbook into a plan.Plan.
//
// Loading happens in two phases, as in Terraform and Packer: decoding (syntax,
// block and attribute names, literal values) and checking (references, the
// dependency graph, argument types, the safety interlock). Every problem is an
// hcl.Diagnostic with a source range.
package playbooks

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
)

// Limits on what a single file may be. They keep a stray or hostile file from
// exhausting memory or the stack; real playbooks are far below them.
const (
	// MaxFileSize is the largest playbook file accepted, in bytes.
	MaxFileSize = 4 << 20
	// MaxNesting is the deepest bracket nesting accepted in a file.
	MaxNesting = 64
)

// Module is a loaded set of playbook files: the sources, for showing
// diagnostics, and the decoded configuration.
type Module struct {
	// Files maps each file name (as shown in diagnostics) to its contents.
	Files map[string][]byte
	// Config is what the files declare. It is never nil after Load, even when
	// loading produced errors; parts that failed to decode are missing.
	Config *Config

	bodies        []*parsedFile
	configChecked bool
	configDiags   hcl.Diagnostics
	entityVals    map[string]cty.Value
}

type parsedFile struct {
	name string
	body hcl.Body
}

// isPlaybookFile reports whether a file name is one Load reads from a
// directory: *.hcl or *.hcl.json.
func isPlaybookFile(name string) bool {
	return strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, ".hcl.json")
}

// Load reads the given files and directories as one unit. A directory
// contributes every *.hcl and *.hcl.json file below it. Only regular files are
// read, at most MaxFileSize bytes of each; a named pipe, device or socket, or
// a symbolic link that leads out of the directory being loaded, is reported
// and never read. The returned module is usable for showing diagnostics even
// when they contain errors.
func Load(paths ...string) (*Module, hcl.Diagnostics) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	found, refused, err := walk(paths)
	if err != nil {
		return &Module{Files: map[string][]byte{}, Config: newConfig()}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No such file or directory",
			Detail:   err.Error() + ". Give a playbook file or a directory of them.",
		}}
	}
	var diags hcl.Diagnostics
	for _, r := range refused {
		diags = append(diags, refusedDiag(r))
	}
	if len(found) == 0 && len(refused) == 0 {
		return &Module{Files: map[string][]byte{}, Config: newConfig()}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No playbook files",
			Detail:   fmt.Sprintf("No *.hcl or *.hcl.json files were found in %s. Point the command at a directory of playbooks, or leave the path out for the built-in library (firebreak init DIR writes it out).", strings.Join(paths, ", ")),
		}}
	}
	sources := map[string][]byte{}
	for _, f := range found {
		src, err := readPlaybook(f.name, f.root)
		if err != nil {
			diags = append(diags, refusedDiag(err))
			continue
		}
		sources[f.name] = src
	}
	m, d := LoadSource(sources)
	return m, append(diags, d...)
}

// LoadSource loads in-memory files, keyed by file name, as one unit. It is
// what Load does after reading the disk; tests and editors use it directly.
func LoadSource(files map[string][]byte) (*Module, hcl.Diagnostics) {
	m := &Module{Files: map[string][]byte{}, Config: newConfig()}
	var diags hcl.Diagnostics
	for _, n := range sortedKeys(files) {
		diags = append(diags, m.addFile(n, files[n])...)
	}
	diags = append(diags, m.decode()...)
	sortDiagnostics(diags)
	m.Config.explainWrongKinds(diags)
	MarkSecretLines(diags, m.Files)
	return m, diags
}

// Files expands paths into the playbook files they name: a file stands for
// itself, a directory for every *.hcl and *.hcl.json file below it, skipping
// hidden directories such as .git. Paths are cleaned; the result is sorted
// and has no duplicates. A path that cannot be read is an error, and so is
// every playbook file Load would refuse to read: one that is not a regular
// file, or a symbolic link (to a file or a directory) leading out of the
// directory named. Symbolic links to directories are not followed.
func Files(paths ...string) ([]string, error) {
	found, refused, err := walk(paths)
	if err != nil {
		return nil, err
	}
	if len(refused) > 0 {
		return nil, errors.Join(refused...)
	}
	out := make([]string, len(found))
	for i, f := range found {
		out[i] = f.name
	}
	return out, nil
}

// A refusal is a playbook file the loader will not read. Its message names
// the file and says what to do; it never holds any of the file's content.
type refusal struct {
	summary string
	msg     string
}

func (r *refusal) Error() string { return r.msg }

func refusedDiag(err error) *hcl.Diagnostic {
	summary := "Cannot read file"
	var r *refusal
	if errors.As(err, &r) {
		summary = r.summary
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: err.Error()}
}

// foundFile is a playbook file to read and the directory it must stay in:
// the loaded directory with its symbolic links resolved, or "" for a file
// named directly, which is its own root.
type foundFile struct {
	name, root string
}

// walk expands paths as Files describes. found is sorted by name; refused
// lists the playbook files that will not be read, each with the reason; err
// is a path that does not exist or cannot be walked.
func walk(paths []string) (found []foundFile, refused []error, err error) {
	roots := map[string]string{}
	// A file named directly is read whatever a walk said about it (it may be
	// a link out of a directory walked too), and refused only for itself.
	explicit := map[string]bool{}
	refusals := map[string]error{}
	refuse := func(name string, r error) {
		if !explicit[name] {
			refusals[name] = r
		}
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", root, unwrapPathError(err))
		}
		if !info.IsDir() {
			name := filepath.Clean(root)
			explicit[name] = true
			if !info.Mode().IsRegular() {
				refusals[name] = notRegular(name, info.Mode())
				delete(roots, name)
				continue
			}
			delete(refusals, name)
			roots[name] = "" // named directly: its own root, wherever it is
			continue
		}
		real, err := realPath(root)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", root, unwrapPathError(err))
		}
		// A trailing separator makes the walk enter a root that is itself a
		// symbolic link to a directory; names below it keep the root as given.
		start := root
		if !strings.HasSuffix(start, string(filepath.Separator)) {
			start += string(filepath.Separator)
		}
		err = filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path == start {
				return nil
			}
			if d.IsDir() {
				if strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			name := filepath.Clean(path)
			if d.Type()&fs.ModeSymlink != 0 {
				if r := checkLink(name, d.Name(), real); r != nil {
					refuse(name, r)
				} else if isPlaybookFile(d.Name()) && isFile(name) {
					if _, ok := roots[name]; !ok {
						roots[name] = real
					}
				}
				return nil
			}
			if !isPlaybookFile(d.Name()) {
				return nil
			}
			if !d.Type().IsRegular() {
				refuse(name, notRegular(name, d.Type()))
				return nil
			}
			if _, ok := roots[name]; !ok {
				roots[name] = real
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", root, unwrapPathError(err))
		}
	}
	for _, n := range sortedKeys(roots) {
		found = append(found, foundFile{name: n, root: roots[n]})
	}
	for _, n := range sortedKeys(refusals) {
		refused = append(refused, refusals[n])
	}
	return found, refused, nil
}

// checkLink decides about a symbolic link met in a directory walk: nil if it
// may be read (a playbook file inside root) or ignored (not a playbook file,
// or a directory inside root: links to directories are not followed), else
// the refusal. Nothing is opened.
func checkLink(name, base, root string) error {
	info, err := os.Stat(name)
	if err != nil {
		if !isPlaybookFile(base) {
			return nil
		}
		return &refusal{"Broken link", fmt.Sprintf("%s is a symbolic link that leads nowhere (%v). Fix the link or remove it.", name, unwrapPathError(err))}
	}
	if !info.IsDir() && !isPlaybookFile(base) {
		return nil
	}
	if info.IsDir() && strings.HasPrefix(base, ".") {
		return nil
	}
	real, err := realPath(name)
	if err != nil {
		return &refusal{"Broken link", fmt.Sprintf("%s is a symbolic link that cannot be followed (%v). Fix the link or remove it.", name, unwrapPathError(err))}
	}
	if !within(root, real) {
		return outside(name, real, root, info.IsDir())
	}
	if !info.IsDir() && !info.Mode().IsRegular() {
		return notRegular(name, info.Mode())
	}
	return nil
}

func isFile(name string) bool {
	info, err := os.Stat(name)
	return err == nil && !info.IsDir()
}

// ReadFile reads one playbook file the way Load does, for tools that read the
// files Files returns (such as the formatter). Only a regular file is read,
// and at most MaxFileSize bytes of it. It is opened without waiting, so a
// named pipe put in its place since Files looked is refused rather than
// waited on, and checked again once open.
//
// root is the directory, as given to Files, that name was found in; the file
// must lead to a place inside it (symbolic links in root itself are resolved
// first), so a link swapped in that leads elsewhere, such as to /dev/zero, is
// refused. With root "", name is a file named directly and is read wherever
// it leads. An error names the file and says what to do; it never holds any
// of the file's content.
func ReadFile(root, name string) ([]byte, error) {
	if root != "" {
		real, err := realPath(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w. Give a directory that exists", root, unwrapPathError(err))
		}
		root = real
	}
	return readPlaybook(name, root)
}

// readPlaybook reads one playbook file, at most MaxFileSize bytes of it. The
// file must be a regular file and, unless root is "", resolve to a place
// inside root. It checks again after opening, so that a file swapped for a
// named pipe or a link out of the directory after the walk is refused too,
// never blocked on or read.
func readPlaybook(name, root string) ([]byte, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, unwrapPathError(err))
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(name, info.Mode())
	}
	if root != "" {
		if real, err := realPath(name); err != nil {
			return nil, fmt.Errorf("%s: %v", name, unwrapPathError(err))
		} else if !within(root, real) {
			return nil, outside(name, real, root, false)
		}
	}
	// O_NONBLOCK: opening a named pipe put there since the check above must
	// not wait for a writer. It changes nothing for a regular file.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, unwrapPathError(err))
	}
	defer f.Close()
	opened, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, unwrapPathError(err))
	}
	if !opened.Mode().IsRegular() {
		return nil, notRegular(name, opened.Mode())
	}
	if root != "" {
		// The file opened must be the one the name leads to now, inside root.
		real, err := realPath(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, unwrapPathError(err))
		}
		now, err := os.Stat(real)
		if err != nil || !within(root, real) || !os.SameFile(opened, now) {
			return nil, &refusal{"File changed while loading", fmt.Sprintf("%s changed while it was being loaded (it now leads elsewhere). Load again once nothing is changing the playbook directory.", name)}
		}
	}
	return readAtMost(f, name)
}

// readAtMost reads r to the end, but never more than MaxFileSize+1 bytes of
// it: a file that is, or grows, larger than the limit is refused without
// being held in memory.
func readAtMost(r io.Reader, name string) ([]byte, error) {
	src, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, unwrapPathError(err))
	}
	if len(src) > MaxFileSize {
		return nil, tooLarge(name)
	}
	return src, nil
}

// realPath is name, absolute, with every symbolic link resolved.
func realPath(name string) (string, error) {
	real, err := filepath.EvalSymlinks(name)
	if err != nil {
		return "", err
	}
	return filepath.Abs(real)
}

// within reports whether path, absolute and resolved, is root or below it.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

func outside(name, real, root string, dir bool) error {
	what := "file"
	if dir {
		what = "directory"
	}
	return &refusal{"Link out of the playbook directory", fmt.Sprintf(
		"%s is a symbolic link to the %s %s, outside %s; only files inside the loaded directory are read, and its content was not. Copy the %s into the directory, or name it on the command line as well.",
		name, what, real, root, what)}
}

func notRegular(name string, mode fs.FileMode) error {
	kind := "not a regular file"
	switch {
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	case mode.IsDir():
		kind = "a directory"
	}
	return &refusal{"Not a regular file", fmt.Sprintf("%s is %s, not a regular file; playbooks are read from regular files only, and it was not opened. Remove it from the playbook directory.", name, kind)}
}

func tooLarge(name string) error {
	return &refusal{"File too large", fmt.Sprintf("%s is larger than %d MiB, the most a playbook file may be. Split it into several files in the same directory: they load as one unit.", name, MaxFileSize>>20)}
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// addFile parses one file into the module; decode follows once every file
// is in.
func (m *Module) addFile(name string, src []byte) hcl.Diagnostics {
	m.Files[name] = src
	var tokens hclsyntax.Tokens
	if d := screen(name, src, &tokens); d != nil {
		return hcl.Diagnostics{d}
	}
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(name, ".json") {
		f, diags = json.Parse(src, name)
	} else {
		f, diags = parseNativeTokens(src, name, tokens)
	}
	if f != nil && f.Body != nil && !diags.HasErrors() {
		m.bodies = append(m.bodies, &parsedFile{name: name, body: f.Body})
	}
	return diags
}

// ParseFile parses one playbook file, in JSON syntax when its name ends in
// .json and in native syntax otherwise (with the language's single-line
// blocks of several arguments). It does not screen the input; AddFile does.
func ParseFile(src []byte, name string) (*hcl.File, hcl.Diagnostics) {
	if strings.HasSuffix(name, ".json") {
		return json.Parse(src, name)
	}
	tokens, _ := hclsyntax.LexConfig(src, name, hcl.InitialPos)
	return parseNativeTokens(src, name, tokens)
}

// Screen rejects input the parser should never see: too large, binary,
// invalid UTF-8, empty, or nested deeper than anyone writes by hand. It
// returns nil for a file that may be parsed. Anything that parses a playbook
// file calls it first: the HCL parser recurses once per nesting level.
func Screen(name string, src []byte) *hcl.Diagnostic {
	return screen(name, src, nil)
}

// screen is Screen that also hands back, through lexed, the native-syntax
// tokens it read, so the parser's helpers need not lex the file again.
func screen(name string, src []byte, lexed *hclsyntax.Tokens) *hcl.Diagnostic {
	start := hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos}
	if len(src) > MaxFileSize {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "File too large",
			Detail: fmt.Sprintf("%s is %.1f MiB; playbook files may be at most %d MiB. Split it into several files in the same directory: they load as one unit.",
				name, float64(len(src))/(1<<20), MaxFileSize>>20),
			Subject: &start,
		}
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		r := rangeAtOffset(name, src, i)
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Not a text file",
			Detail:   fmt.Sprintf("%s contains a NUL byte; it looks binary, not like a playbook. Remove it from the playbook directory.", name),
			Subject:  &r,
		}
	}
	if !utf8.Valid(src) {
		i := firstInvalidUTF8(src)
		r := rangeAtOffset(name, src, i)
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid UTF-8",
			Detail:   fmt.Sprintf("%s is not valid UTF-8 (byte 0x%02x at offset %d). Save the file as UTF-8.", name, src[i], i),
			Subject:  &r,
		}
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty file",
			Detail:   fmt.Sprintf("%s has no content. Add blocks to it or delete it.", name),
			Subject:  &start,
		}
	}
	if strings.HasSuffix(name, ".json") {
		if d := jsonDepth(name, src); d != nil {
			return d
		}
		return nil
	}
	depth := 0
	tokens, _ := hclsyntax.LexConfig(src, name, hcl.InitialPos)
	if lexed != nil {
		*lexed = tokens
	}
	for _, t := range tokens {
		// Strings count as a level too: templates nest inside them.
		switch {
		case opensGroup(t.Type), t.Type == hclsyntax.TokenOQuote, t.Type == hclsyntax.TokenOHeredoc:
			depth++
			if depth > MaxNesting {
				r := t.Range
				return tooDeep(name, &r)
			}
		case closesGroup(t.Type), t.Type == hclsyntax.TokenCQuote, t.Type == hclsyntax.TokenCHeredoc:
			depth--
		}
	}
	return nil
}

func jsonDepth(name string, src []byte) *hcl.Diagnostic {
	depth := 0
	inString, escaped := false, false
	for i, c := range src {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > MaxNesting {
				r := rangeAtOffset(name, src, i)
				return tooDeep(name, &r)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

func tooDeep(name string, r *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Nesting too deep",
		Detail:   fmt.Sprintf("%s nests brackets, braces or templates more than %d levels deep. Flatten the expression.", name, MaxNesting),
		Subject:  r,
	}
}

func firstInvalidUTF8(src []byte) int {
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// rangeAtOffset returns a one-byte range at a byte offset of src.
func rangeAtOffset(name string, src []byte, off int) hcl.Range {
	line, col := 1, 1
	for _, c := range src[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	p := hcl.Pos{Line: line, Column: col, Byte: off}
	e := p
	e.Column++
	e.Byte++
	return hcl.Range{Filename: name, Start: p, End: e}
}
