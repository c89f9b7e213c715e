// Package runner assembles the firebreak workers: the incident workflow and
// the live activities on the main task queue, and the simulated activities
// on the exercise task queue. It is the one place that decides which
// integration backs each activity interface.
//
// A real slack integration (no simulate = true) backs the live Chat with
// the Slack adapter. The other integrations run on simulated twins until
// their adapters land; every action they take is recorded in the journal
// and marked "simulated" in the timeline.
package runner

import (
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/pagerduty"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/adapters"
	"github.com/firebreak-ir/firebreak/internal/observe"
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
	// Org is the organisation the worker loaded: its own authority on who
	// may do what and what exists, which guard three and the start check
	// consult at every check (so a reload counts). Nil loads the built-in
	// library as the organisation (tests, benchmarks, the demo).
	Org *org.Holder
	// RequireAttestation refuses incidents whose start is not attested and
	// sign-offs whose approvals are not, by the organisation's keys
	// (firebreak worker); off, unsigned ones are accepted (firebreak dev,
	// the demo).
	RequireAttestation bool
	// Metrics, when set, count what the workers' integrations see (Slack's
	// 429s). The workflow's own metrics go through the client's metrics
	// handler (observe.Metrics.SDKHandler). Nil records nothing.
	Metrics *observe.Metrics
}

// Workers are the running workers; Stop stops them all.
type Workers struct {
	workers []worker.Worker
	// Org is the organisation the workers run for (the built-in library
	// when Options.Org was nil).
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
	holder := opts.Org
	if holder == nil {
		o, _, diags := org.Load("", org.Options{})
		if diags.HasErrors() {
			return nil, fmt.Errorf("loading the built-in library as the organisation: %s", diags.Error())
		}
		holder = org.NewHolder(o, org.Options{})
	}
	ws := &Workers{Twin: twin, ExerciseTwin: sim.New(j), Org: holder}
	// Which integration backs each instance: Slack's adapter when its
	// block is real; other real kinds through adapters.Build (PagerDuty,
	// every real instance sharing one client); the rest run on their twins.
	for _, r := range adapters.Resolve(holder.Current()) {
		logger.Info("integration", "instance", r.Instance.ID, "mode", string(r.Mode), "why", r.Why, "reaches", r.Target)
	}
	authority := org.NewAuthority(holder, opts.RequireAttestation)

	// The live worker refuses every activity whose call says Exercise
	// (check one of three; see docs/architecture.md).
	live := worker.New(c, activities.TaskQueue, worker.Options{
		Interceptors: []interceptor.WorkerInterceptor{activities.LiveWorkerInterceptor()},
	})
	liveActs, exActs, err := queueActivities(holder, twin, ws.ExerciseTwin, logger, opts.Metrics)
	if err != nil {
		return nil, err
	}
	liveActs.Authority = authority
	exActs.Authority = authority
	Register(live, liveActs)
	ws.workers = append(ws.workers, live)
	// Exercise activities: simulated twins only, by construction, under
	// the same checks.
	ex := worker.New(c, activities.ExerciseTaskQueue, worker.Options{})
	ex.RegisterActivity(exActs)
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

// queueActivities are the activities of the live task queue (on twin,
// and the real integrations) and of the exercise task queue (on exTwin:
// simulated twins only, by construction). One Slack chat serves both: with
// a real slack integration, a live exercise's people are asked in Slack
// too, every text marked [EXERCISE]. The caller sets their Authority.
func queueActivities(holder *org.Holder, twin, exTwin *sim.Twin, logger *slog.Logger, m *observe.Metrics) (live, ex *activities.Activities, err error) {
	chat, err := slackChat(holder, logger, m)
	if err != nil {
		return nil, nil, err
	}
	if live, err = liveActivities(holder, twin, chat); err != nil {
		return nil, nil, err
	}
	return live, ExerciseActivities(exTwin, chat), nil
}

// ExerciseActivities are the activities of the exercise task queue: every
// actuator, the pager and the plant-state reader are the simulated twin,
// by construction: it takes a twin, not an organisation, so no real
// actuator is in reach. chat, when not nil, replaces the twin's Chat (a
// live exercise talks to its people in Slack, every text marked as an
// exercise).
func ExerciseActivities(twin *sim.Twin, chat activities.Chat) *activities.Activities {
	acts := twin.Activities()
	if chat != nil {
		acts.Chat = chat
	}
	return acts
}

// liveActivities are the activities of the live task queue: chat (the
// Slack adapter of a real slack integration, nil when there is none)
// backs Chat; every other real instance is built through adapters.Build
// (its actuators behind the exercise guard); the rest run on the twin.
// Isolation, webhooks, EDR and plant-state reads go through one
// adapters.Router, which sends each request to the instance it names;
// every real pagerduty instance shares one PagerDuty client, which hands
// the simulated ones' requests to the twin.
func liveActivities(holder *org.Holder, twin *sim.Twin, chat activities.Chat) (*activities.Activities, error) {
	acts := twin.Activities()
	if chat != nil {
		acts.Chat = chat
	}
	o := holder.Current()
	router := adapters.NewRouter(holder, twin.Activities())
	resolved := adapters.Resolve(o)
	for _, r := range resolved {
		if r.Mode != adapters.Real || r.Instance.Kind == "slack" {
			continue
		}
		b, err := adapters.Build(r.Instance)
		if err != nil {
			return nil, err
		}
		if b.Pager != nil {
			b.Apply(acts)
			continue
		}
		router.Add(r.Instance.ID, b)
	}
	router.Apply(acts)
	// Simulated pagerduty instances beside real ones keep their twin: the
	// one PagerDuty client hands their requests to it.
	if c, ok := acts.Pager.(*pagerduty.Client); ok {
		for _, r := range resolved {
			if r.Instance.Kind == "pagerduty" && r.Mode != adapters.Real {
				c = c.WithTwin(r.Instance.ID, twin)
			}
		}
		acts.Pager = c
	}
	return acts, nil
}

// Stop stops every worker, letting activities in flight finish first.
func (w *Workers) Stop() {
	for _, x := range w.workers {
		x.Stop()
	}
}
