package playbooks

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// selectionBase adds to safetyBase a second conduit into zone.control, one
// out of it, and one into it with no enforcement.
const selectionBase = safetyBase + `
conduit "other_to_control" {
  from        = zone.other
  to          = zone.control
  enforcement = "nftables.gw"
}
conduit "control_to_dmz" {
  from        = zone.control
  to          = zone.dmz
  enforcement = "nftables.gw"
}
`

// selectionStep is a signed-off zone step; %ACTION% and %WITH% fill it in.
// The with line is line 9 of pb.hcl.
const selectionStep = `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control, zone.dmz]
    prompt = "Go?"
  }
  step "act" {
    action = "%ACTION%"
    with   = { %WITH% }
    needs  = [approval.ok]
  }
}`

func TestZoneSelectionChecks(t *testing.T) {
	const bareInto = `
conduit "vendor_to_control" {
  from = zone.other
  to   = zone.control
}`
	cases := []struct {
		name, action, base, with string
		summary                  string // "" for no error
		line, column             int
		contains                 []string
	}{
		{
			name: "except a conduit out of the zone", action: "ot.isolate_zone", base: selectionBase,
			with:    `zone = zone.control, except = [conduit.control_to_dmz]`,
			summary: "Conduit not into the zone", line: 9, column: 47,
			contains: []string{"step.act runs ot.isolate_zone on zone.control, but except names conduit.control_to_dmz, which does not lead into zone.control (it runs from zone.control to zone.dmz)", "Conduits into zone.control: conduit.dmz_to_control, conduit.other_to_control."},
		},
		{
			name: "from a zone with no conduit into it", action: "ot.restore_zone", base: safetyBase,
			with:    `zone = zone.control, from = [zone.dmz, zone.other]`,
			summary: "No conduit from the zone", line: 9, column: 55,
			contains: []string{"step.act runs ot.restore_zone on zone.control, but from names zone.other, and no conduit that isolation cuts leads from zone.other into zone.control. Zones with such a conduit: zone.dmz."},
		},
		{
			name: "except everything", action: "ot.isolate_zone", base: safetyBase,
			with:    `zone = zone.control, except = [conduit.dmz_to_control]`,
			summary: "Selection leaves nothing to do", line: 7, column: 3,
			contains: []string{"leave every conduit into it alone (conduit.dmz_to_control), so the step would cut or reopen nothing"},
		},
		{
			name: "from and except together leave nothing", action: "ot.restore_zone", base: selectionBase,
			with:    `zone = zone.control, from = [zone.dmz], except = [conduit.dmz_to_control]`,
			summary: "Selection leaves nothing to do", line: 7, column: 3,
			contains: []string{"(conduit.dmz_to_control, conduit.other_to_control)"},
		},
		{
			name: "undeclared conduit in except", action: "ot.isolate_zone", base: selectionBase,
			with:    `zone = zone.control, except = [conduit.dmz_to_contrl]`,
			summary: "Reference to undeclared conduit", line: 9, column: 47,
			contains: []string{`No conduit named "dmz_to_contrl" is declared.`, `Did you mean`},
		},
		{
			name: "a zone where a conduit belongs", action: "ot.isolate_zone", base: selectionBase,
			with:    `zone = zone.control, except = [zone.dmz]`,
			summary: "Invalid argument", line: 9, column: 47,
			contains: []string{`Argument "except" of ot.isolate_zone: expected conduit.NAME or a string naming a conduit; got object.`},
		},
		{
			name: "a conduit named twice", action: "ot.isolate_zone", base: selectionBase,
			with:    `zone = zone.control, except = [conduit.dmz_to_control, "dmz_to_control"]`,
			summary: "Invalid argument", line: 9, column: 71,
			contains: []string{`names conduit.dmz_to_control twice`},
		},
		{
			name: "not a list", action: "ot.isolate_zone", base: selectionBase,
			with:    `zone = zone.control, except = conduit.dmz_to_control`,
			summary: "Invalid argument", line: 9, column: 46,
			contains: []string{`expected a list such as [conduit.NAME]; got object.`},
		},
		{
			name: "an empty except on a zone nothing leads into", action: "ot.isolate_zone", base: safetyBase,
			with:    `zone = zone.dmz, except = []`,
			summary: "Isolation would cut nothing", line: 7, column: 3,
			contains: []string{"step.act runs ot.isolate_zone on zone.dmz, but no conduit leads into it"},
		},
		{
			name: "an empty from", action: "ot.isolate_zone", base: selectionBase,
			with:    `zone = zone.control, from = []`,
			summary: "Invalid argument", line: 9, column: 44,
			contains: []string{`Argument "from" of ot.isolate_zone: an empty list would read as "from no zone", yet it limits nothing.`},
		},
		{
			name: "from the DMZ only", action: "ot.isolate_zone", base: selectionBase,
			with: `zone = zone.control, from = [zone.dmz]`,
		},
		{
			name: "except the remote-access path on restore", action: "ot.restore_zone", base: selectionBase,
			with: `zone = zone.control, except = [conduit.other_to_control]`,
		},
		{
			name: "a conduit with no enforcement left alone", action: "ot.isolate_zone", base: safetyBase + bareInto,
			with: `zone = zone.control, except = [conduit.vendor_to_control]`,
		},
		{
			name: "a conduit with no enforcement still selected", action: "ot.isolate_zone", base: safetyBase + bareInto,
			with:    `zone = zone.control, from = [zone.other]`,
			summary: "Conduit without enforcement", line: 7, column: 3,
			contains: []string{"cuts conduit conduit.vendor_to_control"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pb := strings.NewReplacer("%ACTION%", tc.action, "%WITH%", tc.with).Replace(selectionStep)
			_, diags := compileWithBase(t, tc.base, pb)
			var errs hcl.Diagnostics
			for _, d := range diags {
				if d.Severity == hcl.DiagError || d.Summary == "Isolation would cut nothing" {
					errs = append(errs, d)
				}
			}
			if tc.summary == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected diagnostics: %s", errs.Error())
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("want one %q error, got %v", tc.summary, errs)
			}
			d := errs[0]
			if d.Summary != tc.summary {
				t.Errorf("summary %q, want %q (%s)", d.Summary, tc.summary, d.Detail)
			}
			if d.Subject == nil || d.Subject.Filename != "pb.hcl" || d.Subject.Start.Line != tc.line || d.Subject.Start.Column != tc.column {
				t.Errorf("at %v, want pb.hcl:%d,%d", d.Subject, tc.line, tc.column)
			}
			for _, s := range tc.contains {
				if !strings.Contains(d.Detail, s) {
					t.Errorf("detail %q does not contain %q", d.Detail, s)
				}
			}
		})
	}
}
