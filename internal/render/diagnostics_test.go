package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// rng returns the range of the n-th (0-based) occurrence of sub in src,
// with columns counted in runes.
func rng(t *testing.T, filename, src, sub string, n int) *hcl.Range {
	t.Helper()
	off := -1
	from := 0
	for i := 0; i <= n; i++ {
		j := strings.Index(src[from:], sub)
		if j < 0 {
			t.Fatalf("%q not found %d times", sub, n+1)
		}
		off = from + j
		from = off + 1
	}
	return &hcl.Range{Filename: filename, Start: pos(src, off), End: pos(src, off+len(sub))}
}

func pos(src string, off int) hcl.Pos {
	before := src[:off]
	line := strings.Count(before, "\n") + 1
	lineStart := strings.LastIndex(before, "\n") + 1
	return hcl.Pos{Line: line, Column: utf8.RuneCountInString(src[lineStart:off]) + 1, Byte: off}
}

const ransomwareSrc = `playbook "ot_ransomware_containment" {
  title = "Ransomware moving toward a plant network"
` + "# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n" +
	"# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n" +
	"# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n" +
	"# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n# padding\n" +
	`  input "hosts" {
    type    = list(string)
    default = []
  }
  input "zone" { type = string }

  step "isolate" {
    action = "ot.isolate_zon"
    with = {
      zone    = zone.plant3_control
      comment = "Zone für Überwachung ✓ 工場"
    }
  }
}
`

const ransomwareFile = "playbooks/library/ransomware.hcl"

func TestDiagnosticsText(t *testing.T) {
	src := ransomwareSrc
	sources := map[string][]byte{ransomwareFile: []byte(src)}

	tabSrc := "safety {\n\tsignoff {\n\t\tvalid_for = \"15 minutes\"\n\t}\n}\n"
	sources["tab.hcl"] = []byte(tabSrc)

	tests := []struct {
		name  string
		diags hcl.Diagnostics
		opts  TextOptions
		want  string
	}{
		{
			name: "simple error",
			diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  `Unknown action "ot.isolate_zon"`,
				Detail:   `There is no action named "ot.isolate_zon". Did you mean "ot.isolate_zone"?`,
				Subject:  rng(t, ransomwareFile, src, `"ot.isolate_zon"`, 0),
			}},
			want: `Error: Unknown action "ot.isolate_zon"

  on playbooks/library/ransomware.hcl line 42, in step "isolate":
  42:     action = "ot.isolate_zon"
                   ^^^^^^^^^^^^^^^^

There is no action named "ot.isolate_zon". Did you mean "ot.isolate_zone"?
`,
		},
		{
			name: "warning on a block header, detail kept as written",
			diags: hcl.Diagnostics{{
				Severity: hcl.DiagWarning,
				Summary:  `Unused input "hosts"`,
				Detail:   "The input is declared but nothing refers to it.\n  Remove it, or use input.hosts.",
				Subject:  rng(t, ransomwareFile, src, `input "hosts"`, 0),
			}},
			want: `Warning: Unused input "hosts"

  on playbooks/library/ransomware.hcl line 35, in input "hosts":
  35:   input "hosts" {
        ^^^^^^^^^^^^^

The input is declared but nothing refers to it.
  Remove it, or use input.hosts.
`,
		},
		{
			name: "tab-indented line",
			diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid duration",
				Detail:   `"15 minutes" is not a duration; write it like "15m".`,
				Subject:  rng(t, "tab.hcl", tabSrc, `"15 minutes"`, 0),
			}},
			want: `Error: Invalid duration

  on tab.hcl line 3, in safety:
   3:         valid_for = "15 minutes"
                          ^^^^^^^^^^^^

"15 minutes" is not a duration; write it like "15m".
`,
		},
		{
			name: "UTF-8 line with wide characters",
			diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unexpected argument",
				Subject:  rng(t, ransomwareFile, src, `"Zone für Überwachung ✓ 工場"`, 0),
			}},
			want: `Error: Unexpected argument

  on playbooks/library/ransomware.hcl line 45, in step "isolate":
  45:       comment = "Zone für Überwachung ✓ 工場"
                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
`,
		},
		{
			name: "multi-line range shows at most three lines",
			diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid with",
				Detail:   "Bad.",
				Subject: &hcl.Range{
					Filename: ransomwareFile,
					Start:    rng(t, ransomwareFile, src, "{\n      zone", 0).Start,
					End:      rng(t, ransomwareFile, src, "    }\n", 0).End,
				},
			}},
			want: `Error: Invalid with

  on playbooks/library/ransomware.hcl line 43, in step "isolate":
  43:     with = {
                 ^
  44:       zone    = zone.plant3_control
  45:       comment = "Zone für Überwachung ✓ 工場"

Bad.
`,
		},
		{
			name: "nil subject",
			diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "No playbooks found",
				Detail:   "The directory holds no playbook blocks.",
			}},
			want: `Error: No playbooks found

The directory holds no playbook blocks.
`,
		},
		{
			name: "missing source",
			diags: hcl.Diagnostics{{
				Severity: hcl.DiagWarning,
				Summary:  "Deprecated attribute",
				Subject:  &hcl.Range{Filename: "gone.hcl", Start: hcl.Pos{Line: 7, Column: 3, Byte: 80}, End: hcl.Pos{Line: 7, Column: 9, Byte: 86}},
			}},
			want: `Warning: Deprecated attribute

  on gone.hcl line 7:
  (source code not available)
`,
		},
		{
			name: "range past end of file",
			diags: hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unexpected end of file",
				Subject:  &hcl.Range{Filename: "tab.hcl", Start: hcl.Pos{Line: 90, Column: 1, Byte: 5000}, End: hcl.Pos{Line: 90, Column: 4, Byte: 5003}},
			}},
			want: `Error: Unexpected end of file

  on tab.hcl line 6:
   6: 
      ^
`,
		},
		{
			name: "two diagnostics are separated by a blank line",
			diags: hcl.Diagnostics{
				{Severity: hcl.DiagError, Summary: "First", Detail: "One."},
				nil,
				{Severity: hcl.DiagWarning, Summary: "Second"},
			},
			want: "Error: First\n\nOne.\n\nWarning: Second\n",
		},
		{
			name: "colour",
			opts: TextOptions{Color: true},
			diags: hcl.Diagnostics{
				{
					Severity: hcl.DiagError,
					Summary:  `Unknown action "ot.isolate_zon"`,
					Detail:   "Did you mean?",
					Subject:  rng(t, ransomwareFile, src, `"ot.isolate_zon"`, 0),
				},
				{
					Severity: hcl.DiagWarning,
					Summary:  "Careful",
				},
			},
			want: "\x1b[1;31mError: \x1b[0m\x1b[1mUnknown action \"ot.isolate_zon\"\x1b[0m\n" +
				"\n" +
				"  on playbooks/library/ransomware.hcl line 42, in step \"isolate\":\n" +
				"  42:     action = \x1b[4m\"ot.isolate_zon\"\x1b[0m\n" +
				"\n" +
				"Did you mean?\n" +
				"\n" +
				"\x1b[1;33mWarning: \x1b[0m\x1b[1mCareful\x1b[0m\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Diagnostics(&buf, tt.diags, sources, tt.opts); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s\ngot  %q\nwant %q", got, tt.want, got, tt.want)
			}
		})
	}
}

func TestDiagnosticsJSON(t *testing.T) {
	src := ransomwareSrc
	sources := map[string][]byte{ransomwareFile: []byte(src)}
	subj := rng(t, ransomwareFile, src, `"ot.isolate_zon"`, 0)
	diags := hcl.Diagnostics{
		{
			Severity: hcl.DiagError,
			Summary:  `Unknown action "ot.isolate_zon"`,
			Detail:   "Did you mean \"ot.isolate_zone\"?",
			Subject:  subj,
		},
		{Severity: hcl.DiagWarning, Summary: "No subject"},
		{
			Severity: hcl.DiagWarning,
			Summary:  "No source",
			Subject:  &hcl.Range{Filename: "gone.hcl", Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 2, Byte: 1}},
		},
	}
	out, err := DiagnosticsJSON(diags, sources)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "valid": false,
  "error_count": 1,
  "warning_count": 2,
  "diagnostics": [
    {
      "severity": "error",
      "summary": "Unknown action \"ot.isolate_zon\"",
      "detail": "Did you mean \"ot.isolate_zone\"?",
      "range": {
        "filename": "playbooks/library/ransomware.hcl",
        "start": {
          "line": 42,
          "column": 14,
          "byte": 544
        },
        "end": {
          "line": 42,
          "column": 30,
          "byte": 560
        }
      },
      "snippet": {
        "context": "step \"isolate\"",
        "code": "    action = \"ot.isolate_zon\"",
        "start_line": 42,
        "highlight_start_offset": 13,
        "highlight_end_offset": 29
      }
    },
    {
      "severity": "warning",
      "summary": "No subject",
      "detail": ""
    },
    {
      "severity": "warning",
      "summary": "No source",
      "detail": "",
      "range": {
        "filename": "gone.hcl",
        "start": {
          "line": 1,
          "column": 1,
          "byte": 0
        },
        "end": {
          "line": 1,
          "column": 2,
          "byte": 1
        }
      }
    }
  ]
}
`
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}

	// Context widens the code to whole lines covering it.
	ctx := rng(t, ransomwareFile, src, "step \"isolate\" {\n    action = \"ot.isolate_zon\"\n", 0)
	out, err = DiagnosticsJSON(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "x", Subject: subj, Context: ctx}}, sources)
	if err != nil {
		t.Fatal(err)
	}
	var rep DiagnosticsReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	sn := rep.Diagnostics[0].Snippet
	if sn.StartLine != 41 || sn.Code != "  step \"isolate\" {\n    action = \"ot.isolate_zon\"" {
		t.Errorf("snippet with context = %+v", sn)
	}
	if got := sn.Code[sn.HighlightStartOffset:sn.HighlightEndOffset]; got != `"ot.isolate_zon"` {
		t.Errorf("highlight = %q", got)
	}

	// No diagnostics is valid and still has an array.
	out, err = DiagnosticsJSON(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"valid": true`) || !strings.Contains(string(out), `"diagnostics": []`) {
		t.Errorf("empty report = %s", out)
	}
}

// TestDiagnosticsNoPanic feeds nonsense positions and sources.
func TestDiagnosticsNoPanic(t *testing.T) {
	srcs := []string{"", "\n", "a", "x = \"\xff\xfe\"\r\n\ty = 1\r\n", "block \"a\" {\n  b {\n", "é\u0301🔥\x1b[31m\n"}
	positions := []hcl.Pos{
		{}, {Line: 1, Column: 1}, {Line: -3, Column: -1, Byte: -7}, {Line: 2, Column: 99, Byte: 99},
		{Line: 1, Column: 2, Byte: 1}, {Line: 1000, Column: 1, Byte: 1 << 30}, {Line: 2, Column: 1, Byte: 3},
	}
	for _, s := range srcs {
		for _, a := range positions {
			for _, b := range positions {
				r := &hcl.Range{Filename: "f.hcl", Start: a, End: b}
				d := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "s", Subject: r, Context: r}}
				for _, color := range []bool{false, true} {
					var buf bytes.Buffer
					if err := Diagnostics(&buf, d, map[string][]byte{"f.hcl": []byte(s)}, TextOptions{Color: color}); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := DiagnosticsJSON(d, map[string][]byte{"f.hcl": []byte(s)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := Diagnostics(nil, nil, nil, TextOptions{}); err == nil {
		t.Error("nil writer: want error")
	}
}

func FuzzDiagnostics(f *testing.F) {
	f.Add([]byte(ransomwareSrc), 42, 14, 544, 42, 30, 560, true)
	f.Add([]byte("a\tb\r\nc\xff"), 1, 2, 1, 2, 1, 3, false)
	f.Fuzz(func(t *testing.T, src []byte, sl, sc, sb, el, ec, eb int, color bool) {
		r := &hcl.Range{Filename: "f.hcl", Start: hcl.Pos{Line: sl, Column: sc, Byte: sb}, End: hcl.Pos{Line: el, Column: ec, Byte: eb}}
		d := hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "s", Detail: "d", Subject: r, Context: r}}
		var buf bytes.Buffer
		t0 := time.Now()
		if err := Diagnostics(&buf, d, map[string][]byte{"f.hcl": src}, TextOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(t0); el > time.Second {
			t.Fatalf("slow: %v", el)
		}
		if _, err := DiagnosticsJSON(d, map[string][]byte{"f.hcl": src}); err != nil {
			t.Fatal(err)
		}
	})
}

type hideSource struct{}

func (hideSource) HideSource() bool { return true }

// TestDiagnosticsHideSecretLine: a diagnostic marked with SourceHider shows
// its location but never the source line, in text or JSON.
func TestDiagnosticsHideSecretLine(t *testing.T) {
	src := []byte("integration \"slack\" \"main\" {\n  bot_token = \"xoxb-SECRET\"\n}\n")
	r := hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: 2, Column: 3, Byte: 31}, End: hcl.Pos{Line: 2, Column: 12, Byte: 40}}
	diags := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Secret", Detail: "d", Subject: &r, Extra: hideSource{}}}
	var buf bytes.Buffer
	if err := Diagnostics(&buf, diags, map[string][]byte{"a.hcl": src}, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "SECRET") || !strings.Contains(buf.String(), "a.hcl line 2") {
		t.Fatalf("text:\n%s", buf.String())
	}
	js, err := DiagnosticsJSON(diags, map[string][]byte{"a.hcl": src})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "SECRET") || !strings.Contains(string(js), `"line": 2`) {
		t.Fatalf("json:\n%s", js)
	}
}

// TestDiagnosticsOnUnparseableFile: rendering a diagnostic for a file the
// loader refused (here 100 KB of open brackets) must not parse it.
func TestDiagnosticsOnUnparseableFile(t *testing.T) {
	src := []byte("a = " + strings.Repeat("[", 100000) + "\n")
	r := hcl.Range{Filename: "deep.hcl", Start: hcl.Pos{Line: 1, Column: 5, Byte: 4}, End: hcl.Pos{Line: 1, Column: 6, Byte: 5}}
	diags := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Nesting too deep", Subject: &r}}
	var buf bytes.Buffer
	if err := Diagnostics(&buf, diags, map[string][]byte{"deep.hcl": src}, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "deep.hcl line 1") {
		t.Fatalf("output:\n%.300s", buf.String())
	}
	// The 100 KB line is cut to a window around the mark.
	if buf.Len() > 1000 || !strings.Contains(buf.String(), "…") {
		t.Fatalf("long line not cut (%d bytes):\n%.400s", buf.Len(), buf.String())
	}
}

// TestDiagnosticsHostileText: a playbook line, summary, detail or file name
// holding escape sequences, C1 controls, carriage returns or bidi overrides
// reaches the terminal as escapes, with the caret still under the mark.
func TestDiagnosticsHostileText(t *testing.T) {
	src := "step \"x\" {\n  action = \"ot.isolate\x1b]0;pwned\x07\u202e\"\r\n  note = \"a\rb\x9bc\"\n}\n"
	line2 := strings.Index(src, "  action")
	at := line2 + strings.Index(src[line2:], `"ot`)
	name := "evil\x1b[2J.hcl"
	subj := &hcl.Range{Filename: name, Start: hcl.Pos{Line: 2, Column: 12, Byte: at}, End: hcl.Pos{Line: 2, Column: 13, Byte: at + 1}}
	c := strings.Index(src, "\x9bc") + 1 // the caret goes under c, after two escapes
	subj3 := &hcl.Range{Filename: name, Start: hcl.Pos{Line: 3, Byte: c}, End: hcl.Pos{Line: 3, Byte: c + 1}}
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Unknown action \x1b[8m\u009b2J", Detail: "Line one\x1b]8;;http://evil\x07\nline two\u2066", Subject: subj},
		{Severity: hcl.DiagWarning, Summary: "Note", Subject: subj3},
	}
	for _, color := range []bool{false, true} {
		var buf bytes.Buffer
		if err := Diagnostics(&buf, diags, map[string][]byte{name: []byte(src)}, TextOptions{Color: color}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if color {
			// Only our own colour sequences remain.
			for _, ours := range []string{ansiReset, ansiBold, ansiBoldRed, ansiBoldYel, ansiUnderline} {
				out = strings.ReplaceAll(out, ours, "")
			}
		} else {
			// The file holds control characters, so the loader would not
			// parse it and no block is named.
			want := `Error: Unknown action \x1b[8m\u009b2J

  on evil\x1b[2J.hcl line 2:
   2:   action = "ot.isolate\x1b]0;pwned\x07\u202e"
                 ^

Line one\x1b]8;;http://evil\x07
line two\u2066

Warning: Note

  on evil\x1b[2J.hcl line 3:
   3:   note = "a\rb\x9bc"
                        ^
`
			if out != want {
				t.Errorf("got\n%s\nwant\n%s", out, want)
			}
		}
		for i, r := range out {
			if r != '\n' && (r < 0x20 || r == 0x7f || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r)) {
				t.Errorf("color=%v: %U raw at byte %d", color, r, i)
			}
		}
	}
}
