package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// The plant model guard three acts on is the worker's own. The call's
// plant model (copied from the plan the incident was started with) is a
// claim: workerPlant refuses it when it differs from the worker's about
// anything the action touches, and the action then runs on the worker's.

// policyPlant is the worker's plant model as the activities see it. The
// integrations come from the call: they only name instances, and the
// worker resolves each to its own backend.
func policyPlant(p *Policy, call Call) plant {
	out := &Plant{}
	for _, z := range p.Zones {
		az := Zone{ID: z.ID, Title: z.Title, Networks: z.Networks}
		if s := z.SafeState; s != nil {
			az.SafeState = &SafeState{Integration: s.Integration, Register: s.Register, Expect: s.Expect}
		}
		out.Zones = append(out.Zones, az)
	}
	for _, c := range p.Conduits {
		out.Conduits = append(out.Conduits, conduitOf(c))
	}
	if call.Plant != nil {
		out.Integrations = call.Plant.Integrations
	}
	return plant{out}
}

func conduitOf(c plan.Conduit) Conduit {
	return Conduit{ID: c.ID, From: c.From, To: c.To, Enforcement: c.Enforcement, KeepOpenOnIsolation: c.KeepOpenOnIsolation, Protocols: c.Protocols}
}

// workerPlant compares the call's plant model with the worker's about what
// the action touches: with conduit "", every conduit into zone (one the
// plan omits, one it adds, one whose ends, enforcement point, protocols or
// keep_open_on_isolation differ) and the zones at both ends of those
// conduits (networks, safe_state); with conduit set, that conduit and its
// two zones. It returns the worker's model, or a non-retryable
// ErrPlantMismatch failure naming every difference.
func workerPlant(p *Policy, call Call, action, zone, conduit string) (plant, error) {
	mine := policyPlant(p, call)
	theirs := plant{call.Plant}
	var diffs []string
	var zones []string
	compare := func(id string) {
		w, _ := mine.conduit(id)
		c, _ := theirs.conduit(id)
		for _, f := range []struct{ name, plan, worker string }{
			{"from", c.From, w.From},
			{"to", c.To, w.To},
			{"enforcement", c.Enforcement, w.Enforcement},
			{"protocols", setText(c.Protocols), setText(w.Protocols)},
			{"keep_open_on_isolation", fmt.Sprint(c.KeepOpenOnIsolation), fmt.Sprint(w.KeepOpenOnIsolation)},
		} {
			if f.plan != f.worker {
				diffs = append(diffs, fmt.Sprintf("conduit %s: %s is %s in the plan, %s in the worker's configuration", id, f.name, quoted(f.plan), quoted(f.worker)))
			}
		}
		zones = append(zones, w.From, w.To)
	}
	if conduit != "" {
		if _, ok := mine.conduit(conduit); !ok {
			diffs = append(diffs, fmt.Sprintf("conduit %s is not in the worker's configuration", conduit))
		} else {
			compare(conduit)
		}
	} else if _, ok := mine.zone(zone); !ok {
		diffs = append(diffs, fmt.Sprintf("zone %s is not in the worker's configuration", zone))
	} else {
		zones = append(zones, zone)
		var into []string
		for _, c := range mine.Conduits {
			if c.To == zone {
				into = append(into, c.ID)
			}
		}
		if theirs.Plant != nil {
			for _, c := range theirs.Conduits {
				if c.To == zone && !slices.Contains(into, c.ID) {
					into = append(into, c.ID)
				}
			}
		}
		slices.Sort(into)
		for _, id := range slices.Compact(into) {
			_, wok := mine.conduit(id)
			_, cok := theirs.conduit(id)
			switch {
			case !cok:
				diffs = append(diffs, fmt.Sprintf("the plan omits conduit %s into %s", id, zone))
			case !wok:
				diffs = append(diffs, fmt.Sprintf("the plan adds conduit %s into %s, which the worker's configuration does not have", id, zone))
			default:
				compare(id)
			}
		}
	}
	slices.Sort(zones)
	for _, id := range slices.Compact(zones) {
		w, _ := mine.zone(id)
		c, ok := theirs.zone(id)
		if !ok {
			diffs = append(diffs, fmt.Sprintf("the plan's plant model has no zone %s", id))
			continue
		}
		if a, b := setText(c.Networks), setText(w.Networks); a != b {
			diffs = append(diffs, fmt.Sprintf("zone %s: networks are %s in the plan, %s in the worker's configuration", id, quoted(a), quoted(b)))
		}
		// A plan that carries no safe_state changes nothing: the worker
		// reads its own. One that carries another is refused.
		if c.SafeState != nil && (w.SafeState == nil || *c.SafeState != *w.SafeState) {
			diffs = append(diffs, fmt.Sprintf("zone %s: safe_state is %s in the plan, %s in the worker's configuration", id, safeText(c.SafeState), safeText(w.SafeState)))
		}
	}
	if len(diffs) == 0 {
		return mine, nil
	}
	target := zone
	if conduit != "" {
		target = "conduit " + conduit
	}
	return plant{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s (%s): refused to act on %s: the plant model handed to this action is not the worker's: %s. Nothing was done: the worker acts only on its own configuration. Start the incident from a plan compiled from the playbook directory the worker loaded (reload the worker if the directory changed)",
			stepName(call), action, target, strings.Join(diffs, "; ")),
		ErrPlantMismatch, nil)
}

// plantSafe is the plant-state check before an isolation: when the
// worker's zone declares safe_state, its register is read through
// PlantState and must read the expected value. Otherwise nothing is cut:
// a non-retryable ErrPlantNotSafe failure says the register, the value
// read and the value expected. A zone with safe_state and no PlantState
// integration is refused too, since the check cannot be made.
//
// A live call that would cut a conduit at a real enforcement point
// refuses a simulated reading (a safe_state naming a simulate = true
// block): the twin answers what it was told, not what the plant is.
func (a *Activities) plantSafe(ctx context.Context, call Call, action string, w plant, zone string, cut []Conduit) error {
	z, _ := w.zone(zone)
	s := z.SafeState
	if s == nil {
		return nil
	}
	what := fmt.Sprintf("register %d on %s", s.Register, s.Integration)
	if a.PlantState == nil {
		return notConfigured("%s (%s): %s declares safe_state (%s must read %d before it is isolated), and no plant-state integration is configured in this worker, so the check cannot be made; %s",
			stepName(call), action, zone, what, s.Expect, nothingCut(ctx))
	}
	req := ReadRegisterRequest{
		Key:         call.IdempotencyKey() + "/safe_state/" + zone,
		Exercise:    call.Exercise,
		Integration: s.Integration,
		Register:    s.Register,
	}
	logger(ctx).Info("checking safe state", "step", call.Step, "zone", zone, "integration", s.Integration, "register", s.Register, "expect", s.Expect, "exercise", call.Exercise)
	resp, err := a.PlantState.ReadRegister(ctx, req)
	if err != nil {
		return integrationError(fmt.Sprintf("%s: reading the safe_state of %s (%s); %s", stepName(call), zone, what, nothingCut(ctx)), err)
	}
	if rs, ok := a.Isolator.(RealSet); ok && resp.Simulated && !call.Exercise {
		var real []string
		for _, c := range cut {
			if rs.IsReal(c.Enforcement) {
				real = append(real, c.ID+" at "+c.Enforcement)
			}
		}
		if len(real) > 0 {
			return notConfigured("%s (%s): the safe_state of %s reads %s, which is simulated in this worker, while %s would be cut for real; a real cut needs a real reading: make %s real (remove simulate = true), or mark the enforcement point simulated; %s",
				stepName(call), action, zone, what, strings.Join(real, ", "), s.Integration, nothingCut(ctx))
		}
	}
	if resp.Value != s.Expect {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s (%s): %s is not in its safe state: %s reads %d, expected %d; %s. Bring the process to its safe state (or confirm it on site) and run the step again",
				stepName(call), action, zone, what, resp.Value, s.Expect, nothingCut(ctx)),
			ErrPlantNotSafe, nil)
	}
	return nil
}

// nothingCut says what a refusal before cutting left behind: nothing, on
// a first attempt; on a retry, nothing more than an earlier attempt did.
func nothingCut(ctx context.Context) string {
	if activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1 {
		return "this attempt cut nothing (an earlier attempt may have cut some conduits: see the timeline)"
	}
	return "nothing was cut"
}

// setText renders a list as a sorted set, so order does not count.
func setText(xs []string) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	return strings.Join(s, ", ")
}

func quoted(s string) string {
	if s == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}

func safeText(s *SafeState) string {
	if s == nil {
		return "(none)"
	}
	return fmt.Sprintf("register %d on %s expecting %d", s.Register, s.Integration, s.Expect)
}
