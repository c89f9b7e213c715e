package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/runner"
)

// rogueCall is a workflow of someone who can reach the namespace: it
// schedules one ContainHost activity on the task queue it is given, with
// the input it is given, once.
func rogueCall(ctx workflow.Context, queue string, in activities.ActionInput) (activities.ActionResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: queue, StartToCloseTimeout: 30 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var res activities.ActionResult
	err := workflow.ExecuteActivity(ctx, "ContainHost", in).Get(ctx, &res)
	return res, err
}

// TestLiveWorkerRefusesExerciseCalls: check one as firebreak's workers
// run it (runner.Start, on an embedded server). Anyone who can reach the
// namespace can schedule activities on any task queue, bypassing the
// Incident workflow and so check two: an exercise call sent to the live
// queue is refused by the live worker before any activity code runs (the
// journal has nothing for it), while the same call unmarked runs there,
// and the exercise call on the exercise queue runs on a twin.
func TestLiveWorkerRefusesExerciseCalls(t *testing.T) {
	srv := startServer(t, devserver.Options{Ephemeral: true})
	c := newClient(t, srv)
	j := sim.NewJournal()
	ws, err := runner.Start(c, runner.Options{Journal: j})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)
	const rogueQueue = "someone-elses-queue"
	w := worker.New(c, rogueQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(rogueCall, workflow.RegisterOptions{Name: "RogueCall"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx := testContext(t, startTimeout)

	cases := []struct {
		name     string
		queue    string
		exercise bool
		refused  bool
	}{
		{"exercise call on the live queue", activities.TaskQueue, true, true},
		{"live call on the live queue", activities.TaskQueue, false, false},
		{"exercise call on the exercise queue", activities.ExerciseTaskQueue, true, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "ROGUE-" + string(rune('A'+i))
			in := activities.ActionInput{
				Call: activities.Call{IncidentID: id, Step: "step.contain", Exercise: tc.exercise, Action: "edr.contain_host"},
				Args: map[string]any{"host": "ws-eng-07"},
			}
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: rogueQueue}, "RogueCall", tc.queue, in)
			if err != nil {
				t.Fatal(err)
			}
			var res activities.ActionResult
			err = run.Get(ctx, &res)
			reached := incidentEffects(j.Attempts(), id, sim.OpContain)
			if tc.refused {
				var ae *temporal.ApplicationError
				if !errors.As(err, &ae) || ae.Type() != activities.ErrExerciseOnLiveWorker || !strings.Contains(ae.Message(), "nothing was done") {
					t.Fatalf("got %v, want the live worker's %s refusal", err, activities.ErrExerciseOnLiveWorker)
				}
				if len(reached) != 0 {
					t.Errorf("the refused call reached the integration: %v", reached)
				}
				return
			}
			if err != nil {
				t.Fatalf("the call failed: %v", err)
			}
			if len(reached) != 1 || !res.Simulated {
				t.Errorf("the call reached the integration %d times, simulated %v; want once, on a twin", len(reached), res.Simulated)
			}
		})
	}
}
