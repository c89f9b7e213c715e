package activities

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

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
	// Covers holds, per playbook and per safety approval of it
	// ("approval.isolate_ok"), the zones the approval covers by the
	// worker's configuration. An attestation does not name zones, so guard
	// three takes a sign-off's zones from here, never from the call; a
	// sign-off of an approval not listed covers nothing. Nil (a policy
	// made by hand) takes the call's.
	Covers map[string]map[string][]string
	// Distinct holds, per playbook and per safety approval of it, the
	// approvals whose approvers may not sign it off (distinct_from, either
	// way) by the worker's configuration. Nil (a policy made by hand)
	// checks nothing of the kind.
	Distinct map[string]map[string][]string
	// Own holds, per playbook and per safety-critical step that needs a
	// sign-off of its own (an approval's for names it, or the safety
	// policy's restore_needs_own_signoff), the approvals that may sign it
	// off by the worker's configuration. A sign-off of any other approval
	// is refused for that step, whatever zone it covers. Nil (a policy made
	// by hand) checks nothing of the kind.
	Own map[string]map[string][]string
}

// AuthorityFunc is an Authority that asks a function for the policy in
// force at each check.
type AuthorityFunc func() *Policy

// Policy returns f().
func (f AuthorityFunc) Policy() *Policy { return f() }

// Error types of the worker's own checks, carried by non-retryable temporal
// application errors. The workflow treats each as a failed step.
const (
	// ErrStartRefused means the worker requires attestations and the
	// incident's start is not attested by a key it trusts, or its
	// commander may not start the playbook by the worker's configuration:
	// the worker does nothing at all for such an incident.
	ErrStartRefused = "StartRefused"
	// ErrPlantMismatch means the plant model the call carries differs from
	// the worker's own about something the action would touch (a conduit
	// added or omitted, a network or an enforcement point changed). Nothing
	// was done; a fresh sign-off cannot mend it.
	ErrPlantMismatch = "PlantMismatch"
	// ErrPlantNotSafe means the plant-state check before an isolation read
	// a zone's safe_state register and found another value than expected.
	// Nothing was cut. A playbook branches on it with on_failure =
	// "continue" and when = step.NAME.status == "failed".
	ErrPlantNotSafe = "PlantNotSafe"
	// ErrSignoffUnmendable means guard three refused a sign-off for a
	// reason that no fresh sign-off can mend: the worker has no
	// configuration or safety policy to check it against, or the plan's
	// approval is not one the worker's own playbook has, or does not cover
	// the zone. Nothing was done, and the step fails instead of asking
	// the approvers again and again.
	ErrSignoffUnmendable = "SignoffUnmendable"
)

// StartStep is the step a start attestation names: "playbook." and the
// playbook's name.
func StartStep(playbook string) string { return "playbook." + playbook }

// checkStart verifies the start of the incident a call belongs to against
// the worker's configuration: the start attestation must be made by a key
// p.Keys trusts, for this incident, playbook and commander (and "exercise"
// for an exercise run), and the commander must be allowed to start the
// playbook by p.Playbooks. The plan digest the attestation signs is the
// workflow's to check.
func checkStart(p *Policy, call Call) error {
	commander := personID(call.Commander)
	if commander == "" {
		return fmt.Errorf("the incident names no commander; an incident is started by a known person")
	}
	option := ""
	if call.Exercise {
		option = "exercise"
	}
	want := attest.Want{Incident: call.IncidentID, Step: StartStep(call.Playbook), Round: 0, Person: commander, Answer: attest.Start, Option: option, AnyReason: true, AnyChannel: true}
	if r := p.Keys.Check(call.Start, want, attest.Times{}); r != nil {
		return fmt.Errorf("the start of incident %s by %s is not attested: %s (%s)", call.IncidentID, commander, r.Message, r.Code)
	}
	allowed, known := p.Playbooks[call.Playbook]
	switch {
	case !known:
		return fmt.Errorf("playbook %q is not one this worker's configuration has, so nobody may start it here", call.Playbook)
	case p.Directory == nil:
		return fmt.Errorf("this worker's configuration declares no people, so %s may not start %s", commander, call.Playbook)
	case len(allowed) == 0:
		if _, ok := p.Directory.Person(commander); !ok {
			return fmt.Errorf("%s is not a person declared in this worker's configuration, so may not start %s (%s)", commander, call.Playbook, rules.NotAllowedToStart)
		}
	case !p.Directory.InAny(commander, allowed):
		return fmt.Errorf("%s may not start %s: its may_start names %s (%s)", commander, call.Playbook, strings.Join(allowed, ", "), rules.NotAllowedToStart)
	}
	return nil
}

// admit is the start check every activity makes first. It returns the
// worker's configuration in force for this call (nil when the worker has
// none) and, when that configuration requires attestations, refuses with a
// non-retryable ErrStartRefused failure a call whose incident start does
// not verify, so an incident started by someone the worker does not trust
// cannot page people, post to Slack or act on anything.
func (a *Activities) admit(call Call, activity string) (*Policy, error) {
	if a.Authority == nil {
		return nil, nil
	}
	p := a.Authority.Policy()
	if p == nil || !p.RequireAttestation {
		return p, nil
	}
	if err := checkStart(p, call); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s (%s): refused: %v; this worker acts only for incidents whose start it can verify, and did nothing", stepName(call), activity, err),
			ErrStartRefused, nil)
	}
	return p, nil
}
