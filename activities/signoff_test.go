package activities_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
)

var granted = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// signoff is a fresh two-person sign-off for plant3_control, granted at
// 10:00 and valid for 15 minutes.
func signoff() *activities.Signoff {
	return &activities.Signoff{
		Approval: "approval.isolate_ok",
		Covers:   []string{"plant3_control"},
		Required: 2,
		Approvers: []activities.Approver{
			{Person: "person.alice", Roster: "roster.process_safety", At: granted.Add(-time.Minute)},
			{Person: "person.dave", Roster: "roster.ot_operations", At: granted},
		},
		GrantedAt: granted,
		ValidFor:  15 * time.Minute,
	}
}

// distinctFromOther is the worker's playbook saying approval.isolate_ok
// must be approved by other people than approval.other_ok.
func distinctFromOther(p *activities.Policy) *activities.Policy {
	p.Distinct = map[string]map[string][]string{"": {"approval.isolate_ok": {"approval.other_ok"}}}
	return p
}

func TestCheckSignoff(t *testing.T) {
	fresh := granted.Add(5 * time.Minute)
	stale := granted.Add(20 * time.Minute)
	tests := []struct {
		name   string
		edit   func(s *activities.Signoff) *activities.Signoff
		pol    func(p *activities.Policy) *activities.Policy
		target string
		now    time.Time
		// commander is who started the incident ("" for nobody named).
		commander string
		// want is "" for acceptance, else fragments the refusal must contain.
		want []string
	}{
		{name: "fresh two-person sign-off", now: fresh},
		{name: "missing", edit: func(*activities.Signoff) *activities.Signoff { return nil }, now: fresh,
			want: []string{"step.isolate", "no safety sign-off", "plant3_control"}},
		{name: "wrong zone", target: "plant4_control", now: fresh,
			want: []string{"step.isolate", "approval.isolate_ok", "covers plant3_control, not plant4_control"}},
		{name: "covers written with zone prefix", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Covers = []string{"zone.plant3_dmz", "zone.plant3_control"}
			return s
		}},
		{name: "too few distinct people", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers = s.Approvers[:1]
			return s
		}, want: []string{"approval.isolate_ok", "needs one person from each of roster.process_safety, roster.ot_operations", "1 of 2 count (alice (roster.process_safety))", "still needs one from roster.ot_operations"}},
		{name: "the plan's lower requirement does not count", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers, s.Required = s.Approvers[:1], 1
			return s
		}, want: []string{"1 of 2 count"}},
		{name: "same person twice counts once", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers[1].Person = "person.alice"
			return s
		}, want: []string{"1 of 2 count", "still needs one from roster.ot_operations"}},
		{name: "no approvers", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Required, s.Approvers = 0, nil
			return s
		}, want: []string{"0 of 2 count (none)"}},
		{name: "someone on no sign-off roster does not count", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers[1] = activities.Approver{Person: "ines", Roster: "roster.ot_operations", At: granted}
			return s
		}, want: []string{"not on a sign-off roster now: ines"}},
		{name: "the initiator may not sign off", now: fresh, commander: "dave",
			want: []string{"dave started the incident and may not sign it off (exclude_initiator"}},
		{name: "the initiator counts when the worker's policy allows", now: fresh, commander: "dave",
			pol: func(p *activities.Policy) *activities.Policy { p.Safety.Signoff.ExcludeInitiator = false; return p }},
		{name: "stale", now: stale,
			want: []string{"step.isolate: sign-off approval.isolate_ok for plant3_control expired at 2024-05-01T10:15:00Z (valid for 15m by the worker's safety policy); ask again"}},
		{name: "stale at the very instant of expiry", now: granted.Add(15 * time.Minute), want: []string{"expired at"}},
		{name: "fresh one nanosecond before expiry", now: granted.Add(15*time.Minute - 1)},
		{name: "the plan's valid_for does not count", now: granted.Add(48 * time.Hour), edit: func(s *activities.Signoff) *activities.Signoff {
			s.ValidFor = 0
			return s
		}, want: []string{"expired at", "valid for 15m"}},
		{name: "no expiry by the worker's policy", now: granted.Add(48 * time.Hour),
			pol: func(p *activities.Policy) *activities.Policy { p.Safety.Signoff.ValidFor = 0; return p }},
		{name: "expiring sign-off without grant time", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.GrantedAt = time.Time{}
			return s
		}, want: []string{"no grant time", "ask again"}},
		{name: "break-glass without reason refused", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "  ", At: fresh}
			return s
		}, want: []string{"break-glass", "sam", "no reason"}},
		{name: "break-glass without person refused", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.BreakGlass = &activities.BreakGlass{Reason: "fire", At: fresh}
			return s
		}, want: []string{"break-glass", "names no person"}},
		{name: "break-glass with reason accepted alone", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers = nil
			s.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "ransomware spreading to the SIS", At: granted}
			return s
		}},
		{name: "break-glass by someone off the worker's break-glass rosters", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers = nil
			s.BreakGlass = &activities.BreakGlass{Person: "ines", Reason: "ransomware spreading to the SIS", At: granted}
			return s
		}, want: []string{"ines is not on the worker's break-glass rosters (roster.plant_manager)"}},
		{name: "break-glass when the worker's policy has no break_glass", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers = nil
			s.BreakGlass = &activities.BreakGlass{Person: "sam", Reason: "fire", At: granted}
			return s
		}, pol: func(p *activities.Policy) *activities.Policy { p.Safety.BreakGlass = nil; return p },
			want: []string{"no break_glass block"}},
		{name: "break-glass goes stale like any sign-off", now: stale, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers = nil
			s.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "ransomware spreading to the SIS", At: granted}
			return s
		}, want: []string{"approval.isolate_ok (a break-glass override by sam)", "expired at 2024-05-01T10:15:00Z (valid for 15m"}},
		{name: "break-glass must still cover the target", target: "plant4_control", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "fire", At: granted}
			return s
		}, want: []string{"not plant4_control"}},
		{name: "no target", target: "-", now: fresh, want: []string{"no target zone"}},
		{name: "no configuration refuses everything", now: fresh,
			pol:  func(*activities.Policy) *activities.Policy { return nil },
			want: []string{"step.isolate", "plant3_control", "no configuration of its own"}},
		{name: "no safety policy refuses everything", now: fresh,
			pol:  func(p *activities.Policy) *activities.Policy { p.Safety = nil; return p },
			want: []string{"has no safety policy"}},
		{name: "unattested approvals when attestations are required", now: fresh,
			pol: func(p *activities.Policy) *activities.Policy {
				p.RequireAttestation, p.Safety.Signoff.ExcludeInitiator = true, false
				return p
			},
			want: []string{"the approval by alice does not count", "NotAttested"}},
		{name: "an approver of a sign-off it must differ from", now: fresh, pol: distinctFromOther, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Signed = []activities.SignedApproval{{Approval: "approval.other_ok", People: []string{"bob", "alice"}}}
			return s
		}, want: []string{"step.isolate: sign-off approval.isolate_ok for plant3_control refused: alice also approved approval.other_ok", "distinct_from; SameApprover", "ask again"}},
		{name: "other people than the sign-off it must differ from", now: fresh, pol: distinctFromOther, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Signed = []activities.SignedApproval{{Approval: "approval.other_ok", People: []string{"bob"}}, {Approval: "approval.third", People: []string{"alice"}}}
			return s
		}},
		{name: "no record of the sign-off it must differ from: nobody approved it", now: fresh, pol: distinctFromOther, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Signed = []activities.SignedApproval{{Approval: "approval.third", People: []string{"alice"}}}
			return s
		}},
		{name: "an earlier sign-off for a step that needs its own", now: fresh, pol: func(p *activities.Policy) *activities.Policy {
			p.Own = map[string]map[string][]string{"": {"step.isolate": {"approval.restore_ok"}}}
			return p
		}, want: []string{"step.isolate: refused to act on plant3_control: sign-off approval.isolate_ok is not the step's own", "only approval.restore_ok may sign off step.isolate (for)"}},
		{name: "the step's own sign-off", now: fresh, pol: func(p *activities.Policy) *activities.Policy {
			p.Own = map[string]map[string][]string{"": {"step.isolate": {"approval.isolate_ok"}, "step.restore": {"approval.restore_ok"}}}
			return p
		}},
		{name: "the call's records alone ask for nothing", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Signed = []activities.SignedApproval{{Approval: "approval.other_ok", People: []string{"alice"}}}
			return s
		}},
		{name: "an unverified initiator when attestations are required", now: fresh, commander: "hiro",
			pol:  func(p *activities.Policy) *activities.Policy { p.RequireAttestation = true; return p },
			want: []string{"excludes the initiator", "who started the incident is not known for certain", "not attested"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := signoff()
			if tc.edit != nil {
				s = tc.edit(s)
			}
			pol := policyFor(plant3())
			if tc.pol != nil {
				pol = tc.pol(pol)
			}
			target := tc.target
			switch target {
			case "":
				target = "plant3_control"
			case "-":
				target = ""
			}
			call := activities.Call{IncidentID: "inc-1", Step: "step.isolate", Action: "ot.isolate_zone", Signoff: s, Commander: tc.commander}
			err := activities.CheckSignoff(pol, call, target, tc.now)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want a refusal saying %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q does not say %q", err, w)
				}
			}
		})
	}
}
