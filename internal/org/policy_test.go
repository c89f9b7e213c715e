package org_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks/library"
)

// TestPolicyOfTheLibrary: the policy is the organisation's own safety
// policy, whole plant model, rosters and playbooks, in the mode asked for.
func TestPolicyOfTheLibrary(t *testing.T) {
	o, _, diags := org.Load("", org.Options{Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, errs := o.Policy(true)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !p.RequireAttestation {
		t.Error("the mode asked for is not kept")
	}
	if p.Safety == nil || !reflect.DeepEqual(p.Safety.Signoff.Groups, []string{"roster.process_safety", "roster.ot_operations"}) ||
		!p.Safety.Signoff.ExcludeInitiator || p.Safety.Signoff.ValidFor.Std().Minutes() != 15 {
		t.Fatalf("safety policy %+v", p.Safety)
	}
	if p.Safety.BreakGlass == nil || !reflect.DeepEqual(p.Safety.BreakGlass.Rosters, []string{"roster.shift_supervisor"}) {
		t.Errorf("break-glass %+v", p.Safety.BreakGlass)
	}
	if len(p.Zones) != len(o.Config.Zones) || len(p.Conduits) != len(o.Config.Conduits) {
		t.Errorf("%d zones and %d conduits, want all %d and %d", len(p.Zones), len(p.Conduits), len(o.Config.Zones), len(o.Config.Conduits))
	}
	for _, z := range p.Zones {
		if z.ID == "plant3_control" && (z.SafeState == nil || z.SafeState.Register != 40001 || z.SafeState.Expect != 1) {
			t.Errorf("plant3_control safe_state %+v", z.SafeState)
		}
	}
	if !p.Directory.In("alice", "roster.process_safety") || p.Directory.In("ines", "roster.process_safety") {
		t.Error("the directory is not the library's rosters")
	}
	if _, ok := p.Playbooks["ot_ransomware_containment"]; !ok || len(p.Playbooks) != len(o.Config.Playbooks) {
		t.Errorf("playbooks %v", p.Playbooks)
	}
	// Each restore is signed off by its own approval, by other people than
	// the isolation's.
	for _, pb := range []string{"ot_ransomware_containment", "plc_logic_change"} {
		if got := p.Own[pb]; !reflect.DeepEqual(got, map[string][]string{"step.restore": {"approval.restore_ok"}}) {
			t.Errorf("%s: own sign-offs %v", pb, got)
		}
		want := map[string][]string{"approval.isolate_ok": {"approval.restore_ok"}, "approval.restore_ok": {"approval.isolate_ok"}}
		if got := p.Distinct[pb]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: distinct sign-offs %v, want %v", pb, got, want)
		}
	}
}

// TestAuthorityFollowsReload: the policy is that of the organisation in
// force at each check; a reload that removes someone from a roster counts
// at once, and a reload that fails keeps the policy in force.
func TestAuthorityFollowsReload(t *testing.T) {
	dir := t.TempDir()
	if _, err := library.WriteTo(dir, false); err != nil {
		t.Fatal(err)
	}
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h := org.NewHolder(o, org.Options{Lenient: true})
	a := org.NewAuthority(h, false)
	first := a.Policy()
	if a.Policy() != first {
		t.Error("the policy is built again with no reload")
	}
	if !first.Directory.In("alice", "roster.process_safety") {
		t.Fatal("alice is not on process_safety to begin with")
	}
	people := filepath.Join(dir, "people.hcl")
	src, err := os.ReadFile(people)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "[person.alice, person.bob, person.noah]", "[person.bob, person.noah]", 1)
	if err := os.WriteFile(people, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, diags := h.Reload(); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if a.Policy().Directory.In("alice", "roster.process_safety") {
		t.Error("alice still counts for process_safety after the reload")
	}
	after := a.Policy()
	if err := os.WriteFile(people, []byte("roster {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, diags := h.Reload(); !diags.HasErrors() {
		t.Fatal("a broken directory reloaded")
	}
	if a.Policy() != after {
		t.Error("a refused reload changed the policy in force")
	}
}
