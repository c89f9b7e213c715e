package playbooks

import (
	"sort"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// assemble builds the plan from compiled steps, carrying only the people,
// rosters, zones and integrations the playbook can reach.
func (c *compiler) assemble(sorted []*cstep) *plan.Plan {
	pb := c.pb
	p := &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Playbook:      pb.Name,
		Title:         pb.Title,
		Severity:      pb.Severity,
		Tags:          pb.Tags,
		Source:        toRange(pb.DeclRange),
		Steps:         []plan.Step{},
		Keys:          c.cfg.Keys(),
	}
	if len(c.mayStart) > 0 {
		p.MayStart = c.mayStart
	}
	for _, in := range pb.Inputs {
		pi := plan.Input{Name: in.Name, Type: in.TypeString, Description: in.Description, Required: in.Default == nil}
		if in.Default != nil {
			pi.Default, _ = ctyToGo(*in.Default)
		}
		p.Inputs = append(p.Inputs, pi)
	}
	for _, cs := range sorted {
		st := cs.out
		st.Needs = sortedKeys(cs.deps)
		c.usePrincipals(st)
		p.Steps = append(p.Steps, st)
	}
	c.closeUses()
	cfg := c.cfg
	for _, n := range c.used("person") {
		p.People = append(p.People, cfg.planPerson(n))
	}
	for _, n := range c.used("roster") {
		p.Rosters = append(p.Rosters, cfg.planRoster(n))
	}
	for _, n := range c.used("escalation") {
		x := cfg.Escalations[n]
		e := plan.Escalation{ID: n, Repeat: x.Repeat}
		for _, t := range x.Tiers {
			tier := plan.Tier{AckWithin: plan.Duration(t.AckWithin.D)}
			for _, r := range t.Notify {
				tier.Notify = append(tier.Notify, r.addr())
			}
			e.Tiers = append(e.Tiers, tier)
		}
		p.Escalations = append(p.Escalations, e)
	}
	for _, n := range c.used("zone") {
		z, _ := cfg.PlanZone(n)
		p.Zones = append(p.Zones, z)
	}
	for _, n := range c.used("conduit") {
		k, _ := cfg.PlanConduit(n)
		p.Conduits = append(p.Conduits, k)
	}
	for _, id := range c.usedIntegrations() {
		p.Integrations = append(p.Integrations, cfg.Integrations[id].Plan())
	}
	if c.uses["safety"] {
		p.Safety = cfg.PlanSafety()
	}
	return p
}

// usePrincipals records the people, rosters and escalations a step names.
func (c *compiler) usePrincipals(st plan.Step) {
	var lists [][]string
	switch {
	case st.Page != nil:
		c.uses["escalation."+st.Page.Escalation] = true
	case st.Approval != nil:
		lists = append(lists, st.Approval.Quorum.Groups)
		if st.Approval.OnTimeout != "" {
			c.uses["escalation."+st.Approval.OnTimeout] = true
		}
		for _, z := range st.Approval.Covers {
			c.uses["zone."+z] = true
		}
	case st.Decision != nil:
		lists = append(lists, st.Decision.Ask)
	case st.Task != nil:
		lists = append(lists, st.Task.Assign)
		if st.Task.OnTimeout != "" {
			c.uses["escalation."+st.Task.OnTimeout] = true
		}
	case st.Notify != nil:
		lists = append(lists, st.Notify.To)
	case st.Action != nil && st.Action.SafetyCritical:
		c.uses["safety"] = true
	}
	for _, l := range lists {
		for _, a := range l {
			if strings.Contains(a, ".") {
				c.uses[a] = true
			}
		}
	}
}

// closeUses adds everything the used objects refer to in turn, until nothing
// new is added.
func (c *compiler) closeUses() {
	cfg := c.cfg
	if c.uses["safety"] && cfg.Safety != nil {
		if cfg.Safety.Signoff != nil {
			for _, r := range cfg.Safety.Signoff.Rosters {
				c.uses[r.addr()] = true
			}
		}
		if cfg.Safety.BreakGlass != nil {
			for _, r := range cfg.Safety.BreakGlass.Rosters {
				c.uses[r.addr()] = true
			}
		}
	}
	// A zone that a safety-critical step acts on brings every conduit into it.
	for _, st := range c.order {
		if st.out.Action != nil && st.out.Action.Target != "" {
			for n, k := range cfg.Conduits {
				if k.To != nil && k.To.Name == st.out.Action.Target {
					c.uses["conduit."+n] = true
				}
			}
		}
	}
	for changed := true; changed; {
		changed = false
		add := func(a string) {
			if !c.uses[a] {
				c.uses[a] = true
				changed = true
			}
		}
		for a := range c.uses {
			kind, name, _ := strings.Cut(a, ".")
			switch kind {
			case blockRoster:
				if r := cfg.Rosters[name]; r != nil {
					for _, m := range r.Members {
						add(m.addr())
					}
				}
			case blockEscalation:
				if e := cfg.Escalations[name]; e != nil {
					for _, t := range e.Tiers {
						for _, r := range t.Notify {
							add(r.addr())
						}
					}
				}
			case blockConduit:
				if k := cfg.Conduits[name]; k != nil {
					if k.From != nil {
						add(k.From.addr())
					}
					if k.To != nil {
						add(k.To.addr())
					}
					if k.Enforcement != "" {
						add("integration." + k.Enforcement)
					}
				}
			case blockZone:
				if z := cfg.Zones[name]; z != nil && z.SafeState != nil {
					add("integration." + z.SafeState.Integration)
				}
			}
		}
	}
}

// used returns the sorted names of used objects of one kind that exist.
func (c *compiler) used(kind string) []string {
	var out []string
	for a := range c.uses {
		if name, ok := strings.CutPrefix(a, kind+"."); ok && c.cfg.has(kind, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// usedIntegrations returns the IDs of integrations the plan needs: those named
// directly and every instance of a kind an action runs through.
func (c *compiler) usedIntegrations() []string {
	set := map[string]bool{}
	for a := range c.uses {
		if id, ok := strings.CutPrefix(a, "integration."); ok && c.cfg.Integrations[id] != nil {
			set[id] = true
		}
		if kind, ok := strings.CutPrefix(a, "integration-kind."); ok {
			for id, in := range c.cfg.Integrations {
				if in.Kind == kind {
					set[id] = true
				}
			}
		}
	}
	return sortedKeys(set)
}
