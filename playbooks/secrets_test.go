package playbooks

import (
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
)

func TestLineHoldsSecret(t *testing.T) {
	cases := map[string]bool{
		`  bot_token = "xoxb-123"`:               true,
		`  bot_tokn = "xoxb-123"`:                true,
		`  routing_key = R0UTE`:                  true,
		`  api_password="x"`:                     true,
		`{"slack": {"main": {"secret": "abc"}}}`: true,
		`  bot_token = env("SLACK_BOT_TOKEN")`:   false,
		`  secret = "${env("FW_HMAC")}"`:         false,
		`  description = "Rotate the token"`:     false,
		`  when = decision.x.choice == "y"`:      false,
		`  name = "Alice"`:                       false,
	}
	for line, want := range cases {
		if got := LineHoldsSecret(line); got != want {
			t.Errorf("LineHoldsSecret(%q) = %v, want %v", line, got, want)
		}
	}
}

// TestSecretLinesMarked: every diagnostic over a line holding a secret is
// marked so renderers hide the line, whatever the error is.
func TestSecretLinesMarked(t *testing.T) {
	srcs := []string{
		"integration \"slak\" \"main\" { bot_token = \"xoxb-1\" }\n",
		"integration \"slack\" \"main\" {\n  bot_tokn = \"xoxb-1\"\n}\n",
		"integration \"pagerduty\" \"x\" {\n  routing_key = R0UTE\n}\n",
		"integration \"slack\" \"main\" {\n  bot_token = \"xoxb-1\" + 1\n}\n",
	}
	for _, src := range srcs {
		m, diags := LoadSource(map[string][]byte{"a.hcl": []byte(src)})
		if !diags.HasErrors() {
			diags = m.Check(actions.Builtin())
		}
		if !diags.HasErrors() {
			t.Fatalf("%q: no error", src)
		}
		for _, d := range diags {
			if _, ok := d.Extra.(secretSource); !ok {
				t.Errorf("%q: %s not marked", src, d.Summary)
			}
			if strings.Contains(d.Detail, "xoxb") || strings.Contains(d.Detail, "R0UTE") {
				t.Errorf("%q: detail repeats the secret: %s", src, d.Detail)
			}
		}
	}
	// A diagnostic elsewhere is not marked.
	_, diags := LoadSource(map[string][]byte{"a.hcl": []byte("person \"a\" {\n  nme = \"A\"\n}\n")})
	if len(diags) != 1 || diags[0].Extra != nil {
		t.Fatalf("unexpected marking: %v", diags)
	}
}
