// Package exercise runs the exercise blocks of an organisation: tabletop
// scenarios that rehearse a playbook. An automated run plays the real
// incident workflow in the SDK's test workflow environment, where time is
// skipped, on simulated twins only, with responders acting as their
// responder blocks say and delays drawn from a seeded generator, so the
// same seed gives the same run.
package exercise

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Epoch is the wall time an automated run starts at. Only the exercise
// clock (time since the start) is reported; a fixed epoch keeps whatever
// the playbook formats from the time (finished_at) the same run to run.
var Epoch = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// DefaultSeed is the seed of a run that names none.
const DefaultSeed = 1

// MaxAnswers bounds the answers one run gives: a playbook that asks again
// and again is reported instead of running for ever.
const MaxAnswers = 1000

// Options configure a run.
type Options struct {
	// Seed picks the responders' delays; the same seed gives the same run.
	Seed uint64
	// WallTimeout bounds the real time a run may take (default one minute),
	// so a workflow that never ends is reported instead of hanging.
	WallTimeout time.Duration
	// Horizon is how long on the exercise clock the incident may run
	// (default DefaultHorizon). An incident still running then (a step
	// waits, without a timeout, for an answer nobody gives) is cancelled by
	// its commander, and the result says so.
	Horizon time.Duration
	// Fixed names the responders (person IDs) whose delays are fixed at
	// their distributions' medians instead of drawn; Monte Carlo
	// sensitivity runs use it.
	Fixed map[string]bool
}

// DefaultHorizon is the exercise clock's default limit: a week.
const DefaultHorizon = 7 * 24 * time.Hour

// Result is what an automated run found.
type Result struct {
	Exercise  string `json:"exercise"`
	Playbook  string `json:"playbook"`
	Commander string `json:"commander"`
	Seed      uint64 `json:"seed"`
	// State is the incident's final state (completed, failed, cancelled).
	State string `json:"state"`
	// Duration is the exercise clock when the incident finished.
	Duration Duration `json:"duration"`
	// Stopped is set when the incident was still running at the horizon
	// and the run cancelled it.
	Stopped    bool              `json:"stopped,omitempty"`
	Objectives []ObjectiveResult `json:"objectives"`
	// Timeline holds the injects and the incident's own timeline, on the
	// exercise clock.
	Timeline []Entry `json:"timeline"`
	// Steps are the steps' final states.
	Steps []StepResult `json:"steps"`
}

// ObjectiveResult is one objective's outcome.
type ObjectiveResult struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Of          string   `json:"of"`
	Within      Duration `json:"within"`
	// Met is true when Of finished done within Within of the start.
	Met bool `json:"met"`
	// At is when Of finished done, nil when it never did.
	At *Duration `json:"at"`
	// State is Of's final state.
	State string `json:"state"`
}

// StepResult is one step's final state.
type StepResult struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// At is when the step finished, nil when it did not.
	At *Duration `json:"at,omitempty"`
}

// Event kinds the run adds to the incident's own (workflows.Event*).
const (
	// EventInject is an inject told to the players.
	EventInject = "inject"
)

// Entry is one line of the exercise timeline.
type Entry struct {
	At     Duration `json:"at"`
	Step   string   `json:"step,omitempty"`
	Event  string   `json:"event"`
	Who    string   `json:"who,omitempty"`
	Detail string   `json:"detail,omitempty"`
	// Roster is the roster an approval counts for; Code a refusal's
	// rule-book code. The after-action report reads them.
	Roster string `json:"roster,omitempty"`
	Code   string `json:"code,omitempty"`
}

// Duration is a time.Duration that JSON writes as a Go duration string
// ("12m0s").
type Duration time.Duration

// MarshalText writes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Clock formats d on the exercise clock: T+00:12:00 (hours grow past 99).
func Clock(d time.Duration) string {
	s := int64(d / time.Second)
	return fmt.Sprintf("T+%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// Names lists the exercises o declares, sorted.
func Names(o *org.Org) []string {
	var out []string
	for n := range o.Config.Exercises {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Run plays the exercise name of o once in automated mode. Its errors say
// what is wrong with the exercise or the run; an incident that fails or
// objectives that are missed are results, not errors.
func Run(o *org.Org, name string, opts Options) (res *Result, err error) {
	sc, err := o.Module.Scenario(name)
	if err != nil {
		return nil, err
	}
	p, diags := o.Plan(sc.Playbook)
	if diags.HasErrors() {
		return nil, fmt.Errorf("playbook %s does not compile: %s", sc.Playbook, diags.Error())
	}
	if opts.WallTimeout <= 0 {
		opts.WallTimeout = time.Minute
	}
	if opts.Horizon <= 0 {
		opts.Horizon = DefaultHorizon
	}
	twin := sim.New(sim.NewJournal())
	injects := slices.Clone(sc.Injects)
	sort.SliceStable(injects, func(i, j int) bool { return injects[i].At < injects[j].At })
	r := &runner{
		sc:       sc,
		twin:     twin,
		injects:  injects,
		sampler:  NewSampler(opts.Seed),
		fixed:    opts.Fixed,
		by:       map[string]*playbooks.Responder{},
		answered: map[string]bool{},
		acked:    map[string]bool{},
	}
	for i := range sc.Responders {
		r.by[sc.Responders[i].Person] = &sc.Responders[i]
	}

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	r.env = env
	env.SetStartTime(Epoch)
	env.SetTestTimeout(opts.WallTimeout)
	seq := newSequencer()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{seq}})
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) { seq.taken(info.ActivityID) })
	env.SetOnActivityCanceledListener(func(info *activity.Info) { seq.taken(info.ActivityID) })
	env.RegisterWorkflowWithOptions(workflows.Incident, workflow.RegisterOptions{Name: workflows.WorkflowName})
	acts := twin.Activities()
	// The worker's own authority: the loaded organisation, unattested (as
	// firebreak dev runs), never the plan the activities are handed.
	acts.Authority = org.NewAuthority(org.NewHolder(o, org.Options{}), false)
	// Guard three judges a sign-off's freshness on the exercise clock.
	acts.Now = env.Now
	env.RegisterActivity(acts)
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		r.activityStarted(info.ActivityType.Name, args)
	})

	incidentID := "EX-" + sc.Name
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IncidentWorkflowID(incidentID)})
	// The test environment panics when a run outlasts its wall timeout.
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("exercise %s: the incident did not finish within %s of real time (%v)", name, opts.WallTimeout, firstLine(fmt.Sprint(p)))
		}
	}()
	env.RegisterDelayedCallback(func() { r.stop(opts.Horizon) }, opts.Horizon)
	env.ExecuteWorkflow(workflows.WorkflowName, workflows.IncidentInput{
		Plan:             p,
		IncidentID:       incidentID,
		Commander:        sc.Commander,
		AcceptUnattested: true,
		Inputs:           sc.Inputs,
		Exercise:         true,
	})
	if r.err != nil {
		return nil, r.err
	}
	if !env.IsWorkflowCompleted() {
		return nil, fmt.Errorf("exercise %s: the incident did not finish within %s of real time; a step may wait for ever (a wait or timeout far beyond the scenario?)", name, opts.WallTimeout)
	}
	if err := env.GetWorkflowError(); err != nil {
		return nil, fmt.Errorf("exercise %s: the incident workflow failed: %v", name, err)
	}
	var ir workflows.IncidentResult
	if err := env.GetWorkflowResult(&ir); err != nil {
		return nil, fmt.Errorf("exercise %s: reading the incident's result: %v", name, err)
	}
	v, err := env.QueryWorkflow(workflows.QueryTimeline)
	if err != nil {
		return nil, fmt.Errorf("exercise %s: reading the incident's timeline: %v", name, err)
	}
	var tl workflows.Timeline
	if err := v.Get(&tl); err != nil {
		return nil, fmt.Errorf("exercise %s: decoding the incident's timeline: %v", name, err)
	}
	res = r.result(opts.Seed, ir, tl)
	res.Stopped = r.stopped
	return res, nil
}

// stop cancels the incident at the horizon, as its commander, if it still
// runs.
func (r *runner) stop(horizon time.Duration) {
	v, err := r.env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		return
	}
	var st workflows.Status
	if v.Get(&st) != nil || st.State != workflows.StateRunning {
		return
	}
	r.stopped = true
	r.n++
	r.env.UpdateWorkflow(workflows.UpdateCancel, fmt.Sprintf("exercise-%d", r.n), &testsuite.TestUpdateCallback{
		OnAccept: func() {}, OnReject: func(err error) {
			r.fail(fmt.Errorf("exercise %s: stopping the incident at the horizon was refused: %v", r.sc.Name, err))
		},
		OnComplete: func(any, error) {},
	}, workflows.Answer{Person: r.sc.Commander, Channel: workflows.ChannelScript,
		Reason: fmt.Sprintf("the exercise's horizon (%s on the exercise clock) came with the incident still running", horizon)})
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// runner plays the responders of one run.
type runner struct {
	sc   *playbooks.Scenario
	env  *testsuite.TestWorkflowEnvironment
	twin *sim.Twin
	// injects are the scenario's injects in time order; the first applied
	// of them have set their simulated state on the twin.
	injects []playbooks.Inject
	applied int
	sampler *Sampler
	fixed   map[string]bool
	by      map[string]*playbooks.Responder
	// agenda holds the answers due, in the order they are to be sent.
	agenda []pending
	// answered and acked remember what was scheduled (person, step and
	// round) and which steps' pages were acknowledged, so a second page
	// or prompt to the same person does not draw another answer.
	answered map[string]bool
	acked    map[string]bool
	n        int
	err      error
	// stopped is set once the run cancelled the incident at its horizon.
	stopped bool
}

// pending is one scripted answer waiting for its time.
type pending struct {
	due    time.Time
	key    string
	update string
	answer workflows.Answer
}

// applyDue sets on the twin the simulated state of every inject due by
// now that has not set it yet, in time order (and, at one time, in the
// order written). It runs before each activity does, on the test
// environment's main loop while the clock stands still, so an activity
// sees exactly the injects of its time and before, whatever order the
// environment fires callbacks of one instant in.
func (r *runner) applyDue() {
	now := r.env.Now().Sub(Epoch)
	for r.applied < len(r.injects) && r.injects[r.applied].At <= now {
		applyInject(r.twin, r.injects[r.applied])
		r.applied++
	}
}

// applyInject sets what one inject sets.
func applyInject(t *sim.Twin, in playbooks.Inject) {
	for _, rv := range in.Registers {
		t.SetRegister(rv.Integration, rv.Register, rv.Value)
	}
	if in.EDRContains != nil {
		t.SetContainedAll(*in.EDRContains)
	}
	for _, h := range in.EDRHosts {
		t.SetContained(h.Host, h.Contained)
	}
	if d := in.Delivery; d != nil {
		switch {
		case d.All:
			t.FailAllDelivery()
		case d.Restore:
			t.RestoreDelivery()
		default:
			t.FailDeliveryTo(d.People...)
		}
	}
}

// activityStarted reacts to a page or prompt reaching people: each
// recipient with a responder block acknowledges or answers after their
// delay, counted from now. A recipient an inject made unreachable is not
// reached, so does nothing.
func (r *runner) activityStarted(name string, args converter.EncodedValues) {
	r.applyDue()
	switch name {
	case activities.PageActivity:
		var in activities.PageInput
		if err := args.Get(&in); err != nil {
			r.fail(fmt.Errorf("decoding a page: %v", err))
			return
		}
		for _, to := range in.To {
			rs := r.by[to.Person]
			if rs == nil || rs.Unavailable || !r.twin.Reachable(to.Person) {
				continue
			}
			if rs.Acknowledges != nil {
				key := "ack|" + to.Person + "|" + in.Call.Step + "|" + strconv.Itoa(in.Round)
				if !r.answered[key] {
					r.answered[key] = true
					r.schedule(key, r.draw(to.Person, *rs.Acknowledges, key), workflows.UpdateAck,
						workflows.Answer{Step: in.Call.Step, Person: to.Person, Channel: workflows.ChannelScript})
				}
			}
			// A page about a waiting approval, decision or task reaches
			// someone who may answer it there and then.
			if in.StepKind != string(plan.KindPage) {
				r.scriptedAnswers(to.Person, in.Call.Step, in.Round)
			}
		}
	case activities.PromptActivity:
		var in activities.PromptInput
		if err := args.Get(&in); err != nil {
			r.fail(fmt.Errorf("decoding a prompt: %v", err))
			return
		}
		for _, to := range in.To {
			if r.twin.Reachable(to.Person) {
				r.scriptedAnswers(to.Person, in.Call.Step, in.Round)
			}
		}
	}
}

func (r *runner) scriptedAnswers(person, step string, round int) {
	rs := r.by[person]
	if rs == nil || rs.Unavailable {
		return
	}
	for _, sa := range rs.Answers {
		if sa.Step != step {
			continue
		}
		key := "answer|" + person + "|" + step + "|" + strconv.Itoa(round)
		if r.answered[key] {
			continue
		}
		r.answered[key] = true
		a := workflows.Answer{Step: step, Person: person, Round: round, Channel: workflows.ChannelScript}
		var update string
		switch kind, _, _ := strings.Cut(step, "."); {
		case kind == string(plan.KindApproval) && sa.With == rules.ExerciseDeny:
			update = workflows.UpdateDeny
			a.Reason = "denied in exercise " + r.sc.Name + " (scripted responder)"
		case kind == string(plan.KindApproval):
			update = workflows.UpdateApprove
		case kind == string(plan.KindTask):
			update = workflows.UpdateDone
		default:
			update = workflows.UpdateDecide
			a.Option = sa.With
		}
		r.schedule(key, r.draw(person, sa.After, key), update, a)
	}
}

// draw is person's delay d for the draw key: its median when the run
// fixes person's delays, else a draw of the seed.
func (r *runner) draw(person string, d playbooks.Delay, key string) time.Duration {
	if r.fixed[person] {
		return Median(d)
	}
	return r.sampler.Draw(d, key)
}

// schedule queues an answer at now+d on the workflow clock. Answers due at
// the same instant go in key order, whatever order their callbacks fire.
func (r *runner) schedule(key string, d time.Duration, update string, a workflows.Answer) {
	p := pending{due: r.env.Now().Add(d), key: key, update: update, answer: a}
	i, _ := slices.BinarySearchFunc(r.agenda, p, func(x, y pending) int {
		if c := x.due.Compare(y.due); c != 0 {
			return c
		}
		if x.key < y.key {
			return -1
		}
		if x.key > y.key {
			return 1
		}
		return 0
	})
	r.agenda = slices.Insert(r.agenda, i, p)
	r.env.RegisterDelayedCallback(r.sendDue, d)
}

// sendDue sends every answer that is due now, in agenda order.
func (r *runner) sendDue() {
	now := r.env.Now()
	for len(r.agenda) > 0 && !r.agenda[0].due.After(now) {
		p := r.agenda[0]
		r.agenda = r.agenda[1:]
		r.send(p)
	}
}

// send gives one answer, unless the step no longer waits for it: a
// person who sees the page acknowledged or the step decided does not
// answer any more.
func (r *runner) send(p pending) {
	step := p.answer.Step
	if !r.open(step, p.answer.Round) {
		return
	}
	ackKey := step + "|" + strconv.Itoa(p.answer.Round)
	if p.update == workflows.UpdateAck && r.acked[ackKey] {
		return
	}
	if r.n >= MaxAnswers {
		r.fail(fmt.Errorf("exercise %s: the responders gave %d answers and the incident still runs; it asks again and again (a sign-off refused each time?), so the run was stopped", r.sc.Name, MaxAnswers))
		return
	}
	r.n++
	r.env.UpdateWorkflow(p.update, fmt.Sprintf("exercise-%d", r.n), &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(error) {},
		OnComplete: func(_ any, err error) {
			if err == nil && p.update == workflows.UpdateAck {
				r.acked[ackKey] = true
			}
		},
	}, p.answer)
}

// open reports whether step is still waiting for answers of round (0: any).
func (r *runner) open(step string, round int) bool {
	v, err := r.env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		// The incident is over: nobody answers.
		return false
	}
	var st workflows.Status
	if err := v.Get(&st); err != nil {
		r.fail(fmt.Errorf("decoding the incident's status: %v", err))
		return false
	}
	if st.State != workflows.StateRunning {
		return false
	}
	for _, s := range st.Steps {
		if s.ID == step {
			return s.State == workflows.StepWaiting && (round == 0 || s.Round == round)
		}
	}
	return false
}

func (r *runner) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// result assembles the run's result from the incident's.
func (r *runner) result(seed uint64, res workflows.IncidentResult, tl workflows.Timeline) *Result {
	out := &Result{Exercise: r.sc.Name, Playbook: r.sc.Playbook, Commander: r.sc.Commander, Seed: seed, State: res.State,
		Objectives: []ObjectiveResult{}, Timeline: []Entry{}, Steps: []StepResult{}}
	since := func(t time.Time) *Duration {
		if t.IsZero() {
			return nil
		}
		d := Duration(t.Sub(Epoch))
		return &d
	}
	steps := map[string]workflows.StepStatus{}
	for _, s := range res.Steps {
		steps[s.ID] = s
		out.Steps = append(out.Steps, StepResult{ID: s.ID, State: s.State, Reason: s.Reason, At: since(s.FinishedAt)})
	}
	for _, o := range r.sc.Objectives {
		s := steps[o.Of]
		or := ObjectiveResult{Name: o.Name, Description: o.Description, Of: o.Of, Within: Duration(o.Within), State: s.State}
		if s.State == workflows.StepDone {
			or.At = since(s.FinishedAt)
			or.Met = or.At != nil && time.Duration(*or.At) <= o.Within
		}
		out.Objectives = append(out.Objectives, or)
	}
	// Injects come first among entries of the same instant: the players
	// hear of the scenario before the incident reacts.
	injects := r.injects
	i := 0
	for _, e := range canonical(tl.Events) {
		at := e.At.Sub(Epoch)
		for i < len(injects) && injects[i].At <= at {
			out.Timeline = append(out.Timeline, injectEntry(injects[i]))
			i++
		}
		step := e.Step
		if e.Iteration != "" {
			step += "[" + e.Iteration + "]"
		}
		out.Timeline = append(out.Timeline, Entry{At: Duration(at), Step: step, Event: e.Kind, Who: e.Person, Detail: e.Detail, Roster: e.Roster, Code: e.Code})
		if e.Kind == workflows.EventIncidentFinished {
			out.Duration = Duration(at)
		}
	}
	for ; i < len(injects); i++ {
		out.Timeline = append(out.Timeline, injectEntry(injects[i]))
	}
	return out
}

func injectEntry(in playbooks.Inject) Entry {
	detail := in.Message
	if sets := injectSets(in); len(sets) > 0 {
		detail += " [sets: " + strings.Join(sets, "; ") + "]"
	}
	return Entry{At: Duration(in.At), Step: "inject." + in.Name, Event: EventInject, Detail: detail}
}

// maxNamed is how many people an inject's timeline line names.
const maxNamed = 10

// injectSets says what simulated state an inject sets, one item each.
func injectSets(in playbooks.Inject) []string {
	var out []string
	for _, rv := range in.Registers {
		out = append(out, rv.String())
	}
	confirms := func(ok bool) string {
		if ok {
			return "the EDR confirms containment of "
		}
		return "the EDR does not confirm containment of "
	}
	switch {
	case in.EDRContains == nil:
	case *in.EDRContains:
		out = append(out, confirms(true)+"every host")
	default:
		out = append(out, confirms(false)+"any host")
	}
	for _, h := range in.EDRHosts {
		out = append(out, confirms(h.Contained)+h.Host)
	}
	if d := in.Delivery; d != nil {
		switch {
		case d.All:
			out = append(out, "no message reaches anyone")
		case d.Restore:
			out = append(out, "every message is delivered again")
		case len(d.People) == 0:
			out = append(out, "messages fail to nobody (the rosters named are empty)")
		default:
			people := d.People
			more := ""
			if len(people) > maxNamed {
				people, more = people[:maxNamed], fmt.Sprintf(" and %d more", len(people)-maxNamed)
			}
			out = append(out, "messages to "+strings.Join(people, ", ")+more+" fail")
		}
	}
	return out
}

// canonical orders the events of a timeline as every run of the same seed
// gives them. The iterations of a for_each step run in parallel, and the
// test environment delivers their results in whatever order they finish,
// so a run of iteration_finished events of one step at one instant is put
// in the order of the iterations' keys.
func canonical(events []workflows.Event) []workflows.Event {
	out := slices.Clone(events)
	same := func(a, b workflows.Event) bool {
		return a.Kind == workflows.EventIterationFinished && b.Kind == workflows.EventIterationFinished && a.Step == b.Step && a.At.Equal(b.At)
	}
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && same(out[i], out[j]) {
			j++
		}
		slices.SortStableFunc(out[i:j], func(a, b workflows.Event) int { return compareKeys(a.Iteration, b.Iteration) })
		i = j
	}
	return out
}

// compareKeys orders for_each keys: list indexes as numbers, others as text.
func compareKeys(a, b string) int {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return x - y
	}
	return strings.Compare(a, b)
}
