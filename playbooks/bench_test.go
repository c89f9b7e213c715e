package playbooks

import (
	"fmt"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
)

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
