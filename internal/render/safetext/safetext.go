// Package safetext neutralises text that comes from people and playbooks
// (reasons, names, step details, titles, refusal messages) before it is
// shown: on a terminal, where control characters, ANSI CSI and OSC escape
// sequences (colours, cursor moves, window titles, hyperlinks), C1 controls,
// carriage returns, backspaces and bidirectional overrides could rewrite what
// a responder sees; and in Markdown, where link, image, emphasis and HTML
// syntax could change what a regulator reads.
//
// Neutralised characters are not dropped but shown as escapes a reader can
// see and recognise: ESC as \x1b, BEL as \x07, a carriage return as \r, a
// right-to-left override as \u202e, an invalid UTF-8 byte as \xff. Ordinary Unicode
// (accents, CJK, emoji, right-to-left scripts themselves) is kept. The escapes
// are for reading, not for decoding: a backslash in the text is kept as it is.
//
// JSON output needs none of this: encoding/json writes the exact text.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLine is how many characters Line keeps; the rest is replaced by a
// marker saying how many were left out.
const MaxLine = 400

// Terminal returns s safe to write to a terminal. Newlines and tabs are kept
// (a CR LF pair becomes a newline); every other control character, every C1
// control, every invisible formatting character (bidi overrides and
// isolates, zero-width spaces, byte order marks, Unicode tag characters),
// the line and paragraph separators and every byte that is not valid UTF-8
// are replaced by a visible escape.
func Terminal(s string) string {
	if clean(s, true) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	prev := rune(-1)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			writeByteEscape(&b, s[i])
			r = -1 // joins nothing
		case r == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// CR LF: the CR changes nothing on its own line.
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case escaped(r, prev):
			writeEscape(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		prev = r
		i += size
	}
	return b.String()
}

// Line returns s as one terminal line: runs of white space (newlines and
// tabs included) become one space, leading and trailing space is dropped,
// everything Terminal escapes is escaped, and text past MaxLine characters
// is cut, ending in a marker such as "… (2048 more characters)".
func Line(s string) string { return LineMax(s, MaxLine) }

// LineMax is Line with its own limit; max <= 0 keeps the whole text.
func LineMax(s string, max int) string {
	if clean(s, false) && !hasSpaceRun(s) && (max <= 0 || len(s) <= max) {
		return s
	}
	var b strings.Builder
	prev := rune(-1)
	n := 0 // characters written
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		bad := r == utf8.RuneError && size <= 1
		if !bad && unicode.IsSpace(r) {
			space = n > 0
			prev = r
			i += size
			continue
		}
		if max > 0 && n >= max {
			b.WriteString("… (")
			b.WriteString(strconv.Itoa(utf8.RuneCountInString(s[i:])))
			b.WriteString(" more characters)")
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		switch {
		case bad:
			writeByteEscape(&b, s[i])
			r = -1 // joins nothing
		case escaped(r, prev):
			writeEscape(&b, r)
		default:
			b.WriteString(s[i : i+size])
		}
		n++
		prev = r
		i += size
	}
	return b.String()
}

// clean reports whether s has nothing to escape; keepLines allows newlines
// and tabs (Terminal), otherwise (Line) they count as something to fold.
func clean(s string, keepLines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			return false // decided rune by rune elsewhere; rare enough
		case c == '\n' || c == '\t':
			if !keepLines {
				return false
			}
		case c < 0x20 || c == 0x7f:
			return false
		}
	}
	return true
}

// hasSpaceRun reports whether ASCII s has leading, trailing or doubled spaces.
func hasSpaceRun(s string) bool {
	return strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.Contains(s, "  ")
}

// Zero-width joiners, kept where they join (see escaped).
const (
	zwnj = '\u200c'
	zwj  = '\u200d'
)

// escaped reports whether r must be shown as an escape; prev is the rune
// before it (-1 at the start). Newlines and tabs are the callers' business.
func escaped(r, prev rune) bool {
	switch {
	case r < 0x20 || r == 0x7f:
		return true
	case r < 0x80:
		return false
	case r == zwnj || r == zwj:
		// They shape Arabic and Indic scripts and build emoji sequences
		// (after a letter, mark or symbol outside ASCII); between ASCII
		// letters they only hide something, e.g. in a person ID.
		return prev < 0x80 || !(unicode.IsLetter(prev) || unicode.IsMark(prev) || unicode.IsSymbol(prev))
	case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r):
		// C1 controls (U+0080-U+009F, CSI U+009B among them); formatting
		// characters: bidi embeddings, overrides and isolates, marks, zero
		// width spaces, word joiners, BOM, soft hyphens, tag characters.
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return false
}

const hexDigits = "0123456789abcdef"

// writeEscape writes r the way Go writes it in a quoted string, in hex
// (\x1b, \x07, \u202e, \U000e0041), except that a carriage return is \r,
// the one people know by name.
func writeEscape(b *strings.Builder, r rune) {
	switch {
	case r == '\r':
		b.WriteString(`\r`)
	case r < 0x80:
		writeByteEscape(b, byte(r))
	case r <= 0xffff:
		b.WriteString(`\u`)
		writeHex(b, r, 4)
	default:
		b.WriteString(`\U`)
		writeHex(b, r, 8)
	}
}

func writeByteEscape(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

func writeHex(b *strings.Builder, r rune, digits int) {
	for shift := (digits - 1) * 4; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(r>>uint(shift))&0xf])
	}
}
