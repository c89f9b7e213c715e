// Package runner assembles the firebreak workers: the incident workflow and
// the live activities on the main task queue, and the simulated activities
// on the exercise task queue. It is the one place that decides which
// integration backs each activity interface.
//
// Until the real integrations land, live activities run on simulated twins
// too; every action they take is recorded in the journal and marked
// "simulated" in the timeline.
package runner

import (
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/adapters"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Options configure the workers.
type Options struct {
	// Journal records what the simulated twins did. Nil uses an in-memory journal.
	Journal *sim.Journal
	// Twin, when set, backs the live activities (tests use it to inject
	// failures). Nil builds one on Journal.
	Twin *sim.Twin
	// Logger receives worker logs; nil discards them.
	Logger *slog.Logger
	// Org is the organisation the worker loaded (its own authority on who
	// may do what and what exists). Nil runs without one (tests).
	Org *org.Holder
}

// Workers are the running workers; Stop stops them all.
type Workers struct {
	workers []worker.Worker
	// Org is the organisation the workers run for; nil without one.
	Org *org.Holder
	// Twin is the simulated twin behind the live activities.
	Twin *sim.Twin
	// ExerciseTwin is the simulated twin behind the exercise activities.
	ExerciseTwin *sim.Twin
}

// Register registers the incident workflow and the given activities on a
// worker registry. Benchmarks and tests use it to build their own workers.
func Register(r worker.Registry, acts *activities.Activities) {
	r.RegisterWorkflowWithOptions(workflows.Incident, workflow.RegisterOptions{Name: workflows.WorkflowName})
	r.RegisterActivity(acts)
}

// Start starts the workers on c and returns once they poll.
func Start(c client.Client, opts Options) (*Workers, error) {
	j := opts.Journal
	if j == nil {
		j = sim.NewJournal()
	}
	twin := opts.Twin
	if twin == nil {
		twin = sim.New(j)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ws := &Workers{Twin: twin, ExerciseTwin: sim.New(j), Org: opts.Org}
	if opts.Org != nil {
		// Which integration backs each instance. No kind has a real
		// adapter yet, so every instance runs on its twin; when adapters
		// land, the real ones are built here from adapters.Kinds.
		for _, r := range adapters.Resolve(opts.Org.Current()) {
			logger.Info("integration", "instance", r.Instance.ID, "mode", string(r.Mode), "why", r.Why, "reaches", r.Target)
		}
	}

	live := worker.New(c, activities.TaskQueue, worker.Options{})
	Register(live, twin.Activities())
	ws.workers = append(ws.workers, live)
	// Exercise activities: simulated twins only, by construction.
	ex := worker.New(c, activities.ExerciseTaskQueue, worker.Options{})
	ex.RegisterActivity(ws.ExerciseTwin.Activities())
	ws.workers = append(ws.workers, ex)

	for i, w := range ws.workers {
		if err := w.Start(); err != nil {
			for _, started := range ws.workers[:i] {
				started.Stop()
			}
			return nil, fmt.Errorf("starting the worker: %w", err)
		}
	}
	logger.Info("workers started", "task_queue", activities.TaskQueue, "exercise_task_queue", activities.ExerciseTaskQueue)
	return ws, nil
}

// Stop stops every worker, letting activities in flight finish first.
func (w *Workers) Stop() {
	for _, x := range w.workers {
		x.Stop()
	}
}
