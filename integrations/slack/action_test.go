package slack

import (
	"strings"
	"testing"
)

func TestRefRoundTrip(t *testing.T) {
	in := Ref{Incident: "INC-20261201-4F2A", Step: "decision.scope", Round: 2, Option: "level 2 \"quoted\""}
	s, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeRef(s)
	if err != nil || out != in {
		t.Fatalf("DecodeRef(%s) = %+v, %v; want %+v", s, out, err, in)
	}
}

func TestDecodeRefRefusesOthers(t *testing.T) {
	for _, s := range []string{
		"", "approve", `{"i":"x"}`, `{"s":"y"}`, `{"i":"x","s":"y","r":-1}`,
		`{"i":"x","s":"y","extra":1}`, `{"i":"x","s":"y"}{}`, `[1]`,
		`{"i":"x","s":"` + strings.Repeat("a", MaxRefLen) + `"}`,
	} {
		if _, err := DecodeRef(s); err != ErrBadRef {
			t.Errorf("DecodeRef(%.40q) = %v; want ErrBadRef", s, err)
		}
	}
}

func TestEncodeRefusesLong(t *testing.T) {
	if _, err := (Ref{Incident: "i", Step: strings.Repeat("s", MaxRefLen)}).Encode(); err == nil {
		t.Fatal("an over-long ref encoded")
	}
}

func TestAnswerOf(t *testing.T) {
	if got := AnswerOf(ActionBreakGlass); got != "break_glass" {
		t.Errorf("AnswerOf(%q) = %q", ActionBreakGlass, got)
	}
	if got := AnswerOf("firebreak/cancel"); got != "" {
		t.Errorf("AnswerOf(firebreak/cancel) = %q; want none", got)
	}
}
