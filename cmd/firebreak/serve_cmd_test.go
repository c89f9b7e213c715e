package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
)

// TestServeRefusesWhatCannotWork: serve stops before it connects anywhere
// when the front door could not work or would sign what nobody trusts.
func TestServeRefusesWhatCannotWork(t *testing.T) {
	door, err := attest.GenerateKey("slack.main")
	if err != nil {
		t.Fatal(err)
	}
	other, err := attest.GenerateKey("slack.main")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := func(s *attest.Signer) string {
		pem, err := s.MarshalPrivateKey()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "slack.key")
		if err := os.WriteFile(p, pem, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	block := func(settings string) string {
		return fmt.Sprintf("person \"ann\" { slack = \"U01ANN\" }\nintegration \"slack\" \"main\" {\n%s  public_key = %q\n}\n", settings, door.Public())
	}
	t.Setenv("FB_BOT", "xoxb-test")
	t.Setenv("FB_APP", "xapp-test")
	t.Setenv("FIREBREAK_KEY_FILE", "")
	for _, tc := range []struct {
		name string
		hcl  string
		args []string
		code int
		want string
	}{
		{"simulated", "person \"ann\" { slack = \"U01ANN\" }\nintegration \"slack\" \"main\" { simulate = true }\n", nil, exitInvalid, "simulate = true"},
		{"no key", block("  bot_token = env(\"FB_BOT\")\n  app_token = env(\"FB_APP\")\n"), nil, exitUsage, "--key-file"},
		{"untrusted key", block("  bot_token = env(\"FB_BOT\")\n  app_token = env(\"FB_APP\")\n"), []string{"--key-file", keyFile(other)}, exitInvalid, "is not the public_key the configuration declares"},
		{"nothing to serve", block("  bot_token = env(\"FB_BOT\")\n"), []string{"--key-file", keyFile(door)}, exitInvalid, "no app_token for Socket Mode and no --http-addr"},
		{"http without a secret", block("  bot_token = env(\"FB_BOT\")\n"), []string{"--key-file", keyFile(door), "--http-addr", "127.0.0.1:0"}, exitInvalid, "no signing_secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"org.hcl": tc.hcl})
			code, out, errOut := runCLI(t, append([]string{"serve", "--dir", dir}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, tc.code, tc.want, out, errOut)
			}
			if strings.Contains(out+errOut, "xoxb-test") || strings.Contains(out+errOut, "xapp-test") {
				t.Errorf("a token was printed:\n%s%s", out, errOut)
			}
		})
	}
}
