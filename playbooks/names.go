package playbooks

import (
	"fmt"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"sort"
	"strings"
	"unicode/utf8"
)

// didYouMean returns " Did you mean "x"?" for the closest candidate, or "".
// It is for short lists the product defines (severities, argument names);
// lists of what a module declares go through Config.hint, which bounds the
// work.
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// maxHintName is the longest name, in bytes, that is compared by edit
// distance: real names are far shorter, and the comparison costs the product
// of the lengths.
const maxHintName = 64

// hintBudget is how many candidate names a module may compare in all its
// did-you-mean hints. A hostile module can hold tens of thousands of
// misspelt references to tens of thousands of names; without a bound the
// hints alone take minutes. Real modules use a tiny fraction of it.
const hintBudget = 1 << 20

// hint is didYouMean for the names a module declares, charged to the
// module's hint budget: once that is spent, diagnostics still say what is
// wrong and list the known names, but no longer guess which was meant.
func (c *Config) hint(given string, candidates []string) string {
	if c.index != nil && c.index.hintsUsed.Add(int64(len(candidates))) > hintBudget {
		return ""
	}
	return didYouMean(given, candidates)
}

// suggest returns the candidate closest to given, if it is close enough to be
// a likely typo: within an edit distance of 2, or of a third of its length
// for a name longer than 6 bytes.
func suggest(given string, candidates []string) string {
	maxDist := 2
	if len(given) > 6 && len(given)/3 > maxDist {
		maxDist = len(given) / 3
	}
	best, bestDist := "", 0
	if len(given) <= maxHintName {
		g := []rune(given)
		for _, c := range candidates {
			if len(c) > maxHintName {
				continue
			}
			if n := utf8.RuneCountInString(c); n-len(g) > maxDist || len(g)-n > maxDist {
				continue // the length difference alone is too far
			}
			if dist := editDistance(g, []rune(c), maxDist); dist <= maxDist {
				if best == "" || dist < bestDist || (dist == bestDist && c < best) {
					best, bestDist = c, dist
				}
			}
		}
	}
	if best != "" || len(given) < 4 {
		return best
	}
	// A unique candidate that starts with what was typed is likely meant.
	for _, c := range candidates {
		if strings.HasPrefix(c, given) {
			if best != "" {
				return ""
			}
			best = c
		}
	}
	return best
}

// knownList renders candidates for a "Known: ..." hint, shortened when long.
func knownList(candidates []string) string {
	if len(candidates) == 0 {
		return "(none declared)"
	}
	if len(candidates) > 12 {
		return strings.Join(candidates[:12], ", ") + fmt.Sprintf(" and %d more", len(candidates)-12)
	}
	return strings.Join(candidates, ", ")
}

// editDistance returns the Levenshtein distance between a and b when it is at
// most k, and k+1 otherwise. It fills only the band of the table within k of
// the diagonal, so it costs len(a)*(2k+1) steps rather than len(a)*len(b).
func editDistance(a, b []rune, k int) int {
	if len(a) < len(b) {
		a, b = b, a
	}
	far := k + 1
	if len(a)-len(b) > k {
		return far
	}
	if len(b) == 0 {
		return len(a)
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = min(j, far)
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-k), min(len(b), i+k)
		// The cells just outside the band count as too far; those further
		// out are never read.
		cur[lo-1] = far
		if lo == 1 {
			cur[0] = min(i, far)
		}
		if hi < len(b) {
			cur[hi+1] = far
		}
		best := far
		for j := lo; j <= hi; j++ {
			v := prev[j-1]
			if a[i-1] != b[j-1] {
				v++
			}
			v = min(v, prev[j]+1, cur[j-1]+1, far)
			cur[j] = v
			best = min(best, v)
		}
		if best >= far {
			return far
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// knownListPrefixed is knownList of the names, each written prefix.name;
// only the names shown are joined.
func knownListPrefixed(prefix string, names []string) string {
	shown := names
	if len(shown) > 12 {
		shown = shown[:12]
	}
	out := make([]string, len(shown))
	for i, n := range shown {
		out[i] = prefix + "." + n
	}
	if len(names) > 12 {
		return strings.Join(out, ", ") + fmt.Sprintf(" and %d more", len(names)-12)
	}
	return knownList(out)
}

func prefixAll(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + "." + n
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// envMarker prefixes the placeholder env() returns while decoding
// integration settings; the placeholder never leaves the decoder.
const envMarker = "\x00firebreak-env:"

// envCtx evaluates integration settings: env("NAME") yields a placeholder
// naming the variable, so the secret itself is never read into a plan.
var envCtx = func() *hcl.EvalContext {
	fns := Functions()
	fns["env"] = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "name", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if !validEnvName(name) {
				// The argument is not repeated: it may be the secret itself.
				return cty.NilVal, fmt.Errorf("env() takes the name of an environment variable (letters, digits and underscores, not starting with a digit), not its value")
			}
			return cty.StringVal(envMarker + name), nil
		},
	})
	return &hcl.EvalContext{Functions: fns}
}()

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func envName(v cty.Value) (string, bool) {
	if v.Type() != cty.String || !v.IsKnown() || v.IsNull() {
		return "", false
	}
	s := v.AsString()
	if strings.HasPrefix(s, envMarker) && !strings.Contains(s[len(envMarker):], envMarker) {
		name := s[len(envMarker):]
		if validEnvName(name) {
			return name, true
		}
	}
	return "", false
}

func containsEnvMarker(v cty.Value) bool {
	found := false
	_ = cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		if x.Type() == cty.String && x.IsKnown() && !x.IsNull() && strings.Contains(x.AsString(), envMarker) {
			found = true
		}
		return !found, nil
	})
	return found
}

// explainDiags adds what the user can do to HCL's own expression
// diagnostics: the functions there are, and where env() belongs.
func explainDiags(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if d.Summary != "Call to unknown function" {
			continue
		}
		if strings.Contains(d.Detail, `named "env"`) {
			d.Detail = "env() reads a secret from the environment and is only allowed in integration settings, such as bot_token = env(\"SLACK_BOT_TOKEN\"). Playbooks never see secret values."
			continue
		}
		d.Detail += " Functions: " + strings.Join(plan.RuntimeFunctions, ", ") + "."
	}
	return diags
}

// addDiag appends a diagnostic with a formatted detail at r.
func addDiag(diags *hcl.Diagnostics, sev hcl.DiagnosticSeverity, r hcl.Range, summary, format string, args ...any) {
	*diags = append(*diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: &r})
}
