package playbooks

import (
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// The plant model and the safety policy as plans carry them. The compiler
// copies them into every plan through these, and the worker builds its own
// authority (internal/org) through the same ones, so guard three compares
// like with like.

// PlanZone returns the declared zone name as a plan carries it.
func (cfg *Config) PlanZone(name string) (plan.Zone, bool) {
	x, ok := cfg.Zones[name]
	if !ok {
		return plan.Zone{}, false
	}
	z := plan.Zone{ID: name, Title: x.Title, PurdueLevel: x.PurdueLevel, SecurityLevel: x.SecurityLevel, Networks: x.Networks}
	if s := x.SafeState; s != nil {
		z.SafeState = &plan.SafeState{Integration: s.Integration, Register: s.Register, Expect: s.Expect}
	}
	return z, true
}

// PlanConduit returns the declared conduit name as a plan carries it.
func (cfg *Config) PlanConduit(name string) (plan.Conduit, bool) {
	x, ok := cfg.Conduits[name]
	if !ok {
		return plan.Conduit{}, false
	}
	k := plan.Conduit{ID: name, Protocols: x.Protocols, Enforcement: x.Enforcement, KeepOpenOnIsolation: x.KeepOpenOnIsolation}
	if x.From != nil {
		k.From = x.From.Name
	}
	if x.To != nil {
		k.To = x.To.Name
	}
	return k, true
}

// PlanZones returns every declared zone, sorted by name.
func (cfg *Config) PlanZones() []plan.Zone {
	var out []plan.Zone
	for _, n := range sortedKeys(cfg.Zones) {
		z, _ := cfg.PlanZone(n)
		out = append(out, z)
	}
	return out
}

// PlanConduits returns every declared conduit, sorted by name.
func (cfg *Config) PlanConduits() []plan.Conduit {
	var out []plan.Conduit
	for _, n := range sortedKeys(cfg.Conduits) {
		k, _ := cfg.PlanConduit(n)
		out = append(out, k)
	}
	return out
}

// PlanSafety returns the safety policy as a plan carries it: the signoff
// as a one-from-each quorum of its rosters, and the break_glass block. It
// is nil when the configuration declares no safety block with a signoff.
func (cfg *Config) PlanSafety() *plan.Safety {
	if cfg.Safety == nil || cfg.Safety.Signoff == nil {
		return nil
	}
	s := &plan.Safety{Signoff: cfg.signoffQuorum()}
	if bg := cfg.Safety.BreakGlass; bg != nil {
		s.BreakGlass = &plan.BreakGlass{RequireReason: bg.RequireReason}
		for _, r := range bg.Rosters {
			s.BreakGlass.Rosters = append(s.BreakGlass.Rosters, r.addr())
		}
	}
	return s
}
