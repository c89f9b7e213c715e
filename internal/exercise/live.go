package exercise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// CheckLive refuses, before anything starts, an exercise that a live run
// cannot play: an inject that sets simulated state (set_register,
// edr_contains, fail_delivery) reaches the twin only in automated runs,
// where the run itself holds the twin; on a server, the worker's twin is
// out of the run's reach, so the branch the inject rehearses would not
// play out.
func CheckLive(sc *playbooks.Scenario) error {
	var bad []string
	for _, in := range sc.Injects {
		if in.SetsState() {
			bad = append(bad, fmt.Sprintf("inject %q (%s)", in.Name, strings.Join(injectSets(in), "; ")))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("exercise %s cannot run live: %s set%s simulated state, which only an automated run can (the worker's twin is out of a live run's reach); run it without --live, or drop set_register, edr_contains and fail_delivery from a copy of the exercise for the live run",
		sc.Name, strings.Join(bad, ", "), pluralVerb(len(bad)))
}

func pluralVerb(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// CheckTimeScale says what is wrong with a time scale, nil when it is
// usable: greater than zero and at most plan.MaxTimeScale.
func CheckTimeScale(x float64) error {
	if !(x > 0 && x <= plan.MaxTimeScale) {
		return fmt.Errorf("--time-scale must be greater than 0 and at most %d (the exercise clock runs that many times faster than the wall clock), not %v", plan.MaxTimeScale, x)
	}
	return nil
}

// LiveInputs turns a scenario's inputs into the "name=value" strings
// incident.Prepare takes (values as JSON, in name order).
func LiveInputs(sc *playbooks.Scenario) ([]string, error) {
	names := make([]string, 0, len(sc.Inputs))
	for n := range sc.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		b, err := json.Marshal(sc.Inputs[n])
		if err != nil {
			return nil, fmt.Errorf("exercise %s: input %s: %v", sc.Name, n, err)
		}
		out = append(out, n+"="+string(b))
	}
	return out, nil
}

// LiveOptions configure FollowLive.
type LiveOptions struct {
	// Scale is how many times faster than the wall clock the exercise
	// clock runs (the plan was scaled by it); 1 when zero.
	Scale float64
	// Started is the wall time the incident was started at, which the
	// injects are timed from.
	Started time.Time
	// Out receives a line per inject and per event as they happen.
	Out io.Writer
	// Interval is how often the timeline is read; 100 ms when zero.
	Interval time.Duration
	// QueryTimeout bounds each query; 10 s when zero.
	QueryTimeout time.Duration
}

// LiveResult is what a live run found: the run's result on the exercise
// clock, and the incident's own timeline and status, for the report.
type LiveResult struct {
	Result
	IncidentID string  `json:"incident_id"`
	TimeScale  float64 `json:"time_scale"`
	// Interrupted is set when following stopped (Ctrl-C) with the
	// incident still running; the objectives are then as of that time.
	Interrupted bool `json:"interrupted,omitempty"`
	// Undelivered counts the injects the incident ended (or following
	// stopped) before.
	Undelivered int `json:"undelivered,omitempty"`
	// Incident and Status are the incident's timeline and status as last
	// read, their times on the wall clock.
	Incident workflows.Timeline `json:"-"`
	Status   workflows.Status   `json:"-"`
}

// Clock turns a wall time of the incident into exercise time: the time
// since its start, times the scale.
func (r *LiveResult) Clock(t time.Time) time.Duration {
	return exerciseTime(t, r.Status.StartedAt, r.TimeScale)
}

func exerciseTime(t, origin time.Time, scale float64) time.Duration {
	if t.IsZero() || origin.IsZero() {
		return 0
	}
	return time.Duration(math.Round(float64(max(t.Sub(origin), 0)) * scale))
}

// FollowLive follows the live exercise incident id, started at
// opts.Started from scenario sc with its plan scaled by opts.Scale: it
// prints each inject at its time on the exercise clock, and each event of
// the incident as it happens, one line each, in order, until the incident
// ends or ctx is done (Ctrl-C: the incident keeps running, and the result
// says Interrupted). Then it evaluates the objectives. Its error is for
// not being able to follow at all.
func FollowLive(ctx context.Context, c client.Client, id string, sc *playbooks.Scenario, opts LiveOptions) (*LiveResult, error) {
	if opts.Scale <= 0 {
		opts.Scale = 1
	}
	if opts.Interval <= 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 10 * time.Second
	}
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	injects := slices.Clone(sc.Injects)
	sort.SliceStable(injects, func(i, j int) bool { return injects[i].At < injects[j].At })
	f := &liveFollower{c: c, id: id, opts: opts, injects: injects, last: -1}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type outcome struct {
		res workflows.IncidentResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		o.err = c.GetWorkflow(wctx, workflows.IncidentWorkflowID(id), "").Get(wctx, &o.res)
		done <- o
	}()
	ticker := time.NewTicker(opts.Interval)
	defer ticker.Stop()
	var due *time.Timer
	defer func() {
		if due != nil {
			due.Stop()
		}
	}()
	for {
		// Wake at the next inject's time too, so it is told on time.
		var dueC <-chan time.Time
		if f.told < len(injects) {
			wait := time.Until(f.injectWall(injects[f.told]))
			if due == nil {
				due = time.NewTimer(max(wait, 0))
			} else {
				due.Reset(max(wait, 0))
			}
			dueC = due.C
		}
		select {
		case <-ctx.Done():
			// Read what there is with a context of its own: ctx is over.
			rctx, rcancel := context.WithTimeout(context.Background(), opts.QueryTimeout)
			err := f.poll(rctx)
			rcancel()
			if err != nil {
				fmt.Fprintf(opts.Out, "(could not read the incident's last events: %s)\n", safetext.Line(err.Error()))
			}
			return f.result(sc, "", true), nil
		case <-ticker.C:
		case <-dueC:
		case o := <-done:
			state := workflows.StateCompleted
			var wee *temporal.WorkflowExecutionError
			switch {
			case o.err != nil && ctx.Err() != nil:
				continue
			case o.err != nil && !errors.As(o.err, &wee):
				// Waiting failed, not the incident: the status tells
				// when it ends.
				done = nil
				continue
			case o.err != nil:
				state = closedState(o.err)
			case o.res.State != "":
				state = o.res.State
			}
			rctx, rcancel := context.WithTimeout(context.Background(), opts.QueryTimeout)
			err := f.poll(rctx)
			rcancel()
			if err != nil && len(f.tl.Events) == 0 {
				return nil, fmt.Errorf("following incident %s: %w", id, err)
			}
			if err != nil {
				fmt.Fprintf(opts.Out, "(could not read the incident's last events: %s)\n", safetext.Line(err.Error()))
			}
			return f.result(sc, state, false), nil
		}
		qctx, qcancel := context.WithTimeout(ctx, opts.QueryTimeout)
		err := f.poll(qctx)
		qcancel()
		var nf *incident.NotFoundError
		switch {
		case errors.As(err, &nf):
			return nil, err
		case err == nil && f.st.State != "" && f.st.State != workflows.StateRunning:
			return f.result(sc, f.st.State, false), nil
		case err == nil:
			f.failingSince, f.toldFailure = time.Time{}, false
		default:
			// The worker restarting, the first workflow task not run yet:
			// retried at the next tick, and said once if it lasts.
			if f.failingSince.IsZero() {
				f.failingSince = time.Now()
			}
			if !f.toldFailure && time.Since(f.failingSince) >= quietFor && ctx.Err() == nil {
				fmt.Fprintf(opts.Out, "(cannot read the incident, retrying: %s)\n", safetext.Line(err.Error()))
				f.toldFailure = true
			}
		}
	}
}

// closedState is the state of an incident whose workflow ended with err
// (failed, cancelled, terminated or timed out).
func closedState(err error) string {
	var (
		canceled   *temporal.CanceledError
		terminated *temporal.TerminatedError
		timeout    *temporal.TimeoutError
	)
	switch {
	case errors.As(err, &canceled):
		return workflows.StateCancelled
	case errors.As(err, &terminated):
		return "terminated"
	case errors.As(err, &timeout):
		return "timed_out"
	}
	return workflows.StateFailed
}

// liveFollower prints a live run's injects and events.
type liveFollower struct {
	c       client.Client
	id      string
	opts    LiveOptions
	injects []playbooks.Inject
	// told counts the injects printed; last is the Seq of the last event
	// printed.
	told int
	last int
	// entries is everything printed, on the exercise clock.
	entries []Entry
	tl      workflows.Timeline
	st      workflows.Status
	// failingSince is when reading the incident started failing (zero
	// while it works); toldFailure says that has been shown.
	failingSince time.Time
	toldFailure  bool
}

// quietFor is how long failures to read the incident go unmentioned:
// right after the start its first workflow task may not have run yet.
const quietFor = 3 * time.Second

// injectWall is the wall time an inject is due.
func (f *liveFollower) injectWall(in playbooks.Inject) time.Time {
	return f.opts.Started.Add(plan.ScaleDuration(in.At, f.opts.Scale))
}

// poll reads the timeline and status and prints, in exercise-clock order,
// the new events and the injects due by now; when the incident cannot be
// read, the injects due all the same, and the error.
func (f *liveFollower) poll(ctx context.Context) error {
	st, err := incident.Status(ctx, f.c, f.id)
	var tl workflows.Timeline
	if err == nil {
		tl, err = incident.Timeline(ctx, f.c, f.id)
	}
	if err == nil {
		f.st, f.tl = st, tl
	} else {
		// The injects are told on time all the same.
		tl = workflows.Timeline{}
	}
	now := time.Now()
	var fresh []Entry
	for _, e := range tl.Events {
		if e.Seq <= f.last {
			continue
		}
		f.last = e.Seq
		step := e.Step
		if e.Iteration != "" {
			step += "[" + e.Iteration + "]"
		}
		who := e.Person
		if who != "" && e.Channel != "" && e.Channel != workflows.ChannelScript {
			who += " (" + e.Channel + ")"
		}
		fresh = append(fresh, Entry{At: Duration(exerciseTime(e.At, st.StartedAt, f.opts.Scale)), Step: step, Event: e.Kind, Who: who,
			Detail: e.Detail, Roster: e.Roster, Code: e.Code})
	}
	// Injects due by now, told before the events of the same instant.
	var lines []Entry
	i := 0
	for f.told < len(f.injects) && !f.injectWall(f.injects[f.told]).After(now) {
		in := f.injects[f.told]
		for i < len(fresh) && time.Duration(fresh[i].At) < in.At {
			lines = append(lines, fresh[i])
			i++
		}
		lines = append(lines, injectEntry(in))
		f.told++
	}
	lines = append(lines, fresh[i:]...)
	for _, e := range lines {
		fmt.Fprintln(f.opts.Out, LiveLine(e))
	}
	f.entries = append(f.entries, lines...)
	return err
}

// LiveLine is one line of a live run's output: the time on the exercise
// clock, the step, the event, who and the detail, neutralised for the
// terminal.
func LiveLine(e Entry) string {
	s := fmt.Sprintf("%s  %-24s %-19s %-8s %s", Clock(time.Duration(e.At)), cell(e.Step), cell(e.Event), cell(e.Who), safetext.Line(e.Detail))
	return strings.TrimRight(s, " ")
}

// result assembles the live run's result from what was last read. state
// is the incident's final state ("" to take the status's).
func (f *liveFollower) result(sc *playbooks.Scenario, state string, interrupted bool) *LiveResult {
	if state == "" {
		state = f.st.State
	}
	r := &LiveResult{
		Result: Result{Exercise: sc.Name, Playbook: sc.Playbook, Commander: sc.Commander, State: state,
			Objectives: []ObjectiveResult{}, Timeline: slices.Clone(f.entries), Steps: []StepResult{}},
		IncidentID: f.id, TimeScale: f.opts.Scale, Interrupted: interrupted && f.st.State == workflows.StateRunning,
		Undelivered: len(f.injects) - f.told, Incident: f.tl, Status: f.st,
	}
	if r.Timeline == nil {
		r.Timeline = []Entry{}
	}
	since := func(t time.Time) *Duration {
		if t.IsZero() {
			return nil
		}
		d := Duration(r.Clock(t))
		return &d
	}
	steps := map[string]workflows.StepStatus{}
	for _, s := range f.st.Steps {
		steps[s.ID] = s
		r.Steps = append(r.Steps, StepResult{ID: s.ID, State: s.State, Reason: s.Reason, At: since(s.FinishedAt)})
	}
	for _, o := range sc.Objectives {
		s := steps[o.Of]
		or := ObjectiveResult{Name: o.Name, Description: o.Description, Of: o.Of, Within: Duration(o.Within), State: s.State}
		if s.State == workflows.StepDone {
			or.At = since(s.FinishedAt)
			or.Met = or.At != nil && time.Duration(*or.At) <= o.Within
		}
		r.Objectives = append(r.Objectives, or)
	}
	for _, e := range f.tl.Events {
		if e.Kind == workflows.EventIncidentFinished {
			r.Duration = Duration(r.Clock(e.At))
		}
	}
	if r.Duration == 0 && len(f.tl.Events) > 0 {
		r.Duration = Duration(r.Clock(f.tl.Events[len(f.tl.Events)-1].At))
	}
	return r
}

// WriteLiveSummary writes the end of a live run for people: each
// objective met or not with the time on the exercise clock, and the
// incident's state.
func WriteLiveSummary(w io.Writer, r *LiveResult) error {
	var b strings.Builder
	if r.Undelivered > 0 {
		what := "the incident ended"
		if r.Interrupted {
			what = "following stopped"
		}
		fmt.Fprintf(&b, "\n%d inject%s not told: %s before %s.\n", r.Undelivered, plural(r.Undelivered), what, pronoun(r.Undelivered))
	}
	b.WriteString("\nObjectives")
	if r.Interrupted {
		b.WriteString(" (so far: the incident still runs)")
	}
	b.WriteString(":\n")
	if len(r.Objectives) == 0 {
		b.WriteString("  none declared\n")
	}
	for _, o := range r.Objectives {
		verdict, at := "NOT MET", "never finished done ("+cell(o.State)+")"
		if o.At != nil {
			at = "done at " + Clock(time.Duration(*o.At))
		}
		if o.Met {
			verdict = "met"
		} else if r.Interrupted && o.At == nil {
			verdict, at = "not met yet", "not done ("+cell(o.State)+")"
		}
		fmt.Fprintf(&b, "  %s: %s, %s within %s, %s\n", cell(o.Name), verdict, cell(o.Of), time.Duration(o.Within), at)
	}
	if r.Interrupted {
		fmt.Fprintf(&b, "\nStopped following at %s; incident %s is still running (firebreak status %s; firebreak cancel %s --as %s --reason TEXT ends it).\n",
			Clock(time.Duration(r.Duration)), r.IncidentID, r.IncidentID, r.IncidentID, safetext.Line(r.Commander))
	} else {
		fmt.Fprintf(&b, "\nIncident %s %s at %s on the exercise clock.\n", r.IncidentID, safetext.Line(r.State), Clock(time.Duration(r.Duration)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pronoun(n int) string {
	if n == 1 {
		return "its time"
	}
	return "their times"
}
