package activities

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// CheckSignoff is guard three of the safety interlock: the check every
// safety-critical activity makes on the sign-off it was handed, before it
// touches anything. target is the zone the action acts on (for
// ot.block_conduit, the conduit's "to" zone) and now is the activity's clock.
//
// It returns nil when the sign-off
//   - is present and lists target among the zones it covers, and
//   - either is a break-glass override naming a person and a non-empty
//     reason (such an override is not subject to the quorum; it is flagged
//     for post-incident review elsewhere),
//   - or has at least Required (and at least one) distinct approving
//     people, one person counting once however often they appear,
//   - and is fresh: when ValidFor is positive, now is before
//     GrantedAt+ValidFor (for an override, GrantedAt is when it was forced).
//
// Otherwise the error says which step, sign-off and zone, and why, in words a
// responder can act on, e.g. "step.isolate: sign-off approval.isolate_ok for
// plant3_control expired at 10:15:00Z (valid for 15m); ask again". The
// function is pure, so the workflow (guard two) can use it too.
func CheckSignoff(call Call, target string, now time.Time) error {
	step := call.Step
	if step == "" {
		step = "this step"
	}
	target = strings.TrimPrefix(target, "zone.")
	if target == "" {
		return fmt.Errorf("%s: refused: the safety-critical action has no target zone to check a sign-off against", step)
	}
	s := call.Signoff
	if s == nil {
		return fmt.Errorf("%s: refused to act on %s: no safety sign-off was handed to this safety-critical action; it needs an approved safety approval that covers %s", step, target, target)
	}
	name := s.Approval
	if name == "" {
		name = "(unnamed approval)"
	}
	covered := false
	for _, z := range s.Covers {
		if strings.TrimPrefix(z, "zone.") == target {
			covered = true
			break
		}
	}
	if !covered {
		covers := "no zone"
		if len(s.Covers) > 0 {
			covers = strings.Join(s.Covers, ", ")
		}
		return fmt.Errorf("%s: sign-off %s covers %s, not %s; it needs a safety approval that covers %s", step, name, covers, target, target)
	}
	if bg := s.BreakGlass; bg != nil {
		switch {
		case strings.TrimSpace(bg.Person) == "":
			return fmt.Errorf("%s: break-glass override of %s for %s names no person; an override must say who forced it", step, name, target)
		case strings.TrimSpace(bg.Reason) == "":
			return fmt.Errorf("%s: break-glass override of %s for %s by %s has no reason; an override needs a typed reason", step, name, target, bg.Person)
		}
		// An override forces the action it was given for; like any
		// sign-off it goes stale after valid_for.
		name = fmt.Sprintf("%s (a break-glass override by %s)", name, bg.Person)
	} else {
		people := distinctApprovers(s.Approvers)
		need := max(s.Required, 1)
		if len(people) < need {
			who := "none"
			if len(people) > 0 {
				who = strings.Join(people, ", ")
			}
			return fmt.Errorf("%s: sign-off %s for %s has %d distinct approver(s) (%s); it needs %d", step, name, target, len(people), who, need)
		}
	}
	if s.ValidFor > 0 {
		if s.GrantedAt.IsZero() {
			return fmt.Errorf("%s: sign-off %s for %s has no grant time, so whether it is still fresh cannot be told; ask again", step, name, target)
		}
		expires := s.GrantedAt.Add(s.ValidFor)
		if !now.Before(expires) {
			return fmt.Errorf("%s: sign-off %s for %s expired at %s (valid for %s); ask again", step, name, target, clock(expires), shortDuration(s.ValidFor))
		}
	}
	return nil
}

// guard runs CheckSignoff and turns a refusal into the non-retryable
// ErrSignoffRefused failure the workflow reacts to by asking again.
func (a *Activities) guard(ctx context.Context, call Call, target string) error {
	if err := CheckSignoff(call, target, a.signoffClock(ctx)); err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrSignoffRefused, nil)
	}
	return nil
}

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

// distinctApprovers returns the distinct non-empty people, sorted.
func distinctApprovers(as []Approver) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range as {
		p := strings.TrimSpace(a.Person)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	sort.Strings(out)
	return out
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
