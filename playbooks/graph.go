package playbooks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// sortSteps reports dependency cycles and returns the steps in topological
// order, ties broken by source order. It returns nil when there is a cycle.
func (c *compiler) sortSteps() []*cstep {
	cycles := c.cycles()
	for _, cycle := range cycles {
		first := c.steps[cycle[0]]
		r := first.blk.DeclRange
		// The reference that closes the cycle: the first step waits for the last.
		if dr, ok := first.deps[cycle[len(cycle)-1]]; ok {
			r = dr
		}
		path := append(append([]string(nil), cycle...), cycle[0])
		c.errorf(r, "Dependency cycle",
			"These steps wait for each other, so none of them can start: %s. Remove one of the needs or references.", strings.Join(path, " → "))
	}
	if len(cycles) > 0 {
		return nil
	}
	// Kahn's algorithm, always taking the earliest-declared ready step.
	indeg := map[string]int{}
	dependants := map[string][]*cstep{}
	for _, cs := range c.order {
		indeg[cs.out.ID] = len(cs.deps)
		for d := range cs.deps {
			dependants[d] = append(dependants[d], cs)
		}
	}
	var ready []*cstep
	for _, cs := range c.order {
		if indeg[cs.out.ID] == 0 {
			ready = append(ready, cs)
		}
	}
	var out []*cstep
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return ready[i].blk.order < ready[j].blk.order })
		next := ready[0]
		ready = ready[1:]
		out = append(out, next)
		for _, d := range dependants[next.out.ID] {
			indeg[d.out.ID]--
			if indeg[d.out.ID] == 0 {
				ready = append(ready, d)
			}
		}
	}
	return out
}

// cycles finds the dependency cycles, each as a list of step IDs starting at
// its earliest-declared member, without repeats.
func (c *compiler) cycles() [][]string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	seen := map[string]bool{}
	var out [][]string
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		for _, d := range sortedKeys(c.steps[id].deps) {
			switch color[d] {
			case white:
				visit(d)
			case grey:
				i := len(stack) - 1
				for stack[i] != d {
					i--
				}
				cycle := c.rotateCycle(append([]string(nil), stack[i:]...))
				key := strings.Join(cycle, ",")
				if !seen[key] {
					seen[key] = true
					out = append(out, cycle)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, cs := range c.order {
		if color[cs.out.ID] == white {
			visit(cs.out.ID)
		}
	}
	return out
}

// rotateCycle turns a cycle found along dependency edges (a waits for b)
// into execution order starting at its earliest-declared step.
func (c *compiler) rotateCycle(cycle []string) []string {
	// Reverse: the stack lists waiters before what they wait for.
	for i, j := 0, len(cycle)-1; i < j; i, j = i+1, j-1 {
		cycle[i], cycle[j] = cycle[j], cycle[i]
	}
	best := 0
	for i, id := range cycle {
		if c.steps[id].blk.order < c.steps[cycle[best]].blk.order {
			best = i
		}
	}
	return append(cycle[best:], cycle[:best]...)
}

// ancestors returns every step a step transitively waits for.
func (c *compiler) ancestors(cs *cstep) map[string]bool {
	out := map[string]bool{}
	var walk func(*cstep)
	walk = func(s *cstep) {
		for d := range s.deps {
			if !out[d] {
				out[d] = true
				walk(c.steps[d])
			}
		}
	}
	walk(cs)
	return out
}

// safetyCheck is guard one of the safety interlock: every safety-critical
// step must have, among the steps it waits for, a safety approval covering its
// target zone that is unconditional or carries the step's own condition.
func (c *compiler) safetyCheck() {
	own := c.ownSignoffs()
	defer c.checkDistinct()
	defer c.warnIdleSignoffs()
	for _, cs := range c.order {
		a := cs.out.Action
		if a == nil || cs.spec == nil || !cs.spec.SafetyCritical {
			continue
		}
		zone, ok := c.target(cs)
		if !ok {
			if !cs.hadErrors {
				c.errorf(cs.blk.DeclRange, "Safety-critical step without a known target",
					"%s runs %s, a safety-critical action, but the zone it acts on cannot be determined when the playbook is compiled, so no sign-off can be proven to cover it. Name the zone or conduit directly: zone.NAME or conduit.NAME.",
					cs.out.ID, cs.spec.Name)
			}
			continue
		}
		a.Target = zone
		c.uses["zone."+zone] = true
		if cs.spec.Target == actions.TargetZone {
			c.warnNothingToCut(cs, zone)
			if len(cs.listRefs) > 0 {
				c.checkSelection(cs, zone)
			}
		}
		c.checkEnforcement(cs, zone)
		anc := c.ancestors(cs)
		if o := own[cs.out.ID]; len(o) > 0 || c.needsOwnSignoff(cs) {
			c.checkOwnSignoff(cs, zone, o, anc)
			continue
		}
		var guards, conditional, otherZones, unreachable, elsewhere []string
		var wrongZone *cstep // the first approval on the way that covers another zone
		for _, other := range c.order {
			ap := other.out.Approval
			if ap == nil || ap.Kind != plan.ApprovalSafety {
				continue
			}
			if len(ap.For) > 0 {
				// A sign-off for named steps guards only those.
				if anc[other.out.ID] {
					elsewhere = append(elsewhere, fmt.Sprintf("%s is for %s only (its for)", other.out.ID, strings.Join(ap.For, ", ")))
				}
				continue
			}
			covers := contains(ap.Covers, zone)
			switch {
			case !anc[other.out.ID] && covers:
				// An approval that itself waits for the step comes too late
				// to guard it; only one on a parallel branch is worth naming.
				if !c.ancestors(other)[cs.out.ID] {
					unreachable = append(unreachable, other.out.ID)
				}
			case !anc[other.out.ID]:
			case !covers:
				otherZones = append(otherZones, fmt.Sprintf("%s covers %s", other.out.ID, joinPrefixed("zone.", ap.Covers)))
				if wrongZone == nil {
					wrongZone = other
				}
			case other.whenKey != "" && other.whenKey != cs.whenKey:
				conditional = append(conditional, other.out.ID)
			default:
				guards = append(guards, other.out.ID)
			}
		}
		if len(guards) > 0 {
			a.GuardedBy = guards
			continue
		}
		if c.incomplete(cs, anc) {
			// What it waits for is not known yet: the error that says why
			// is the one to fix first, and this one would follow from it.
			continue
		}
		var why []string
		for _, id := range conditional {
			why = append(why, fmt.Sprintf("%s only runs when %s, but %s does not carry that same when, so it could run without the sign-off",
				id, c.steps[id].out.When.Source, cs.out.ID))
		}
		if len(otherZones) > 0 {
			why = append(why, strings.Join(otherZones, "; ")+fmt.Sprintf(", not zone.%s", zone))
		}
		for _, id := range unreachable {
			why = append(why, fmt.Sprintf("%s covers zone.%s but %s does not wait for it (it runs on a parallel branch); add it to needs", id, zone, cs.out.ID))
		}
		why = append(why, elsewhere...)
		detail := fmt.Sprintf("%s runs %s on zone.%s, a safety-critical action. Every path to it must pass an approval with kind = \"safety\" that covers zone.%s, and none does.",
			cs.out.ID, a.Action, zone, zone)
		if len(why) > 0 {
			detail += " " + strings.Join(why, ". ") + "."
		}
		subject := cs.blk.DeclRange
		if len(unreachable) == 0 && len(conditional) == 0 {
			add := "\n\nAdd a sign-off and wait for it:"
			if wrongZone != nil {
				// The sign-off is there, on another zone: most likely its
				// covers is what is wrong, so that is where the error points.
				if a := wrongZone.blk.Attrs["covers"]; a != nil {
					subject = a.Expr.Range()
				}
				fix := "covers = [zone." + zone + "]"
				if old := wrongZone.out.Approval.Covers; len(old) > 0 {
					fix += fmt.Sprintf(", or [%s] if it signs off both", joinPrefixed("zone.", append(append([]string(nil), old...), zone)))
				}
				add = fmt.Sprintf("\n\nIf %s is the sign-off for %s, fix its covers: %s.\nOtherwise, if %s needs a sign-off of its own, add one and wait for it:",
					wrongZone.out.ID, cs.out.ID, fix, cs.out.ID)
			}
			name := c.freeName(cs.blk.Name + "_ok")
			detail += add + fmt.Sprintf("\n  approval \"%s\" {\n    kind   = \"safety\"\n    covers = [zone.%s]\n    prompt = \"...\"\n  }\nand in %s: needs = [approval.%s]", name, zone, cs.out.ID, name)
		}
		c.errorf(subject, "Safety-critical step without a safety sign-off", "%s", detail)
	}
}

// incomplete reports whether a step or any step it waits for had an error
// while compiling, such as an unknown name in needs: then its ancestors are
// not all known and the safety check could only report a consequence.
func (c *compiler) incomplete(cs *cstep, anc map[string]bool) bool {
	if cs.hadErrors {
		return true
	}
	for id := range anc {
		if s := c.steps[id]; s != nil && s.hadErrors {
			return true
		}
	}
	return false
}

// warnNothingToCut warns about isolating (or restoring) a zone that has no
// conduit into it that isolation would cut: the action would change nothing
// while the timeline says the zone was isolated.
func (c *compiler) warnNothingToCut(cs *cstep, zone string) {
	var kept []string
	for _, n := range sortedKeys(c.cfg.Conduits) {
		k := c.cfg.Conduits[n]
		if k.To == nil || k.To.Name != zone {
			continue
		}
		if !k.KeepOpenOnIsolation {
			return
		}
		kept = append(kept, "conduit."+n)
	}
	into := "no conduit leads into it"
	if len(kept) > 0 {
		into = "the only conduits into it (" + strings.Join(kept, ", ") + ") are marked keep_open_on_isolation"
	}
	c.warnf(cs.blk.DeclRange, "Isolation would cut nothing",
		"%s runs %s on zone.%s, but %s, so there is nothing to cut or reopen. Declare the zone's conduits (conduit \"NAME\" { from = ..., to = zone.%s, enforcement = ... }), or act on the zone the traffic really enters.",
		cs.out.ID, cs.spec.Name, zone, into, zone)
}

// selectInto splits the conduits into zone that isolation would cut (to is
// the zone, not kept open on isolation) into those the step acts on and
// those its from and except leave alone, each sorted, as the activities
// choose them.
func (c *compiler) selectInto(cs *cstep, zone string) (act, skipped []string) {
	from := map[string]bool{}
	for _, r := range cs.listRefs["from"] {
		from[r.Name] = true
	}
	except := map[string]bool{}
	for _, r := range cs.listRefs["except"] {
		except[r.Name] = true
	}
	for _, n := range sortedKeys(c.cfg.Conduits) {
		k := c.cfg.Conduits[n]
		if k.To == nil || k.To.Name != zone || k.KeepOpenOnIsolation {
			continue
		}
		if except[n] || (len(from) > 0 && (k.From == nil || !from[k.From.Name])) {
			skipped = append(skipped, n)
		} else {
			act = append(act, n)
		}
	}
	return act, skipped
}

// checkSelection checks a zone step's from and except against the plant
// model. Each is an error at the entry: an except conduit that does not
// lead into the zone, or a from zone no conduit comes from into it, says
// the author meant another conduit or zone, and the step would touch
// conduits they did not mean to. A selection that leaves nothing to act on
// is an error too, not a warning as for a zone with no conduits: the
// playbook contradicts itself, and a sign-off would be asked for a step
// that does nothing while the timeline reads as though it isolated.
func (c *compiler) checkSelection(cs *cstep, zone string) {
	into := map[string]bool{}
	fromZones := map[string]bool{}
	var intoNames []string
	for _, n := range sortedKeys(c.cfg.Conduits) {
		k := c.cfg.Conduits[n]
		if k.To == nil || k.To.Name != zone {
			continue
		}
		into[n] = true
		intoNames = append(intoNames, n)
		if k.From != nil && !k.KeepOpenOnIsolation {
			fromZones[k.From.Name] = true
		}
	}
	bad := false
	for _, r := range cs.listRefs["except"] {
		if into[r.Name] {
			continue
		}
		bad = true
		k := c.cfg.Conduits[r.Name]
		runs := ""
		if k != nil && k.From != nil && k.To != nil {
			runs = fmt.Sprintf(" (it runs from zone.%s to zone.%s)", k.From.Name, k.To.Name)
		}
		c.errorf(r.Range, "Conduit not into the zone",
			"%s runs %s on zone.%s, but except names conduit.%s, which does not lead into zone.%s%s, so the step would not touch it anyway. Conduits into zone.%s: %s.",
			cs.out.ID, cs.spec.Name, zone, r.Name, zone, runs, zone, knownListPrefixed("conduit", intoNames))
	}
	for _, r := range cs.listRefs["from"] {
		if fromZones[r.Name] {
			continue
		}
		bad = true
		var zs []string
		for z := range fromZones {
			zs = append(zs, z)
		}
		sort.Strings(zs)
		c.errorf(r.Range, "No conduit from the zone",
			"%s runs %s on zone.%s, but from names zone.%s, and no conduit that isolation cuts leads from zone.%s into zone.%s. Zones with such a conduit: %s.",
			cs.out.ID, cs.spec.Name, zone, r.Name, r.Name, zone, knownListPrefixed("zone", zs))
	}
	if bad {
		return
	}
	act, skipped := c.selectInto(cs, zone)
	if len(act) == 0 && len(skipped) > 0 {
		c.errorf(cs.blk.DeclRange, "Selection leaves nothing to do",
			"%s runs %s on zone.%s, but its from and except leave every conduit into it alone (%s), so the step would cut or reopen nothing. Remove the step, or narrow except or widen from.",
			cs.out.ID, cs.spec.Name, zone, joinPrefixed("conduit.", skipped))
	}
}

// cutConduits returns the names of the conduits a safety-critical step cuts
// (or, for ot.restore_zone and ot.restore_conduit, reopens), sorted, as the
// activities choose them: for an action on a zone, every conduit whose to
// is the zone, that is not kept open on isolation and that its from and
// except select; for an action on a conduit, that conduit.
func (c *compiler) cutConduits(cs *cstep, zone string) []string {
	if cs.spec.Target == actions.TargetConduitTo {
		if e := cs.out.Action.With["conduit"]; e != nil {
			if v, ok := e.IsLiteral(); ok {
				if name, ok := v.(string); ok && c.cfg.Conduits[name] != nil {
					return []string{name}
				}
			}
		}
		return nil
	}
	act, _ := c.selectInto(cs, zone)
	return act
}

// checkEnforcement rejects a safety-critical step that would cut a conduit
// with no enforcement point: at run time the activity refuses it and the
// incident fails at the worst moment, after the sign-off.
func (c *compiler) checkEnforcement(cs *cstep, zone string) {
	var bare, where []string
	for _, n := range c.cutConduits(cs, zone) {
		k := c.cfg.Conduits[n]
		if strings.TrimSpace(k.Enforcement) != "" {
			continue
		}
		bare = append(bare, "conduit."+n)
		r := k.DeclRange
		where = append(where, fmt.Sprintf("conduit.%s is declared at %s:%d", n, r.Filename, r.Start.Line))
	}
	if len(bare) == 0 {
		return
	}
	noun, has := "conduit", "it has"
	if len(bare) > 1 {
		noun, has = "conduits", "they have"
	}
	keep := ""
	if cs.spec.Target == actions.TargetZone {
		keep = ", or set keep_open_on_isolation = true on a conduit that must stay open when the zone is isolated"
	}
	c.errorf(cs.blk.DeclRange, "Conduit without enforcement",
		"%s runs %s, which cuts %s %s, but %s no enforcement, so nothing can cut it and the incident would fail at this step, after the sign-off. Add enforcement = \"nftables.NAME\" (an integration that can cut it) to the %s%s. (%s.)",
		cs.out.ID, cs.spec.Name, noun, strings.Join(bare, ", "), has, noun, keep, strings.Join(where, "; "))
}

func joinPrefixed(p string, ss []string) string {
	if len(ss) == 0 {
		return "no zone"
	}
	return strings.Join(prefixAll(strings.TrimSuffix(p, "."), ss), ", ")
}

// target returns the zone a safety-critical step acts on.
func (c *compiler) target(cs *cstep) (string, bool) {
	spec := cs.spec
	argName := "zone"
	if spec.Target == actions.TargetConduitTo {
		argName = "conduit"
	}
	e := cs.out.Action.With[argName]
	if e == nil {
		return "", false // missing or invalid argument, already reported
	}
	v, ok := e.IsLiteral()
	name, isStr := v.(string)
	if !ok || !isStr {
		return "", false
	}
	if spec.Target == actions.TargetConduitTo {
		k := c.cfg.Conduits[name]
		if k == nil || k.To == nil {
			return "", false
		}
		c.uses["conduit."+name] = true
		return k.To.Name, true
	}
	return name, true
}

// freeName returns name, or name with a number added, that no step of the
// playbook uses yet.
func (c *compiler) freeName(name string) string {
	taken := func(n string) bool {
		for _, s := range c.order {
			if s.blk.Name == n {
				return true
			}
		}
		return false
	}
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s%d", name, i); !taken(n) {
			return n
		}
	}
}
