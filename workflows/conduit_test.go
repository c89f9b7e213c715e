package workflows_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/workflows"
)

// conduitOrg adds to org a vendor remote-access path into the control zone.
var conduitOrg = strings.Replace(org, `integration "nftables" "gw"`, `zone "vendor" { purdue_level = 4 }
conduit "vendor_to_control" {
  from        = zone.vendor
  to          = zone.control
  enforcement = "nftables.gw"
}
integration "nftables" "gw"`, 1)

// islandPlaybook cuts the vendor path and islands the control zone from
// the DMZ, then reopens the DMZ path with the vendor path left shut, and
// last reopens the vendor path alone, all under one sign-off.
const islandPlaybook = `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Island the control network?"
  }
  step "block_vendor" {
    action = "ot.block_conduit"
    with   = { conduit = conduit.vendor_to_control }
    needs  = [approval.ok]
  }
  step "island" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control, from = [zone.dmz] }
    needs  = [step.block_vendor]
  }
  step "reopen_dmz" {
    action = "ot.restore_zone"
    with   = { zone = zone.control, except = [conduit.vendor_to_control] }
    needs  = [step.island]
  }
  step "reopen_vendor" {
    action = "ot.restore_conduit"
    with   = { conduit = conduit.vendor_to_control }
    needs  = [step.reopen_dmz]
  }
}`

// TestPerConduitControlThroughTheWorkflow runs from, except and
// ot.restore_conduit through the interpreter and the worker's guard: each
// step touches exactly the conduits it names, and the vendor path is never
// reopened before its own step.
func TestPerConduitControlThroughTheWorkflow(t *testing.T) {
	h := newHarness(t)
	h.answer(time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.ok", Person: "carol"})
	p := compileWith(t, conduitOrg, islandPlaybook)
	h.run(workflows.IncidentInput{Plan: p, Commander: "alice"})
	for _, r := range h.replies {
		accepted(t, r)
	}
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Fatalf("result %s: %+v", res.State, res.Steps)
	}
	rc := h.activityStarts("RestoreConduit")
	if len(rc) != 1 || rc[0].Action.Call.Signoff == nil || len(rc[0].Action.Call.Signoff.Approvers) != 2 {
		t.Fatalf("restore_conduit starts %+v, want one carrying the two-person sign-off", rc)
	}
	var got []string
	for _, e := range h.j.Effects() {
		if e.Op == sim.OpCut || e.Op == sim.OpRestore {
			got = append(got, e.Op+" "+e.Key[strings.Index(e.Key, "/"):])
		}
	}
	want := []string{
		sim.OpCut + " /step.block_vendor",
		sim.OpCut + " /step.island/cut/dmz_to_control",
		sim.OpRestore + " /step.reopen_dmz/restore/dmz_to_control",
		sim.OpRestore + " /step.reopen_vendor",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("conduit effects %v, want exactly %v", got, want)
	}
}
