package workflows

import (
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// Carry is the whole interpreter state. It is what continue-as-new hands to
// the next run, so it holds answers given so far, escalation positions and
// absolute deadlines; nothing in it depends on the run it was made in.
type Carry struct {
	// Runs counts the runs before this one.
	Runs        int          `json:"runs"`
	StartedAt   time.Time    `json:"started_at"`
	Seq         int          `json:"seq"`
	Events      []Event      `json:"events"`
	Refusals    int          `json:"refusals,omitempty"`
	BreakGlass  bool         `json:"break_glass,omitempty"`
	Cancel      *Answer      `json:"cancel,omitempty"`
	CancelledAt time.Time    `json:"cancelled_at,omitzero"`
	Steps       []*StepState `json:"steps"`
}

// StepState is the run-time state of one step.
type StepState struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Continued marks a failed step whose dependants still run
	// (on_failure = "continue", or a notify that could not be delivered).
	Continued bool `json:"continued,omitempty"`

	// Action steps: one iteration per for_each element (one without for_each).
	Iterations []*Iteration `json:"iterations,omitempty"`

	// Steps that wait for people.
	Round      int        `json:"round,omitempty"`
	Approvals  []Approval `json:"approvals,omitempty"`
	DeniedBy   string     `json:"denied_by,omitempty"`
	Choice     string     `json:"choice,omitempty"`
	AnsweredBy string     `json:"answered_by,omitempty"`
	AnswerNote string     `json:"answer_note,omitempty"`
	// Deadline is when an unanswered prompt times out (zero: never).
	Deadline time.Time `json:"deadline,omitzero"`
	// Prompted is true once the prompt of the current round was sent.
	Prompted bool `json:"prompted,omitempty"`
	// Ladder is the escalation in progress: the page itself, or on_timeout.
	Ladder *Ladder `json:"ladder,omitempty"`
	// Paged are the people paged so far; they may acknowledge.
	Paged []string `json:"paged,omitempty"`
	// GrantedAt is when an approval's quorum was complete.
	GrantedAt  time.Time              `json:"granted_at,omitzero"`
	BreakGlass *activities.BreakGlass `json:"break_glass,omitempty"`
	// WaitUntil is when a wait step ends.
	WaitUntil time.Time `json:"wait_until,omitzero"`
}

// Iteration is one run of an action step (one per for_each element).
type Iteration struct {
	Key   string `json:"key"`
	Each  *Each  `json:"each,omitempty"`
	State string `json:"state"`
	// Reason explains a failure or why the iteration waits.
	Reason string         `json:"reason,omitempty"`
	Output map[string]any `json:"output,omitempty"`
	// Summary is the activity's one-line account of what it did.
	Summary string `json:"summary,omitempty"`
	// Round counts sign-off refusals by guard three; each refusal asks again.
	Round int `json:"round,omitempty"`
	// Signoff is the approval whose fresh sign-off this iteration waits for.
	Signoff string `json:"signoff,omitempty"`
	// SignoffRound is the round of the sign-off the running attempt carries.
	SignoffRound int       `json:"signoff_round,omitempty"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
}

// Each is the each.key and each.value of a for_each iteration.
type Each struct {
	Key   any `json:"key"`
	Value any `json:"value"`
}

// Ladder is the position on an escalation ladder.
type Ladder struct {
	Escalation string    `json:"escalation"`
	Cycle      int       `json:"cycle"`
	Tier       int       `json:"tier"`
	Sent       bool      `json:"sent,omitempty"`
	Deadline   time.Time `json:"deadline,omitzero"`
	Exhausted  bool      `json:"exhausted,omitempty"`
	// Reported is set once an exhausted on_timeout ladder is in the timeline.
	Reported bool      `json:"reported,omitempty"`
	AckedBy  string    `json:"acked_by,omitempty"`
	AckedAt  time.Time `json:"acked_at,omitzero"`
}

// terminal reports whether a step or iteration state is final.
func terminal(state string) bool {
	switch state {
	case StepDone, StepDenied, StepSkipped, StepFailed, StepTimedOut, StepCancelled:
		return true
	}
	return false
}

// newCarry builds the initial state of a plan.
func newCarry(p *plan.Plan, now time.Time) *Carry {
	c := &Carry{StartedAt: now}
	for _, s := range p.Steps {
		c.Steps = append(c.Steps, &StepState{ID: s.ID, State: StepPending})
	}
	return c
}

// directory answers "who is this" questions about the plan's people.
type directory struct {
	people  map[string]plan.Person
	rosters map[string]plan.Roster
	escal   map[string]plan.Escalation
	zones   map[string]plan.Zone
}

func newDirectory(p *plan.Plan) *directory {
	d := &directory{
		people:  map[string]plan.Person{},
		rosters: map[string]plan.Roster{},
		escal:   map[string]plan.Escalation{},
		zones:   map[string]plan.Zone{},
	}
	for _, x := range p.People {
		d.people[x.ID] = x
	}
	for _, x := range p.Rosters {
		d.rosters[x.ID] = x
	}
	for _, x := range p.Escalations {
		d.escal[x.ID] = x
	}
	for _, x := range p.Zones {
		d.zones[x.ID] = x
	}
	return d
}

// members expands one principal ("person.x", "roster.y", or a bare person ID)
// into person IDs.
func (d *directory) members(principal string) []string {
	switch {
	case len(principal) > 7 && principal[:7] == "person.":
		return []string{principal[7:]}
	case len(principal) > 7 && principal[:7] == "roster.":
		return d.rosters[principal[7:]].Members
	}
	return []string{principal}
}

// expand expands principals into distinct person IDs, in first-seen order.
func (d *directory) expand(principals []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, pr := range principals {
		for _, m := range d.members(pr) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// inGroup reports whether a person belongs to a principal.
func (d *directory) inGroup(person, principal string) bool {
	for _, m := range d.members(principal) {
		if m == person {
			return true
		}
	}
	return false
}

func (d *directory) recipients(persons []string) []activities.Recipient {
	out := make([]activities.Recipient, 0, len(persons))
	for _, id := range persons {
		p := d.people[id]
		out = append(out, activities.Recipient{Person: id, Name: p.Name, Slack: p.Slack, Email: p.Email, PagerDuty: p.PagerDuty})
	}
	return out
}

// quorumMatch finds the largest assignment of distinct approvers to groups
// (one_from_each) or counts distinct eligible approvers (count). It returns
// the number matched and, for each approver, the group that counts them ("" if
// they do not count). One person never counts twice.
func (d *directory) quorumMatch(q plan.Quorum, approvers []string) (int, []string) {
	groupOf := make([]string, len(approvers))
	if q.Rule != plan.QuorumOneFromEach {
		n := 0
		for i, a := range approvers {
			for _, g := range q.Groups {
				if d.inGroup(a, g) {
					groupOf[i] = g
					n++
					break
				}
			}
		}
		return n, groupOf
	}
	// Bipartite matching by augmenting paths (Kuhn): groups on one side,
	// approvers on the other. Sizes are tiny.
	owner := make([]int, len(q.Groups)) // group -> approver index, -1 when free
	for i := range owner {
		owner[i] = -1
	}
	var try func(a int, seen []bool) bool
	try = func(a int, seen []bool) bool {
		for g := range q.Groups {
			if seen[g] || !d.inGroup(approvers[a], q.Groups[g]) {
				continue
			}
			seen[g] = true
			if owner[g] < 0 || try(owner[g], seen) {
				owner[g] = a
				return true
			}
		}
		return false
	}
	n := 0
	for a := range approvers {
		if try(a, make([]bool, len(q.Groups))) {
			n++
		}
	}
	for g, a := range owner {
		if a >= 0 {
			groupOf[a] = q.Groups[g]
		}
	}
	return n, groupOf
}

// required is how many distinct people a quorum needs.
func required(q plan.Quorum) int {
	if q.Rule == plan.QuorumOneFromEach {
		return len(q.Groups)
	}
	if q.Count < 1 {
		return 1
	}
	return q.Count
}

// eachOf turns an evaluated for_each value into iterations in a stable order:
// list order for lists, sorted keys for maps.
func eachOf(v any) ([]*Iteration, error) {
	switch c := v.(type) {
	case []any:
		out := make([]*Iteration, 0, len(c))
		for i, x := range c {
			out = append(out, &Iteration{Key: strconv.Itoa(i), Each: &Each{Key: float64(i), Value: x}, State: StepPending})
		}
		return out, nil
	case map[string]any:
		keys := workflow.DeterministicKeys(c)
		out := make([]*Iteration, 0, len(c))
		for _, k := range keys {
			out = append(out, &Iteration{Key: k, Each: &Each{Key: k, Value: c[k]}, State: StepPending})
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("for_each must be a list or a map, got %T", v)
}

// timeString renders times in the timeline and in expressions.
func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
