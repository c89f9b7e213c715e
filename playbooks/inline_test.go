package playbooks

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/hashicorp/hcl/v2"
)

func TestInlineBlocks(t *testing.T) {
	src := `zone "corp_it"    { title = "Corporate IT"  purdue_level = 4 }
zone "control"    { title = "Control, { braces } = inside"   purdue_level = 2   networks = ["10.0.0.0/24", "10.0.1.0/24"] }
integration "modbus" "plc" { address = "127.0.0.1:5020" unit_id = 1 }
person "a" { slack = "U0A"  name = "A ${upper("b")}" }
roster "r" { members = [person.a] }
playbook "p" {
  wait "w" { duration = "1m" description = "x" }
  task "t" { assign = roster.r  instructions = "Check ${zone.control.title}"  needs = [wait.w] }
}
`
	m, diags := LoadSource(map[string][]byte{"a.hcl": []byte(src)})
	diags = append(diags, m.Check(actions.Builtin())...)
	if len(diags) > 0 {
		t.Fatal(diags.Error())
	}
	z := m.Config.Zones["control"]
	if z.Title != "Control, { braces } = inside" || z.PurdueLevel != 2 || len(z.Networks) != 2 {
		t.Fatalf("zone decoded as %+v", z)
	}
	if in := m.Config.Integrations["modbus.plc"]; in == nil || len(in.Settings) != 2 {
		t.Fatalf("integration decoded as %+v", in)
	}
	p, _ := m.Compile("p", actions.Builtin())
	if st := p.StepByID("task.t"); st == nil || len(st.Needs) != 1 {
		t.Fatalf("task: %+v", st)
	}

	bad := []struct {
		src, summary string
		line, col    int
	}{
		{`zone "z" { title = "A"  bogus = 1 }` + "\n", "Unsupported argument", 1, 25},
		{`zone "z" { title = "A"  title = "B" }` + "\n", "Attribute redefined", 1, 25},
		{`zone "z" { title = "A"  purdue_level = }` + "\n", "Missing expression", 1, 40},
	}
	for _, b := range bad {
		_, diags := LoadSource(map[string][]byte{"a.hcl": []byte(b.src)})
		if len(diags) == 0 || diags[0].Summary != b.summary || diags[0].Subject.Start.Line != b.line || diags[0].Subject.Start.Column != b.col {
			t.Errorf("%s: got %v, want %q at %d:%d", b.src, diags, b.summary, b.line, b.col)
		}
	}
}

// TestSpecExamples loads every HCL example of the language contract
// (../shared/spec/language.md) as one module. Every block and attribute in it
// must decode; the only errors allowed are references to things the examples
// use but never declare.
func TestSpecExamples(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join("..", "..", "shared", "spec", "language.md"))
	if err != nil {
		t.Skipf("language contract not found beside the project (%v)", err)
	}
	files := map[string][]byte{}
	re := regexp.MustCompile("(?s)```hcl\n(.*?)```")
	for i, m := range re.FindAllSubmatch(spec, -1) {
		files[filepath.Join("spec", "example"+string(rune('a'+i))+".hcl")] = m[1]
	}
	if len(files) < 5 {
		t.Fatalf("found %d HCL examples in the contract", len(files))
	}
	m, diags := LoadSource(files)
	if diags.HasErrors() {
		t.Fatalf("the contract's examples do not decode: %s", diags.Error())
	}
	diags = m.Check(actions.Builtin())
	for _, d := range diags {
		if d.Severity == hcl.DiagError && !strings.HasPrefix(d.Summary, "Reference to undeclared") {
			t.Errorf("%s: %s: %s", d.Subject, d.Summary, d.Detail)
		}
	}
	if len(m.Config.Playbooks) != 1 || len(m.Config.Exercises) != 1 || len(m.Config.Zones) != 3 {
		t.Fatalf("decoded %d playbooks, %d exercises, %d zones", len(m.Config.Playbooks), len(m.Config.Exercises), len(m.Config.Zones))
	}
}
