package playbooks

import (
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/hashicorp/hcl/v2"
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
		`  url = "https://ops:pw@fw.example/"`:   true,
		`  url = "https://fw.example/api/block"`: false,
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

// TestCredentialInURL: URLs that carry a credential are recognised, ordinary
// ones are not.
func TestCredentialInURL(t *testing.T) {
	cases := []struct {
		text string
		want string // fragment of the reason; "" for none
	}{
		{"https://user:hunter2@fw.example/api/block", "user name and password"},
		{"https://ghp_abcdef@git.example/repo", "user name or token"},
		{"https://hooks.slack.com/services/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", "Slack webhook"},
		{"https://hooks.slack.com/triggers/T0AAA/123/abc", "Slack webhook"},
		{"https://discord.com/api/webhooks/123456/abcDEF", "Discord webhook"},
		{"https://northwind.webhook.office.com/webhookb2/abc", "Teams webhook"},
		{"https://fw.example/api/block?token=s3cr3t", `query parameter "token"`},
		{"https://fw.example/api/block?a=1&key=s3cr3t", `query parameter "key"`},
		{"https://fw.example/api/block?secret=s3cr3t", `query parameter "secret"`},
		{"https://blob.example/x?sv=2020&sig=s3cr3t", `query parameter "sig"`},
		{"https://fw.example/api?api_key=s3cr3t", `query parameter "api_key"`},
		{"https://fw.example/api?access_token=s3cr3t", `query parameter "access_token"`},
		{"https://s3.example/b/o?X-Amz-Signature=abc", `query parameter "X-Amz-Signature"`},
		{"https://fw.example/api?client_key=s3cr3t", `query parameter "client_key"`},
		{"https://fw.example/hook/aB3dE5fG7hJ9kL1mN3pQ5rS7", "token in its path"},
		{"https://fw.example/hook/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", "token in its path"},
		{`  url = "https://fw.example/x?token=abc"`, `query parameter "token"`},
		{`{"url": "https://u:p@fw.example/"}`, "user name and password"},

		{"https://fw.example/api/block", ""},
		{"https://edr.northwind.example/api/v1/contain", ""},
		{"https://fw.example/api/block?zone=plant3&dry_run=true", ""},
		{"https://fw.example/api?token=", ""},
		{"https://fw.example/tenants/3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b/block", ""},
		{"https://fw.example/runbooks/isolate-zone-control-network-2024", ""},
		{"https://fw.example/IsolatePlantThreeControlNetwork2024", ""},
		{"https://wiki.example/OT_Ransomware_Containment_v2", ""},
		{"https://fw.example/api/block#key=x", ""},
		{"mailto:ops@example.com", ""},
		{"127.0.0.1:5020", ""},
		{"user:pass@host without a scheme", ""},
		{"see https://fw.example/api/block.", ""},
		{"Rotate the token", ""},
	}
	for _, tc := range cases {
		got := credentialInURL(tc.text)
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%q: flagged (%s), want not", tc.text, got)
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%q: got %q, want %q", tc.text, got, tc.want)
		}
		for _, secret := range []string{"hunter2", "s3cr3t", "xYzAbC", "aB3dE5"} {
			if strings.Contains(got, secret) {
				t.Errorf("%q: the reason quotes the credential: %s", tc.text, got)
			}
		}
	}
}

// TestCredentialURLWarnings: a literal URL carrying a credential, in an
// integration setting or a playbook string, is a warning that suggests env(),
// hides the line and never repeats the value; ordinary URLs pass.
func TestCredentialURLWarnings(t *testing.T) {
	const step = "playbook \"p\" {\n  step \"s\" {\n    action = \"webhook.post\"\n    with = {\n      integration = \"webhook.fw\"\n      body = { note = %s }\n    }\n  }\n}\n"
	cases := []struct {
		name, file, src string
		where           string // fragment naming the place; "" for no warning
		fix             string
	}{
		{"webhook url with user-info", "a.hcl", `integration "webhook" "fw" { url = "https://ops:hunter2@fw.example/api/block" }`,
			"url of integration webhook.fw", `url = env("WEBHOOK_FW_URL")`},
		{"pagerduty api_url with a key", "a.hcl", "integration \"pagerduty\" \"pd\" {\n  routing_key = env(\"PD\")\n  api_url = \"https://pd.example/v2?api_key=s3cr3tvalue\"\n}\n",
			"api_url of integration pagerduty.pd", `api_url = env("PAGERDUTY_PD_API_URL")`},
		{"Slack webhook in JSON", "a.hcl.json", `{"integration": {"webhook": {"chat": {"url": "https://hooks.slack.com/services/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"}}}}`,
			"url of integration webhook.chat", `url = env("WEBHOOK_CHAT_URL")`},
		{"token in a with argument", "b.hcl", "integration \"webhook\" \"fw\" { url = \"https://fw.example/api/block\" }\n" +
			strings.Replace(step, "%s", `"https://fw.example/cb?token=s3cr3tvalue"`, 1),
			`Argument "body" of webhook.post`, "integration"},
		{"token in a message template", "b.hcl", "playbook \"p\" {\n  notify \"n\" {\n    message = \"Runbook: https://wiki.example/r?sig=s3cr3tvalue for ${incident.id}\"\n  }\n}\n",
			"The message of notify.n", "env("},
		{"ordinary webhook url", "a.hcl", `integration "webhook" "fw" { url = "https://fw.example/api/block" }`, "", ""},
		{"ordinary url in a with argument", "b.hcl", "integration \"webhook\" \"fw\" { url = \"https://fw.example/api/block\" }\n" +
			strings.Replace(step, "%s", `"https://wiki.example/runbooks/ot-ransomware?section=3"`, 1), "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(safetyBase), tc.file: []byte(tc.src)})
			if !diags.HasErrors() {
				diags = append(diags, m.Check(actions.Builtin())...)
			}
			var warns []*hcl.Diagnostic
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					t.Fatalf("unexpected error: %s: %s", d.Summary, d.Detail)
				}
				if d.Summary == "Credential in a URL" {
					warns = append(warns, d)
				}
				for _, secret := range []string{"hunter2", "s3cr3tvalue", "xYzAbC"} {
					if strings.Contains(d.Detail, secret) {
						t.Errorf("%s repeats the credential: %s", d.Summary, d.Detail)
					}
				}
			}
			if tc.where == "" {
				if len(warns) != 0 {
					t.Fatalf("unexpected warning: %s", warns[0].Detail)
				}
				return
			}
			if len(warns) != 1 {
				t.Fatalf("want one Credential in a URL warning, got %v", diags)
			}
			w := warns[0]
			if w.Subject == nil || w.Subject.Filename != tc.file {
				t.Errorf("subject %v, want in %s", w.Subject, tc.file)
			}
			if _, ok := w.Extra.(secretSource); !ok {
				t.Errorf("the warning does not hide its source line")
			}
			for _, s := range []string{tc.where, tc.fix} {
				if !strings.Contains(w.Detail, s) {
					t.Errorf("detail %q lacks %q", w.Detail, s)
				}
			}
		})
	}
}
