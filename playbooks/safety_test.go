package playbooks

import (
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/hashicorp/hcl/v2"
)

// safetyBase is the organisation every safety case shares.
const safetyBase = `
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
`

func compileSafety(t *testing.T, playbook string) (*Module, hcl.Diagnostics) {
	t.Helper()
	m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(safetyBase), "pb.hcl": []byte(playbook)})
	if diags.HasErrors() {
		t.Fatalf("decode: %s", diags.Error())
	}
	return m, m.Check(actions.Builtin())
}

func TestSafetyCheckRejects(t *testing.T) {
	cases := []struct {
		name     string
		hcl      string
		line     int // line of the offending step header in pb.hcl
		contains []string
	}{
		{
			name: "no approval at all",
			hcl: `playbook "p" {
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
  }
}`,
			line:     2,
			contains: []string{"step.isolate runs ot.isolate_zone on zone.control", `approval "isolate_ok"`},
		},
		{
			name: "isolation on a parallel branch without the approval",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate_a" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
  }
  step "isolate_b" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
  }
}`,
			line:     12,
			contains: []string{"approval.ok covers zone.control but step.isolate_b does not wait for it", "add it to needs"},
		},
		{
			name: "approval covering a different zone",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.other]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
  }
}`,
			line:     4, // at covers, the likely mistake
			contains: []string{"approval.ok covers zone.other, not zone.control", "If approval.ok is the sign-off for step.isolate, fix its covers: covers = [zone.control], or [zone.other, zone.control] if it signs off both.\nOtherwise, if step.isolate needs a sign-off of its own, add one"},
		},
		{
			name: "conditional approval guarding an unconditional isolation",
			hcl: `playbook "p" {
  decision "d" {
    ask      = [roster.ot_operations]
    question = "Isolate?"
    options  = ["yes", "no"]
  }
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    when   = decision.d.choice == "yes"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
  }
}`,
			line:     13,
			contains: []string{`approval.ok only runs when decision.d.choice == "yes"`, "does not carry that same when"},
		},
		{
			name: "conditional approval, step with a different condition",
			hcl: `playbook "p" {
  decision "d" {
    ask      = [roster.ot_operations]
    question = "Isolate?"
    options  = ["yes", "no"]
  }
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    when   = decision.d.choice == "yes"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
    when   = decision.d.choice != "no"
  }
}`,
			line:     13,
			contains: []string{"does not carry that same when"},
		},
		{
			name: "break-glass roster as a standard approval only",
			hcl: `playbook "p" {
  approval "supervisor" {
    approvers = [roster.shift_supervisor]
    prompt    = "Emergency isolation?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.supervisor]
  }
}`,
			line:     6,
			contains: []string{"none does"},
		},
		{
			name: "block_conduit gated for the from zone, not the protected to zone",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.dmz]
    prompt = "Cut?"
  }
  step "cut" {
    action = "ot.block_conduit"
    with   = { conduit = conduit.dmz_to_control }
    needs  = [approval.ok]
  }
}`,
			line:     4,
			contains: []string{"ot.block_conduit on zone.control", "approval.ok covers zone.dmz, not zone.control", "fix its covers: covers = [zone.control], or [zone.dmz, zone.control]"},
		},
		{
			name: "restore_conduit with no sign-off",
			hcl: `playbook "p" {
  step "reopen" {
    action = "ot.restore_conduit"
    with   = { conduit = conduit.dmz_to_control }
  }
}`,
			line:     2,
			contains: []string{"step.reopen runs ot.restore_conduit on zone.control", `approval "reopen_ok"`},
		},
		{
			name: "restore_conduit gated for the from zone, not the protected to zone",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.dmz]
    prompt = "Reopen?"
  }
  step "reopen" {
    action = "ot.restore_conduit"
    with   = { conduit = conduit.dmz_to_control }
    needs  = [approval.ok]
  }
}`,
			line:     4,
			contains: []string{"ot.restore_conduit on zone.control", "approval.ok covers zone.dmz, not zone.control"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := compileSafety(t, tc.hcl)
			var found *hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == "Safety-critical step without a safety sign-off" {
					found = d
				} else if d.Severity == hcl.DiagError {
					t.Errorf("unexpected error: %s: %s", d.Summary, d.Detail)
				}
			}
			if found == nil {
				t.Fatalf("no safety error; diagnostics: %v", diags)
			}
			if found.Subject == nil || found.Subject.Filename != "pb.hcl" || found.Subject.Start.Line != tc.line {
				t.Errorf("error at %v, want pb.hcl line %d", found.Subject, tc.line)
			}
			for _, s := range tc.contains {
				if !strings.Contains(found.Detail, s) {
					t.Errorf("detail %q does not contain %q", found.Detail, s)
				}
			}
		})
	}
}

func TestSafetyCheckErrorsOtherThanGating(t *testing.T) {
	cases := []struct {
		name, hcl, summary, contains string
	}{
		{
			name: "break_glass is not an approval kind",
			hcl: `playbook "p" {
  approval "bg" {
    kind      = "break_glass"
    approvers = [roster.shift_supervisor]
    prompt    = "Force?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.bg]
  }
}`,
			summary:  "Break-glass is not an approval kind",
			contains: "never satisfies the safety check",
		},
		{
			name: "target only known at run time",
			hcl: `playbook "p" {
  input "zone" {}
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = input.zone }
    needs  = [approval.ok]
  }
}`,
			summary:  "Invalid argument",
			contains: "must be known when the playbook is compiled",
		},
		{
			name: "empty covers",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = []
    prompt = "Isolate?"
  }
}`,
			summary:  "Safety approval without covers",
			contains: "covers = [zone.NAME]",
		},
		{
			name: "covers on a standard approval",
			hcl: `playbook "p" {
  approval "ok" {
    covers    = [zone.control]
    approvers = [roster.ot_operations]
    prompt    = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
  }
}`,
			summary:  "covers on a standard approval",
			contains: "never satisfies the safety check",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := compileSafety(t, tc.hcl)
			for _, d := range diags {
				if d.Summary == tc.summary && strings.Contains(d.Detail, tc.contains) {
					return
				}
			}
			t.Fatalf("no %q error containing %q; got %v", tc.summary, tc.contains, diags)
		})
	}
}

func TestSafetyCheckAccepts(t *testing.T) {
	cases := []struct {
		name, hcl string
		step      string
		guarded   []string
	}{
		{
			name: "direct needs",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
  }
}`,
			step: "step.isolate", guarded: []string{"approval.ok"},
		},
		{
			name: "through an intermediate step",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control, zone.other]
    prompt = "Isolate?"
  }
  task "brief" {
    assign       = roster.ot_operations
    instructions = "Brief the control room."
    needs        = [approval.ok]
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [task.brief]
  }
}`,
			step: "step.isolate", guarded: []string{"approval.ok"},
		},
		{
			name: "through a reference instead of needs",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with = {
      zone   = zone.control
      reason = "signed off by ${join(", ", approval.ok.approved_by)}"
    }
  }
}`,
			step: "step.isolate", guarded: []string{"approval.ok"},
		},
		{
			name: "conditional approval and step with the same condition",
			hcl: `playbook "p" {
  decision "d" {
    ask      = [roster.ot_operations]
    question = "Isolate?"
    options  = ["yes", "no"]
  }
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    when   = decision.d.choice == "yes"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
    when   = decision.d.choice   ==   "yes"
  }
}`,
			step: "step.isolate", guarded: []string{"approval.ok"},
		},
		{
			name: "block_conduit gated for its protected zone",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Cut?"
  }
  step "cut" {
    action = "ot.block_conduit"
    with   = { conduit = conduit.dmz_to_control }
    needs  = [approval.ok]
  }
}`,
			step: "step.cut", guarded: []string{"approval.ok"},
		},
		{
			name: "restore_conduit gated for its protected zone",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Reopen?"
  }
  step "reopen" {
    action = "ot.restore_conduit"
    with   = { conduit = conduit.dmz_to_control }
    needs  = [approval.ok]
  }
}`,
			step: "step.reopen", guarded: []string{"approval.ok"},
		},
		{
			name: "two guards on joining branches",
			hcl: `playbook "p" {
  approval "a" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "A?"
  }
  approval "b" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "B?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.a, approval.b]
  }
}`,
			step: "step.isolate", guarded: []string{"approval.a", "approval.b"},
		},
		{
			// The contract's rule: a sign-off covers its zone for every later
			// step; whether it is still fresh is for the run to judge.
			name: "a sign-off guards a later restore of the same zone",
			hcl: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
  }
  step "restore" {
    action = "ot.restore_zone"
    with   = { zone = zone.control }
    needs  = [step.isolate]
  }
}`,
			step: "step.restore", guarded: []string{"approval.ok"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, diags := compileSafety(t, tc.hcl)
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %s", diags.Error())
			}
			p, diags := m.Compile("p", actions.Builtin())
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			st := p.StepByID(tc.step)
			if st == nil || st.Action == nil {
				t.Fatalf("no action step %s", tc.step)
			}
			if strings.Join(st.Action.GuardedBy, ",") != strings.Join(tc.guarded, ",") {
				t.Fatalf("guarded_by = %v, want %v", st.Action.GuardedBy, tc.guarded)
			}
			if !st.Action.SafetyCritical || st.Action.Target != "control" {
				t.Fatalf("step not marked safety-critical on zone control: %+v", st.Action)
			}
			if p.Safety == nil || len(p.Safety.Signoff.Groups) != 2 || p.Safety.BreakGlass == nil {
				t.Fatalf("plan does not carry the safety policy: %+v", p.Safety)
			}
		})
	}
}

// TestQuorumWithSlackUsergroup: a roster whose members come from a Slack user
// group cannot be counted at compile time, so its quorum is not judged then.
func TestQuorumWithSlackUsergroup(t *testing.T) {
	src := `
person "a" { slack = "U0A" }
roster "safety" { slack_usergroup = "S0SAFETY" }
roster "ops"    { members = [person.a] }
safety {
  signoff {
    rosters = [roster.safety, roster.ops]
  }
}
`
	m, diags := LoadSource(map[string][]byte{"a.hcl": []byte(src)})
	diags = append(diags, m.Check(actions.Builtin())...)
	if len(diags) > 0 {
		t.Fatal(diags.Error())
	}
}

func TestEachAndTimeoutRules(t *testing.T) {
	src := `playbook "p" {
  input "hosts" { type = list(string) }
  step "s" {
    action   = "edr.contain_host"
    for_each = input.hosts
    with     = { host = each.value }
    when     = each.value != ""
  }
  task "t" {
    assign       = roster.ot_operations
    instructions = "x"
    on_timeout   = escalation.ot
  }
}`
	_, diags := compileSafety(t, src)
	if !hasSummary(diags, "each outside for_each") {
		t.Errorf("each in when accepted: %v", diags)
	}
	if !hasSummary(diags, "on_timeout without timeout") {
		t.Errorf("on_timeout without timeout not reported: %v", diags)
	}
}

func TestLiteralConditionsAndNeeds(t *testing.T) {
	gate := func(when string) string {
		return `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    when   = ` + when + `
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.ok]
  }
}`
	}
	if _, diags := compileSafety(t, gate("true")); len(diags) > 0 {
		t.Errorf("when = true is no condition, yet: %v", diags)
	}
	_, diags := compileSafety(t, gate("false"))
	found := false
	for _, d := range diags {
		if d.Summary == "Safety-critical step without a safety sign-off" && strings.Contains(d.Detail, "approval.ok only runs when false") {
			found = true
		}
	}
	if !found {
		t.Errorf("when = false approval accepted or garbled: %v", diags)
	}

	_, diags = compileSafety(t, `playbook "p" {
  wait "w" {
    duration = "1m"
    needs    = [zone.control]
  }
}`)
	if !hasSummary(diags, "Invalid needs entry") {
		t.Errorf("needs = [zone.control]: %v", diags)
	}

	_, diags = LoadSource(map[string][]byte{"pb.hcl": []byte(`playbook "p" {
  input "n" {
    type    = number
    default = 1e400
  }
}`)})
	if !hasSummary(diags, "Invalid default") {
		t.Errorf("default = 1e400: %v", diags)
	}
}

func TestLoadSameFileTwice(t *testing.T) {
	m, diags := Load(libraryDir, "./"+libraryDir+"/people.hcl", libraryDir+"//safety.hcl")
	if len(diags) > 0 {
		t.Fatalf("loading a file twice under different spellings: %s", diags.Error())
	}
	if len(m.Config.Playbooks) < 4 {
		t.Fatal("library not loaded")
	}
}

// TestIsolationThatCutsNothingWarns: isolating or restoring a zone with no
// conduit into it that isolation would cut compiles, with a warning at the
// step, since the action would change nothing.
func TestIsolationThatCutsNothingWarns(t *testing.T) {
	const keepOpen = `
conduit "sis_to_other" {
  from                   = zone.dmz
  to                     = zone.other
  enforcement            = "nftables.gw"
  keep_open_on_isolation = true
}`
	cases := []struct {
		name, action, zone, extra string
		want                      []string // fragments of the warning; none for no warning
	}{
		{"isolating a zone with conduits into it", "ot.isolate_zone", "control", "", nil},
		{"isolating a zone nothing leads into", "ot.isolate_zone", "other", "", []string{"step.act runs ot.isolate_zone on zone.other", "no conduit leads into it"}},
		{"a zone whose conduits only lead out", "ot.restore_zone", "dmz", "", []string{"no conduit leads into it"}},
		{"only keep-open conduits", "ot.isolate_zone", "other", keepOpen, []string{"(conduit.sis_to_other) are marked keep_open_on_isolation"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(safetyBase + c.extra), "pb.hcl": []byte(`playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.` + c.zone + `]
    prompt = "Go?"
  }
  step "act" {
    action = "` + c.action + `"
    with   = { zone = zone.` + c.zone + ` }
    needs  = [approval.ok]
  }
}`)})
			if diags.HasErrors() {
				t.Fatalf("decode: %s", diags.Error())
			}
			diags = m.Check(actions.Builtin())
			if diags.HasErrors() {
				t.Fatalf("errors: %s", diags.Error())
			}
			var warns []*hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == "Isolation would cut nothing" {
					warns = append(warns, d)
				}
			}
			if len(c.want) == 0 {
				if len(warns) != 0 {
					t.Fatalf("unexpected warning: %s", warns[0].Detail)
				}
				return
			}
			if len(warns) != 1 || warns[0].Severity != hcl.DiagWarning || warns[0].Subject == nil || warns[0].Subject.Start.Line != 7 {
				t.Fatalf("want one warning at pb.hcl:7, got %v", diags)
			}
			for _, w := range c.want {
				if !strings.Contains(warns[0].Detail, w) {
					t.Errorf("warning %q lacks %q", warns[0].Detail, w)
				}
			}
		})
	}
}

// TestConduitWithoutEnforcement: a safety-critical step that would cut a
// conduit with no enforcement point is an error at the step, naming the
// conduit and where it is declared; conduits the step leaves alone may go
// without one.
func TestConduitWithoutEnforcement(t *testing.T) {
	const bareInto = `
conduit "it_to_control" {
  from = zone.dmz
  to   = zone.control
}`
	const bareOut = `
conduit "control_to_dmz" {
  from = zone.control
  to   = zone.dmz
}`
	const bareKept = `
conduit "sis_to_control" {
  from                   = zone.other
  to                     = zone.control
  keep_open_on_isolation = true
}`
	const twoBare = bareInto + `
conduit "vendor_to_control" {
  from = zone.other
  to   = zone.control
}`
	cases := []struct {
		name, action, arg, extra string
		want                     []string // fragments of the error; none for no error
	}{
		{"isolating a zone a bare conduit leads into", "ot.isolate_zone", "zone = zone.control", bareInto,
			[]string{"step.act runs ot.isolate_zone", "cuts conduit conduit.it_to_control", `enforcement = "nftables.NAME"`, "keep_open_on_isolation = true", "conduit.it_to_control is declared at base.hcl:"}},
		{"restoring it", "ot.restore_zone", "zone = zone.control", bareInto,
			[]string{"step.act runs ot.restore_zone", "conduit.it_to_control"}},
		{"two bare conduits", "ot.isolate_zone", "zone = zone.control", twoBare,
			[]string{"cuts conduits conduit.it_to_control, conduit.vendor_to_control, but they have no enforcement"}},
		{"blocking a bare conduit", "ot.block_conduit", "conduit = conduit.it_to_control", bareInto,
			[]string{"step.act runs ot.block_conduit", "cuts conduit conduit.it_to_control"}},
		{"a bare conduit leading out of the zone", "ot.isolate_zone", "zone = zone.control", bareOut, nil},
		{"a bare conduit kept open", "ot.isolate_zone", "zone = zone.control", bareKept, nil},
		{"blocking an enforced conduit next to a bare one", "ot.block_conduit", "conduit = conduit.dmz_to_control", bareInto, nil},
		{"reopening a bare conduit", "ot.restore_conduit", "conduit = conduit.it_to_control", bareInto,
			[]string{"step.act runs ot.restore_conduit", "conduit.it_to_control"}},
		{"isolating another zone", "ot.isolate_zone", "zone = zone.dmz", bareInto + `
conduit "control_to_dmz" {
  from        = zone.control
  to          = zone.dmz
  enforcement = "nftables.gw"
}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(safetyBase + c.extra), "pb.hcl": []byte(`playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control, zone.dmz]
    prompt = "Go?"
  }
  step "act" {
    action = "` + c.action + `"
    with   = { ` + c.arg + ` }
    needs  = [approval.ok]
  }
}`)})
			if diags.HasErrors() {
				t.Fatalf("decode: %s", diags.Error())
			}
			diags = m.Check(actions.Builtin())
			var errs hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs = append(errs, d)
				}
			}
			if len(c.want) == 0 {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %s", errs.Error())
				}
				return
			}
			if len(errs) != 1 || errs[0].Summary != "Conduit without enforcement" || errs[0].Subject == nil ||
				errs[0].Subject.Filename != "pb.hcl" || errs[0].Subject.Start.Line != 7 {
				t.Fatalf("want one Conduit without enforcement error at pb.hcl:7, got %v", errs)
			}
			for _, w := range c.want {
				if !strings.Contains(errs[0].Detail, w) {
					t.Errorf("error %q lacks %q", errs[0].Detail, w)
				}
			}
			if strings.HasSuffix(c.action, "_conduit") && strings.Contains(errs[0].Detail, "keep_open") {
				t.Errorf("keep_open_on_isolation does not help ot.block_conduit: %s", errs[0].Detail)
			}
		})
	}
}
