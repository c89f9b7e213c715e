package playbooks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
)

// generatedPlaybook writes a playbook of n steps: a mix of every step kind,
// templates that refer to earlier steps, fan-out and fan-in dependencies, and
// a safety-gated isolation every 50 steps.
func generatedPlaybook(n int) string {
	var b strings.Builder
	b.WriteString("playbook \"big\" {\n  input \"zone\" {}\n")
	for i := 0; i < n; i++ {
		prev := ""
		if i > 0 {
			prev = fmt.Sprintf("    needs = [step.s%d]\n", i-1)
			if i >= 10 {
				prev = fmt.Sprintf("    needs = [step.s%d, step.s%d]\n", i-1, i-10)
			}
		}
		switch {
		case i%50 == 49:
			fmt.Fprintf(&b, "  approval \"ok%d\" {\n    kind   = \"safety\"\n    covers = [zone.control]\n    prompt = \"Isolate after ${step.s%d.finished_at}?\"\n  }\n", i, i-1)
			fmt.Fprintf(&b, "  step \"s%d\" {\n    action = \"ot.isolate_zone\"\n    with   = { zone = zone.control, reason = \"in ${input.zone}\" }\n    needs  = [approval.ok%d]\n  }\n", i, i)
		case i%7 == 3:
			fmt.Fprintf(&b, "  step \"s%d\" {\n    action = \"slack.post\"\n    with   = { text = \"step %d: ${upper(input.zone)} ${step.s%d.status}\" }\n    when   = input.zone != \"none\"\n%s  }\n", i, i, i-1, prev)
		default:
			fmt.Fprintf(&b, "  step \"s%d\" {\n    action = \"webhook.post\"\n    with   = { integration = \"webhook.fw\", body = { n = %d, zone = input.zone } }\n    timeout = \"30s\"\n    retry {\n      attempts = 3\n      backoff  = \"5s\"\n    }\n%s  }\n", i, i, prev)
		}
	}
	b.WriteString("}\n")
	return b.String()
}

const benchBase = safetyBase + `
integration "webhook" "fw" { url = "https://fw.example/api" }
`

func benchModule(b *testing.B, n int) map[string][]byte {
	files := map[string][]byte{"base.hcl": []byte(benchBase), "big.hcl": []byte(generatedPlaybook(n))}
	m, diags := LoadSource(files)
	diags = append(diags, m.Check(actions.Builtin())...)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	if got := len(m.Config.Playbooks["big"].Steps); got < n {
		b.Fatalf("generated %d steps, want %d", got, n)
	}
	return files
}

// BenchmarkCompile compiles a generated 500-step playbook (already parsed).
// Target: under 50 ms per compile on a 2-core machine.
func BenchmarkCompile(b *testing.B) {
	files := benchModule(b, 500)
	m, _ := LoadSource(files)
	reg := actions.Builtin()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, diags := m.Compile("big", reg); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

// BenchmarkLoadAndCompile parses, decodes and compiles the same playbook from
// source, as `firebreak plan` does.
func BenchmarkLoadAndCompile(b *testing.B) {
	files := benchModule(b, 500)
	reg := actions.Builtin()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, diags := LoadSource(files)
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		if _, diags := m.Compile("big", reg); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

// manyNames writes a module of n copies of one shape, so that references and
// names both grow with n.
var manyNames = map[string]func(b *strings.Builder, n int){
	// n steps, each waiting for a step that does not exist.
	"unknown_steps": func(b *strings.Builder, n int) {
		b.WriteString("playbook \"p\" {\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(b, "  step \"s%d\" {\n    action = \"slack.post\"\n    with   = { text = \"x\" }\n    needs  = [step.q%d]\n  }\n", i, i)
		}
		b.WriteString("}\n")
	},
	// n zones and n playbooks, each naming a zone that does not exist.
	"unknown_zones": func(b *strings.Builder, n int) {
		for i := 0; i < n; i++ {
			fmt.Fprintf(b, "zone \"z%d\" { purdue_level = 2 }\nplaybook \"p%d\" {\n  step \"s\" {\n    action = \"slack.post\"\n    with   = { text = \"${zone.q%d.title}\" }\n  }\n}\n", i, i, i)
		}
	},
	// The same with every zone declared: a valid module.
	"known_zones": func(b *strings.Builder, n int) {
		for i := 0; i < n; i++ {
			fmt.Fprintf(b, "zone \"z%d\" { purdue_level = 2 }\nplaybook \"p%d\" {\n  step \"s\" {\n    action = \"slack.post\"\n    with   = { text = \"${zone.z%d.title}\" }\n  }\n}\n", i, i, i)
		}
	},
}

// BenchmarkManyNames loads and checks modules of 500 and 4,000 copies of each
// shape in manyNames, as a hostile file could hold. Time should grow about
// 8-fold from 500 to 4,000 (linear), not 64-fold; each sub-benchmark reports
// the KB of source it checks so the rows can be compared per byte.
func BenchmarkManyNames(b *testing.B) {
	for _, shape := range sortedKeys(manyNames) {
		for _, n := range []int{500, 4000} {
			var src strings.Builder
			manyNames[shape](&src, n)
			files := map[string][]byte{"m.hcl": []byte(src.String())}
			b.Run(fmt.Sprintf("%s/n=%d", shape, n), func(b *testing.B) {
				b.ReportMetric(float64(src.Len())/1024, "KB")
				for i := 0; i < b.N; i++ {
					m, diags := LoadSource(files)
					if diags.HasErrors() {
						b.Fatal(diags.Error())
					}
					m.Check(actions.Builtin())
				}
			})
		}
	}
}

// BenchmarkComparisonChain checks a when of n chained comparisons, the
// hostile shape for the comparison check (each side evaluated on its own
// would cost n squared).
func BenchmarkComparisonChain(b *testing.B) {
	for _, n := range []int{100, 1000, 4000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			files := checkCase{src: mistakeRead("input.limit" + strings.Repeat(` == "1"`, n))}.files()
			for i := 0; i < b.N; i++ {
				m, diags := LoadSource(files)
				diags = append(diags, m.Check(actions.Builtin())...)
				if len(diags) != 1 {
					b.Fatalf("%d diagnostics, want the one comparison", len(diags))
				}
			}
		})
	}
}
