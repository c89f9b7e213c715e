package modbus

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// The plant-state check of ot.isolate_zone end to end at the activity
// level: the activities read the zone's safe_state register through this
// client from a Modbus server on loopback, and cut conduits through the
// simulated twin, whose journal shows what was cut.

var granted = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// plant3 is a control zone whose safe_state is holding register
// safeRegister on modbus.plant3_plc reading 1, with two conduits into it
// and one kept open.
func plant3(safeRegister int) *activities.Plant {
	return &activities.Plant{
		Zones: []activities.Zone{
			{ID: "corp_it", Networks: []string{"10.0.0.0/16"}},
			{ID: "plant3_dmz", Networks: []string{"10.30.1.0/24"}},
			{ID: "plant3_control", Networks: []string{"10.30.2.0/24"},
				SafeState: &activities.SafeState{Integration: id, Register: safeRegister, Expect: 1}},
			{ID: "plant3_sis", Networks: []string{"10.30.9.0/24"}},
		},
		Conduits: []activities.Conduit{
			{ID: "it_to_control", From: "corp_it", To: "plant3_control", Enforcement: "nftables.plant3_gw"},
			{ID: "dmz_to_control", From: "plant3_dmz", To: "plant3_control", Enforcement: "nftables.plant3_gw"},
			{ID: "sis_to_control", From: "plant3_sis", To: "plant3_control", KeepOpenOnIsolation: true},
		},
		Integrations: []activities.Integration{{ID: "nftables.plant3_gw", Kind: "nftables"}, {ID: id, Kind: "modbus"}},
	}
}

// policy is the worker's configuration: plant3, alice (process_safety) and
// dave (ot_operations) sign off, unattested.
func policy(p *activities.Plant) *activities.Policy {
	pol := &activities.Policy{
		Directory: rules.NewDirectory(
			[]plan.Person{{ID: "alice"}, {ID: "dave"}},
			[]plan.Roster{{ID: "process_safety", Members: []string{"alice"}}, {ID: "ot_operations", Members: []string{"dave"}}}),
		Safety: &plan.Safety{Signoff: plan.Quorum{Rule: plan.QuorumOneFromEach, Count: 2,
			Groups: []string{"roster.process_safety", "roster.ot_operations"}, ValidFor: plan.Duration(15 * time.Minute)}},
		Playbooks: map[string][]string{"ot_ransomware_containment": nil},
	}
	for _, z := range p.Zones {
		pz := plan.Zone{ID: z.ID, Title: z.Title, Networks: z.Networks}
		if s := z.SafeState; s != nil {
			pz.SafeState = &plan.SafeState{Integration: s.Integration, Register: s.Register, Expect: s.Expect}
		}
		pol.Zones = append(pol.Zones, pz)
	}
	for _, c := range p.Conduits {
		pol.Conduits = append(pol.Conduits, plan.Conduit{ID: c.ID, From: c.From, To: c.To, Enforcement: c.Enforcement,
			KeepOpenOnIsolation: c.KeepOpenOnIsolation, Protocols: c.Protocols})
	}
	return pol
}

type plantRig struct {
	twin     *sim.Twin
	acts     *activities.Activities
	register int
}

// newPlantRig wires the activities to the twin for everything but
// PlantState, which is a Client of the server at addr; the zone's
// safe_state is register 40001.
func newPlantRig(t *testing.T, addr string) *plantRig { return newPlantRigAt(t, addr, 40001) }

func newPlantRigAt(t *testing.T, addr string, register int) *plantRig {
	t.Helper()
	twin := sim.New(nil)
	acts := twin.Activities()
	acts.PlantState = newClient(t, addr, 500*time.Millisecond)
	acts.Now = func() time.Time { return granted.Add(5 * time.Minute) }
	pol := policy(plant3(register))
	acts.Authority = activities.AuthorityFunc(func() *activities.Policy { return pol })
	return &plantRig{twin: twin, acts: acts, register: register}
}

func (r *plantRig) isolate() (activities.ActionResult, error) {
	c := activities.Call{
		IncidentID: "INC-7", Step: "step.isolate", Action: "ot.isolate_zone", Playbook: "ot_ransomware_containment",
		Plant: plant3(r.register),
		Signoff: &activities.Signoff{
			Approval: "approval.isolate_ok", Covers: []string{"plant3_control"}, Required: 2, Round: 1,
			Approvers: []activities.Approver{
				{Person: "person.alice", Roster: "roster.process_safety", At: granted.Add(-time.Minute)},
				{Person: "person.dave", Roster: "roster.ot_operations", At: granted},
			},
			GrantedAt: granted, ValidFor: 15 * time.Minute,
		},
	}
	return r.acts.IsolateZone(context.Background(), activities.ActionInput{Call: c, Args: map[string]any{"zone": "zone.plant3_control", "reason": "ransomware on the engineering workstation"}})
}

// cut lists the conduits the twin journaled as cut.
func (r *plantRig) cut() []string {
	var out []string
	for _, e := range r.twin.Journal().Effects() {
		if e.Op == sim.OpCut {
			var req activities.ConduitRequest
			if err := json.Unmarshal(e.Request, &req); err == nil {
				out = append(out, req.Conduit.ID)
			} else {
				out = append(out, "?")
			}
		}
	}
	return out
}

func appError(t *testing.T, err error, typ string, nonRetryable bool) string {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an application error", err, err)
	}
	if ae.Type() != typ || ae.NonRetryable() != nonRetryable {
		t.Fatalf("error type %q non-retryable %v, want %q %v: %v", ae.Type(), ae.NonRetryable(), typ, nonRetryable, err)
	}
	return ae.Message()
}

func TestIsolationReadsTheSafeStateFromTheServer(t *testing.T) {
	t.Run("safe: the zone is isolated", func(t *testing.T) {
		f := newFake(t)
		f.hold(0, 1)
		r := newPlantRig(t, f.addr())
		res, err := r.isolate()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(r.cut(), ","); got != "dmz_to_control,it_to_control" && got != "it_to_control,dmz_to_control" {
			t.Errorf("cut %q; want it_to_control and dmz_to_control (sis_to_control stays open)", got)
		}
		if !strings.Contains(res.Summary, "isolated plant3_control") {
			t.Errorf("summary %q", res.Summary)
		}
		log := f.log()
		if len(log) != 1 || log[0].fc != FuncReadHolding || log[0].offset != 0 || log[0].count != 1 || log[0].unit != 1 {
			t.Errorf("requests %+v; want one read of holding register offset 0 on unit 1", log)
		}
	})
	t.Run("unsafe: refused, nothing cut", func(t *testing.T) {
		f := newFake(t)
		f.hold(0, 0)
		r := newPlantRig(t, f.addr())
		_, err := r.isolate()
		msg := appError(t, err, activities.ErrPlantNotSafe, true)
		if !strings.Contains(msg, "register 40001 on modbus.plant3_plc reads 0, expected 1") {
			t.Errorf("refusal %q", msg)
		}
		if c := r.cut(); len(c) != 0 {
			t.Errorf("cut %v with the plant not in its safe state", c)
		}
	})
	t.Run("server down: an error, nothing cut", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		r := newPlantRig(t, addr)
		_, err = r.isolate()
		if err == nil {
			t.Fatal("isolated with the plant state unreadable")
		}
		var ae *temporal.ApplicationError
		if errors.As(err, &ae) && ae.NonRetryable() {
			t.Errorf("%v is not retryable; the server may be back on the next attempt", err)
		}
		if !strings.Contains(err.Error(), "reading the safe_state of plant3_control") || !strings.Contains(err.Error(), "nothing was cut") {
			t.Errorf("error %q does not say what failed and that nothing was cut", err)
		}
		if c := r.cut(); len(c) != 0 {
			t.Errorf("cut %v with the plant state unreadable", c)
		}
	})
	t.Run("no such register: refused for good, nothing cut", func(t *testing.T) {
		f := newFake(t)
		f.then(step{fault: exception, code: ExIllegalDataAddress})
		r := newPlantRig(t, f.addr())
		_, err := r.isolate()
		msg := appError(t, err, activities.ErrIntegrationRejected, true)
		if !strings.Contains(msg, "illegal data address") {
			t.Errorf("error %q does not name the exception", msg)
		}
		if c := r.cut(); len(c) != 0 {
			t.Errorf("cut %v with the plant state unreadable", c)
		}
	})
}

// The same check against modbus-serial's server, whose register 40001
// reads 1 and 40002 reads 0.
func TestIsolationAgainstModbusSerialServer(t *testing.T) {
	addr := startNodeServer(t)
	safe := newPlantRigAt(t, addr, 40001)
	if _, err := safe.isolate(); err != nil {
		t.Fatalf("isolating with register 40001 reading 1: %v", err)
	}
	if n := len(safe.cut()); n != 2 {
		t.Errorf("%d conduits cut; want 2", n)
	}
	unsafe := newPlantRigAt(t, addr, 40002)
	_, err := unsafe.isolate()
	msg := appError(t, err, activities.ErrPlantNotSafe, true)
	if !strings.Contains(msg, "register 40002 on modbus.plant3_plc reads 0, expected 1") {
		t.Errorf("refusal %q", msg)
	}
	if c := unsafe.cut(); len(c) != 0 {
		t.Errorf("cut %v with the plant not in its safe state", c)
	}
}
