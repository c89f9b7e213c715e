package org

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// PolicyOf builds what guard three and the start check go by from a
// configuration: its people and rosters, its safety policy, its whole plant
// model, the public keys it declares and, per playbook, who may start it.
// requireAttestation is the worker's mode (firebreak worker: true). The
// errors are keys that do not parse; they are left out of the keyring and
// the rest still work. It leaves Covers nil, which needs the playbooks
// compiled: the worker's policy is Org.Policy, which fills it.
func PolicyOf(cfg *playbooks.Config, requireAttestation bool) (*activities.Policy, []error) {
	keys, errs := attest.NewKeyring(cfg.Keys())
	p := &activities.Policy{
		Directory:          cfg.Directory(),
		Safety:             cfg.PlanSafety(),
		Zones:              cfg.PlanZones(),
		Conduits:           cfg.PlanConduits(),
		Keys:               keys,
		RequireAttestation: requireAttestation,
		Playbooks:          map[string][]string{},
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Playbooks)) {
		p.Playbooks[name] = cfg.MayStart(name)
	}
	return p, errs
}

// Policy is the organisation as guard three and the start check see it;
// see PolicyOf.
// Unlike PolicyOf, it also knows which zones each safety approval of each
// playbook covers (Policy.Covers), which takes compiling the playbooks.
func (o *Org) Policy(requireAttestation bool) (*activities.Policy, []error) {
	p, errs := PolicyOf(o.Config, requireAttestation)
	p.Covers = map[string]map[string][]string{}
	p.Distinct = map[string]map[string][]string{}
	p.Own = map[string]map[string][]string{}
	for _, name := range o.Module.PlaybookNames() {
		pl, diags := o.Plan(name)
		if diags.HasErrors() {
			errs = append(errs, fmt.Errorf("playbook %s does not compile, so none of its approvals covers anything: %s", name, diags.Error()))
			continue
		}
		for _, st := range pl.Steps {
			if own := ownSignoffs(pl, st); len(own) > 0 {
				if p.Own[name] == nil {
					p.Own[name] = map[string][]string{}
				}
				p.Own[name][st.ID] = own
			}
			if st.Approval == nil || st.Approval.Kind != plan.ApprovalSafety {
				continue
			}
			if p.Covers[name] == nil {
				p.Covers[name] = map[string][]string{}
			}
			p.Covers[name][st.ID] = slices.Clone(st.Approval.Covers)
			if d := rules.DistinctFrom(pl, st.ID); len(d) > 0 {
				if p.Distinct[name] == nil {
					p.Distinct[name] = map[string][]string{}
				}
				p.Distinct[name][st.ID] = d
			}
		}
	}
	return p, errs
}

// ownSignoffs returns the approvals that guard a safety-critical step of
// pl when it needs a sign-off of its own: the compiler then guards it only
// by the approvals whose for names it. It returns nil for any other step.
func ownSignoffs(pl *plan.Plan, st plan.Step) []string {
	if st.Action == nil || len(st.Action.GuardedBy) == 0 {
		return nil
	}
	for _, g := range st.Action.GuardedBy {
		ap := pl.StepByID(g)
		if ap == nil || ap.Approval == nil || !slices.Contains(ap.Approval.For, st.ID) {
			return nil
		}
	}
	return slices.Clone(st.Action.GuardedBy)
}

// Authority is the worker's activities.Authority: at every check it builds
// the policy from the organisation the holder has in force then, so a
// reload that removes someone from a roster counts from the next action
// on. The policy is built once per loaded organisation.
type Authority struct {
	holder  *Holder
	require bool

	mu   sync.Mutex
	last *Org
	pol  *activities.Policy
}

// NewAuthority returns the authority of the organisations h holds, in the
// given attestation mode.
func NewAuthority(h *Holder, requireAttestation bool) *Authority {
	return &Authority{holder: h, require: requireAttestation}
}

// Policy returns the policy of the organisation in force now.
func (a *Authority) Policy() *activities.Policy {
	o := a.holder.Current()
	if o == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if o != a.last {
		a.pol, _ = o.Policy(a.require)
		a.last = o
	}
	return a.pol
}
