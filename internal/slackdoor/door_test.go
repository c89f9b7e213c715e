package slackdoor

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/internal/observe"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestDoorRefusesBeforeSending: what the door can tell without the
// incident is refused with a typed code and never sent (the door has no
// Temporal client here, so sending would fail otherwise).
func TestDoorRefusesBeforeSending(t *testing.T) {
	o, _, diags := org.Load("", org.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	d := New(nil, org.NewHolder(o, org.Options{}), "", nil)
	m, err := observe.New()
	if err != nil {
		t.Fatal(err)
	}
	d.Metrics = m
	ref := slack.Ref{Incident: "INC-1", Step: "approval.isolate_ok", Round: 1}
	for _, tc := range []struct {
		name string
		a    slack.Answer
		code string
		want string
	}{
		{"unknown Slack user", slack.Answer{Update: workflows.UpdateApprove, Ref: ref, UserID: "U0STRANGER"}, UnknownUser, `slack = "U0STRANGER"`},
		{"cancel from a button", slack.Answer{Update: workflows.UpdateCancel, Ref: ref, UserID: "U01ALICE"}, BadAnswer, "not an answer firebreak takes from a button"},
		{"no round", slack.Answer{Update: workflows.UpdateApprove, Ref: slack.Ref{Incident: "INC-1", Step: "approval.isolate_ok"}, UserID: "U01ALICE"}, BadAnswer, "names no round"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Answer(context.Background(), tc.a)
			var r *slack.Refused
			if !errors.As(err, &r) || r.Code != tc.code || !strings.Contains(r.Message, tc.want) {
				t.Errorf("Answer = %v; want %s refusal saying %q", err, tc.code, tc.want)
			}
		})
	}
	if _, err := d.Command(context.Background(), slack.Command{Name: "run", UserID: "U0STRANGER"}); err == nil {
		t.Error("an unknown Slack user started an incident")
	}
	// Each refused answer counts once under its code; the refused command
	// is not an answer.
	got := map[string]float64{}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != observe.MetricRefused {
			continue
		}
		for _, mm := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range mm.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if v := mm.GetCounter().GetValue(); v != 0 {
				got[labels["code"]+"/"+labels["channel"]] += v
			}
		}
	}
	if want := map[string]float64{"UnknownUser/slack": 1, "BadAnswer/slack": 2}; !maps.Equal(got, want) {
		t.Errorf("refusals counted %v, want %v", got, want)
	}
	if id, name, err := d.person("U01ALICE"); err != nil || id != "alice" || name == "" {
		t.Errorf("U01ALICE is %q (%q), %v; want alice", id, name, err)
	}
}

func TestChannelNamesTheSlackUser(t *testing.T) {
	if got := Channel("U01ALICE"); got != "slack:U01ALICE" {
		t.Errorf("Channel = %q", got)
	}
	if got := Channel(strings.Repeat("U", 60)); got != "slack" {
		t.Errorf("an over-long user ID gives channel %q; want slack", got)
	}
}
