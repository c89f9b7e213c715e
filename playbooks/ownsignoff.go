package playbooks

import (
	"fmt"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// restoreActions are the actions restore_needs_own_signoff is about: the
// ones that reopen conduits.
var restoreActions = map[string]bool{"ot.restore_zone": true, "ot.restore_conduit": true}

// ownSignoffs resolves every approval's for and distinct_from, now that
// every step is compiled, and returns, per safety-critical step ID, the
// safety approvals whose for names it, in source order.
func (c *compiler) ownSignoffs() map[string][]*cstep {
	own := map[string][]*cstep{}
	for _, cs := range c.order {
		ap := cs.out.Approval
		if ap == nil {
			continue
		}
		for _, r := range cs.forRefs {
			target := c.refStep(r)
			if target == nil {
				continue
			}
			if target.spec == nil {
				continue // the step's action is unknown, already reported
			}
			if !target.spec.SafetyCritical {
				c.errorf(r.Range, "Sign-off for a step that needs none",
					"%s runs %s, which is not safety-critical, so no sign-off guards it. for lists the safety-critical steps (ot.isolate_zone, ot.restore_zone, ot.block_conduit, ot.restore_conduit, ...) that %s is for.",
					target.out.ID, target.spec.Name, cs.out.ID)
				continue
			}
			if contains(ap.For, target.out.ID) || ap.Kind != plan.ApprovalSafety {
				continue
			}
			ap.For = append(ap.For, target.out.ID)
			own[target.out.ID] = append(own[target.out.ID], cs)
		}
		for _, r := range cs.distinctRefs {
			target := c.refStep(r)
			switch {
			case target == nil:
			case target == cs:
				c.errorf(r.Range, "Approval distinct from itself",
					"distinct_from names other approvals whose approvers may not approve %s; it cannot name %s itself. Remove it.", cs.out.ID, cs.out.ID)
			case !contains(ap.DistinctFrom, target.out.ID):
				ap.DistinctFrom = append(ap.DistinctFrom, target.out.ID)
			}
		}
	}
	return own
}

// refStep returns the step a for or distinct_from entry names, or reports
// that there is none (with a did-you-mean) and returns nil.
func (c *compiler) refStep(r Ref) *cstep {
	if target := c.steps[r.addr()]; target != nil {
		return target
	}
	same, other := c.stepNamesOf(r.Kind), c.stepIDsNamed(r.Name)
	hint := ""
	if len(other) > 0 {
		hint = fmt.Sprintf(" There is %s; did you mean that?", strings.Join(other, " and "))
	} else if s := suggest(r.Name, same); s != "" {
		hint = fmt.Sprintf(" Did you mean %q?", r.Kind+"."+s)
	}
	c.errorf(r.Range, "Reference to undeclared "+r.Kind,
		"Playbook %q has no %s block named %q.%s Known %s blocks: %s.", c.pb.Name, r.Kind, r.Name, hint, r.Kind, knownListPrefixed(r.Kind, same))
	return nil
}

// needsOwnSignoff reports whether the safety policy makes a step need a
// sign-off that names it in for (restore_needs_own_signoff).
func (c *compiler) needsOwnSignoff(cs *cstep) bool {
	return c.cfg.Safety != nil && c.cfg.Safety.RestoreNeedsOwnSignoff && cs.spec != nil && restoreActions[cs.spec.Name]
}

// checkOwnSignoff is the safety check for a step that needs a sign-off of
// its own (an approval's for names it, or the safety policy says every
// restore does): only the approvals naming it guard it, and each of them
// must cover its zone, be a required ancestor and carry its when.
// Otherwise the error names the step and says which sign-off is missing.
func (c *compiler) checkOwnSignoff(cs *cstep, zone string, own []*cstep, anc map[string]bool) {
	a := cs.out.Action
	if len(own) == 0 {
		var others []string
		for _, o := range c.order {
			if ap := o.out.Approval; ap != nil && ap.Kind == plan.ApprovalSafety && anc[o.out.ID] && contains(ap.Covers, zone) {
				others = append(others, o.out.ID)
			}
		}
		detail := fmt.Sprintf("%s runs %s on zone.%s, and the safety policy says every restore needs a sign-off of its own (restore_needs_own_signoff = true), but no approval names %s in for.",
			cs.out.ID, a.Action, zone, cs.out.ID)
		if len(others) > 0 {
			detail += fmt.Sprintf(" An earlier sign-off covering the same zone (%s) does not count for it.", strings.Join(others, ", "))
		}
		name := c.freeName(cs.blk.Name + "_ok")
		detail += fmt.Sprintf("\n\nAdd for = [%s] to the approval that signs off this restore, or add one and wait for it:\n  approval \"%s\" {\n    kind   = \"safety\"\n    covers = [zone.%s]\n    for    = [%s]\n    prompt = \"...\"\n  }\nand in %s: needs = [approval.%s]",
			cs.out.ID, name, zone, cs.out.ID, cs.out.ID, name)
		c.errorf(cs.blk.DeclRange, "Safety-critical step without its own sign-off", "%s", detail)
		return
	}
	var ids, why []string
	for _, o := range own {
		id := o.out.ID
		ids = append(ids, id)
		ap := o.out.Approval
		switch {
		case !contains(ap.Covers, zone):
			why = append(why, fmt.Sprintf("%s names %s in for but covers %s, not zone.%s; fix its covers", id, cs.out.ID, joinPrefixed("zone.", ap.Covers), zone))
		case !anc[id] && c.ancestors(o)[cs.out.ID]:
			why = append(why, fmt.Sprintf("%s waits for %s, so the sign-off would come after the action; make %s wait for %s instead", id, cs.out.ID, cs.out.ID, id))
		case !anc[id]:
			why = append(why, fmt.Sprintf("%s does not wait for %s; add %s to its needs", cs.out.ID, id, id))
		case o.whenKey != "" && o.whenKey != cs.whenKey:
			runs := "always runs"
			if cs.out.When != nil {
				runs = "runs when " + cs.out.When.Source
			}
			why = append(why, fmt.Sprintf("%s only runs when %s, but %s %s, so it could run without its own sign-off; give both the same when", id, o.out.When.Source, cs.out.ID, runs))
		}
	}
	if len(why) == 0 {
		a.GuardedBy = ids
		return
	}
	c.errorf(cs.blk.DeclRange, "Safety-critical step without its own sign-off",
		"%s runs %s on zone.%s and is guarded only by the sign-offs whose for names it (%s); an earlier sign-off covering the same zone does not count for it. %s.",
		cs.out.ID, a.Action, zone, strings.Join(ids, ", "), strings.Join(why, ". "))
}

// warnIdleSignoffs warns about a safety approval that guards no
// safety-critical step: nothing waits for it with its condition, so
// approving it lets nothing run, and the step it was written for runs
// without it (guarded, if at all, by an earlier sign-off). An approval
// with for is not warned about: checkOwnSignoff already holds it to its
// steps.
func (c *compiler) warnIdleSignoffs() {
	// With errors in the playbook, an idle sign-off is their consequence
	// (a typo in a step's needs, a sign-off for the wrong zone): the
	// errors come alone, root cause first.
	if c.diags.HasErrors() {
		return
	}
	guarding := map[string]bool{}
	for _, cs := range c.order {
		if a := cs.out.Action; a != nil {
			for _, g := range a.GuardedBy {
				guarding[g] = true
			}
		}
	}
	for _, o := range c.order {
		ap := o.out.Approval
		if ap == nil || ap.Kind != plan.ApprovalSafety || len(o.forRefs) > 0 || guarding[o.out.ID] || o.hadErrors || len(ap.Covers) == 0 {
			continue
		}
		var without []string
		before := c.ancestors(o) // steps that run before it cannot be what it is for
		for _, cs := range c.order {
			a := cs.out.Action
			if a == nil || !a.SafetyCritical || !contains(ap.Covers, a.Target) || before[cs.out.ID] {
				continue
			}
			w := fmt.Sprintf("%s runs %s on zone.%s without it", cs.out.ID, a.Action, a.Target)
			if len(a.GuardedBy) > 0 {
				w += " (guarded by " + strings.Join(a.GuardedBy, ", ") + ")"
			}
			without = append(without, w)
		}
		detail := fmt.Sprintf("%s is a safety sign-off for %s, but no safety-critical step is guarded by it: none waits for it while carrying the same when, so approving it lets nothing run.",
			o.out.ID, joinPrefixed("zone.", ap.Covers))
		if len(without) > 0 {
			detail += " " + strings.Join(without, "; ") + "."
		}
		detail += fmt.Sprintf(" Say which step it is for (for = [step.NAME]) and add %s to that step's needs, or remove it.", o.out.ID)
		c.warnf(o.blk.DeclRange, "Sign-off guards nothing", "%s", detail)
	}
}

// checkDistinct rejects a distinct_from that the rosters cannot meet: when
// the people of the two approvals' quorums cannot make up both with nobody
// in both, the second sign-off can never be given, and the steps it guards
// never run.
func (c *compiler) checkDistinct() {
	var dir *rules.Directory
	for _, cs := range c.order {
		ap := cs.out.Approval
		if ap == nil || len(ap.DistinctFrom) == 0 {
			continue
		}
		if dir == nil {
			dir = c.cfg.Directory()
		}
		for _, r := range cs.distinctRefs {
			other := c.steps[r.addr()]
			if other == nil || other == cs || other.out.Approval == nil {
				continue
			}
			qa, qb := other.out.Approval.Quorum, ap.Quorum
			if len(qa.Groups) == 0 || len(qb.Groups) == 0 || dir.FromUsergroup(qa.Groups) || dir.FromUsergroup(qb.Groups) {
				continue // groups unknown (reported) or filled only at run time
			}
			if dir.DisjointQuorums(qa, qb) {
				continue
			}
			var waits []string
			for _, s := range c.order {
				if a := s.out.Action; a != nil && contains(a.GuardedBy, cs.out.ID) {
					waits = append(waits, s.out.ID)
				}
			}
			never := "nothing that waits for it could run"
			if len(waits) > 0 {
				never = strings.Join(waits, ", ") + ", which needs it, could never run"
			}
			people := dir.Expand(append(append([]string(nil), qa.Groups...), qb.Groups...))
			c.errorf(r.Range, "Sign-offs cannot be given by different people",
				"%s must be approved by people other than those who approved %s (distinct_from), but %s have too few people (%s) to make up both quorums with nobody in both, so %s and %s. Add people to the rosters, or remove distinct_from.",
				cs.out.ID, other.out.ID, strings.Join(uniqueStrings(append(append([]string(nil), qa.Groups...), qb.Groups...)), " and "), strings.Join(people, ", "), cs.out.ID+" could never be approved", never)
		}
	}
}

// uniqueStrings returns ss without repeats, in first-seen order.
func uniqueStrings(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
