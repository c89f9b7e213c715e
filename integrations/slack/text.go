package slack

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Slack's limits on the text objects firebreak builds, in characters.
const (
	// MaxSectionText is the longest text of a section block.
	MaxSectionText = 3000
	// MaxButtonText is the longest label of a button.
	MaxButtonText = 75
	// MaxHeaderText is the longest text of a header block.
	MaxHeaderText = 150
	// MaxContextText is the longest text of one context element.
	MaxContextText = 2000
	// MaxFallbackText is how much of a message's top-level text firebreak
	// sends (Slack truncates at 40,000).
	MaxFallbackText = 4000
	// MaxModalTitle is the longest title of a modal.
	MaxModalTitle = 24
)

// Mrkdwn makes hostile text safe inside Slack mrkdwn: control characters,
// bidirectional overrides and other invisible format characters are
// dropped (tabs become spaces, line breaks stay), '&', '<' and '>' are
// escaped as Slack asks (so no <!channel>, <@U123> or <https://…|link>
// survives), and the result is cut to max characters with "…". Formatting
// marks (*, _, ~, `) are left: they change how text looks, never what it
// links to or whom it notifies. A max below 1 means no limit.
func Mrkdwn(s string, max int) string {
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(clean(s))
	if max < 1 || utf8.RuneCountInString(s) <= max {
		return s
	}
	s = clip(s, max)
	// Never leave half an entity before the "…".
	body := strings.TrimSuffix(s, "…")
	if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.Contains(body[i:], ";") {
		body = body[:i]
	}
	return body + "…"
}

// Plain makes hostile text safe for a plain_text object (which Slack shows
// as written): the same characters are dropped as in Mrkdwn, nothing is
// escaped, and the result is cut to max characters with "…". An empty
// result becomes "-", since Slack refuses empty text objects. A max below 1
// means no limit.
func Plain(s string, max int) string {
	s = clip(clean(s), max)
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// clean drops invalid UTF-8, control characters other than line breaks, and
// invisible format characters (bidi overrides, zero-width joiners), and
// turns tabs into spaces.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteRune(r)
		case r == '\t':
			b.WriteByte(' ')
		case r == '\r', unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == '\u2028', r == '\u2029':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clip cuts s to max characters, ending it with "…" when it was cut.
func clip(s string, max int) string {
	if max < 1 || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
