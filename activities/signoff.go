package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// CheckSignoff is guard three of the safety interlock: the check every
// safety-critical activity makes, before it touches anything, on the
// sign-off it was handed. It judges the sign-off by the worker's own
// configuration p (its safety policy, its rosters as they are now, its
// keys), never by what the plan or the call claims. target is the zone the
// action acts on (for ot.block_conduit, the conduit's "to" zone) and now is
// the activity's clock.
//
// It returns nil when
//   - the worker has a configuration with a safety policy, and the call
//     carries a sign-off that covers target by the worker's own playbook
//     (p.Covers), whatever the call says it covers;
//   - it is of one of the approvals the worker's playbook says are the
//     step's own (p.Own), when the step needs a sign-off of its own;
//   - either it is a break-glass override by a person on one of the
//     policy's break_glass rosters, with a reason,
//   - or its approvers make the policy's signoff quorum by the rosters'
//     current members (one distinct person from each roster; one person
//     counts once), none of them the incident's initiator when the policy
//     excludes the initiator;
//   - with p.RequireAttestation, every counted approval (or the override)
//     carries an attestation that p.Keys verifies for this incident, this
//     approval and round, this person and this answer, and the start of the
//     incident is attested too (so the initiator is known);
//   - none of its approvers approved an approval this one must be
//     distinct from (distinct_from in the worker's playbook, p.Distinct;
//     who approved that one as the call's Signoff.Signed says);
//   - and it is fresh by the policy's valid_for, counted from the latest
//     signature time of the counted approvals (from the override's
//     signature), or, without RequireAttestation, from the call's grant
//     time.
//
// Otherwise the error names the step, the sign-off and the zone, and says
// what failed in words a responder can act on, e.g. "step.isolate: sign-off
// approval.isolate_ok for plant3_control expired at 10:15:00Z (valid for
// 15m by the worker's safety policy); ask again". The function is pure.
func CheckSignoff(p *Policy, call Call, target string, now time.Time) error {
	step := call.Step
	if step == "" {
		step = "this step"
	}
	target = strings.TrimPrefix(target, "zone.")
	if target == "" {
		return fmt.Errorf("%s: refused: the safety-critical action has no target zone to check a sign-off against", step)
	}
	if p == nil {
		return unmendable("%s: refused to act on %s: this worker has no configuration of its own to check the sign-off against, so it refuses every safety-critical action; start the worker with the organisation's playbook directory (--dir)", step, target)
	}
	s := call.Signoff
	if s == nil {
		return fmt.Errorf("%s: refused to act on %s: no safety sign-off was handed to this safety-critical action; it needs an approved safety approval that covers %s", step, target, target)
	}
	name := s.Approval
	if name == "" {
		name = "(unnamed approval)"
	}
	covers := s.Covers
	if p.Covers != nil {
		mine, ok := p.Covers[call.Playbook][s.Approval]
		if !ok {
			return unmendable("%s: refused to act on %s: sign-off %s is not a safety approval of playbook %q in the worker's configuration, so it covers nothing here; start incidents from the playbook directory the worker loaded (reload the worker if it changed)", step, target, name, call.Playbook)
		}
		covers = mine
	}
	covered := false
	for _, z := range covers {
		if strings.TrimPrefix(z, "zone.") == target {
			covered = true
			break
		}
	}
	if !covered {
		what := "no zone"
		if len(covers) > 0 {
			what = strings.Join(covers, ", ")
		}
		return unmendable("%s: sign-off %s covers %s, not %s; it needs a safety approval that covers %s", step, name, what, target, target)
	}
	if own := p.Own[call.Playbook][call.Step]; len(own) > 0 && !slices.Contains(own, s.Approval) {
		return unmendable("%s: refused to act on %s: sign-off %s is not the step's own; by the worker's playbook %q only %s may sign off %s (for), an earlier sign-off covering the same zone does not count", step, target, name, call.Playbook, strings.Join(own, ", "), step)
	}
	if p.Safety == nil {
		return unmendable("%s: refused to act on %s: the worker's configuration has no safety policy (a safety block with a signoff), so nobody can sign off a safety-critical action; declare one in the playbook directory and reload the worker", step, target)
	}
	if p.Directory == nil {
		return unmendable("%s: refused to act on %s: the worker's configuration has no people or rosters to check sign-off %s against", step, target, name)
	}
	q := p.Safety.Signoff
	validFor := q.ValidFor.Std()
	var granted time.Time
	// signed is true when granted is a signature time, which a key the
	// worker trusts vouches for; the call's own grant time is a claim.
	signed := false
	if bg := s.BreakGlass; bg != nil {
		who := personID(bg.Person)
		switch {
		case who == "":
			return fmt.Errorf("%s: break-glass override of %s for %s names no person; an override must say who forced it", step, name, target)
		case strings.TrimSpace(bg.Reason) == "":
			return fmt.Errorf("%s: break-glass override of %s for %s by %s has no reason; an override needs a typed reason", step, name, target, who)
		case p.Safety.BreakGlass == nil:
			return fmt.Errorf("%s: break-glass override of %s for %s by %s refused: the worker's safety policy has no break_glass block, so nobody may break glass", step, name, target, who)
		case !p.Directory.MayBreakGlass(p.Safety, who):
			return fmt.Errorf("%s: break-glass override of %s for %s refused: %s is not on the worker's break-glass rosters (%s) now", step, name, target, who, strings.Join(p.Safety.BreakGlass.Rosters, ", "))
		}
		granted = s.GrantedAt
		if bg.Attestation != nil || p.RequireAttestation {
			want := attest.Want{Incident: call.IncidentID, Step: s.Approval, Round: s.Round, Person: who, Answer: rules.BreakGlass, Reason: bg.Reason, AnyChannel: true}
			if r := p.Keys.Check(bg.Attestation, want, attest.Times{}); r != nil {
				return fmt.Errorf("%s: break-glass override of %s for %s by %s refused: %s (%s)", step, name, target, who, r.Message, r.Code)
			}
			granted, signed = bg.Attestation.SignedAt, true
		}
		name = fmt.Sprintf("%s (a break-glass override by %s)", name, who)
	} else {
		initiator, err := knownInitiator(p, call)
		if q.ExcludeInitiator && err != nil {
			return fmt.Errorf("%s: sign-off %s for %s refused: the worker's safety policy excludes the initiator from signing off, and %s", step, name, target, err)
		}
		people, latest, err := countable(p, call, s, q.ExcludeInitiator, initiator)
		if err != nil {
			return fmt.Errorf("%s: sign-off %s for %s refused: %w", step, name, target, err)
		}
		if err := sameApprover(p, call, s, people); err != nil {
			return fmt.Errorf("%s: sign-off %s for %s refused: %w", step, name, target, err)
		}
		n, groups := p.Directory.QuorumMatch(q, people)
		need := rules.Required(q)
		if n < need {
			var counted, outside []string
			for i, who := range people {
				if groups[i] != "" {
					counted = append(counted, fmt.Sprintf("%s (%s)", who, groups[i]))
				} else if !p.Directory.InAny(who, q.Groups) {
					outside = append(outside, who)
				}
			}
			msg := fmt.Sprintf("%s: sign-off %s for %s refused: the worker's safety policy needs one person from each of %s, and %d of %d count (%s)",
				step, name, target, strings.Join(q.Groups, ", "), n, need, listOrNone(counted))
			if len(outside) > 0 {
				msg += fmt.Sprintf("; not on a sign-off roster now: %s", strings.Join(outside, ", "))
			}
			return fmt.Errorf("%s; %s; ask again", msg, p.Directory.QuorumNeed(q, people))
		}
		granted = s.GrantedAt
		if p.RequireAttestation {
			granted, signed = latest, true
		}
	}
	if validFor > 0 {
		if granted.IsZero() {
			return fmt.Errorf("%s: sign-off %s for %s has no grant time, so whether it is still fresh cannot be told; ask again", step, name, target)
		}
		if signed && granted.After(now.Add(attest.MaxSkew)) {
			return fmt.Errorf("%s: sign-off %s for %s is dated %s, ahead of this worker's clock (%s); check the signer's clock and ask again", step, name, target, clock(granted), clock(now))
		}
		expires := granted.Add(validFor)
		if !now.Before(expires) {
			return fmt.Errorf("%s: sign-off %s for %s expired at %s (valid for %s by the worker's safety policy); ask again", step, name, target, clock(expires), shortDuration(validFor))
		}
	}
	return nil
}

// countable returns the distinct approvers of s who may count towards the
// quorum, and the latest signature time among them. It refuses the
// initiator when excluded, and with p.RequireAttestation (or when an
// approval carries one anyway) an approval whose attestation p.Keys does
// not verify.
func countable(p *Policy, call Call, s *Signoff, exclude bool, initiator string) ([]string, time.Time, error) {
	var people []string
	var latest time.Time
	seen := map[string]bool{}
	for _, ap := range s.Approvers {
		who := personID(ap.Person)
		if who == "" || seen[who] {
			continue
		}
		seen[who] = true
		if exclude && initiator != "" && who == initiator {
			return nil, time.Time{}, fmt.Errorf("%s started the incident and may not sign it off (exclude_initiator in the worker's safety policy)", who)
		}
		if ap.Attestation != nil || p.RequireAttestation {
			want := attest.Want{Incident: call.IncidentID, Step: s.Approval, Round: s.Round, Person: who, Answer: rules.Approve, AnyReason: true, AnyChannel: true}
			if r := p.Keys.Check(ap.Attestation, want, attest.Times{}); r != nil {
				return nil, time.Time{}, fmt.Errorf("the approval by %s does not count: %s (%s)", who, r.Message, r.Code)
			}
			if ap.Attestation.SignedAt.After(latest) {
				latest = ap.Attestation.SignedAt
			}
		}
		people = append(people, who)
	}
	return people, latest, nil
}

// sameApprover refuses a sign-off one of whose approvers approved an
// approval it must be distinct from by the worker's own configuration
// (p.Distinct), going by who approved that one as the call's
// Signoff.Signed records. The workflow records every approval of the
// incident's plan; an approval with no record was not in the plan (so
// nobody approved it in this incident), or the incident started on an
// interpreter before v9, which records none and is held to distinct_from
// by its plan alone.
func sameApprover(p *Policy, call Call, s *Signoff, people []string) error {
	for _, other := range p.Distinct[call.Playbook][s.Approval] {
		for _, rec := range s.Signed {
			if rec.Approval != other {
				continue
			}
			for _, who := range people {
				if slices.Contains(rec.People, who) {
					return fmt.Errorf("%s also approved %s, and the playbook asks for different people on the two sign-offs (distinct_from; %s); someone else must sign off, so ask again", who, other, rules.SameApprover)
				}
			}
		}
	}
	return nil
}

// knownInitiator is who started the incident as far as the worker can
// tell: with p.RequireAttestation, the commander only when the start is
// attested (an error says why not); otherwise the commander the call names
// ("" when it names none).
func knownInitiator(p *Policy, call Call) (string, error) {
	who := personID(call.Commander)
	if !p.RequireAttestation {
		return who, nil
	}
	if err := checkStart(p, call); err != nil {
		return "", fmt.Errorf("who started the incident is not known for certain: %w", err)
	}
	return who, nil
}

// personID is a person's bare ID: "person.alice" and "alice" are "alice".
func personID(s string) string {
	return strings.TrimPrefix(strings.TrimSpace(s), "person.")
}

// guard runs CheckSignoff against the worker's configuration p and turns a
// refusal into the non-retryable ErrSignoffRefused failure the workflow
// reacts to by asking again.
func (a *Activities) guard(ctx context.Context, p *Policy, call Call, target string) error {
	p, err := a.withGroups(ctx, p, call)
	if err != nil {
		return temporal.NewApplicationError(fmt.Sprintf("%s: reading the sign-off rosters' user groups: %v", stepName(call), err), "GroupsUnavailable")
	}
	err = CheckSignoff(p, call, target, a.signoffClock(ctx))
	if err == nil {
		return nil
	}
	kind := ErrSignoffRefused
	if errors.Is(err, errUnmendable) {
		kind = ErrSignoffUnmendable
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), kind, nil)
}

// errUnmendable marks a CheckSignoff refusal that no fresh sign-off can
// mend (see ErrSignoffUnmendable).
var errUnmendable = errors.New("no fresh sign-off can mend this")

// unmendable is a refusal wrapping errUnmendable, with the message given.
func unmendable(format string, args ...any) error {
	return &unmendableError{msg: fmt.Sprintf(format, args...)}
}

type unmendableError struct{ msg string }

func (e *unmendableError) Error() string { return e.msg }
func (e *unmendableError) Unwrap() error { return errUnmendable }

// signoffClock is the moment guard three judges a sign-off's freshness at:
// now, on an action's first attempt. A retry carries on an action that was
// authorised when the workflow scheduled it, and an earlier attempt may
// already have cut some conduits; refusing it half way would leave the zone
// half isolated with nobody told, so a retry is judged at the time the
// action was scheduled (guard two checked the sign-off then too).
func (a *Activities) signoffClock(ctx context.Context) time.Time {
	now := a.now()
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		if info.Attempt > 1 && !info.ScheduledTime.IsZero() && info.ScheduledTime.Before(now) {
			return info.ScheduledTime
		}
	}
	return now
}

// clock renders t in UTC as RFC 3339, e.g. "2024-05-01T10:15:00Z".
func clock(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// shortDuration renders d without trailing zero units: "15m", "1h30m", "90s" -> "1m30s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// withGroups returns p with the members its rosters draw from chat user
// groups read now, for the rosters guard three goes by (the safety
// sign-off's and break-glass's): the worker's own reading of the group,
// never the snapshot the incident recorded, which is a claim. A worker
// without chat keeps the declared members only. A group that cannot be
// read is an error the activity retries.
func (a *Activities) withGroups(ctx context.Context, p *Policy, call Call) (*Policy, error) {
	if p == nil || p.Directory == nil || p.Safety == nil || a.Chat == nil {
		return p, nil
	}
	principals := append([]string(nil), p.Safety.Signoff.Groups...)
	if bg := p.Safety.BreakGlass; bg != nil {
		principals = append(principals, bg.Rosters...)
	}
	snapshot := map[string][]string{}
	for _, g := range p.Directory.Usergroups() {
		roster, group := g[0], g[1]
		if !slices.Contains(principals, "roster."+roster) {
			continue
		}
		resp, err := a.Chat.GroupMembers(ctx, GroupRequest{Key: call.IncidentID + "/group/" + group, Exercise: call.Exercise, Usergroup: group})
		if err != nil {
			return nil, fmt.Errorf("user group %s of roster.%s: %w", group, roster, err)
		}
		for _, u := range resp.Users {
			if id, ok := p.Directory.BySlack(u); ok {
				snapshot[roster] = append(snapshot[roster], id)
			}
		}
	}
	if len(snapshot) == 0 {
		return p, nil
	}
	q := *p
	q.Directory = p.Directory.WithMembers(snapshot)
	return &q, nil
}
