package offline

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
)

// BigPlaybookName is the playbook BigPlaybook writes.
const BigPlaybookName = "big"

// BigPlaybookSteps is the size of the compile measurement's playbook.
const BigPlaybookSteps = 500

// bigBase declares what BigPlaybook refers to: people, rosters, an
// escalation, zones, a conduit, the safety policy and a webhook.
const bigBase = `
person "alice" { slack = "U01ALICE" }
person "bob"   { slack = "U01BOB" }
person "carol" { slack = "U01CAROL" }
person "dan"   { slack = "U01DAN" }
person "erin"  { slack = "U01ERIN" }
roster "process_safety"   { members = [person.alice, person.bob] }
roster "ot_operations"    { members = [person.carol, person.dan] }
roster "shift_supervisor" { members = [person.erin] }
escalation "ot" {
  tier {
    notify     = [roster.ot_operations]
    ack_within = "5m"
  }
}
zone "dmz"     { purdue_level = 3.5 }
zone "control" { purdue_level = 2 }
zone "other"   { purdue_level = 2 }
integration "nftables" "gw" { netns = "gw" }
conduit "dmz_to_control" {
  from        = zone.dmz
  to          = zone.control
  enforcement = "nftables.gw"
}
safety {
  signoff {
    rosters           = [roster.process_safety, roster.ot_operations]
    exclude_initiator = true
    valid_for         = "15m"
  }
  break_glass {
    rosters        = [roster.shift_supervisor]
    require_reason = true
  }
}
integration "webhook" "fw" { url = "https://fw.example/api" }
`

// BigPlaybook writes playbook BigPlaybookName of n steps: a mix of step
// kinds, templates that refer to earlier steps, fan-out and fan-in
// dependencies, and a safety-gated isolation every 50 steps.
func BigPlaybook(n int) string {
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

// BigModule is the files of the compile measurement: the declarations
// BigPlaybook needs (base.hcl) and a playbook of n steps (big.hcl), checked
// to load and pass the checks.
func BigModule(n int) (map[string][]byte, error) {
	files := map[string][]byte{"base.hcl": []byte(bigBase), "big.hcl": []byte(BigPlaybook(n))}
	m, diags := playbooks.LoadSource(files)
	if !diags.HasErrors() {
		diags = append(diags, m.Check(actions.Builtin())...)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("the generated playbook does not load: %s", diags.Error())
	}
	if got := len(m.Config.Playbooks[BigPlaybookName].Steps); got < n {
		return nil, fmt.Errorf("generated %d steps, want %d", got, n)
	}
	return files, nil
}

// CompileSamples are repeated compiles of one playbook and, next to each,
// a bare parse of its source.
type CompileSamples struct {
	// Compile is playbooks.Module.Compile of the already loaded module:
	// what the compiler adds over reading the files.
	Compile Samples
	// Parse is hclsyntax.ParseConfig of the playbook's own file, nothing
	// else: the floor of reading HCL at all.
	Parse Samples
	// SourceBytes is the size of the playbook's file.
	SourceBytes int
}

// Compile measures compiling a generated playbook of steps steps n times,
// each next to a bare HCL parse of the same file.
func Compile(steps, n int) (CompileSamples, error) {
	files, err := BigModule(steps)
	if err != nil {
		return CompileSamples{}, err
	}
	m, diags := playbooks.LoadSource(files)
	if diags.HasErrors() {
		return CompileSamples{}, fmt.Errorf("loading the generated playbook: %s", diags.Error())
	}
	reg := actions.Builtin()
	src := files["big.hcl"]
	out := CompileSamples{SourceBytes: len(src)}
	for range n {
		if err := timed(&out.Parse, func() error {
			if _, diags := hclsyntax.ParseConfig(src, "big.hcl", hcl.InitialPos); diags.HasErrors() {
				return fmt.Errorf("parsing the generated playbook: %s", diags.Error())
			}
			return nil
		}); err != nil {
			return out, err
		}
		if err := timed(&out.Compile, func() error {
			if _, diags := m.Compile(BigPlaybookName, reg); diags.HasErrors() {
				return fmt.Errorf("compiling the generated playbook: %s", diags.Error())
			}
			return nil
		}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// LoadAndCompile measures parsing, decoding and compiling a generated
// playbook of steps steps from source n times, as `firebreak plan` does.
func LoadAndCompile(steps, n int) (Samples, error) {
	files, err := BigModule(steps)
	if err != nil {
		return nil, err
	}
	reg := actions.Builtin()
	var out Samples
	for range n {
		if err := timed(&out, func() error {
			m, diags := playbooks.LoadSource(files)
			if diags.HasErrors() {
				return fmt.Errorf("loading the generated playbook: %s", diags.Error())
			}
			if _, diags := m.Compile(BigPlaybookName, reg); diags.HasErrors() {
				return fmt.Errorf("compiling the generated playbook: %s", diags.Error())
			}
			return nil
		}); err != nil {
			return out, err
		}
	}
	return out, nil
}
