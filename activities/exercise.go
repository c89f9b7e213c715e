package activities

import (
	"context"
	"fmt"
	"reflect"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// The plant cannot be touched from an exercise. Three checks stand in the
// way, each enough on its own:
//
//  1. The queue. Exercise activities run on ExerciseTaskQueue, whose worker
//     is built from simulated twins only (internal/runner); the live
//     worker refuses any activity whose call says Exercise
//     (LiveWorkerInterceptor), so an exercise call that reaches the live
//     queue runs no activity code at all.
//  2. The workflow. An exercise incident schedules nothing on any queue but
//     ExerciseTaskQueue (package workflows, interpreter v8).
//  3. The adapters. Every real actuator (Isolator, Webhook, EDR) is wrapped
//     by RealOnly, which refuses a request marked Exercise before the
//     adapter sees it.
//
// Each refusal is non-retryable and names the check that made it.

// Error types of the exercise checks.
const (
	// ErrExerciseOnLiveWorker means the live worker was handed an activity
	// whose call is marked Exercise (or one it cannot tell): it ran
	// nothing. Exercises belong on ExerciseTaskQueue.
	ErrExerciseOnLiveWorker = "ExerciseOnLiveWorker"
	// ErrExerciseReachedReal means a request marked Exercise reached a
	// real actuator adapter, which refused it: nothing was done.
	ErrExerciseReachedReal = "ExerciseReachedRealActuator"
)

// LiveWorkerInterceptor is the worker interceptor of the live task queue's
// worker (check one). Before any activity code runs, it finds the Call in
// the activity's input and refuses, with a non-retryable
// ErrExerciseOnLiveWorker failure, a call marked Exercise, and an input
// that carries no Call (it cannot tell whether it belongs to an exercise).
//
// It sits on the worker, not in the activities: the worker is what a task
// queue is served by, so the refusal holds for every activity registered on
// it, present and future, whatever its code does, and before its arguments
// are even read.
func LiveWorkerInterceptor() interceptor.WorkerInterceptor { return &liveWorker{} }

type liveWorker struct {
	interceptor.WorkerInterceptorBase
}

func (*liveWorker) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &liveActivity{}
	i.Next = next
	return i
}

type liveActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (l *liveActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	name := "an activity"
	if info := activityInfo(ctx); info != "" {
		name = info
	}
	call, ok := CallOf(in.Args...)
	switch {
	case !ok:
		logger(ctx).Warn("refused an activity without a call on the live worker", "activity", name)
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: refused on the live worker: its input carries no call, so it cannot tell whether it belongs to an exercise; nothing was done", name),
			ErrExerciseOnLiveWorker, nil)
	case call.Exercise:
		// The call may come from anyone who can reach the namespace:
		// bound what it puts in the error and the log.
		step, incident := rules.Clip(stepName(call), rules.MaxID), rules.Clip(call.IncidentID, rules.MaxID)
		logger(ctx).Warn("refused an exercise call on the live worker", "activity", name, "step", step, "incident", incident)
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s (%s, incident %s): refused on the live worker: the call belongs to an exercise, which runs only on simulated twins on task queue %s; nothing was done",
				name, step, incident, ExerciseTaskQueue),
			ErrExerciseOnLiveWorker, nil)
	}
	return l.Next.ExecuteActivity(ctx, in)
}

// activityInfo names the running activity, or "" outside one.
func activityInfo(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return ""
	}
	return activity.GetInfo(ctx).ActivityType.Name
}

// callType is the type of Call, which every activity input holds in a
// field named Call.
var callType = reflect.TypeOf(Call{})

// CallOf finds the Call in an activity's arguments: the Call field of the
// first argument that is a struct (or a pointer to one) with a Call field
// of type Call. It reports false when no argument has one.
func CallOf(args ...any) (Call, bool) {
	for _, a := range args {
		v := reflect.ValueOf(a)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				break
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		if f := v.FieldByName("Call"); f.IsValid() && f.Type() == callType {
			return f.Interface().(Call), true
		}
	}
	return Call{}, false
}

// Actuators are the integration interfaces that change something in the
// plant or on the network: the ones an exercise must never reach for real.
// Chat and Pager reach people (an exercise talks to them on purpose, every
// text marked with ExercisePrefix) and PlantState only reads; they are not
// actuators.
type Actuators struct {
	Isolator Isolator
	Webhook  Webhook
	EDR      EDR
}

// RealOnly returns the actuator interfaces a real adapter implements, each
// behind check three: a request marked Exercise is refused with a
// non-retryable ErrExerciseReachedReal failure before the adapter sees it,
// and every other request goes to the adapter unchanged. Interfaces the
// adapter does not implement are nil. Every real actuator is built through
// it (internal/adapters.Build); simulated twins are not wrapped.
func RealOnly(adapter any) Actuators {
	var out Actuators
	if i, ok := adapter.(Isolator); ok {
		out.Isolator = realIsolator{i}
	}
	if w, ok := adapter.(Webhook); ok {
		out.Webhook = realWebhook{w}
	}
	if e, ok := adapter.(EDR); ok {
		out.EDR = realEDR{e}
	}
	return out
}

// exerciseReachedReal is check three's refusal.
func exerciseReachedReal(integration, what string) error {
	if integration == "" {
		integration = "an integration"
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("an exercise reached the real actuator %s (%s) and nothing was done: exercises run only on simulated twins on task queue %s; check that no real adapter is registered on that queue's worker",
			integration, what, ExerciseTaskQueue),
		ErrExerciseReachedReal, nil)
}

type realIsolator struct{ next Isolator }

func (r realIsolator) Cut(ctx context.Context, req ConduitRequest) (ConduitResponse, error) {
	if req.Exercise {
		return ConduitResponse{}, exerciseReachedReal(req.Enforcement, "cutting conduit "+req.Conduit.ID)
	}
	return r.next.Cut(ctx, req)
}

func (r realIsolator) Restore(ctx context.Context, req ConduitRequest) (ConduitResponse, error) {
	if req.Exercise {
		return ConduitResponse{}, exerciseReachedReal(req.Enforcement, "restoring conduit "+req.Conduit.ID)
	}
	return r.next.Restore(ctx, req)
}

type realWebhook struct{ next Webhook }

func (r realWebhook) Send(ctx context.Context, req WebhookRequest) (WebhookResponse, error) {
	if req.Exercise {
		return WebhookResponse{}, exerciseReachedReal(req.Integration, "posting a webhook")
	}
	return r.next.Send(ctx, req)
}

type realEDR struct{ next EDR }

func (r realEDR) Contain(ctx context.Context, req ContainRequest) (ContainResponse, error) {
	if req.Exercise {
		return ContainResponse{}, exerciseReachedReal(req.Integration, "containing host "+req.Host)
	}
	return r.next.Contain(ctx, req)
}
