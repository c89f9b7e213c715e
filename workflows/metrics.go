package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// Metrics the incident workflow records through workflow.GetMetricsHandler,
// which records nothing while a workflow replays, so each is recorded once
// by the worker that first runs the event. They change no command: an
// incident's history is the same with and without them. The worker's
// metrics handler (internal/observe) turns them into firebreak's own
// Prometheus metrics; their tags take values from bounded sets only.
const (
	// MetricTimeToAck is the time from a step starting to ask people to
	// its acknowledgement (tags TagKind, TagExercise).
	MetricTimeToAck = "firebreak_time_to_acknowledge"
	// MetricTimeToSignoff is the time from an approval's round opening to
	// its sign-off being complete (tags TagHow, TagExercise).
	MetricTimeToSignoff = "firebreak_time_to_signoff"
	// MetricRefused counts the answers the incident refuses, in its
	// validator or its handler, once each (tags TagCode, TagChannel); a
	// front door's signal that reports a refusal is not counted again.
	MetricRefused = "firebreak_refused_answers"
)

// Tags of the workflow's metrics.
const (
	TagKind     = "kind"     // the step kind: page, approval, decision, task
	TagExercise = "exercise" // "true" or "false"
	TagHow      = "how"      // SignoffQuorum or SignoffBreakGlass
	TagCode     = "code"     // a rules.Code
	TagChannel  = "channel"  // the answer's channel, e.g. "slack:U123" (the handler keeps "slack")
)

// Values of TagHow.
const (
	SignoffQuorum     = "quorum"
	SignoffBreakGlass = "break_glass"
)

// askedSince is when the step's current round began asking people: the
// round's opening, else the step's start.
func askedSince(st *StepState) time.Time {
	if !st.RoundOpenedAt.IsZero() {
		return st.RoundOpenedAt
	}
	return st.StartedAt
}

func (r *runner) exerciseTag() string {
	if r.in.Exercise {
		return "true"
	}
	return "false"
}

// observeAck records the time to acknowledge a step.
func (r *runner) observeAck(ctx workflow.Context, kind plan.Kind, st *StepState, now time.Time) {
	since := askedSince(st)
	if since.IsZero() || now.Before(since) {
		return
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{TagKind: string(kind), TagExercise: r.exerciseTag()}).
		Timer(MetricTimeToAck).Record(now.Sub(since))
}

// observeSignoff records the time to a complete sign-off.
func (r *runner) observeSignoff(ctx workflow.Context, how string, st *StepState, now time.Time) {
	since := askedSince(st)
	if since.IsZero() || now.Before(since) {
		return
	}
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{TagHow: how, TagExercise: r.exerciseTag()}).
		Timer(MetricTimeToSignoff).Record(now.Sub(since))
}

// observeRefused counts a refusal the incident records.
func observeRefused(ctx workflow.Context, code, channel string) {
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{TagCode: code, TagChannel: channel}).
		Counter(MetricRefused).Inc(1)
}
