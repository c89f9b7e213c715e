package playbooks

import (
	"regexp"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
)

// secretSettings are the integration settings that hold secrets.
var secretSettings = []string{"bot_token", "app_token", "signing_secret", "routing_key", "secret"}

func isSecretSetting(name string) bool { return contains(secretSettings, name) }

// assignment finds "name = value" (native syntax) and "name": value (JSON).
var assignment = regexp.MustCompile(`"?([A-Za-z_][A-Za-z0-9_-]*)"?\s*[=:]\s*([^=\s]?)`)

// looksSecret reports whether an argument name is, or is a misspelling of,
// something that holds a secret.
func looksSecret(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"token", "secret", "password", "passwd", "api_key", "apikey", "routing_key", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	for _, s := range secretSettings {
		if levenshtein.Distance(n, s, nil) <= 2 {
			return true
		}
	}
	return false
}

// LineHoldsSecret reports whether a source line assigns a value other than
// env(...) to something that looks like a secret.
func LineHoldsSecret(line string) bool {
	for _, m := range assignment.FindAllStringSubmatchIndex(line, -1) {
		name := line[m[2]:m[3]]
		rest := strings.TrimLeft(line[m[4]:], " \t\"")
		if looksSecret(name) && !strings.HasPrefix(rest, "env(") && !strings.HasPrefix(rest, "${env(") {
			return true
		}
	}
	return false
}

// MarkSecretLines marks every diagnostic whose source lines hold what looks
// like a secret, so that renderers show where it is but not the line (see
// render.SourceHider). sources maps file names to their contents.
func MarkSecretLines(diags hcl.Diagnostics, sources map[string][]byte) {
	split := map[string][]string{}
	for _, d := range diags {
		if d.Subject == nil || d.Extra != nil {
			continue
		}
		lines, ok := split[d.Subject.Filename]
		if !ok {
			lines = strings.Split(string(sources[d.Subject.Filename]), "\n")
			split[d.Subject.Filename] = lines
		}
		first, last := d.Subject.Start.Line, d.Subject.End.Line
		if last < first+2 {
			last = first + 2 // renderers show up to three lines
		}
		for n := first; n <= last && n-1 < len(lines); n++ {
			if n >= 1 && LineHoldsSecret(lines[n-1]) {
				d.Extra = secretSource{}
				break
			}
		}
	}
}
