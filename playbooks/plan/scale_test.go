package plan

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fullPlan has every duration field of a plan set, each to a different
// value.
func fullPlan() *Plan {
	m := func(n int) Duration { return Duration(time.Duration(n) * time.Minute) }
	return &Plan{
		Playbook: "scaled",
		Steps: []Step{
			{ID: "step.a", Kind: KindStep, Action: &ActionStep{Action: "x.y", Timeout: m(30), Retry: &Retry{Attempts: 3, Backoff: m(2)}}},
			{ID: "step.fast", Kind: KindStep, Action: &ActionStep{Action: "x.y", Timeout: m(1)}},
			{ID: "approval.b", Kind: KindApproval, Approval: &ApprovalStep{Timeout: m(15), Quorum: Quorum{ValidFor: m(240)}}},
			{ID: "decision.c", Kind: KindDecision, Decision: &DecisionStep{Timeout: m(20)}},
			{ID: "task.d", Kind: KindTask, Task: &TaskStep{Timeout: m(45)}},
			{ID: "wait.e", Kind: KindWait, Wait: &WaitStep{Duration: m(10)}},
		},
		Escalations: []Escalation{{ID: "ladder", Repeat: 2, Tiers: []Tier{{AckWithin: m(5)}, {AckWithin: m(7)}}}},
		Safety:      &Safety{Signoff: Quorum{ValidFor: m(120)}},
	}
}

func TestScaled(t *testing.T) {
	cases := []struct {
		field string
		get   func(p *Plan) Duration
		x     float64
		want  time.Duration
	}{
		{"action timeout", func(p *Plan) Duration { return p.Steps[0].Action.Timeout }, 60, 30 * time.Second},
		{"action timeout at its floor", func(p *Plan) Duration { return p.Steps[0].Action.Timeout }, 600, MinScaledActionTimeout},
		{"short action timeout keeps its floor", func(p *Plan) Duration { return p.Steps[1].Action.Timeout }, 600, MinScaledActionTimeout},
		{"retry backoff", func(p *Plan) Duration { return p.Steps[0].Action.Retry.Backoff }, 60, 2 * time.Second},
		{"approval timeout", func(p *Plan) Duration { return p.Steps[2].Approval.Timeout }, 60, 15 * time.Second},
		{"approval valid_for", func(p *Plan) Duration { return p.Steps[2].Approval.Quorum.ValidFor }, 600, 24 * time.Second},
		{"decision timeout", func(p *Plan) Duration { return p.Steps[3].Decision.Timeout }, 60, 20 * time.Second},
		{"task timeout", func(p *Plan) Duration { return p.Steps[4].Task.Timeout }, 60, 45 * time.Second},
		{"wait duration", func(p *Plan) Duration { return p.Steps[5].Wait.Duration }, 600, time.Second},
		{"wait duration, a fraction", func(p *Plan) Duration { return p.Steps[5].Wait.Duration }, 7, 85714285714},
		{"ack_within, tier 1", func(p *Plan) Duration { return p.Escalations[0].Tiers[0].AckWithin }, 60, 5 * time.Second},
		{"ack_within, tier 2", func(p *Plan) Duration { return p.Escalations[0].Tiers[1].AckWithin }, 3600, 116666667},
		{"safety sign-off valid_for", func(p *Plan) Duration { return p.Safety.Signoff.ValidFor }, 60, 2 * time.Minute},
		{"slower than the wall clock", func(p *Plan) Duration { return p.Steps[5].Wait.Duration }, 0.5, 20 * time.Minute},
		{"scale 1 changes nothing", func(p *Plan) Duration { return p.Steps[5].Wait.Duration }, 1, 10 * time.Minute},
		{"scale 0 is refused: unchanged", func(p *Plan) Duration { return p.Steps[5].Wait.Duration }, 0, 10 * time.Minute},
		{"scale above the maximum is refused: unchanged", func(p *Plan) Duration { return p.Steps[5].Wait.Duration }, MaxTimeScale + 1, 10 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			p := fullPlan()
			q := Scaled(p, c.x)
			if got := c.get(q).Std(); got != c.want {
				t.Errorf("Scaled(p, %v): %s is %s, want %s", c.x, c.field, got, c.want)
			}
			if !reflect.DeepEqual(p, fullPlan()) {
				t.Errorf("Scaled(p, %v) changed p", c.x)
			}
		})
	}
}

// TestScaledCoversEveryDuration walks every Duration field of the plan
// types, so a duration field added to a plan later, and not scaled, fails
// here: each one set in fullPlan must come out divided by the scale.
func TestScaledCoversEveryDuration(t *testing.T) {
	const x = 60
	p := fullPlan()
	q := Scaled(p, x)
	seen := map[string]bool{}
	var walk func(path, field string, a, b reflect.Value)
	walk = func(path, field string, a, b reflect.Value) {
		if a.Type() == reflect.TypeOf(Duration(0)) {
			d := Duration(a.Int())
			if d == 0 {
				return
			}
			seen[field] = true
			want := ScaleDuration(d, x)
			if strings.HasSuffix(path, "Action.Timeout") {
				want = max(want, min(d, Duration(MinScaledActionTimeout)))
			}
			if got := Duration(b.Int()); got != want {
				t.Errorf("%s: %s scaled by %d is %s, want %s", path, d.Std(), x, got.Std(), want.Std())
			}
			return
		}
		switch a.Kind() {
		case reflect.Pointer:
			if !a.IsNil() {
				walk(path, field, a.Elem(), b.Elem())
			}
		case reflect.Struct:
			for i := 0; i < a.NumField(); i++ {
				if a.Type().Field(i).IsExported() {
					f := a.Type().Field(i)
					walk(path+"."+f.Name, a.Type().Name()+"."+f.Name, a.Field(i), b.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < a.Len(); i++ {
				walk(fmt.Sprintf("%s[%d]", path, i), field, a.Index(i), b.Index(i))
			}
		}
	}
	walk("Plan", "", reflect.ValueOf(p), reflect.ValueOf(q))
	// Every Duration field of every plan type: if a type grows one, set it
	// in fullPlan and scale it in Scaled.
	all := map[string]bool{}
	durationFields(reflect.TypeOf(Plan{}), all, map[reflect.Type]bool{})
	for f := range all {
		if !seen[f] {
			t.Errorf("fullPlan sets no %s: set it, and scale it in Scaled", f)
		}
	}
	if len(all) < 8 {
		t.Errorf("found only %d duration fields (%v); the walk is broken", len(all), all)
	}
}

// durationFields adds to out the Duration fields reachable from t, as
// "Type.Field".
func durationFields(t reflect.Type, out map[string]bool, visited map[reflect.Type]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		durationFields(t.Elem(), out, visited)
	case reflect.Struct:
		if visited[t] {
			return
		}
		visited[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Type == reflect.TypeOf(Duration(0)) {
				out[t.Name()+"."+f.Name] = true
				continue
			}
			durationFields(f.Type, out, visited)
		}
	}
}

func TestScaleDurationNeverZero(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		x    float64
		want time.Duration
	}{
		{time.Second, 3600, time.Millisecond},
		{time.Microsecond, 3600, time.Microsecond},
		{0, 600, 0},
		{-time.Second, 600, -time.Second},
		{time.Hour, 3600, time.Second},
	} {
		if got := ScaleDuration(c.d, c.x); got != c.want {
			t.Errorf("ScaleDuration(%s, %v) = %s, want %s", c.d, c.x, got, c.want)
		}
	}
}
