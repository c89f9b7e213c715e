package activities

import (
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Authority is the worker's own loaded configuration: the one authority
// guard three and the start check go by, never the plan an activity is
// handed. Policy is asked again for every check, so a reload (SIGHUP) that
// removes someone from a roster counts from the next action on.
type Authority interface {
	// Policy returns the configuration in force now.
	Policy() *Policy
}

// Policy is a snapshot of the worker's configuration, as guard three needs
// it.
type Policy struct {
	// Directory says who belongs to which roster now.
	Directory *rules.Directory
	// Safety is the worker's safety policy; nil when it declares none (then
	// no safety-critical action can be authorised, except by nobody).
	Safety *plan.Safety
	// Zones and Conduits are the worker's plant model. A call whose plant
	// model disagrees with them about anything the action touches is
	// refused.
	Zones    []plan.Zone
	Conduits []plan.Conduit
	// Keys are the public keys the worker trusts.
	Keys *attest.Keyring
	// RequireAttestation refuses unsigned starts and sign-offs (firebreak
	// worker); off, they are accepted and marked unattested (firebreak dev).
	RequireAttestation bool
	// Playbooks holds, per playbook the worker knows, the principals its
	// may_start names (nil: any declared person).
	Playbooks map[string][]string
}
