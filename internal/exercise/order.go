package exercise

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"
)

// orderHeader carries an activity's place in the order the workflow
// scheduled it.
const orderHeader = "firebreak-exercise-order"

// orderWait bounds how long (real time) an activity waits for those
// scheduled before it: one that never runs (cancelled before it started)
// must not hold the others for ever.
const orderWait = 2 * time.Second

// sequencer makes activities return in the order the workflow scheduled
// them. The test environment runs every activity in its own goroutine and
// delivers results as they finish, so activities started at the same
// instant (the iterations of a for_each, a page and a prompt) would reach
// the workflow, and its timeline, in a different order from run to run.
// The simulated twins never block, so the wait is short. It changes no
// workflow or activity: it only holds a result back until those scheduled
// before it are in.
type sequencer struct {
	interceptor.WorkerInterceptorBase

	mu       sync.Mutex
	cond     *sync.Cond
	next     int            // the next place to hand out
	low      int            // every place below has been taken in
	returned map[int]bool   // places at or above low that have been taken in
	places   map[string]int // activity ID -> place, until taken in
}

func newSequencer() *sequencer {
	s := &sequencer{returned: map[int]bool{}, places: map[string]int{}}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// InterceptWorkflow numbers the activities the workflow schedules.
func (s *sequencer) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &orderInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, s: s}
}

// InterceptActivity holds each result until those before it are in.
func (s *sequencer) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &orderActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, s: s}
}

type orderInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	s *sequencer
}

func (w *orderInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&orderOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, s: w.s})
}

type orderOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	s *sequencer
}

func (o *orderOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.s.mu.Lock()
	n := o.s.next
	o.s.next++
	o.s.mu.Unlock()
	if h := interceptor.WorkflowHeader(ctx); h != nil {
		if p, err := converter.GetDefaultDataConverter().ToPayload(n); err == nil {
			h[orderHeader] = p
		}
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

type orderActivity struct {
	interceptor.ActivityInboundInterceptorBase
	s *sequencer
}

func (a *orderActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	n := -1
	if p := interceptor.Header(ctx)[orderHeader]; p != nil {
		if converter.GetDefaultDataConverter().FromPayload(p, &n) != nil {
			n = -1
		}
	}
	if n >= 0 {
		a.s.mu.Lock()
		a.s.places[activity.GetInfo(ctx).ActivityID] = n
		a.s.mu.Unlock()
	}
	res, err := a.Next.ExecuteActivity(ctx, in)
	if n >= 0 {
		a.s.waitTurn(n)
	}
	return res, err
}

// waitTurn waits until the workflow has taken in the result of every
// activity scheduled before place n (or orderWait has passed).
func (s *sequencer) waitTurn(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	expired := false
	t := time.AfterFunc(orderWait, func() {
		s.mu.Lock()
		expired = true
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer t.Stop()
	for s.low < n && !expired {
		s.cond.Wait()
	}
	if expired && s.low < n {
		// Those still missing are given up on.
		for k := s.low; k < n; k++ {
			delete(s.returned, k)
		}
		s.low = n
	}
}

// taken records that the workflow has taken in the result (or the
// cancellation) of the activity with the given ID; the test environment's
// activity listeners call it.
func (s *sequencer) taken(activityID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.places[activityID]
	if !ok || n < s.low {
		return
	}
	delete(s.places, activityID)
	s.returned[n] = true
	for s.returned[s.low] {
		delete(s.returned, s.low)
		s.low++
	}
	s.cond.Broadcast()
}
