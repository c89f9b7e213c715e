package playbooks

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
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
// env(...) to something that looks like a secret, or holds a URL that carries
// a credential (see credentialInURL).
func LineHoldsSecret(line string) bool {
	if credentialInURL(line) != "" {
		return true
	}
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

// urlPattern finds URLs with a scheme in text.
var urlPattern = regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://[^\s"'<>\x60\\]+`)

// credentialInURL says how a URL in text carries a credential: user-info, a
// known webhook service whose path is the secret, a query parameter named
// like a secret, or a path segment that looks like a random token. It returns
// "" when no URL in text does. The answer never quotes the credential.
func credentialInURL(text string) string {
	if !strings.Contains(text, "://") {
		return ""
	}
	for _, raw := range urlPattern.FindAllString(text, -1) {
		u, err := url.Parse(strings.TrimRight(raw, ".,;:)]}"))
		if err != nil || u.Host == "" {
			continue
		}
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				return "carries a user name and password before the host"
			}
			return "carries a user name or token before the host"
		}
		host := strings.ToLower(u.Hostname())
		switch {
		case host == "hooks.slack.com":
			return "is a Slack webhook URL, whose path is the credential"
		case (host == "discord.com" || host == "discordapp.com") && strings.HasPrefix(u.Path, "/api/webhooks/"):
			return "is a Discord webhook URL, whose path is the credential"
		case strings.HasSuffix(host, ".webhook.office.com"):
			return "is a Microsoft Teams webhook URL, whose path is the credential"
		}
		for _, q := range strings.Split(u.RawQuery, "&") {
			name, value, _ := strings.Cut(q, "=")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			if value != "" && secretParam(name) {
				return fmt.Sprintf("carries a credential in its query parameter %q", name)
			}
		}
		for _, seg := range strings.Split(u.EscapedPath(), "/") {
			if tokenLike(seg) {
				return "carries what looks like a token in its path"
			}
		}
	}
	return ""
}

// secretParam reports whether a query parameter name is one that carries a
// credential: token=, key=, sig=, api_key=, access_token=, X-Amz-Signature=...
func secretParam(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "key", "sig", "auth", "pass", "pwd":
		return true
	}
	for _, w := range []string{"token", "secret", "password", "passwd", "signature", "credential", "apikey", "api_key", "api-key"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return strings.HasSuffix(n, "_key") || strings.HasSuffix(n, "-key")
}

// uuidPattern matches a UUID, which names a resource rather than unlocking it.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// tokenLike reports whether a path segment looks like a random token rather
// than a word: long, of letters, digits, - and _ only, with both letters and
// digits, and changing between lower case, upper case, digits and the rest
// far more often than words and numbers written together do.
func tokenLike(seg string) bool {
	if len(seg) < 20 || uuidPattern.MatchString(seg) {
		return false
	}
	class := func(c byte) int {
		switch {
		case c >= 'a' && c <= 'z':
			return 0
		case c >= 'A' && c <= 'Z':
			return 1
		case c >= '0' && c <= '9':
			return 2
		case c == '-' || c == '_':
			return 3
		}
		return -1
	}
	var seen [4]bool
	changes := 0
	for i := 0; i < len(seg); i++ {
		k := class(seg[i])
		if k < 0 {
			return false
		}
		seen[k] = true
		if i > 0 && k != class(seg[i-1]) {
			changes++
		}
	}
	return (seen[0] || seen[1]) && seen[2] && changes*3 >= len(seg)
}

// credentialWarning is the warning for a literal value that holds a URL
// carrying a credential; where names the attribute, also says where else the
// value ends up, fix says what to write instead. It hides the source line and
// never quotes the value.
func credentialWarning(r hcl.Range, where, why, also, fix string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Credential in a URL",
		Detail: fmt.Sprintf("%s holds a URL that %s. Written into the file, the credential is in version control%s. %s Then rotate the credential.",
			where, why, also, fix),
		Subject: &r,
		Extra:   secretSource{},
	}
}

// valueCredential finds a URL carrying a credential in any string of v.
func valueCredential(v cty.Value) string {
	why := ""
	if !v.IsKnown() || v.IsNull() {
		return ""
	}
	switch {
	case v.Type() == cty.String:
		return credentialInURL(v.AsString())
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next() && why == ""; {
			_, e := it.Element()
			why = valueCredential(e)
		}
	}
	return why
}

// exprCredential finds a URL carrying a credential in any literal string of
// a compiled expression, including the literal parts of a template.
func exprCredential(e *plan.Expr) string {
	if e == nil {
		return ""
	}
	if e.Value != nil {
		if why := anyCredential(e.Value.V); why != "" {
			return why
		}
	}
	for _, a := range e.Args {
		if why := exprCredential(a); why != "" {
			return why
		}
	}
	return ""
}

func anyCredential(v any) string {
	switch v := v.(type) {
	case string:
		return credentialInURL(v)
	case []any:
		for _, e := range v {
			if why := anyCredential(e); why != "" {
				return why
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if why := anyCredential(v[k]); why != "" {
				return why
			}
		}
	}
	return ""
}
