package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
)

// ErrExerciseRefused is the type of the application error of check two
// (interpreter v8): an exercise whose activities would run anywhere but on
// the exercise task queue, or an incident whose start was signed for an
// exercise when it is not one (or the other way round). Nothing was
// scheduled.
const ErrExerciseRefused = "ExerciseRefused"

// checkExerciseStart is check two at the start (v8): the start
// attestation, when there is one, was signed for what the incident is, an
// exercise or a real incident. (From v6 the start check refuses such a
// start too, against the plan's keys; this says why, and holds whatever
// the keys.)
func (r *runner) checkExerciseStart() error {
	a := r.in.Start
	if a == nil || (a.Option == ExerciseOption) == r.in.Exercise {
		return nil
	}
	what, signed := "a real incident", "an exercise"
	if r.in.Exercise {
		what, signed = "an exercise", "a real incident"
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("incident %s is %s, but its start was signed for %s; nothing was done: start it again with a start signed for what it is", r.in.IncidentID, what, signed),
		ErrExerciseRefused, nil)
}

// checkExerciseRoute is check two before anything runs (v8): an
// exercise's activities, actions and room alike, are routed to the
// exercise task queue.
func (r *runner) checkExerciseRoute() error {
	for _, actx := range []workflow.Context{r.activityContext(workflow.ActivityOptions{}), r.roomContext()} {
		if err := r.checkRoute(actx, "its activities"); err != nil {
			return err
		}
	}
	return nil
}

// checkRoute is check two where an activity is scheduled (v8): in an
// exercise, nothing goes to a task queue other than the exercise queue,
// whatever the options say. It compares with activities.ExerciseTaskQueue
// itself, not with the routing that chose the queue.
func (r *runner) checkRoute(actx workflow.Context, activity string) error {
	if r.version < interpreterV8 || !r.in.Exercise {
		return nil
	}
	q := workflow.GetActivityOptions(actx).TaskQueue
	if q == activities.ExerciseTaskQueue {
		return nil
	}
	if q == "" {
		q = workflow.GetInfo(actx).TaskQueueName + " (the workflow's own)"
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("incident %s is an exercise, and %s would run on task queue %s: an exercise runs only on simulated twins on task queue %s; nothing was scheduled",
			r.in.IncidentID, activity, q, activities.ExerciseTaskQueue),
		ErrExerciseRefused, nil)
}
