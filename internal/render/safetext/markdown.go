package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Markdown returns s as one line of literal Markdown text: white space is
// folded as Line folds it, what Terminal escapes is escaped (an exported
// record is also read with cat), and every character that could start
// Markdown syntax is escaped so the text reads as written and nothing in it
// becomes a link, an image, emphasis, code, a heading, math or HTML:
//
//   - \ ` * ~ [ ] ( ) ! | $ get a backslash;
//   - _ gets one unless it sits between letters or digits (isolate_ok stays
//     readable: such an underscore cannot start or end emphasis);
//   - # gets one at the start of the text;
//   - < > & become &lt; &gt; &amp;, so no tag and no character reference
//     (&#x202e; is a bidi override once rendered) passes through.
//
// Nothing is cut: the record keeps the whole text.
func Markdown(s string) string { return markdownEscape(LineMax(s, 0)) }

// MarkdownCell is Markdown for a table cell: line breaks in s become <br>
// (empty lines are dropped), so a multi-line reason stays in its cell and
// keeps its lines.
func MarkdownCell(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085'
	})
	var out []string
	for _, l := range lines {
		if m := Markdown(l); m != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, "<br>")
}

func markdownEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	prev := rune(-1)
	for i, r := range s {
		switch r {
		case '\\', '`', '*', '~', '[', ']', '(', ')', '!', '|', '$':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '_':
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if !alnum(prev) || !alnum(next) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '#':
			if i == 0 {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

func alnum(r rune) bool { return r >= 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }
