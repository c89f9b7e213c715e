// Package render turns compiler output into text for people and tools:
// Terraform-style diagnostics (plain, coloured or JSON), plan graphs in
// Mermaid and Graphviz dot syntax, and the human summary printed by
// `firebreak plan`.
package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apparentlymart/go-textseg/v15/textseg"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"golang.org/x/text/width"
)

// TextOptions controls how Diagnostics prints.
type TextOptions struct {
	// Color adds ANSI escape sequences: a bold red (error) or yellow
	// (warning) summary, and the marked source range underlined instead of
	// marked with carets.
	Color bool
	// TabWidth is the tab stop used when expanding tabs in source lines.
	// Zero or less means 4.
	TabWidth int
}

// maxSnippetLines is how many source lines a multi-line range shows.
const maxSnippetLines = 3

const (
	ansiReset     = "\x1b[0m"
	ansiBold      = "\x1b[1m"
	ansiBoldRed   = "\x1b[1;31m"
	ansiBoldYel   = "\x1b[1;33m"
	ansiUnderline = "\x1b[4m"
)

// Diagnostics writes diags to w in the style of Terraform:
//
//	Error: Unknown action "ot.isolate_zon"
//
//	  on playbooks/library/ransomware.hcl line 42, in step "isolate":
//	  42:     action = "ot.isolate_zon"
//	                   ^^^^^^^^^^^^^^^^
//
//	There is no action named "ot.isolate_zon". Did you mean "ot.isolate_zone"?
//
// Diagnostics are separated by blank lines. sources maps file names (as they
// appear in the diagnostics' ranges) to their contents; a file missing from
// it is reported as "source code not available". A diagnostic without a
// Subject has no "on" line. Nil diagnostics are skipped. The only error
// returned is one from writing to w.
//
// Summaries, details, file names and source lines come from playbook files
// and are neutralised (see safetext): an escape sequence or a bidi override
// in a playbook shows as an escape such as \x1b or \u202e and never reaches
// the terminal raw.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, sources map[string][]byte, opts TextOptions) error {
	if w == nil {
		return errors.New("render: nil writer")
	}
	if opts.TabWidth <= 0 {
		opts.TabWidth = 4
	}
	files := newSourceSet(sources)
	var buf bytes.Buffer
	first := true
	for _, d := range diags {
		if d == nil {
			continue
		}
		if !first {
			buf.WriteByte('\n')
		}
		first = false
		writeDiagnostic(&buf, d, files, opts)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writeDiagnostic(buf *bytes.Buffer, d *hcl.Diagnostic, files *sourceSet, opts TextOptions) {
	sev, color := "Error", ansiBoldRed
	if d.Severity == hcl.DiagWarning {
		sev, color = "Warning", ansiBoldYel
	}
	summary := safetext.Line(d.Summary)
	if opts.Color {
		fmt.Fprintf(buf, "%s%s: %s%s%s%s\n", color, sev, ansiReset, ansiBold, summary, ansiReset)
	} else {
		fmt.Fprintf(buf, "%s: %s\n", sev, summary)
	}

	switch {
	case d.Subject != nil && hidesSource(d):
		fmt.Fprintf(buf, "\n  on %s line %d:\n  (source line not shown: it holds a secret)\n", safetext.Line(d.Subject.Filename), d.Subject.Start.Line)
	case d.Subject != nil:
		buf.WriteByte('\n')
		writeSubject(buf, d.Subject, files, opts)
	}

	if detail := safetext.Terminal(strings.TrimRight(d.Detail, "\r\n")); detail != "" {
		buf.WriteByte('\n')
		buf.WriteString(detail)
		buf.WriteByte('\n')
	}
}

// SourceHider is implemented by a diagnostic's Extra value when the source
// line under the diagnostic must not be shown, because it holds a secret.
// The location is still reported.
type SourceHider interface {
	HideSource() bool
}

func hidesSource(d *hcl.Diagnostic) bool {
	h, ok := d.Extra.(SourceHider)
	return ok && h.HideSource()
}

func writeSubject(buf *bytes.Buffer, subj *hcl.Range, files *sourceSet, opts TextOptions) {
	name := safetext.Line(subj.Filename)
	if name == "" {
		name = "(unnamed file)"
	}
	f := files.get(subj.Filename)
	if f == nil {
		fmt.Fprintf(buf, "  on %s line %d:\n  (source code not available)\n", name, subj.Start.Line)
		return
	}
	start, end := f.resolve(*subj)
	startLine := f.lineOf(start)
	endLine := f.lineOf(end)
	if end > start && endLine > startLine && f.lineStart(endLine) == end {
		// The range stops right after a newline: it ends on the line before.
		endLine--
	}

	ctx := ""
	if c := f.blockContext(start); c != "" {
		ctx = ", in " + safetext.Line(c)
	}
	fmt.Fprintf(buf, "  on %s line %d%s:\n", name, startLine, ctx)

	last := endLine
	if last > startLine+maxSnippetLines-1 {
		last = startLine + maxSnippetLines - 1
	}
	numWidth := len(strconv.Itoa(last))
	if numWidth < 4 {
		numWidth = 4
	}
	prefixLen := numWidth + 2 // "%*d: "

	for n := startLine; n <= last; n++ {
		ls, le := f.lineBounds(n)
		line := f.src[ls:le]
		var hs, he int
		switch {
		case n == startLine:
			hs = start - ls
			if endLine == startLine {
				he = end - ls
			} else {
				he = le - ls
			}
		case !opts.Color:
			// Without colour only the first line is marked.
			hs, he = len(line), len(line)
		default:
			hs = len(line) - len(bytes.TrimLeft(line, " \t"))
			if n == endLine {
				he = end - ls
			} else {
				he = le - ls
			}
		}
		marked := n == startLine || opts.Color
		if marked && he <= hs {
			he = hs + 1 // an empty range still marks one character
		}
		line, hs, he = clipLine(line, hs, he)
		rl := renderLine(line, hs, he, opts.TabWidth)
		fmt.Fprintf(buf, "%*d: ", numWidth, n)
		if opts.Color && marked && rl.hl != "" {
			buf.WriteString(rl.before + ansiUnderline + rl.hl + ansiReset + rl.after)
		} else {
			buf.WriteString(rl.before + rl.hl + rl.after)
		}
		buf.WriteByte('\n')
		if n == startLine && (!opts.Color || rl.hl == "") {
			w := rl.hlWidth
			if w < 1 {
				w = 1
			}
			buf.WriteString(strings.Repeat(" ", prefixLen+rl.startCol))
			buf.WriteString(strings.Repeat("^", w))
			buf.WriteByte('\n')
		}
	}
}

// maxLineBytes is the longest source line shown whole; a longer one is cut
// to a window around the marked part, with "…" where text was left out.
const maxLineBytes = 200

// clipLine cuts a long line to a window around the marked bytes [hs, he),
// keeping UTF-8 sequences whole, and returns the new line and offsets.
func clipLine(line []byte, hs, he int) ([]byte, int, int) {
	if len(line) <= maxLineBytes {
		return line, hs, he
	}
	const context = 60
	ws := hs - context
	if ws < 0 {
		ws = 0
	}
	if he > ws+maxLineBytes-context {
		he = ws + maxLineBytes - context
	}
	if he < hs {
		he = hs
	}
	we := he + context
	if we > len(line) {
		we = len(line)
	}
	for ws > 0 && !utf8.RuneStart(line[ws]) {
		ws--
	}
	for we < len(line) && !utf8.RuneStart(line[we]) {
		we++
	}
	var out []byte
	shift := ws
	if ws > 0 {
		out = append(out, "…"...)
		shift -= len("…")
	}
	out = append(out, line[ws:we]...)
	if we < len(line) {
		out = append(out, "…"...)
	}
	return out, hs - shift, he - shift
}

// renderedLine is one source line prepared for a terminal, split around the
// marked part.
type renderedLine struct {
	before, hl, after string
	// startCol is the display column (0-based) where the marked part starts;
	// hlWidth is its display width.
	startCol, hlWidth int
}

// renderLine expands tabs, shows control and formatting characters and
// invalid UTF-8 as escapes (see displayCluster), and splits line around the
// bytes [hs, he). A grapheme cluster that overlaps the
// range is marked whole.
func renderLine(line []byte, hs, he, tab int) renderedLine {
	var before, hl, after strings.Builder
	var rl renderedLine
	col := 0
	for pos := 0; pos < len(line); {
		adv := clusterLen(line[pos:])
		cluster := line[pos : pos+adv]
		text, w := displayCluster(cluster, col, tab)
		switch {
		case pos+adv <= hs:
			before.WriteString(text)
			rl.startCol += w
		case pos < he:
			hl.WriteString(text)
			rl.hlWidth += w
		default:
			after.WriteString(text)
		}
		col += w
		pos += adv
	}
	rl.before, rl.hl, rl.after = before.String(), hl.String(), after.String()
	return rl
}

// clusterLen returns the length in bytes of the grapheme cluster b starts with.
func clusterLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	adv, _, err := textseg.ScanGraphemeClusters(b, true)
	if err != nil || adv <= 0 || adv > len(b) {
		_, adv = utf8.DecodeRune(b)
		if adv <= 0 {
			adv = 1
		}
	}
	return adv
}

// displayCluster returns how a grapheme cluster is shown starting at display
// column col, and its width in columns. A cluster holding anything a
// terminal would act on or hide (ESC, a carriage return, a C1 control, a bidi
// override, a zero-width space, a byte that is not UTF-8) is shown escaped,
// as safetext does, so the line reads as it is stored.
func displayCluster(c []byte, col, tab int) (string, int) {
	if len(c) == 1 && c[0] == '\t' {
		n := tab - col%tab
		return strings.Repeat(" ", n), n
	}
	s := string(c)
	if safe := safetext.Terminal(s); safe != s || strings.ContainsAny(s, "\n\t") {
		safe = strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(safe)
		return safe, textWidth(safe)
	}
	r, _ := utf8.DecodeRune(c)
	w := 1
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		w = 2
	}
	if bytes.Contains(c, []byte("\uFE0F")) { // emoji presentation
		w = 2
	}
	return string(c), w
}

// textWidth is the display width of escaped text: combining marks take no
// column, wide and fullwidth characters two, the rest one.
func textWidth(s string) int {
	w := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
		case width.LookupRune(r).Kind() == width.EastAsianWide || width.LookupRune(r).Kind() == width.EastAsianFullwidth:
			w += 2
		default:
			w++
		}
	}
	return w
}

// sourceSet hands out source files by name, indexing each once.
type sourceSet struct {
	sources map[string][]byte
	files   map[string]*sourceFile
}

func newSourceSet(sources map[string][]byte) *sourceSet {
	return &sourceSet{sources: sources, files: map[string]*sourceFile{}}
}

func (s *sourceSet) get(name string) *sourceFile {
	if f, ok := s.files[name]; ok {
		return f
	}
	src, ok := s.sources[name]
	if !ok || src == nil {
		s.files[name] = nil
		return nil
	}
	f := &sourceFile{name: name, src: src, lines: []int{0}}
	for i, b := range src {
		if b == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	s.files[name] = f
	return f
}

// sourceFile is one source file with its line index.
type sourceFile struct {
	name  string
	src   []byte
	lines []int // byte offset of the start of each line

	parsed bool
	body   *hclsyntax.Body
}

// lineOf returns the 1-based line holding byte offset off, which must be in
// [0, len(src)].
func (f *sourceFile) lineOf(off int) int {
	return sort.Search(len(f.lines), func(i int) bool { return f.lines[i] > off })
}

// lineStart returns the byte offset where 1-based line n starts.
func (f *sourceFile) lineStart(n int) int { return f.lines[n-1] }

// lineBounds returns the byte range of 1-based line n without its line ending.
func (f *sourceFile) lineBounds(n int) (int, int) {
	start := f.lines[n-1]
	end := len(f.src)
	if n < len(f.lines) {
		end = f.lines[n] - 1
	}
	if end > start && f.src[end-1] == '\r' {
		end--
	}
	return start, end
}

// resolve turns a range into byte offsets into src, clamped to the file and
// with end >= start.
func (f *sourceFile) resolve(r hcl.Range) (int, int) {
	start := f.offset(r.Start)
	end := f.offset(r.End)
	if end < start {
		end = start
	}
	return start, end
}

// offset turns a position into a byte offset in [0, len(src)]. The byte
// offset is trusted when it agrees with the line; otherwise the line and
// column (in grapheme clusters, as HCL counts them) are used. Positions past
// the end of the file are clamped to it.
func (f *sourceFile) offset(p hcl.Pos) int {
	if p.Byte >= 0 && p.Byte <= len(f.src) && (p.Line <= 0 || f.lineOf(p.Byte) == p.Line) {
		return p.Byte
	}
	switch {
	case p.Line < 1:
		if p.Byte < 0 {
			return 0
		}
		return len(f.src)
	case p.Line > len(f.lines):
		return len(f.src)
	}
	off, end := f.lineBounds(p.Line)
	for col := 1; col < p.Column && off < end; col++ {
		off += clusterLen(f.src[off:end])
	}
	return off
}

// blockContext describes the block around byte offset off, such as
// `step "isolate"`: the innermost labelled block, or else the outermost
// block. It is empty for JSON files and when nothing encloses off.
func (f *sourceFile) blockContext(off int) string {
	if !f.parsed {
		f.parsed = true
		f.body = parseBody(f.name, f.src)
	}
	if f.body == nil {
		return ""
	}
	var outer, labelled *hclsyntax.Block
	for body := f.body; body != nil; {
		var found *hclsyntax.Block
		for _, b := range body.Blocks {
			if b != nil && b.Range().ContainsOffset(off) {
				found = b
				break
			}
		}
		if found == nil {
			break
		}
		if outer == nil {
			outer = found
		}
		if len(found.Labels) > 0 {
			labelled = found
		}
		body = found.Body
	}
	b := labelled
	if b == nil {
		b = outer
	}
	if b == nil {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(b.Type)
	for _, l := range b.Labels {
		sb.WriteByte(' ')
		sb.WriteString(strconv.Quote(l))
	}
	return sb.String()
}

// parseBody parses native HCL syntax, tolerating errors (the partial body
// still has good ranges). It returns nil for JSON files and for files the
// loader refuses to parse (too large, too deeply nested, not text).
func parseBody(name string, src []byte) (body *hclsyntax.Body) {
	if strings.HasSuffix(strings.ToLower(name), ".json") || playbooks.Screen(name, src) != nil {
		return nil
	}
	file, _ := playbooks.ParseFile(src, name)
	if file == nil {
		return nil
	}
	b, _ := file.Body.(*hclsyntax.Body)
	return b
}

// DiagnosticsReport is the JSON document DiagnosticsJSON produces; its shape
// follows `terraform validate -json`.
type DiagnosticsReport struct {
	// Valid is true when there are no errors (warnings are allowed).
	Valid bool `json:"valid"`
	// ErrorCount and WarningCount count the diagnostics by severity.
	ErrorCount   int `json:"error_count"`
	WarningCount int `json:"warning_count"`
	// Diagnostics are in the order given; never null.
	Diagnostics []DiagnosticJSON `json:"diagnostics"`
}

// DiagnosticJSON is one diagnostic in a DiagnosticsReport.
type DiagnosticJSON struct {
	// Severity is "error" or "warning".
	Severity string `json:"severity"`
	// Summary is the one-line headline; Detail the explanation, as written.
	Summary string `json:"summary"`
	Detail  string `json:"detail"`
	// Range is the diagnostic's subject; absent when it has none.
	Range *RangeJSON `json:"range,omitempty"`
	// Snippet is absent when there is no range or no source for its file.
	Snippet *SnippetJSON `json:"snippet,omitempty"`
}

// RangeJSON is a source range as HCL reports it.
type RangeJSON struct {
	// Filename is the file the range is in.
	Filename string `json:"filename"`
	// Start is the first character; End is just past the last.
	Start PosJSON `json:"start"`
	End   PosJSON `json:"end"`
}

// PosJSON is a source position: 1-based line and column (in grapheme
// clusters) and 0-based byte offset.
type PosJSON struct {
	// Line, Column and Byte locate the position.
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// SnippetJSON is the source code around a diagnostic.
type SnippetJSON struct {
	// Context is the enclosing block, such as `step "isolate"`, or null.
	Context *string `json:"context"`
	// Code is the whole lines covering the diagnostic's subject and context.
	Code string `json:"code"`
	// StartLine is the line number of the first line of Code.
	StartLine int `json:"start_line"`
	// HighlightStartOffset and HighlightEndOffset are byte offsets into Code
	// of the subject.
	HighlightStartOffset int `json:"highlight_start_offset"`
	HighlightEndOffset   int `json:"highlight_end_offset"`
}

// DiagnosticsJSON renders diags as an indented JSON DiagnosticsReport,
// ending in a newline. Nil diagnostics are skipped; diagnostics keep their
// order.
func DiagnosticsJSON(diags hcl.Diagnostics, sources map[string][]byte) ([]byte, error) {
	files := newSourceSet(sources)
	rep := DiagnosticsReport{Diagnostics: []DiagnosticJSON{}}
	for _, d := range diags {
		if d == nil {
			continue
		}
		j := DiagnosticJSON{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			j.Severity = "warning"
			rep.WarningCount++
		} else {
			rep.ErrorCount++
		}
		if d.Subject != nil {
			j.Range = &RangeJSON{
				Filename: d.Subject.Filename,
				Start:    PosJSON{Line: d.Subject.Start.Line, Column: d.Subject.Start.Column, Byte: d.Subject.Start.Byte},
				End:      PosJSON{Line: d.Subject.End.Line, Column: d.Subject.End.Column, Byte: d.Subject.End.Byte},
			}
			if f := files.get(d.Subject.Filename); f != nil && !hidesSource(d) {
				j.Snippet = jsonSnippet(f, d)
			}
		}
		rep.Diagnostics = append(rep.Diagnostics, j)
	}
	rep.Valid = rep.ErrorCount == 0

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func jsonSnippet(f *sourceFile, d *hcl.Diagnostic) *SnippetJSON {
	hs, he := f.resolve(*d.Subject)
	if he == hs && he < len(f.src) {
		he++ // an empty range still highlights one byte
	}
	ss, se := hs, he
	if d.Context != nil && d.Context.Filename == d.Subject.Filename {
		cs, ce := f.resolve(*d.Context)
		ss, se = min(ss, cs), max(se, ce)
	}
	first, last := f.lineOf(ss), f.lineOf(se)
	if se > ss && last > first && f.lineStart(last) == se {
		last--
	}
	codeStart, _ := f.lineBounds(first)
	_, codeEnd := f.lineBounds(last)
	if codeEnd < codeStart {
		codeEnd = codeStart
	}
	code := string(f.src[codeStart:codeEnd])
	clamp := func(v int) int { return max(0, min(v, len(code))) }
	s := &SnippetJSON{
		Code:                 code,
		StartLine:            first,
		HighlightStartOffset: clamp(hs - codeStart),
		HighlightEndOffset:   clamp(he - codeStart),
	}
	if c := f.blockContext(hs); c != "" {
		s.Context = &c
	}
	return s
}
