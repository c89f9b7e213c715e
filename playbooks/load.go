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
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
// contributes every *.hcl and *.hcl.json file below it. The returned module is
// usable for showing diagnostics even when they contain errors.
func Load(paths ...string) (*Module, hcl.Diagnostics) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	files, err := Files(paths...)
	if err != nil {
		return &Module{Files: map[string][]byte{}, Config: newConfig()}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No such file or directory",
			Detail:   err.Error() + ". Give a playbook file or a directory of them.",
		}}
	}
	if len(files) == 0 {
		return &Module{Files: map[string][]byte{}, Config: newConfig()}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No playbook files",
			Detail:   fmt.Sprintf("No *.hcl or *.hcl.json files were found in %s. Point the command at a directory of playbooks, e.g. playbooks/library.", strings.Join(paths, ", ")),
		}}
	}
	sources := map[string][]byte{}
	var diags hcl.Diagnostics
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read file",
				Detail:   fmt.Sprintf("%s: %v", f, unwrapPathError(err)),
			})
			continue
		}
		sources[f] = src
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
	MarkSecretLines(diags, m.Files)
	return m, diags
}

// Files expands paths into the playbook files they name: a file stands for
// itself, a directory for every *.hcl and *.hcl.json file below it, skipping
// hidden directories such as .git. Paths are cleaned; the result is sorted
// and has no duplicates. A path that cannot be read is an error.
func Files(paths ...string) ([]string, error) {
	set := map[string]bool{}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", root, unwrapPathError(err))
		}
		if !info.IsDir() {
			set[filepath.Clean(root)] = true
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if isPlaybookFile(d.Name()) {
				set[filepath.Clean(path)] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %v", root, unwrapPathError(err))
		}
	}
	return sortedKeys(set), nil
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
