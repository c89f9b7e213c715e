package activities_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
)

// realDouble stands for a real actuator adapter: it counts what it was
// asked to do.
type realDouble struct{ calls []string }

func (d *realDouble) Cut(_ context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	d.calls = append(d.calls, "cut "+req.Conduit.ID)
	return activities.ConduitResponse{}, nil
}

func (d *realDouble) Restore(_ context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	d.calls = append(d.calls, "restore "+req.Conduit.ID)
	return activities.ConduitResponse{}, nil
}

func (d *realDouble) Send(_ context.Context, req activities.WebhookRequest) (activities.WebhookResponse, error) {
	d.calls = append(d.calls, "send "+req.Integration)
	return activities.WebhookResponse{Status: 200}, nil
}

func (d *realDouble) Contain(_ context.Context, req activities.ContainRequest) (activities.ContainResponse, error) {
	d.calls = append(d.calls, "contain "+req.Host)
	return activities.ContainResponse{Contained: true}, nil
}

// TestRealOnlyRefusesExercises: check three alone. Every actuator method
// behind RealOnly refuses a request marked Exercise, non-retryably and
// without calling the adapter, and passes a live request through.
func TestRealOnlyRefusesExercises(t *testing.T) {
	ctx := context.Background()
	calls := map[string]func(a activities.Actuators, exercise bool) error{
		"Cut": func(a activities.Actuators, ex bool) error {
			_, err := a.Isolator.Cut(ctx, activities.ConduitRequest{Exercise: ex, Conduit: activities.Conduit{ID: "c1"}, Enforcement: "nftables.gw"})
			return err
		},
		"Restore": func(a activities.Actuators, ex bool) error {
			_, err := a.Isolator.Restore(ctx, activities.ConduitRequest{Exercise: ex, Conduit: activities.Conduit{ID: "c1"}, Enforcement: "nftables.gw"})
			return err
		},
		"Send": func(a activities.Actuators, ex bool) error {
			_, err := a.Webhook.Send(ctx, activities.WebhookRequest{Exercise: ex, Integration: "webhook.fw"})
			return err
		},
		"Contain": func(a activities.Actuators, ex bool) error {
			_, err := a.EDR.Contain(ctx, activities.ContainRequest{Exercise: ex, Integration: "webhook.edr", Host: "ws-1"})
			return err
		},
	}
	// Every method of every actuator interface is in the table.
	at := reflect.TypeOf(activities.Actuators{})
	for i := range at.NumField() {
		ft := at.Field(i).Type
		for m := range ft.NumMethod() {
			if calls[ft.Method(m).Name] == nil {
				t.Errorf("%s.%s is not exercised by this test", at.Field(i).Name, ft.Method(m).Name)
			}
		}
	}
	for name, call := range calls {
		d := &realDouble{}
		a := activities.RealOnly(d)
		err := call(a, true)
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != activities.ErrExerciseReachedReal || !ae.NonRetryable() {
			t.Errorf("%s with Exercise set: %v, want a non-retryable %s", name, err, activities.ErrExerciseReachedReal)
		} else if !strings.Contains(ae.Message(), "nothing was done") {
			t.Errorf("%s: the refusal does not say nothing was done: %s", name, ae.Message())
		}
		if len(d.calls) != 0 {
			t.Errorf("%s with Exercise set reached the adapter: %v", name, d.calls)
		}
		if err := call(a, false); err != nil || len(d.calls) != 1 {
			t.Errorf("%s live: %v, adapter calls %v; want it passed through once", name, err, d.calls)
		}
	}
	if a := activities.RealOnly(struct{}{}); a.Isolator != nil || a.Webhook != nil || a.EDR != nil {
		t.Errorf("RealOnly of something that is no actuator: %+v", a)
	}
}

// notActuators are the integration interfaces of Activities that are not
// actuators, and why.
var notActuators = map[string]string{
	"Chat":       "reaches people; an exercise talks to them, every text marked",
	"Pager":      "pages people; an exercise's pages are marked",
	"PlantState": "reads registers; a read changes nothing",
}

// TestEveryIntegrationIsClassified: each integration interface Activities
// holds is either an actuator (in Actuators, so RealOnly guards it) or
// named in notActuators with the reason. A new interface added to
// Activities fails here until someone decides which it is.
func TestEveryIntegrationIsClassified(t *testing.T) {
	act := map[reflect.Type]bool{}
	at := reflect.TypeOf(activities.Actuators{})
	for i := range at.NumField() {
		act[at.Field(i).Type] = true
	}
	st := reflect.TypeOf(activities.Activities{})
	authority := reflect.TypeOf((*activities.Authority)(nil)).Elem()
	for i := range st.NumField() {
		f := st.Field(i)
		if f.Type.Kind() != reflect.Interface || f.Type == authority {
			continue
		}
		_, exempt := notActuators[f.Name]
		switch {
		case act[f.Type] && exempt:
			t.Errorf("%s is both an actuator and exempt", f.Name)
		case !act[f.Type] && !exempt:
			t.Errorf("Activities.%s is neither in activities.Actuators (guarded by RealOnly) nor a known non-actuator; decide which", f.Name)
		}
		delete(act, f.Type)
	}
	for ty := range act {
		t.Errorf("Actuators holds %s, which Activities does not", ty)
	}
}

// TestEveryActivityInputCarriesACall: the live worker's check finds the
// Call in the input of every activity (it refuses inputs without one), and
// reads its Exercise flag.
func TestEveryActivityInputCarriesACall(t *testing.T) {
	ty := reflect.TypeOf(&activities.Activities{})
	for i := range ty.NumMethod() {
		m := ty.Method(i)
		if m.Type.NumIn() != 3 {
			t.Errorf("activity %s does not take (ctx, input)", m.Name)
			continue
		}
		in := reflect.New(m.Type.In(2)).Elem()
		f := in.FieldByName("Call")
		if !f.IsValid() {
			t.Errorf("the input of %s (%s) has no Call", m.Name, in.Type())
			continue
		}
		f.FieldByName("Exercise").SetBool(true)
		if c, ok := activities.CallOf(in.Interface()); !ok || !c.Exercise {
			t.Errorf("CallOf(%s) = %+v, %v", in.Type(), c, ok)
		}
		if c, ok := activities.CallOf(in.Addr().Interface()); !ok || !c.Exercise {
			t.Errorf("CallOf(*%s) = %+v, %v", in.Type(), c, ok)
		}
	}
	if _, ok := activities.CallOf("text", 3, nil, (*activities.NotifyInput)(nil)); ok {
		t.Error("CallOf found a call where there is none")
	}
}

// TestLiveWorkerRefusesExercises: check one's refusal alone. On a worker
// with LiveWorkerInterceptor, an activity whose call says Exercise runs no
// code (the twin's journal stays empty), and a live call runs.
func TestLiveWorkerRefusesExercises(t *testing.T) {
	j := sim.NewJournal()
	acts := sim.Activities(j)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{activities.LiveWorkerInterceptor()}})
	env.RegisterActivity(acts)
	in := activities.ActionInput{
		Call: activities.Call{IncidentID: "EX-1", Step: "action.post", Exercise: true, Action: "slack.post"},
		Args: map[string]any{"channel": "#ops", "text": "hello"},
	}
	_, err := env.ExecuteActivity(acts.SlackPost, in)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != activities.ErrExerciseOnLiveWorker || !ae.NonRetryable() {
		t.Fatalf("an exercise call on the live worker: %v, want a non-retryable %s", err, activities.ErrExerciseOnLiveWorker)
	}
	if n := len(j.Attempts()); n != 0 {
		t.Errorf("the refused call reached the integration: %d journal entries", n)
	}
	in.Call.Exercise = false
	in.Call.IncidentID = "INC-1"
	if _, err := env.ExecuteActivity(acts.SlackPost, in); err != nil {
		t.Fatalf("a live call on the live worker: %v", err)
	}
	if n := len(j.Attempts()); n != 1 {
		t.Errorf("the live call made %d journal entries, want 1", n)
	}
}
