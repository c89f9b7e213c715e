// Package review builds the after-action report of an exercise and the
// post-incident review of a real incident, shaped like an HSEEP After-Action
// Report / Improvement Plan: an overview, the objectives rated P, S, M or U,
// the key times (to acknowledge, to sign-off, to isolation), the timeline,
// the strengths and areas for improvement the run shows, and an improvement
// plan. One Review is built from an exercise's result (FromExercise) or from
// an incident's timeline and status (FromIncident), and rendered to
// Markdown (WriteMarkdown) or to a self-contained HTML page with an SVG
// timeline (WriteHTML).
//
// Every text in a Review is raw, as people and playbooks wrote it; the
// renderers escape it (safetext.Markdown, html/template).
package review

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Kinds of review.
const (
	// KindExercise is the after-action report of an exercise.
	KindExercise = "exercise"
	// KindIncident is the post-incident review of a real incident.
	KindIncident = "incident"
)

// Ratings of an objective (HSEEP).
const (
	// RatingP is performed without challenges: met with at least a third
	// of its limit to spare.
	RatingP = "P"
	// RatingS is performed with some challenges: met with at least a tenth
	// of its limit to spare, but less than a third.
	RatingS = "S"
	// RatingM is performed with major challenges: met with less than a
	// tenth of its limit to spare.
	RatingM = "M"
	// RatingU is unable to be performed: not met (late, or never done).
	RatingU = "U"
)

// RatingWords says what each rating means.
var RatingWords = map[string]string{
	RatingP: "performed without challenges",
	RatingS: "performed with some challenges",
	RatingM: "performed with major challenges",
	RatingU: "unable to be performed",
}

// SignoffWaitLimit is how long a sign-off may wait on one roster before the
// wait is an area for improvement rather than a strength.
const SignoffWaitLimit = 5 * time.Minute

// Capability elements of an improvement plan item (HSEEP).
const (
	ElementPlanning     = "planning"
	ElementOrganisation = "organisation"
	ElementEquipment    = "equipment"
	ElementTraining     = "training"
	ElementExercise     = "exercise"
)

// Review is one after-action report or post-incident review.
type Review struct {
	// Kind is KindExercise or KindIncident.
	Kind string `json:"kind"`
	// Name is the exercise's name or the incident's ID.
	Name string `json:"name"`
	// Date is when the review was made.
	Date time.Time `json:"date"`
	// StartedAt is the incident's wall start (zero for an exercise, whose
	// times are on the exercise clock only).
	StartedAt   time.Time `json:"started_at,omitzero"`
	Description string    `json:"description,omitempty"`
	Playbook    string    `json:"playbook"`
	Title       string    `json:"title,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	// PlanDigest is the digest of the compiled plan (plan.Digest), "" when
	// it is not known.
	PlanDigest string `json:"plan_digest,omitempty"`
	Commander  string `json:"commander,omitempty"`
	// Seed is the exercise run's seed.
	Seed uint64 `json:"seed,omitempty"`
	// State is the incident's final (or current) state.
	State string `json:"state"`
	// Duration is how long the incident ran (to now when it still runs).
	Duration Duration `json:"duration"`
	// Stopped is set when an exercise run cancelled the incident at its
	// horizon.
	Stopped    bool `json:"stopped,omitempty"`
	BreakGlass bool `json:"break_glass"`
	// Unattested is set when the incident accepted unsigned answers.
	Unattested bool `json:"unattested,omitempty"`

	Participants []Participant `json:"participants"`
	Objectives   []Objective   `json:"objectives,omitempty"`
	Measures     []Measure     `json:"measures"`
	Timeline     []Event       `json:"timeline"`
	Lanes        []Lane        `json:"lanes"`
	Escalations  []Event       `json:"escalations"`
	BreakGlasses []Event       `json:"break_glass_events"`
	Refusals     []Refusal     `json:"refusals"`
	Attestations Attestations  `json:"attestations"`
	Strengths    []string      `json:"strengths"`
	Improvements []Item        `json:"improvements"`
	// MonteCarlo is set for an exercise reported with --runs.
	MonteCarlo *MonteCarlo `json:"monte_carlo,omitempty"`
	// Live is set for an exercise run live on a server.
	Live *LiveRun `json:"live,omitempty"`
}

// LiveRun says how a live exercise ran.
type LiveRun struct {
	// IncidentID is the exercise incident on the server.
	IncidentID string `json:"incident_id"`
	// TimeScale is how many times faster than the wall clock the
	// exercise clock ran.
	TimeScale float64 `json:"time_scale"`
	// Interrupted is set when the report was made with the incident
	// still running.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Participant is one person of the exercise or incident.
type Participant struct {
	Person string `json:"person"`
	// Role says what the person is: "commander", a responder block's
	// behaviour, "no responder block: never answers".
	Role string `json:"role,omitempty"`
	// Asked lists the steps the person was paged or asked for.
	Asked []string `json:"asked,omitempty"`
	// Answered lists what the person did ("acknowledged page.x").
	Answered []string `json:"answered,omitempty"`
}

// Objective is one objective of an exercise and its rating.
type Objective struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Of          string   `json:"of"`
	Within      Duration `json:"within"`
	// At is when Of finished done, nil when it never did.
	At     *Duration `json:"at"`
	Met    bool      `json:"met"`
	State  string    `json:"state"`
	Rating string    `json:"rating"`
}

// Measure is one key time of the response, from the start.
type Measure struct {
	Name string `json:"name"`
	// Step is the step that reached it, "" when none did.
	Step string `json:"step,omitempty"`
	// At is nil when it was never reached.
	At *Duration `json:"at"`
	// Note qualifies it ("forced by break-glass"), "" when nothing does.
	Note string `json:"note,omitempty"`
}

// Event is one entry of the timeline.
type Event struct {
	// At is the time since the start.
	At Duration `json:"at"`
	// Wall is the event's wall time (zero for an exercise).
	Wall    time.Time `json:"wall,omitzero"`
	Step    string    `json:"step,omitempty"`
	Kind    string    `json:"kind"`
	Person  string    `json:"person,omitempty"`
	Channel string    `json:"channel,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Roster  string    `json:"roster,omitempty"`
	Code    string    `json:"code,omitempty"`
	// BreakGlass marks an event of a forced safety gate.
	BreakGlass bool `json:"break_glass,omitempty"`
	// Signed is who signed an answer ("person.olga 1a2b3c4d5e6f"),
	// "unattested", or "" for events that are not answers.
	Signed string `json:"signed,omitempty"`
}

// Lane is one step's bar on the timeline.
type Lane struct {
	Step  string `json:"step"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	// Start and End are nil when the step never started or never ended.
	Start *Duration `json:"start"`
	End   *Duration `json:"end"`
}

// Refusal counts one person's refused answers for one reason.
type Refusal struct {
	Person string `json:"person"`
	Code   string `json:"code"`
	Count  int    `json:"count"`
	// First and Last are since the start.
	First Duration `json:"first"`
	Last  Duration `json:"last"`
}

// Attestations counts the answers by whether they were signed.
type Attestations struct {
	Signed     int `json:"signed"`
	Unattested int `json:"unattested"`
}

// Item is one line of the improvement plan, found by the run.
type Item struct {
	// Issue is the area for improvement, as observed.
	Issue string `json:"issue"`
	// Action is the corrective action proposed.
	Action string `json:"action"`
	// Element is the capability element (ElementPlanning...).
	Element string `json:"element"`
	// Responsible is the roster (or person) responsible, "" when the
	// run names none.
	Responsible string `json:"responsible,omitempty"`
}

// MonteCarlo is the Monte Carlo part of an exercise's report.
type MonteCarlo struct {
	Runs       int                   `json:"runs"`
	Seed       uint64                `json:"seed"`
	Objectives []MonteCarloObjective `json:"objectives"`
}

// MonteCarloObjective is one objective over the runs.
type MonteCarloObjective struct {
	Name   string   `json:"name"`
	Of     string   `json:"of"`
	Within Duration `json:"within"`
	PMet   float64  `json:"p_met"`
	// P50, P90 and P99 are nil when no run met the objective.
	P50 *Duration `json:"p50"`
	P90 *Duration `json:"p90"`
	P99 *Duration `json:"p99"`
	// Times are the times met, sorted, for the histogram.
	Times []time.Duration `json:"-"`
	// Sensitivity is the responder whose delays, fixed at their medians,
	// lower the miss rate most, with the rates; nil when not computed or
	// when nobody's fixing helps.
	Sensitivity *exercise.Sensitivity `json:"sensitivity,omitempty"`
}

// Duration is a time.Duration that JSON writes as a Go duration string
// ("7m1s").
type Duration time.Duration

// MarshalText writes d as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Rate rates an objective done at at (nil: never) against its limit, by the
// rules of RatingP, RatingS, RatingM and RatingU.
func Rate(at *Duration, within Duration) string {
	if at == nil || *at > within {
		return RatingU
	}
	spare := within - *at
	switch {
	case 3*spare >= within:
		return RatingP
	case 10*spare >= within:
		return RatingS
	}
	return RatingM
}

// ExerciseOptions are what FromExercise needs besides the run's result.
type ExerciseOptions struct {
	// Date is when the report is made.
	Date time.Time
	// Scenario is the exercise as loaded; Plan its playbook's plan.
	Scenario *playbooks.Scenario
	Plan     *plan.Plan
	// Summary, when set, adds the Monte Carlo figures.
	Summary *exercise.Summary
}

// FromExercise builds the after-action report of an exercise run.
func FromExercise(res *exercise.Result, opts ExerciseOptions) *Review {
	r := &Review{Kind: KindExercise, Name: res.Exercise, Date: opts.Date, Playbook: res.Playbook, Commander: res.Commander,
		Seed: res.Seed, State: res.State, Duration: Duration(res.Duration), Stopped: res.Stopped, Unattested: true}
	if sc := opts.Scenario; sc != nil {
		r.Description = sc.Description
	}
	if p := opts.Plan; p != nil {
		r.Title, r.Severity = p.Title, p.Severity
		if d, err := plan.Digest(p); err == nil {
			r.PlanDigest = d
		}
	}
	for _, e := range res.Timeline {
		ev := Event{At: Duration(e.At), Step: e.Step, Kind: e.Event, Person: e.Who, Detail: e.Detail, Roster: e.Roster, Code: e.Code}
		if answerKinds[e.Event] {
			ev.Channel, ev.Signed = workflows.ChannelScript, "unattested"
		}
		if e.Event == workflows.EventBreakGlass {
			ev.BreakGlass = true
		}
		r.Timeline = append(r.Timeline, ev)
	}
	var steps []stepInfo
	for _, s := range res.Steps {
		si := stepInfo{id: s.ID, state: s.State, reason: s.Reason}
		if s.At != nil {
			d := Duration(*s.At)
			si.end = &d
		}
		steps = append(steps, si)
	}
	for _, o := range res.Objectives {
		ob := Objective{Name: o.Name, Description: o.Description, Of: o.Of, Within: Duration(o.Within), Met: o.Met, State: o.State}
		if o.At != nil {
			d := Duration(*o.At)
			ob.At = &d
		}
		ob.Rating = Rate(ob.At, ob.Within)
		if !o.Met {
			ob.Rating = RatingU
		}
		r.Objectives = append(r.Objectives, ob)
	}
	if s := opts.Summary; s != nil {
		mc := &MonteCarlo{Runs: s.Runs, Seed: s.Seed}
		for _, o := range s.Objectives {
			mo := MonteCarloObjective{Name: o.Name, Of: o.Of, Within: Duration(o.Within), PMet: o.PMet,
				P50: dur(o.P50), P90: dur(o.P90), P99: dur(o.P99), Sensitivity: o.Sensitivity}
			for _, t := range o.Times {
				mo.Times = append(mo.Times, time.Duration(t))
			}
			mc.Objectives = append(mc.Objectives, mo)
		}
		r.MonteCarlo = mc
	}
	var responders []playbooks.Responder
	if opts.Scenario != nil {
		responders = opts.Scenario.Responders
	}
	r.analyse(steps, opts.Plan, responders, nil)
	return r
}

// FromLiveExercise builds the after-action report of a live exercise run:
// the review of its incident (FromIncident: real people's answers with
// their channels and signatures, refusals, escalations), its times moved
// to the exercise clock, marked as an exercise, with the scenario's
// injects and objectives. opts.Plan is the plan as written (its durations
// on the exercise clock), not the scaled one the incident ran.
func FromLiveExercise(res *exercise.LiveResult, opts ExerciseOptions) *Review {
	st, tl := res.Status, res.Incident
	origin := st.StartedAt
	if origin.IsZero() && len(tl.Events) > 0 {
		origin = tl.Events[0].At
	}
	at := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return origin.Add(res.Clock(t))
	}
	// Copies, so the result keeps its wall times.
	st.Steps = slices.Clone(st.Steps)
	for i := range st.Steps {
		st.Steps[i].StartedAt, st.Steps[i].FinishedAt = at(st.Steps[i].StartedAt), at(st.Steps[i].FinishedAt)
	}
	st.StartedAt = origin
	tl.Events = slices.Clone(tl.Events)
	for i := range tl.Events {
		tl.Events[i].At = at(tl.Events[i].At)
	}
	tl.Refusals = slices.Clone(tl.Refusals)
	for i := range tl.Refusals {
		tl.Refusals[i].First, tl.Refusals[i].Last = at(tl.Refusals[i].First), at(tl.Refusals[i].Last)
	}
	date := opts.Date
	if res.Interrupted {
		date = origin.Add(time.Duration(res.Duration))
	}
	r := FromIncident(tl, st, IncidentOptions{Date: date, Plan: opts.Plan})
	r.Kind, r.Name, r.Date, r.StartedAt = KindExercise, res.Exercise, opts.Date, time.Time{}
	r.Live = &LiveRun{IncidentID: res.IncidentID, TimeScale: res.TimeScale, Interrupted: res.Interrupted}
	if sc := opts.Scenario; sc != nil {
		r.Description = sc.Description
	}
	// The events' wall times are the real ones, not the exercise clock's.
	for i := range r.Timeline {
		if i < len(res.Incident.Events) {
			r.Timeline[i].Wall = res.Incident.Events[i].At.UTC()
		}
	}
	for _, e := range res.Timeline {
		if e.Event == exercise.EventInject {
			r.Timeline = append(r.Timeline, Event{At: Duration(e.At), Step: e.Step, Kind: e.Event, Detail: e.Detail})
		}
	}
	// Injects first among events of the same instant, as in automated runs.
	slices.SortStableFunc(r.Timeline, func(a, b Event) int {
		if a.At != b.At {
			return cmpInt(a.At, b.At)
		}
		return cmpInt(injectFirst(b), injectFirst(a))
	})
	for _, o := range res.Objectives {
		ob := Objective{Name: o.Name, Description: o.Description, Of: o.Of, Within: Duration(o.Within), Met: o.Met, State: o.State}
		if o.At != nil {
			d := Duration(*o.At)
			ob.At = &d
		}
		ob.Rating = Rate(ob.At, ob.Within)
		if !o.Met {
			ob.Rating = RatingU
		}
		r.Objectives = append(r.Objectives, ob)
	}
	return r
}

func injectFirst(e Event) int {
	if e.Kind == exercise.EventInject {
		return 1
	}
	return 0
}

func cmpInt[T ~int64 | ~int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func dur(d *exercise.Duration) *Duration {
	if d == nil {
		return nil
	}
	v := Duration(*d)
	return &v
}

// IncidentOptions are what FromIncident needs besides the timeline and
// status.
type IncidentOptions struct {
	// Date is when the review is made; an incident still running is
	// measured to it.
	Date time.Time
	// Plan is the plan the incident runs, nil when it is not known.
	Plan *plan.Plan
}

// FromIncident builds the post-incident review of an incident from its
// timeline and status.
func FromIncident(tl workflows.Timeline, st workflows.Status, opts IncidentOptions) *Review {
	r := &Review{Kind: KindIncident, Name: cmp(tl.IncidentID, st.IncidentID), Date: opts.Date, StartedAt: st.StartedAt,
		Playbook: cmp(tl.Playbook, st.Playbook), Title: st.Title, Severity: st.Severity, Commander: st.Commander, State: st.State,
		BreakGlass: tl.BreakGlass || st.BreakGlass, Unattested: tl.Unattested || st.Unattested}
	if opts.Plan != nil {
		if d, err := plan.Digest(opts.Plan); err == nil {
			r.PlanDigest = d
		}
		if r.Title == "" {
			r.Title = opts.Plan.Title
		}
	}
	start := st.StartedAt
	if start.IsZero() && len(tl.Events) > 0 {
		start = tl.Events[0].At
	}
	r.StartedAt = start
	since := func(t time.Time) Duration { return Duration(max(t.Sub(start), 0)) }
	end := opts.Date
	for _, e := range tl.Events {
		ev := Event{At: since(e.At), Wall: e.At.UTC(), Step: e.Step, Kind: e.Kind, Person: e.Person, Channel: e.Channel,
			Detail: e.Detail, Roster: e.Roster, Code: e.Code, BreakGlass: e.BreakGlass || e.Kind == workflows.EventBreakGlass}
		if e.Iteration != "" {
			ev.Step += "[" + e.Iteration + "]"
		}
		switch {
		case e.Attestation != nil:
			who := e.Attestation.Signer
			if e.Attestation.Person != e.Person && e.Attestation.Person != "" {
				who += " for " + e.Attestation.Person
			}
			ev.Signed = who + " " + attest.Digest(e.Attestation.Signature)[:12]
		case e.Unattested:
			ev.Signed = "unattested"
		}
		r.Timeline = append(r.Timeline, ev)
		if e.Kind == workflows.EventIncidentFinished || e.Kind == workflows.EventCancelled && e.Step == "" {
			end = e.At
		}
	}
	if st.State != workflows.StateRunning && len(tl.Events) > 0 && end.Equal(opts.Date) {
		end = tl.Events[len(tl.Events)-1].At
	}
	r.Duration = since(end)
	var steps []stepInfo
	for _, s := range st.Steps {
		si := stepInfo{id: s.ID, kind: string(s.Kind), state: s.State, reason: s.Reason}
		if !s.FinishedAt.IsZero() {
			d := since(s.FinishedAt)
			si.end = &d
		}
		if !s.StartedAt.IsZero() {
			d := since(s.StartedAt)
			si.start = &d
		}
		steps = append(steps, si)
	}
	var refusals []Refusal
	for _, c := range tl.Refusals {
		refusals = append(refusals, Refusal{Person: c.Person, Code: c.Code, Count: c.Count, First: since(c.First), Last: since(c.Last)})
	}
	r.analyse(steps, opts.Plan, nil, refusals)
	return r
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// stepInfo is a step's final state as the result or status gives it.
type stepInfo struct {
	id, kind, state, reason string
	start, end              *Duration
}

// answerKinds are the events that record a person's answer.
var answerKinds = map[string]bool{
	workflows.EventAcknowledged: true, workflows.EventApproved: true, workflows.EventDenied: true,
	workflows.EventDecided: true, workflows.EventTaskDone: true, workflows.EventBreakGlass: true,
}

// answerWords is how an answer reads in a participant's list.
var answerWords = map[string]string{
	workflows.EventAcknowledged: "acknowledged", workflows.EventApproved: "approved", workflows.EventDenied: "denied",
	workflows.EventDecided: "decided", workflows.EventTaskDone: "done", workflows.EventBreakGlass: "BREAK-GLASS",
}

// baseStep is a step ID without its for_each key.
func baseStep(s string) string {
	if i := strings.IndexByte(s, '['); i > 0 {
		return s[:i]
	}
	return s
}

func kindOf(step string) string {
	k, _, _ := strings.Cut(step, ".")
	return k
}

func ptr(d Duration) *Duration { return &d }

// analyse derives everything that comes from the timeline: lanes,
// participants, measures, escalations, break-glass, refusals (counted from
// the events when the timeline gives no counts), attestations, strengths
// and the improvement plan.
func (r *Review) analyse(steps []stepInfo, p *plan.Plan, responders []playbooks.Responder, refusals []Refusal) {
	planSteps := map[string]*plan.Step{}
	if p != nil {
		for i := range p.Steps {
			planSteps[p.Steps[i].ID] = &p.Steps[i]
		}
	}
	// Lanes: the steps in the order given, started at their first event.
	first := map[string]Duration{}
	for _, e := range r.Timeline {
		b := baseStep(e.Step)
		if b == "" || e.Kind == exercise.EventInject {
			continue
		}
		if _, ok := first[b]; !ok && (e.Kind == workflows.EventStepStarted || e.Kind == workflows.EventStepSkipped) {
			first[b] = e.At
		}
	}
	for _, s := range steps {
		l := Lane{Step: s.id, Kind: s.kind, State: s.state, Start: s.start, End: s.end}
		if l.Kind == "" {
			l.Kind = kindOf(s.id)
		}
		if l.Start == nil {
			if at, ok := first[s.id]; ok {
				l.Start = ptr(at)
			}
		}
		r.Lanes = append(r.Lanes, l)
	}

	// Participants: the commander, the responders, and everyone asked or
	// answering, in the order they first appear.
	parts := map[string]*Participant{}
	var order []string
	get := func(person string) *Participant {
		if pp := parts[person]; pp != nil {
			return pp
		}
		parts[person] = &Participant{Person: person}
		order = append(order, person)
		return parts[person]
	}
	if r.Commander != "" {
		get(r.Commander).Role = "commander"
	}
	for _, rs := range responders {
		pp := get(rs.Person)
		pp.Role = joinRole(pp.Role, responderRole(rs))
	}
	addAsked := func(person, step string) {
		pp := get(person)
		if !slices.Contains(pp.Asked, step) {
			pp.Asked = append(pp.Asked, step)
		}
	}
	for _, e := range r.Timeline {
		for _, person := range asked(e) {
			addAsked(person, baseStep(e.Step))
		}
		if (answerKinds[e.Kind] || e.Kind == workflows.EventRefused) && e.Person != "" {
			pp := get(e.Person)
			word := answerWords[e.Kind]
			if e.Kind == workflows.EventRefused {
				word = "refused on"
			}
			pp.Answered = append(pp.Answered, word+" "+e.Step)
		}
	}
	if r.Kind == KindExercise {
		for _, person := range order {
			if pp := parts[person]; pp.Role == "" || pp.Role == "commander" {
				pp.Role = joinRole(pp.Role, "no responder block: never answers")
			}
		}
	}
	r.Participants = []Participant{}
	for _, person := range order {
		r.Participants = append(r.Participants, *parts[person])
	}

	// Escalations, break-glass, attestations, refusals.
	r.Escalations, r.BreakGlasses = []Event{}, []Event{}
	counted := refusals != nil
	byRefusal := map[[2]string]int{}
	for _, e := range r.Timeline {
		if e.Kind == workflows.EventEscalated {
			r.Escalations = append(r.Escalations, e)
		}
		if e.BreakGlass {
			r.BreakGlass = true
			r.BreakGlasses = append(r.BreakGlasses, e)
		}
		if answerKinds[e.Kind] {
			if e.Signed == "unattested" || e.Signed == "" {
				r.Attestations.Unattested++
			} else {
				r.Attestations.Signed++
			}
		}
		if e.Kind == workflows.EventRefused && !counted {
			k := [2]string{e.Person, e.Code}
			if i, ok := byRefusal[k]; ok {
				refusals[i].Count++
				refusals[i].Last = e.At
			} else {
				byRefusal[k] = len(refusals)
				refusals = append(refusals, Refusal{Person: e.Person, Code: e.Code, Count: 1, First: e.At, Last: e.At})
			}
		}
	}
	r.Refusals = refusals
	if r.Refusals == nil {
		r.Refusals = []Refusal{}
	}

	r.measure(p)
	r.findings(steps, planSteps, p)
}

func joinRole(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// responderRole says what a responder block makes a person do.
func responderRole(rs playbooks.Responder) string {
	if rs.Unavailable {
		return "unavailable: never answers"
	}
	var parts []string
	if rs.Acknowledges != nil {
		parts = append(parts, "acknowledges after "+DelayString(*rs.Acknowledges))
	}
	for _, a := range rs.Answers {
		parts = append(parts, fmt.Sprintf("answers %s %q after %s", a.Step, a.With, DelayString(a.After)))
	}
	if len(parts) == 0 {
		return "responder block: never answers"
	}
	return strings.Join(parts, "; ")
}

// DelayString writes a delay as the exercise block does: "3m0s",
// "uniform(1m0s,8m0s)", "lognormal(4m0s,0.5)", "exponential(5m0s)".
func DelayString(d playbooks.Delay) string {
	sec := func(f float64) string { return (time.Duration(f * float64(time.Second))).Round(time.Second).String() }
	switch d.Dist {
	case "uniform":
		return "uniform(" + sec(d.A) + "," + sec(d.B) + ")"
	case "lognormal":
		return fmt.Sprintf("lognormal(%s,%g)", sec(d.A), d.B)
	case "exponential":
		return "exponential(" + sec(d.A) + ")"
	}
	return sec(d.A)
}

// asked is who an event says was asked or paged: a step's "asking a, b"
// and a page's "escalation.x tier 1: a, b; ack within 5m0s".
func asked(e Event) []string {
	var list string
	switch e.Kind {
	case workflows.EventStepStarted:
		rest, ok := strings.CutPrefix(e.Detail, "asking ")
		if !ok {
			return nil
		}
		list = rest
	case workflows.EventPaged:
		_, rest, ok := strings.Cut(e.Detail, ": ")
		if !ok {
			return nil
		}
		list, _, _ = strings.Cut(rest, "; ")
	default:
		return nil
	}
	var out []string
	for _, p := range strings.Split(list, ", ") {
		if p = strings.TrimSpace(p); p != "" && !strings.ContainsAny(p, " ;:") {
			out = append(out, p)
		}
	}
	return out
}

// isolationActions are the actions that cut the plant off.
var isolationActions = map[string]bool{"ot.isolate_zone": true, "ot.block_conduit": true}

// measure finds the key times: the first acknowledgement of a page, the
// first safety sign-off done (any approval when the plan is not known or
// has none) and the first isolation done.
func (r *Review) measure(p *plan.Plan) {
	safety := map[string]bool{}
	isolation := map[string]bool{}
	if p != nil {
		for _, s := range p.Steps {
			if s.Approval != nil && s.Approval.Kind == "safety" {
				safety[s.ID] = true
			}
			if s.Action != nil && isolationActions[s.Action.Action] {
				isolation[s.ID] = true
			}
		}
	}
	ack := Measure{Name: "Time to acknowledge"}
	sign := Measure{Name: "Time to sign-off"}
	iso := Measure{Name: "Time to isolation"}
	for _, e := range r.Timeline {
		b := baseStep(e.Step)
		if ack.At == nil && e.Kind == workflows.EventAcknowledged {
			ack.Step, ack.At = e.Step, ptr(e.At)
		}
		done := e.Kind == workflows.EventStepFinished && strings.HasPrefix(e.Detail, workflows.StepDone)
		if sign.At == nil && done && kindOf(b) == string(plan.KindApproval) && (len(safety) == 0 || safety[b]) {
			sign.Step, sign.At = b, ptr(e.At)
			if e.BreakGlass {
				sign.Note = "forced by break-glass"
			}
		}
		if iso.At == nil && done && (isolation[b] || p == nil && strings.HasPrefix(e.Detail, "done: isolated")) {
			iso.Step, iso.At = b, ptr(e.At)
			if e.BreakGlass {
				iso.Note = "under break-glass"
			}
		}
	}
	r.Measures = []Measure{ack, sign, iso}
}

// findings derives the strengths and the improvement plan from the run.
func (r *Review) findings(steps []stepInfo, planSteps map[string]*plan.Step, p *plan.Plan) {
	r.Strengths, r.Improvements = []string{}, []Item{}
	improve := func(issue, action, element, who string) {
		r.Improvements = append(r.Improvements, Item{Issue: issue, Action: action, Element: element, Responsible: who})
	}
	// The rosters each step asks, for the responsible column.
	rostersOf := func(step string) string {
		s := planSteps[step]
		if s == nil {
			return ""
		}
		var list []string
		switch {
		case s.Approval != nil:
			list = s.Approval.Quorum.Groups
		case s.Task != nil:
			list = s.Task.Assign
		case s.Decision != nil:
			list = s.Decision.Ask
		case s.Page != nil:
			list = tierOne(p, s.Page.Escalation)
		case s.Action != nil:
			// An action waits on the sign-offs that guard it.
			for _, g := range s.Action.GuardedBy {
				if gs := planSteps[g]; gs != nil && gs.Approval != nil {
					for _, ro := range gs.Approval.Quorum.Groups {
						if !slices.Contains(list, ro) {
							list = append(list, ro)
						}
					}
				}
			}
		}
		return strings.Join(list, ", ")
	}

	// Objectives.
	for _, o := range r.Objectives {
		switch {
		case o.At != nil && o.Met:
			spare := o.Within - *o.At
			msg := fmt.Sprintf("Objective %s met with %s to spare (%s done at %s, limit %s); rated %s.", o.Name, short(spare), o.Of, clock(*o.At), short(o.Within), o.Rating)
			if o.Rating == RatingP {
				r.Strengths = append(r.Strengths, msg)
			} else {
				improve(msg, fmt.Sprintf("Find what slowed the path to %s (see the timeline) and shorten it: rehearse it, or give it a deputy.", o.Of), ElementTraining, rostersOf(o.Of))
			}
		case o.At != nil:
			improve(fmt.Sprintf("Objective %s not met: %s done at %s, %s after its limit of %s.", o.Name, o.Of, clock(*o.At), short(*o.At-o.Within), short(o.Within)),
				fmt.Sprintf("Review the playbook's path to %s and who it waits on; exercise it again.", o.Of), ElementPlanning, rostersOf(o.Of))
		default:
			improve(fmt.Sprintf("Objective %s not met: %s never finished done (%s).", o.Name, o.Of, o.State),
				fmt.Sprintf("Find why %s ended %s (see the steps) and change the playbook or the rosters so it can.", o.Of, o.State), ElementPlanning, rostersOf(o.Of))
		}
	}

	// Pages: acknowledged at tier 1, or escalated.
	type pageInfo struct {
		paged    *Duration
		maxTier  int
		esc      string
		ackAt    *Duration
		ackBy    string
		escalate int
	}
	pages := map[string]*pageInfo{}
	var pageOrder []string
	pageOf := func(step string) *pageInfo {
		if pi := pages[step]; pi != nil {
			return pi
		}
		pages[step] = &pageInfo{}
		pageOrder = append(pageOrder, step)
		return pages[step]
	}
	// Sign-offs: when asked, and when each roster's approval came.
	type signoff struct {
		asked   *Duration
		rosters []string
		at      map[string]Duration
		by      map[string]string
	}
	signoffs := map[string]*signoff{}
	var signOrder []string
	// Answers per step, to find the steps nobody answered.
	answered := map[string]bool{}
	askedFor := map[string]Duration{}
	for _, e := range r.Timeline {
		b := baseStep(e.Step)
		switch e.Kind {
		case workflows.EventPaged:
			pi := pageOf(b)
			if pi.paged == nil {
				pi.paged = ptr(e.At)
			}
			esc, tier := parseTier(e.Detail)
			pi.esc = cmp(pi.esc, esc)
			pi.maxTier = max(pi.maxTier, tier)
		case workflows.EventEscalated:
			pageOf(b).escalate++
		case workflows.EventAcknowledged:
			pi := pageOf(b)
			if pi.ackAt == nil {
				pi.ackAt, pi.ackBy = ptr(e.At), e.Person
			}
		case workflows.EventStepStarted:
			if len(asked(e)) > 0 {
				if _, ok := askedFor[b]; !ok {
					askedFor[b] = e.At
				}
			}
			if kindOf(b) == string(plan.KindApproval) {
				so := &signoff{asked: ptr(e.At), at: map[string]Duration{}, by: map[string]string{}}
				if s := planSteps[b]; s != nil && s.Approval != nil {
					so.rosters = s.Approval.Quorum.Groups
				}
				if signoffs[b] == nil {
					signOrder = append(signOrder, b)
				}
				signoffs[b] = so
			}
		case workflows.EventApproved:
			if so := signoffs[b]; so != nil && e.Roster != "" {
				if _, ok := so.at[e.Roster]; !ok {
					so.at[e.Roster], so.by[e.Roster] = e.At, e.Person
				}
			}
		}
		if answerKinds[e.Kind] {
			answered[b] = true
		}
	}
	for _, step := range pageOrder {
		pi := pages[step]
		if pi.paged == nil {
			continue
		}
		switch {
		case pi.ackAt != nil && pi.maxTier <= 1:
			r.Strengths = append(r.Strengths, fmt.Sprintf("%s acknowledged by %s %s after the page, at tier 1 of %s.", step, pi.ackBy, short(*pi.ackAt-*pi.paged), pi.esc))
		case pi.ackAt != nil:
			improve(fmt.Sprintf("Escalation of %s reached tier %d of %s before %s acknowledged, %s after the first page.", step, pi.maxTier, pi.esc, pi.ackBy, short(*pi.ackAt-*pi.paged)),
				fmt.Sprintf("Check that tier 1 of %s is staffed and reachable, and that its ack_within is realistic.", pi.esc), ElementOrganisation, rostersOf(step))
		default:
			improve(fmt.Sprintf("Nobody acknowledged %s (escalation reached tier %d of %s).", step, max(pi.maxTier, 1), pi.esc),
				fmt.Sprintf("Review the on-call rota behind %s and how its people are reached.", pi.esc), ElementOrganisation, rostersOf(step))
		}
	}
	for _, step := range signOrder {
		so := signoffs[step]
		if len(so.at) == 0 {
			continue
		}
		// The roster the sign-off waited on longest: its last to approve.
		var last string
		for _, ro := range sortedKeys(so.at) {
			if last == "" || so.at[ro] > so.at[last] {
				last = ro
			}
		}
		wait := so.at[last] - *so.asked
		msg := fmt.Sprintf("The sign-off %s waited %s on %s (%s approved at %s).", step, short(wait), last, so.by[last], clock(so.at[last]))
		if time.Duration(wait) > SignoffWaitLimit {
			improve(msg, fmt.Sprintf("Name a deputy in %s who can sign within %s, or page %s with the prompt.", last, short(SignoffWaitLimit), last), ElementOrganisation, last)
		} else {
			r.Strengths = append(r.Strengths, msg)
		}
	}

	// Steps that ended without what they needed.
	for _, s := range steps {
		kind := kindOf(s.id)
		people := kind == string(plan.KindApproval) || kind == string(plan.KindTask) || kind == string(plan.KindDecision)
		switch {
		case people && !answered[s.id] && (s.state == workflows.StepTimedOut || s.state == workflows.StepCancelled || s.state == workflows.StepWaiting):
			if _, wasAsked := askedFor[s.id]; !wasAsked && s.state != workflows.StepTimedOut {
				continue
			}
			improve(fmt.Sprintf("Nobody answered %s (it ended %s).", s.id, s.state),
				fmt.Sprintf("Make sure the people asked for %s know it is theirs and can be reached; rehearse it.", s.id), ElementTraining, rostersOf(s.id))
		case s.state == workflows.StepTimedOut:
			improve(fmt.Sprintf("%s timed out: %s", s.id, s.reason), fmt.Sprintf("Review the timeout of %s and who it asks.", s.id), ElementPlanning, rostersOf(s.id))
		case s.state == workflows.StepDenied:
			improve(fmt.Sprintf("%s was denied: %s", s.id, s.reason), fmt.Sprintf("Review with %s why the sign-off was denied and what the playbook should do instead.", cmp(rostersOf(s.id), "the approvers")), ElementPlanning, rostersOf(s.id))
		case s.state == workflows.StepFailed:
			improve(fmt.Sprintf("%s failed: %s", s.id, s.reason), fmt.Sprintf("Check the integration and the target of %s, and its retry and on_failure.", s.id), ElementEquipment, "")
		}
	}
	for _, e := range r.Timeline {
		switch e.Kind {
		case workflows.EventDeliveryFailed:
			improve(fmt.Sprintf("Delivery failed for %s at %s: %s", e.Step, clock(e.At), e.Detail), "Check the chat and paging integrations and the people's contact details.", ElementEquipment, "")
		case workflows.EventSignoffStale:
			improve(fmt.Sprintf("The sign-off %s went stale at %s: %s", e.Step, clock(e.At), e.Detail), fmt.Sprintf("Review valid_for of %s against how long the actions behind it take.", e.Step), ElementPlanning, rostersOf(baseStep(e.Step)))
		}
	}
	for _, f := range r.Refusals {
		improve(fmt.Sprintf("%d answer%s by %s refused (%s).", f.Count, plural(f.Count), f.Person, cmp(f.Code, "no code")),
			fmt.Sprintf("Brief %s on which steps they may answer and how (code %s).", f.Person, cmp(f.Code, "none")), ElementTraining, "")
	}
	forced := 0
	for _, e := range r.BreakGlasses {
		if e.Kind != workflows.EventBreakGlass {
			continue
		}
		forced++
		improve(fmt.Sprintf("%s forced the safety gate %s at %s (break-glass): %s", cmp(e.Person, "someone"), e.Step, clock(e.At), e.Detail),
			fmt.Sprintf("Review with %s why the sign-off could not be given in time, and whether its rosters need more people on call.", cmp(rostersOf(baseStep(e.Step)), "the safety rosters")),
			ElementPlanning, rostersOf(baseStep(e.Step)))
	}
	if r.BreakGlass && forced == 0 {
		improve("A safety gate was forced (break-glass): post-incident review required.",
			"Review why the sign-off could not be given in time and whether the safety rosters need more people on call.", ElementPlanning, "")
	}
	if r.Kind == KindIncident && r.Attestations.Unattested > 0 {
		improve(fmt.Sprintf("%d answer%s carried no signature (unattested).", r.Attestations.Unattested, plural(r.Attestations.Unattested)),
			"Issue keys ('firebreak keygen') to every responder and start incidents that require signed answers.", ElementEquipment, "")
	}
	if r.Stopped {
		improve("The incident was still running at the exercise's horizon: a step waited for an answer nobody gave.",
			"Give the waiting steps a timeout and an on_timeout, or add the missing responders to the exercise.", ElementExercise, "")
	}
}

// tierOne is the first tier of an escalation in p.
func tierOne(p *plan.Plan, esc string) []string {
	if p == nil {
		return nil
	}
	id := strings.TrimPrefix(esc, "escalation.")
	for _, e := range p.Escalations {
		if strings.TrimPrefix(e.ID, "escalation.") == id && len(e.Tiers) > 0 {
			return e.Tiers[0].Notify
		}
	}
	return nil
}

// parseTier reads "escalation.x tier 2: a, b; ..." as ("escalation.x", 2).
func parseTier(detail string) (string, int) {
	head, _, _ := strings.Cut(detail, ":")
	esc, tier, ok := strings.Cut(head, " tier ")
	if !ok {
		return "", 0
	}
	var n int
	if _, err := fmt.Sscanf(tier, "%d", &n); err != nil {
		return esc, 0
	}
	return esc, n
}

func sortedKeys(m map[string]Duration) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// clock writes a time since the start on the exercise clock.
func clock[D ~int64](d D) string { return exercise.Clock(time.Duration(d)) }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// short writes a duration for people: "6m", "1h10m", "45s", "22m59s".
func short[D ~int64](v D) string {
	d := time.Duration(v).Round(time.Second)
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
