package playbooks

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/agext/levenshtein"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
)

// TestEditDistance: the banded distance agrees with the full one whenever
// that is within the bound, and says "too far" otherwise.
func TestEditDistance(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("ab_.é")
	word := func() []rune {
		w := make([]rune, r.IntN(12))
		for i := range w {
			w[i] = alphabet[r.IntN(len(alphabet))]
		}
		return w
	}
	for i := 0; i < 20000; i++ {
		a, b, k := word(), word(), r.IntN(6)
		full := levenshtein.Distance(string(a), string(b), nil)
		want := min(full, k+1)
		if got := editDistance(a, b, k); got != want {
			t.Fatalf("editDistance(%q, %q, %d) = %d, want %d (full distance %d)", string(a), string(b), k, got, want, full)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"edr.contain_host", "slack.open_channel", "slack.post", "plant3_control", "plant3_dmz"}
	cases := map[string]string{
		"slack.opne_channel": "slack.open_channel",
		"slack.pots":         "slack.post",
		"plant3_contrl":      "plant3_control",
		"plant3_d":           "plant3_dmz", // a unique prefix
		"zzz":                "",
		"edr.contain_hostXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX": "",
	}
	for given, want := range cases {
		if got := suggest(given, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", given, got, want)
		}
	}
}

// TestHintBudget: once a module has compared hintBudget names for hints,
// diagnostics keep saying what is wrong but stop guessing.
func TestHintBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("playbook \"p\" {\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "step \"s%d\" {\n  action = \"slack.post\"\n  with = { text = \"x\" }\n  needs = [step.q%d]\n}\n", i, i)
	}
	b.WriteString("}\n")
	m, diags := LoadSource(map[string][]byte{"p.hcl": []byte(b.String())})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	diags = m.Check(actions.Builtin())
	hinted, unhinted := 0, 0
	for _, d := range diags {
		if d.Summary != "Reference to undeclared step" {
			continue
		}
		if strings.Contains(d.Detail, "Did you mean") {
			hinted++
		} else {
			unhinted++
		}
		if !strings.Contains(d.Detail, "Known step blocks: step.s0, step.s1,") || !strings.Contains(d.Detail, "and 1988 more") {
			t.Fatalf("detail lacks the known names: %s", d.Detail)
		}
	}
	// Each of the 2,000 hints compares the 2,000 steps.
	if want := hintBudget / 2000; hinted != want || unhinted != 2000-want {
		t.Fatalf("%d hinted, %d not; want %d hinted (the budget) and the rest not", hinted, unhinted, want)
	}
}
