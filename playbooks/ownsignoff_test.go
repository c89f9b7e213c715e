package playbooks

import (
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/hashicorp/hcl/v2"
)

// ownBase is safetyBase with every restore needing a sign-off of its own.
var ownBase = strings.Replace(safetyBase, "safety {", "safety {\n  restore_needs_own_signoff = true", 1)

// thinBase has sign-off rosters of one person each, so two sign-offs can
// never be given by different people.
const thinBase = `
person "alice" { slack = "U01ALICE" }
person "carol" { slack = "U01CAROL" }
roster "process_safety" { members = [person.alice] }
roster "ot_operations"  { members = [person.carol] }
zone "dmz"     { purdue_level = 3.5 }
zone "control" { purdue_level = 2 }
integration "nftables" "gw" { netns = "gw" }
conduit "dmz_to_control" {
  from        = zone.dmz
  to          = zone.control
  enforcement = "nftables.gw"
}
safety {
  signoff {
    rosters           = [roster.process_safety, roster.ot_operations]
    exclude_initiator = false
  }
}
`

func compileWithBase(t *testing.T, base, playbook string) (*Module, hcl.Diagnostics) {
	t.Helper()
	m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(base), "pb.hcl": []byte(playbook)})
	if diags.HasErrors() {
		t.Fatalf("decode: %s", diags.Error())
	}
	return m, m.Check(actions.Builtin())
}

// isolateThenRestore is an isolation and a restore of zone.control, each
// with a sign-off; %RESTORE_OK% is the restore sign-off's extra attributes
// and %RESTORE% the restore step's.
const isolateThenRestore = `playbook "p" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
  decision "reconnect" {
    ask      = [roster.ot_operations]
    question = "Reconnect?"
    options  = ["reconnect", "stay"]
    needs    = [step.isolate]
  }
  approval "restore_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Reconnect?"
    when   = decision.reconnect.choice == "reconnect"
%RESTORE_OK%
  }
  step "restore" {
    action = "ot.restore_zone"
    with   = { zone = zone.control }
%RESTORE%
  }
}`

func restoreCase(restoreOK, restore string) string {
	return strings.NewReplacer("%RESTORE_OK%", restoreOK, "%RESTORE%", restore).Replace(isolateThenRestore)
}

const (
	sameWhen  = `    when  = decision.reconnect.choice == "reconnect"`
	waitsOK   = `    needs = [approval.restore_ok]`
	waitsBoth = sameWhen + "\n" + waitsOK
)

func TestOwnSignoffRejects(t *testing.T) {
	cases := []struct {
		name, base, hcl string
		summary         string
		severity        hcl.DiagnosticSeverity
		line, column    int // where the diagnostic points in pb.hcl
		contains        []string
	}{
		{
			name: "policy: restore guarded only by the isolation's sign-off",
			base: ownBase, hcl: restoreCase("", sameWhen+"\n    needs = [decision.reconnect]"),
			summary: "Safety-critical step without its own sign-off", severity: hcl.DiagError, line: 25, column: 3,
			contains: []string{"step.restore runs ot.restore_zone on zone.control", "restore_needs_own_signoff = true", "no approval names step.restore in for", "An earlier sign-off covering the same zone (approval.isolate_ok) does not count", "for    = [step.restore]"},
		},
		{
			name: "policy: restore_conduit guarded only by the isolation's sign-off",
			base: ownBase, hcl: strings.Replace(restoreCase("", sameWhen+"\n    needs = [decision.reconnect]"), "action = \"ot.restore_zone\"\n    with   = { zone = zone.control }", "action = \"ot.restore_conduit\"\n    with   = { conduit = conduit.dmz_to_control }", 1),
			summary: "Safety-critical step without its own sign-off", severity: hcl.DiagError, line: 25, column: 3,
			contains: []string{"step.restore runs ot.restore_conduit on zone.control", "restore_needs_own_signoff = true", "no approval names step.restore in for", "An earlier sign-off covering the same zone (approval.isolate_ok) does not count"},
		},
		{
			name: "for: restore does not wait for its own sign-off",
			base: safetyBase, hcl: restoreCase("    for = [step.restore]", sameWhen+"\n    needs = [decision.reconnect]"),
			summary: "Safety-critical step without its own sign-off", severity: hcl.DiagError, line: 25, column: 3,
			contains: []string{"step.restore runs ot.restore_zone on zone.control and is guarded only by the sign-offs whose for names it (approval.restore_ok)", "step.restore does not wait for approval.restore_ok; add approval.restore_ok to its needs"},
		},
		{
			name: "for: restore with a condition the sign-off does not carry",
			base: safetyBase, hcl: restoreCase("    for = [step.restore]", waitsOK+"\n    when  = decision.reconnect.choice != \"stay\""),
			summary: "Safety-critical step without its own sign-off", severity: hcl.DiagError, line: 25, column: 3,
			contains: []string{`approval.restore_ok only runs when decision.reconnect.choice == "reconnect", but step.restore runs when decision.reconnect.choice != "stay"`, "give both the same when"},
		},
		{
			name: "for: restore that always runs, sign-off that may be skipped",
			base: safetyBase, hcl: restoreCase("    for = [step.restore]", waitsOK),
			summary: "Safety-critical step without its own sign-off", severity: hcl.DiagError, line: 25, column: 3,
			contains: []string{"but step.restore always runs, so it could run without its own sign-off"},
		},
		{
			name: "for: own sign-off covers another zone",
			base: safetyBase, hcl: strings.Replace(restoreCase("    for = [step.restore]", waitsBoth), "covers = [zone.control]\n    prompt = \"Reconnect?\"", "covers = [zone.other]\n    prompt = \"Reconnect?\"", 1),
			summary: "Safety-critical step without its own sign-off", severity: hcl.DiagError, line: 25, column: 3,
			contains: []string{"approval.restore_ok names step.restore in for but covers zone.other, not zone.control; fix its covers"},
		},
		{
			name: "for: sign-off that waits for its own step",
			base: safetyBase, hcl: restoreCase("    for   = [step.restore]\n    needs = [step.restore]", sameWhen),
			summary: "Safety-critical step without its own sign-off", severity: hcl.DiagError, line: 26, column: 3,
			contains: []string{"approval.restore_ok waits for step.restore, so the sign-off would come after the action"},
		},
		{
			name: "distinct_from that the rosters cannot meet",
			base: thinBase, hcl: restoreCase("    for           = [step.restore]\n    distinct_from = [approval.isolate_ok]", waitsBoth),
			summary: "Sign-offs cannot be given by different people", severity: hcl.DiagError, line: 24, column: 22,
			contains: []string{"approval.restore_ok must be approved by people other than those who approved approval.isolate_ok (distinct_from)", "roster.process_safety and roster.ot_operations have too few people (alice, carol)", "step.restore, which needs it, could never run"},
		},
		{
			name: "distinct_from naming the approval itself",
			base: safetyBase, hcl: restoreCase("    for           = [step.restore]\n    distinct_from = [approval.restore_ok]", waitsBoth),
			summary: "Approval distinct from itself", severity: hcl.DiagError, line: 24, column: 22,
			contains: []string{"it cannot name approval.restore_ok itself"},
		},
		{
			name: "distinct_from naming an undeclared approval",
			base: safetyBase, hcl: restoreCase("    for           = [step.restore]\n    distinct_from = [approval.isolat_ok]", waitsBoth),
			summary: "Reference to undeclared approval", severity: hcl.DiagError, line: 24, column: 22,
			contains: []string{`no approval block named "isolat_ok"`, `Did you mean "approval.isolate_ok"?`},
		},
		{
			name: "distinct_from naming a step that is not an approval",
			base: safetyBase, hcl: restoreCase("    for           = [step.restore]\n    distinct_from = [step.isolate]", waitsBoth),
			summary: "Wrong kind of reference", severity: hcl.DiagError, line: 24, column: 22,
			contains: []string{"step.isolate"},
		},
		{
			name: "for naming an undeclared step",
			base: safetyBase, hcl: restoreCase("    for = [step.restor]", waitsBoth),
			summary: "Reference to undeclared step", severity: hcl.DiagError, line: 23, column: 12,
			contains: []string{`Did you mean "step.restore"?`},
		},
		{
			name: "for naming a step that needs no sign-off",
			base: safetyBase, hcl: strings.Replace(restoreCase("    for = [step.note, step.restore]", waitsBoth), "  step \"restore\" {", "  step \"note\" {\n    action = \"slack.post\"\n    with   = { text = \"x\" }\n  }\n  step \"restore\" {", 1),
			summary: "Sign-off for a step that needs none", severity: hcl.DiagError, line: 23, column: 12,
			contains: []string{"step.note runs slack.post, which is not safety-critical"},
		},
		{
			name: "for on a standard approval",
			base: safetyBase, hcl: strings.Replace(restoreCase("", waitsBoth), "playbook \"p\" {", "playbook \"p\" {\n  approval \"std\" {\n    approvers = [roster.ot_operations]\n    prompt    = \"Go?\"\n    for       = [step.restore]\n  }", 1),
			summary: "for on a standard approval", severity: hcl.DiagError, line: 5, column: 5,
			contains: []string{"a standard approval never guards one"},
		},
		{
			name: "a restore waiting for another step's own sign-off only",
			base: safetyBase, hcl: strings.Replace(restoreCase("", sameWhen+"\n    needs = [step.isolate]"), "prompt = \"Isolate?\"", "prompt = \"Isolate?\"\n    for    = [step.isolate]", 1),
			summary: "Safety-critical step without a safety sign-off", severity: hcl.DiagError, line: 26, column: 3,
			contains: []string{"approval.isolate_ok is for step.isolate only (its for)", "approval.restore_ok covers zone.control but step.restore does not wait for it"},
		},
		{
			name: "sign-off the restore no longer waits for",
			base: safetyBase, hcl: restoreCase("", sameWhen+"\n    needs = [decision.reconnect]"),
			summary: "Sign-off guards nothing", severity: hcl.DiagWarning, line: 18, column: 3,
			contains: []string{"approval.restore_ok is a safety sign-off for zone.control, but no safety-critical step is guarded by it", "step.restore runs ot.restore_zone on zone.control without it (guarded by approval.isolate_ok)", "for = [step.NAME]"},
		},
		{
			name: "sign-off whose condition the restore no longer carries",
			base: safetyBase, hcl: restoreCase("", waitsOK+"\n    when  = decision.reconnect.choice != \"stay\""),
			summary: "Sign-off guards nothing", severity: hcl.DiagWarning, line: 18, column: 3,
			contains: []string{"none waits for it while carrying the same when", "(guarded by approval.isolate_ok)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := compileWithBase(t, tc.base, tc.hcl)
			var found *hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == tc.summary && found == nil {
					found = d
				}
			}
			if found == nil {
				t.Fatalf("no %q diagnostic; got: %v", tc.summary, diags)
			}
			if found.Severity != tc.severity {
				t.Errorf("severity %v, want %v", found.Severity, tc.severity)
			}
			if found.Subject == nil || found.Subject.Filename != "pb.hcl" || found.Subject.Start.Line != tc.line || found.Subject.Start.Column != tc.column {
				t.Errorf("diagnostic at %v, want pb.hcl:%d:%d", found.Subject, tc.line, tc.column)
			}
			for _, s := range tc.contains {
				if !strings.Contains(found.Detail, s) {
					t.Errorf("detail %q does not contain %q", found.Detail, s)
				}
			}
		})
	}
}

func TestOwnSignoffAccepts(t *testing.T) {
	cases := []struct {
		name, base, hcl string
		guarded         map[string][]string
		distinct        []string
	}{
		{
			name: "own sign-off guards the restore alone",
			base: safetyBase, hcl: restoreCase("    for = [step.restore]", waitsBoth),
			guarded: map[string][]string{"step.isolate": {"approval.isolate_ok"}, "step.restore": {"approval.restore_ok"}},
		},
		{
			name: "policy met by a sign-off naming the restore",
			base: ownBase, hcl: restoreCase("    for           = [step.restore]\n    distinct_from = [approval.isolate_ok]", waitsBoth),
			guarded:  map[string][]string{"step.isolate": {"approval.isolate_ok"}, "step.restore": {"approval.restore_ok"}},
			distinct: []string{"approval.isolate_ok"},
		},
		{
			name: "isolation's sign-off for the isolation only, restore guarded by any other",
			base: safetyBase, hcl: strings.Replace(restoreCase("", waitsBoth), "prompt = \"Isolate?\"", "prompt = \"Isolate?\"\n    for    = [step.isolate]", 1),
			guarded: map[string][]string{"step.isolate": {"approval.isolate_ok"}, "step.restore": {"approval.restore_ok"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, diags := compileWithBase(t, tc.base, tc.hcl)
			if len(diags) > 0 {
				t.Fatalf("want no diagnostics, got: %v", diags)
			}
			p, diags := m.Compile("p", actions.Builtin())
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			for id, want := range tc.guarded {
				if got := p.StepByID(id).Action.GuardedBy; !slices.Equal(got, want) {
					t.Errorf("%s guarded by %v, want %v", id, got, want)
				}
			}
			ap := p.StepByID("approval.restore_ok").Approval
			if !slices.Equal(ap.DistinctFrom, tc.distinct) {
				t.Errorf("distinct_from %v, want %v", ap.DistinctFrom, tc.distinct)
			}
		})
	}
}
