package playbooks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// didYouMean returns " Did you mean "x"?" for the closest candidate, or "".
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// suggest returns the candidate closest to given, if it is close enough to be
// a likely typo.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		dist := levenshtein.Distance(given, c, nil)
		if dist < 3 || (len(given) > 6 && dist <= len(given)/3) {
			if best == "" || dist < bestDist || (dist == bestDist && c < best) {
				best, bestDist = c, dist
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
