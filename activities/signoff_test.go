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

func TestCheckSignoff(t *testing.T) {
	fresh := granted.Add(5 * time.Minute)
	stale := granted.Add(20 * time.Minute)
	tests := []struct {
		name   string
		edit   func(s *activities.Signoff) *activities.Signoff
		target string
		now    time.Time
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
		}, want: []string{"approval.isolate_ok", "1 distinct approver(s) (person.alice)", "needs 2"}},
		{name: "same person twice counts once", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers[1].Person = "person.alice"
			return s
		}, want: []string{"1 distinct approver(s) (person.alice)", "needs 2"}},
		{name: "no approvers and no requirement still needs one", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Required, s.Approvers = 0, nil
			return s
		}, want: []string{"0 distinct approver(s) (none)", "needs 1"}},
		{name: "stale", now: stale,
			want: []string{"step.isolate: sign-off approval.isolate_ok for plant3_control expired at 2024-05-01T10:15:00Z (valid for 15m); ask again"}},
		{name: "stale at the very instant of expiry", now: granted.Add(15 * time.Minute), want: []string{"expired at"}},
		{name: "fresh one nanosecond before expiry", now: granted.Add(15*time.Minute - 1)},
		{name: "no expiry", now: granted.Add(48 * time.Hour), edit: func(s *activities.Signoff) *activities.Signoff {
			s.ValidFor = 0
			return s
		}},
		{name: "expiring sign-off without grant time", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.GrantedAt = time.Time{}
			return s
		}, want: []string{"no grant time", "ask again"}},
		{name: "break-glass without reason refused", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "  ", At: fresh}
			return s
		}, want: []string{"break-glass", "person.sam", "no reason"}},
		{name: "break-glass without person refused", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.BreakGlass = &activities.BreakGlass{Reason: "fire", At: fresh}
			return s
		}, want: []string{"break-glass", "names no person"}},
		{name: "break-glass with reason accepted alone", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers = nil
			s.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "ransomware spreading to the SIS", At: granted}
			return s
		}},
		{name: "break-glass goes stale like any sign-off", now: stale, edit: func(s *activities.Signoff) *activities.Signoff {
			s.Approvers = nil
			s.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "ransomware spreading to the SIS", At: granted}
			return s
		}, want: []string{"approval.isolate_ok (a break-glass override by person.sam)", "expired at 2024-05-01T10:15:00Z (valid for 15m)"}},
		{name: "break-glass must still cover the target", target: "plant4_control", now: fresh, edit: func(s *activities.Signoff) *activities.Signoff {
			s.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "fire", At: granted}
			return s
		}, want: []string{"not plant4_control"}},
		{name: "no target", target: "-", now: fresh, want: []string{"no target zone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := signoff()
			if tc.edit != nil {
				s = tc.edit(s)
			}
			target := tc.target
			switch target {
			case "":
				target = "plant3_control"
			case "-":
				target = ""
			}
			call := activities.Call{IncidentID: "inc-1", Step: "step.isolate", Action: "ot.isolate_zone", Signoff: s}
			err := activities.CheckSignoff(call, target, tc.now)
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
