package slack

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMrkdwnNeutralises(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<!channel> approve now", "&lt;!channel&gt; approve now"},
		{"<https://evil.example|click>", "&lt;https://evil.example|click&gt;"},
		{"a & b", "a &amp; b"},
		{"ok\x1b[31mred\x07", "ok[31mred"},
		{"left\u202eright", "leftright"},
		{"two\r\nlines\tand tab", "two\nlines and tab"},
		{"*bold* _it_", "*bold* _it_"},
	} {
		if got := Mrkdwn(tc.in, 0); got != tc.want {
			t.Errorf("Mrkdwn(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestMrkdwnAndPlainClip(t *testing.T) {
	long := strings.Repeat("é<", 5000)
	for name, got := range map[string]string{"Mrkdwn": Mrkdwn(long, MaxSectionText), "Plain": Plain(long, MaxSectionText)} {
		if n := utf8.RuneCountInString(got); n > MaxSectionText*4 {
			t.Errorf("%s kept %d characters", name, n)
		}
		if !strings.HasSuffix(got, "…") {
			t.Errorf("%s did not mark the cut", name)
		}
	}
	if n := utf8.RuneCountInString(Plain(long, MaxButtonText)); n != MaxButtonText {
		t.Errorf("Plain kept %d characters; want %d", n, MaxButtonText)
	}
	if got := Mrkdwn("short", 10); got != "short" {
		t.Errorf("Mrkdwn cut a short text: %q", got)
	}
}

func TestPlainNeverEmpty(t *testing.T) {
	if got := Plain("\x00\u200b", 10); got != "-" {
		t.Errorf("Plain of invisible text = %q; want -", got)
	}
}

func TestMrkdwnNeverCutsAnEntity(t *testing.T) {
	for max := 2; max < 12; max++ {
		got := Mrkdwn(strings.Repeat("<", 20), max)
		if utf8.RuneCountInString(got) > max {
			t.Errorf("Mrkdwn(max %d) kept %d characters", max, utf8.RuneCountInString(got))
		}
		if body := strings.TrimSuffix(got, "…"); strings.Count(body, "&") != strings.Count(body, ";") {
			t.Errorf("Mrkdwn(max %d) = %q cuts an entity", max, got)
		}
	}
}
