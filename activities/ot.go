package activities

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Which conduits isolation cuts.
//
// Isolating a zone cuts every conduit whose To is the zone (the conduits
// "into" it), except those marked keep_open_on_isolation, and restoring it
// reopens the same set, whichever step cut them (ot.block_conduit
// included): a restore keeps no record of who cut what. The optional from
// and except arguments narrow either to some of that set (selection).
// Conduits whose From is the zone are left alone: the
// language makes a conduit's To its protected side (ot.block_conduit acts on,
// and needs a sign-off covering, the To zone), so cutting a conduit out of
// the zone would act on another zone the sign-off does not cover. Cutting a
// conduit stops traffic both ways, so modelling each flow that touches a zone
// as a conduit into it is enough to isolate the zone completely.

// Idempotency keys of conduit effects. IsolateZone and RestoreZone act on
// several conduits in one call, so each cut or restore gets its own key: the
// call's key plus "/cut/CONDUIT" or "/restore/CONDUIT". BlockConduit's one
// cut uses the call's key as is. A retried isolation that failed halfway
// therefore re-cuts nothing twice and finishes the rest.
const (
	cutKeyPart     = "/cut/"
	restoreKeyPart = "/restore/"
)

// IsolateZone carries out ot.isolate_zone. In order, once the arguments
// are sound: the start check, guard three (the call's plant model must be
// the worker's about everything the isolation touches, and the sign-off
// must hold by the worker's safety policy), a check that every conduit to
// cut has an enforcement point, and the plant-state check (the zone's
// safe_state register, when it declares one, must read its expected
// value). Only then are the conduits cut, as the worker's own plant model
// has them. So a configuration error or an unsafe plant never leaves a
// zone half isolated.
func (a *Activities) IsolateZone(ctx context.Context, in ActionInput) (ActionResult, error) {
	const action = "ot.isolate_zone"
	pol, err := a.admit(in.Call, action)
	if err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "zone", "from", "except", "reason")
	zone := r.ref("zone", "zone")
	sel := readSelection(r)
	reason := r.str("reason", false)
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	w, cut, kept, skipped, err := a.prepareZone(ctx, pol, in.Call, action, zone, sel)
	if err != nil {
		return ActionResult{}, err
	}
	if err := a.plantSafe(ctx, in.Call, action, w, zone, cut); err != nil {
		return ActionResult{}, err
	}
	log := logger(ctx)
	if bg := in.Call.Signoff.BreakGlass; bg != nil {
		log.Warn("break-glass isolation", "step", in.Call.Step, "zone", zone, "by", bg.Person, "reason", bg.Reason)
	}
	log.Info("isolating zone", "step", in.Call.Step, "zone", zone, "cut", ids(cut), "kept", ids(kept), "skipped", ids(skipped), "exercise", in.Call.Exercise)
	simulated, err := a.each(ctx, in.Call, w, cut, reason, false)
	if err != nil {
		return ActionResult{}, err
	}
	summary := fmt.Sprintf("isolated %s: cut %s", zone, listOrNone(ids(cut)))
	if len(kept) > 0 {
		summary += fmt.Sprintf("; kept open %s (keep_open_on_isolation)", strings.Join(ids(kept), ", "))
	}
	if len(skipped) > 0 {
		summary += fmt.Sprintf("; left as they were %s (%s)", strings.Join(ids(skipped), ", "), sel)
	}
	return ActionResult{
		Output:    map[string]any{"conduits_cut": anyList(ids(cut)), "conduits_kept": anyList(ids(kept)), "conduits_skipped": anyList(ids(skipped))},
		Simulated: simulated,
		Summary:   summary + breakGlassNote(in.Call),
	}, nil
}

// RestoreZone carries out ot.restore_zone: it reopens the conduits that
// IsolateZone cuts (those into the zone not marked keep_open_on_isolation,
// by the worker's plant model, less those from and except leave alone),
// whichever step cut them. Reopening a conduit that is not cut is
// harmless. The start check and guard three come first, as for
// IsolateZone; a restore makes no plant-state check.
func (a *Activities) RestoreZone(ctx context.Context, in ActionInput) (ActionResult, error) {
	const action = "ot.restore_zone"
	pol, err := a.admit(in.Call, action)
	if err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "zone", "from", "except", "reason")
	zone := r.ref("zone", "zone")
	sel := readSelection(r)
	reason := r.str("reason", false)
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	w, restore, _, skipped, err := a.prepareZone(ctx, pol, in.Call, action, zone, sel)
	if err != nil {
		return ActionResult{}, err
	}
	logger(ctx).Info("restoring zone", "step", in.Call.Step, "zone", zone, "conduits", ids(restore), "skipped", ids(skipped), "exercise", in.Call.Exercise)
	simulated, err := a.each(ctx, in.Call, w, restore, reason, true)
	if err != nil {
		return ActionResult{}, err
	}
	summary := fmt.Sprintf("restored %s: reopened %s", zone, listOrNone(ids(restore)))
	if len(skipped) > 0 {
		summary += fmt.Sprintf("; left as they were %s (%s)", strings.Join(ids(skipped), ", "), sel)
	}
	return ActionResult{
		Output:    map[string]any{"conduits_restored": anyList(ids(restore)), "conduits_skipped": anyList(ids(skipped))},
		Simulated: simulated,
		Summary:   summary + breakGlassNote(in.Call),
	}, nil
}

// BlockConduit carries out ot.block_conduit: one conduit cut at its
// enforcement point. The start check and guard three come first (once the
// conduit is known to be in the call's plant model), against the
// conduit's To zone, then the plant-state check of that zone.
func (a *Activities) BlockConduit(ctx context.Context, in ActionInput) (ActionResult, error) {
	return a.oneConduit(ctx, in, "ot.block_conduit", false)
}

// RestoreConduit carries out ot.restore_conduit: one conduit reopened at
// its enforcement point, whichever step cut it (ot.block_conduit or
// ot.isolate_zone). The start check and guard three come first, against
// the conduit's To zone, as for BlockConduit; like RestoreZone, it makes
// no plant-state check. Reopening a conduit that is not cut is harmless.
func (a *Activities) RestoreConduit(ctx context.Context, in ActionInput) (ActionResult, error) {
	return a.oneConduit(ctx, in, "ot.restore_conduit", true)
}

// oneConduit cuts (or, with restore, reopens) the one conduit named by
// the call's "conduit" argument, under the call's own idempotency key.
func (a *Activities) oneConduit(ctx context.Context, in ActionInput, action string, restore bool) (ActionResult, error) {
	pol, err := a.admit(in.Call, action)
	if err != nil {
		return ActionResult{}, err
	}
	r := readArgs(in, action, "conduit", "reason")
	name := r.ref("conduit", "conduit")
	reason := r.str("reason", false)
	if err := r.err(); err != nil {
		return ActionResult{}, err
	}
	p, err := plantOf(in.Call, action)
	if err != nil {
		return ActionResult{}, err
	}
	c, ok := p.conduit(name)
	if !ok {
		return ActionResult{}, badArgs("%s (%s): conduit %q is not in the plant model (known: %s)", stepName(in.Call), action, name, listOrNone(p.conduitIDs()))
	}
	w, err := a.authorise(ctx, pol, in.Call, action, c.To, c.ID)
	if err != nil {
		return ActionResult{}, err
	}
	c, _ = w.conduit(name)
	if err := needEnforcement(in.Call, action, []Conduit{c}); err != nil {
		return ActionResult{}, err
	}
	if a.Isolator == nil {
		return ActionResult{}, missing(in.Call, action, "isolation")
	}
	if !restore {
		if err := a.plantSafe(ctx, in.Call, action, w, c.To, []Conduit{c}); err != nil {
			return ActionResult{}, err
		}
	}
	log := logger(ctx)
	verb, doing, done := "blocking", "cutting", "cut"
	if restore {
		verb, doing, done = "restoring", "reopening", "reopened"
	}
	if bg := in.Call.Signoff.BreakGlass; bg != nil {
		log.Warn("break-glass conduit "+verb, "step", in.Call.Step, "conduit", c.ID, "by", bg.Person, "reason", bg.Reason)
	}
	req := w.request(in.Call, c, in.Call.IdempotencyKey(), reason)
	log.Info(verb+" conduit", "step", in.Call.Step, "key", req.Key, "conduit", c.ID, "enforcement", c.Enforcement, "exercise", in.Call.Exercise)
	var resp ConduitResponse
	if restore {
		resp, err = a.Isolator.Restore(ctx, req)
	} else {
		resp, err = a.Isolator.Cut(ctx, req)
	}
	if err != nil {
		return ActionResult{}, integrationError(fmt.Sprintf("%s: %s conduit %s at %s", stepName(in.Call), doing, c.ID, c.Enforcement), err)
	}
	return ActionResult{
		Output:    map[string]any{"enforcement": c.Enforcement},
		Simulated: resp.Simulated,
		Summary:   fmt.Sprintf("%s conduit %s (%s -> %s) at %s", done, c.ID, c.From, c.To, c.Enforcement) + breakGlassNote(in.Call),
	}, nil
}

// selection is a zone action's from and except: which of the conduits
// into the zone it acts on. The zero selection is all of them.
type selection struct {
	// from, when not empty, limits the action to conduits from these zones.
	from []string
	// except are conduits into the zone to leave as they are.
	except []string
}

// readSelection reads the from and except arguments.
func readSelection(r *argReader) selection {
	var s selection
	from := r.strs("from", false)
	if from != nil && len(from) == 0 {
		r.fail("argument \"from\" is an empty list, which limits nothing; name the zones, or leave it out")
	}
	for _, z := range from {
		s.from = append(s.from, strings.TrimPrefix(z, "zone."))
	}
	for _, c := range r.strs("except", false) {
		s.except = append(s.except, strings.TrimPrefix(c, "conduit."))
	}
	return s
}

// String says what the selection is, for the timeline.
func (s selection) String() string {
	var parts []string
	if len(s.from) > 0 {
		parts = append(parts, "from "+strings.Join(s.from, ", "))
	}
	if len(s.except) > 0 {
		parts = append(parts, "except "+strings.Join(s.except, ", "))
	}
	return strings.Join(parts, "; ")
}

// apply splits the conduits isolation acts on into those the selection
// keeps (act) and those it leaves alone (skipped). Every conduit in except
// must lead into zone and every zone in from must have a conduit into
// zone among all, by the worker's plant model: otherwise the call is
// refused before anything is touched, as the compiler refuses it.
func (s selection) apply(call Call, action, zone string, all []Conduit, w plant) (act, skipped []Conduit, err error) {
	var problems []string
	except := map[string]bool{}
	for _, id := range s.except {
		if c, ok := w.conduit(id); !ok || c.To != zone {
			problems = append(problems, fmt.Sprintf("except names conduit %q, which does not lead into zone %s", id, zone))
		}
		except[id] = true
	}
	from := map[string]bool{}
	for _, id := range s.from {
		found := false
		for _, c := range all {
			found = found || c.From == id
		}
		if !found {
			problems = append(problems, fmt.Sprintf("from names zone %q, but no conduit isolation cuts leads from it into zone %s", id, zone))
		}
		from[id] = true
	}
	if len(problems) > 0 {
		// A forged call may name thousands; the first few say enough.
		const shown = 10
		more := ""
		if len(problems) > shown {
			more = fmt.Sprintf("; and %d more", len(problems)-shown)
			problems = problems[:shown]
		}
		return nil, nil, badArgs("%s (%s): %s%s; nothing was touched", stepName(call), action, strings.Join(problems, "; "), more)
	}
	for _, c := range all {
		if except[c.ID] || (len(from) > 0 && !from[c.From]) {
			skipped = append(skipped, c)
		} else {
			act = append(act, c)
		}
	}
	return act, skipped, nil
}

// prepareZone returns the worker's plant model and the conduits into zone
// that the action acts on (act), that isolation keeps open (kept) and
// that sel leaves alone (skipped), each sorted by ID. In order, it checks
// that the zone is in the call's plant model (an unknown zone is a bad
// argument, which no fresh sign-off could fix), runs guard three, applies
// sel, and checks that every conduit to act on can be enforced and that an
// isolator is wired in.
func (a *Activities) prepareZone(ctx context.Context, pol *Policy, call Call, action, zone string, sel selection) (w plant, act, kept, skipped []Conduit, err error) {
	p, err := plantOf(call, action)
	if err != nil {
		return plant{}, nil, nil, nil, err
	}
	if _, ok := p.zone(zone); !ok {
		return plant{}, nil, nil, nil, badArgs("%s (%s): zone %q is not in the plant model (known: %s)", stepName(call), action, zone, listOrNone(p.zoneIDs()))
	}
	if w, err = a.authorise(ctx, pol, call, action, zone, ""); err != nil {
		return plant{}, nil, nil, nil, err
	}
	all, kept := w.into(zone)
	if act, skipped, err = sel.apply(call, action, zone, all, w); err != nil {
		return plant{}, nil, nil, nil, err
	}
	if err := needEnforcement(call, action, act); err != nil {
		return plant{}, nil, nil, nil, err
	}
	if len(act) > 0 && a.Isolator == nil {
		return plant{}, nil, nil, nil, missing(call, action, "isolation")
	}
	return w, act, kept, skipped, nil
}

// into returns the conduits into zone that isolation cuts and those it
// keeps open (keep_open_on_isolation), each sorted by ID.
func (p plant) into(zone string) (act, kept []Conduit) {
	for _, c := range p.Conduits {
		if c.To != zone {
			continue
		}
		if c.KeepOpenOnIsolation {
			kept = append(kept, c)
		} else {
			act = append(act, c)
		}
	}
	byID := func(cs []Conduit) { sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID }) }
	byID(act)
	byID(kept)
	return act, kept
}

// authorise is guard three: it compares the call's plant model with the
// worker's about what the action touches (zone, or with conduit set, that
// one conduit into zone) and checks the sign-off against the worker's
// configuration. It returns the worker's plant model, the one to act on.
func (a *Activities) authorise(ctx context.Context, pol *Policy, call Call, action, zone, conduit string) (plant, error) {
	if pol == nil {
		return plant{}, a.guard(ctx, nil, call, zone)
	}
	w, err := workerPlant(pol, call, action, zone, conduit)
	if err != nil {
		return plant{}, err
	}
	if err := a.guard(ctx, pol, call, zone); err != nil {
		return plant{}, err
	}
	return w, nil
}

// each cuts (or, with restore, reopens) the conduits in order, each under
// its own key, and reports whether all of it was simulated.
func (a *Activities) each(ctx context.Context, call Call, p plant, cs []Conduit, reason string, restore bool) (bool, error) {
	keyPart, verb := cutKeyPart, "cutting"
	if restore {
		keyPart, verb = restoreKeyPart, "restoring"
	}
	simulated := len(cs) > 0
	for _, c := range cs {
		req := p.request(call, c, call.IdempotencyKey()+keyPart+c.ID, reason)
		var resp ConduitResponse
		var err error
		if restore {
			resp, err = a.Isolator.Restore(ctx, req)
		} else {
			resp, err = a.Isolator.Cut(ctx, req)
		}
		if err != nil {
			return false, integrationError(fmt.Sprintf("%s: %s conduit %s at %s", stepName(call), verb, c.ID, c.Enforcement), err)
		}
		simulated = simulated && resp.Simulated
	}
	return simulated, nil
}

// needEnforcement refuses conduits that name no enforcement point.
func needEnforcement(call Call, action string, cs []Conduit) error {
	var bare []string
	for _, c := range cs {
		if strings.TrimSpace(c.Enforcement) == "" {
			bare = append(bare, c.ID)
		}
	}
	if len(bare) == 0 {
		return nil
	}
	return notConfigured("%s (%s): conduit %s has no `enforcement`, so nothing can cut it; set enforcement = \"nftables.NAME\" (or another enforcement integration) on it; nothing was cut",
		stepName(call), action, strings.Join(bare, ", "))
}

// plant wraps the call's plant model with lookups.
type plant struct{ *Plant }

// plantOf returns the call's plant model, or a failure when it has none.
func plantOf(call Call, action string) (plant, error) {
	if call.Plant == nil {
		return plant{}, badArgs("%s (%s): the call carries no plant model (zones and conduits), so there is nothing to act on", stepName(call), action)
	}
	return plant{call.Plant}, nil
}

func (p plant) zone(id string) (Zone, bool) {
	if p.Plant != nil {
		for _, z := range p.Zones {
			if z.ID == id {
				return z, true
			}
		}
	}
	return Zone{ID: id}, false
}

func (p plant) conduit(id string) (Conduit, bool) {
	for _, c := range p.Conduits {
		if c.ID == id {
			return c, true
		}
	}
	return Conduit{}, false
}

func (p plant) zoneIDs() []string {
	out := make([]string, 0, len(p.Zones))
	for _, z := range p.Zones {
		out = append(out, z.ID)
	}
	sort.Strings(out)
	return out
}

func (p plant) conduitIDs() []string {
	out := ids(p.Conduits)
	sort.Strings(out)
	return out
}

// request builds the isolator request for one conduit.
func (p plant) request(call Call, c Conduit, key, reason string) ConduitRequest {
	from, _ := p.zone(c.From)
	to, _ := p.zone(c.To)
	return ConduitRequest{
		Key:         key,
		Exercise:    call.Exercise,
		Conduit:     c,
		From:        from,
		To:          to,
		Enforcement: c.Enforcement,
		Reason:      reason,
		IncidentID:  call.IncidentID,
		Step:        call.Step,
	}
}

func ids(cs []Conduit) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

// anyList is ss as a JSON-natural list, never nil.
func anyList(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

func listOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

// breakGlassNote flags a break-glass override in a timeline summary.
func breakGlassNote(c Call) string {
	if c.Signoff == nil || c.Signoff.BreakGlass == nil {
		return ""
	}
	bg := c.Signoff.BreakGlass
	return fmt.Sprintf(" [BREAK-GLASS by %s: %s]", bg.Person, bg.Reason)
}
