package plan

import (
	"math"
	"slices"
	"time"
)

// MaxTimeScale is the largest time scale Scaled takes: an hour of the
// exercise clock in a second of wall time.
const MaxTimeScale = 3600

// MinScaledActionTimeout is the shortest an action's timeout becomes when
// scaled. The timeout bounds how long the action's activity may take on
// the worker, which is wall time whatever the exercise clock, so a scaled
// timeout never drops below it.
const MinScaledActionTimeout = 10 * time.Second

// minScaled is the shortest any other positive duration becomes when
// scaled, so that a wait still waits and a deadline is still a deadline.
const minScaled = time.Millisecond

// Scaled returns a copy of p whose clock runs x times faster: every
// duration the interpreter waits on (action timeouts and retry backoffs,
// approval, decision and task timeouts, valid_for of approvals and of the
// safety policy's sign-off, wait durations and escalation tiers'
// ack_within) is divided by x. A live exercise runs the scaled plan, so
// that an hour on the exercise clock passes in 3600/x seconds.
//
// Unset (zero) durations stay unset, so the interpreter's defaults apply
// unscaled. A positive duration never becomes zero: it is at least a
// millisecond, and an action's timeout at least MinScaledActionTimeout.
// The copy shares with p every part it does not change (expressions,
// people, zones...), so neither is to be modified afterwards. x must be
// greater than zero and at most MaxTimeScale; for any other x (and for
// x = 1) Scaled returns p itself.
func Scaled(p *Plan, x float64) *Plan {
	if p == nil || x == 1 || !(x > 0 && x <= MaxTimeScale) {
		return p
	}
	q := *p
	q.Steps = slices.Clone(p.Steps)
	for i := range q.Steps {
		s := &q.Steps[i]
		if a := s.Action; a != nil {
			c := *a
			if c.Timeout > 0 {
				c.Timeout = max(ScaleDuration(c.Timeout, x), min(c.Timeout, Duration(MinScaledActionTimeout)))
			}
			if c.Retry != nil {
				r := *c.Retry
				r.Backoff = ScaleDuration(r.Backoff, x)
				c.Retry = &r
			}
			s.Action = &c
		}
		if a := s.Approval; a != nil {
			c := *a
			c.Timeout = ScaleDuration(c.Timeout, x)
			c.Quorum.ValidFor = ScaleDuration(c.Quorum.ValidFor, x)
			s.Approval = &c
		}
		if d := s.Decision; d != nil {
			c := *d
			c.Timeout = ScaleDuration(c.Timeout, x)
			s.Decision = &c
		}
		if t := s.Task; t != nil {
			c := *t
			c.Timeout = ScaleDuration(c.Timeout, x)
			s.Task = &c
		}
		if w := s.Wait; w != nil {
			c := *w
			c.Duration = ScaleDuration(c.Duration, x)
			s.Wait = &c
		}
	}
	q.Escalations = slices.Clone(p.Escalations)
	for i := range q.Escalations {
		e := &q.Escalations[i]
		e.Tiers = slices.Clone(e.Tiers)
		for j := range e.Tiers {
			e.Tiers[j].AckWithin = ScaleDuration(e.Tiers[j].AckWithin, x)
		}
	}
	if p.Safety != nil {
		s := *p.Safety
		s.Signoff.ValidFor = ScaleDuration(s.Signoff.ValidFor, x)
		q.Safety = &s
	}
	return &q
}

// ScaleDuration divides d by x, rounded to the nanosecond. Zero and
// negative durations are returned as they are; a positive one is at least
// a millisecond (or d itself, when d is shorter). x must be positive.
func ScaleDuration[D ~int64](d D, x float64) D {
	if d <= 0 || !(x > 0) {
		return d
	}
	v := math.Round(float64(d) / x)
	floor := min(d, D(minScaled))
	if v < float64(floor) {
		return floor
	}
	if v > math.MaxInt64 {
		return D(math.MaxInt64)
	}
	return D(v)
}
