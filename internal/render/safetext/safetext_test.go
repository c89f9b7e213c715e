package safetext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// hostile are the attacks every renderer is tested with, named.
var hostile = []struct{ name, in, terminal, line string }{
	{"plain", "approved by alice", "approved by alice", "approved by alice"},
	{"unicode kept", "Zürich 東京 שלום مرحبا 🔥 é\u0301", "Zürich 東京 שלום مرحبا 🔥 é\u0301", "Zürich 東京 שלום مرحبا 🔥 é\u0301"},
	{"OSC 8 hyperlink", "\x1b]8;;http://evil\x07click\x1b]8;;\x07",
		`\x1b]8;;http://evil\x07click\x1b]8;;\x07`, `\x1b]8;;http://evil\x07click\x1b]8;;\x07`},
	{"clear screen", "\x1b[2J\x1b[Happroved", `\x1b[2J\x1b[Happroved`, `\x1b[2J\x1b[Happroved`},
	{"window title", "\x1b]0;title\x07", `\x1b]0;title\x07`, `\x1b]0;title\x07`},
	{"OSC with ST", "\x1b]52;c;ZXZpbA==\x1b\\", `\x1b]52;c;ZXZpbA==\x1b\`, `\x1b]52;c;ZXZpbA==\x1b\`},
	{"C1 CSI", "\u009b31mred", `\u009b31mred`, `\u009b31mred`},
	{"C1 OSC and NEL", "\u009d0;t\u009c x\u0085y", `\u009d0;t\u009c x\u0085y`, `\u009d0;t\u009c x y`},
	{"raw C1 byte (not UTF-8)", "a\x9b2Jb", `a\x9b2Jb`, `a\x9b2Jb`},
	{"invalid UTF-8", "bad \xff\xfe end", `bad \xff\xfe end`, `bad \xff\xfe end`},
	{"RLO", "deny\u202eok", `deny\u202eok`, `deny\u202eok`},
	{"bidi isolates", "\u2066a\u2067b\u2068c\u2069", `\u2066a\u2067b\u2068c\u2069`, `\u2066a\u2067b\u2068c\u2069`},
	{"bidi marks", "x\u200ey\u200fz\u061c", `x\u200ey\u200fz\u061c`, `x\u200ey\u200fz\u061c`},
	{"carriage return overwrite", "refused\rapproved", `refused\rapproved`, `refused approved`},
	{"CR LF", "line one\r\nline two", "line one\nline two", "line one line two"},
	{"backspace", "deny\b\b\b\bapprove", `deny\x08\x08\x08\x08approve`, `deny\x08\x08\x08\x08approve`},
	{"NUL and DEL", "a\x00b\x7fc", `a\x00b\x7fc`, `a\x00b\x7fc`},
	{"bell, form feed, vertical tab", "a\ab\fc\vd", `a\x07b\x0cc\x0bd`, `a\x07b c d`},
	{"zero width", "al\u200bice\u2060\ufeff", `al\u200bice\u2060\ufeff`, `al\u200bice\u2060\ufeff`},
	{"zero width joiner in ASCII", "al\u200dice b\u200cob", `al\u200dice b\u200cob`, `al\u200dice b\u200cob`},
	{"joiners that join", "👩\u200d💻 می\u200cخواهم", "👩\u200d💻 می\u200cخواهم", "👩\u200d💻 می\u200cخواهم"},
	{"soft hyphen", "ad\u00admin", `ad\u00admin`, `ad\u00admin`},
	{"tag characters", "ok\U000e0041\U000e007f", `ok\U000e0041\U000e007f`, `ok\U000e0041\U000e007f`},
	{"line separators", "a\u2028b\u2029c", `a\u2028b\u2029c`, `a b c`},
	{"newlines and tabs", "  one\n\ttwo  ", "  one\n\ttwo  ", "one two"},
	{"backslash kept", `C:\plant\x1b`, `C:\plant\x1b`, `C:\plant\x1b`},
	{"empty", "", "", ""},
}

func TestTerminal(t *testing.T) {
	for _, tc := range hostile {
		if got := Terminal(tc.in); got != tc.terminal {
			t.Errorf("%s: Terminal(%q)\n got %q\nwant %q", tc.name, tc.in, got, tc.terminal)
		}
	}
}

func TestLine(t *testing.T) {
	for _, tc := range hostile {
		if got := Line(tc.in); got != tc.line {
			t.Errorf("%s: Line(%q)\n got %q\nwant %q", tc.name, tc.in, got, tc.line)
		}
	}
}

func TestLineCutsLongText(t *testing.T) {
	long := strings.Repeat("a", MaxLine) + strings.Repeat("b", 1<<20)
	got := Line(long)
	want := strings.Repeat("a", MaxLine) + "… (1048576 more characters)"
	if got != want {
		t.Errorf("Line of 1 MiB: %d bytes, ends %q", len(got), got[len(got)-40:])
	}
	if got := LineMax("abc def", 3); got != "abc… (3 more characters)" {
		t.Errorf("LineMax: %q", got)
	}
	if got := LineMax("abc", 3); got != "abc" {
		t.Errorf("LineMax at the limit: %q", got)
	}
	// Escapes count as one character each, so the output stays bounded.
	if got := LineMax(strings.Repeat("\x1b", 1000), 2); got != `\x1b\x1b… (998 more characters)` {
		t.Errorf("LineMax of escapes: %q", got)
	}
	if got := LineMax(strings.Repeat("x", 5000), 0); len(got) != 5000 {
		t.Errorf("LineMax(0) cut the text to %d", len(got))
	}
}

func TestMarkdown(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "approved by alice", "approved by alice"},
		{"step IDs stay readable", "approval.isolate_ok", "approval.isolate_ok"},
		{"link", "[click](http://evil)", `\[click\]\(http://evil\)`},
		{"image", "![x](http://evil/t.png)", `\!\[x\]\(http://evil/t.png\)`},
		{"reference link", "[a][1]", `\[a\]\[1\]`},
		{"emphasis", "*bold* _it_ **b** __u__", `\*bold\* \_it\_ \*\*b\*\* \_\_u\_\_`},
		{"intraword emphasis", "a*b*c snake_case_ x_", `a\*b\*c snake_case\_ x\_`},
		{"code", "`rm -rf` ```", "\\`rm -rf\\` \\`\\`\\`"},
		{"strikethrough", "~~gone~~", `\~\~gone\~\~`},
		{"heading at start", "# Approved", `\# Approved`},
		{"hash inside", "ticket #42", "ticket #42"},
		{"HTML", `<img src=x onerror=alert(1)><script>`, `&lt;img src=x onerror=alert\(1\)&gt;&lt;script&gt;`},
		{"autolink", "<http://evil>", "&lt;http://evil&gt;"},
		{"character reference", "&#x202e;&lt;b&gt;", "&amp;#x202e;&amp;lt;b&amp;gt;"},
		{"table pipe", "a | b", `a \| b`},
		{"math", "$x$", `\$x\$`},
		{"backslash", `\*`, `\\\*`},
		{"newline folded", "one\n\n# two", `one # two`},
		{"control characters", "\x1b[2J\u202eok", `\\x1b\[2J\\u202eok`},
		{"quote block", "> boss says", "&gt; boss says"},
	}
	for _, tc := range cases {
		if got := Markdown(tc.in); got != tc.want {
			t.Errorf("%s: Markdown(%q)\n got %q\nwant %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestMarkdownCell(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"one\ntwo", "one<br>two"},
		{"one\r\n\r\n  two | three\n", `one<br>two \| three`},
		{"a\rb", "a<br>b"},
		{"a\u2028b", "a<br>b"},
		{"\n\n", ""},
		{"<br>", "&lt;br&gt;"},
		{"# x\n# y", `\# x<br>\# y`},
	}
	for _, tc := range cases {
		if got := MarkdownCell(tc.in); got != tc.want {
			t.Errorf("MarkdownCell(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// TestEveryRune checks Terminal and Line against the definition for every
// code point: what stays raw is printable or a plain space, newline or tab.
func TestEveryRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		s := "x" + string(r) + "x"
		for _, out := range []string{Terminal(s), Line(s)} {
			for _, o := range out {
				if bad(o) {
					t.Fatalf("U+%04X: %q passes %q raw", r, s, o)
				}
			}
		}
	}
}

// bad reports runes that must never reach a terminal raw.
func bad(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return r < 0x20 || r == 0x7f || unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) ||
		r == '\u2028' || r == '\u2029'
}

func FuzzTerminal(f *testing.F) {
	for _, tc := range hostile {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Terminal(s), Line(s), Markdown(s), MarkdownCell(s)} {
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 out of %q: %q", s, out)
			}
			prev := rune(-1)
			for _, r := range out {
				if bad(r) && !((r == zwj || r == zwnj) && !escaped(r, prev)) {
					t.Fatalf("%q passes %q raw: %q", s, r, out)
				}
				prev = r
			}
		}
		if l := Line(s); strings.ContainsAny(l, "\n\t") {
			t.Fatalf("Line(%q) = %q is not one line", s, l)
		}
	})
}

// BenchmarkLine prints the cost of neutralising an ordinary one-line
// detail, a hostile one, and a megabyte one cut to MaxLine, side by side.
func BenchmarkLine(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"plain", "approved by alice (1 of 2); still needs one from roster.ot_operations"},
		{"hostile", "\x1b]8;;http://evil\x07click\x1b]8;;\x07 deny\u202eok\r\n\u009b2J al\u200bice"},
		{"1MiB", strings.Repeat("spam ", 1<<18)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				_ = Line(bc.in)
			}
		})
	}
}
