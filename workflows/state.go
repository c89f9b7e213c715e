package workflows

import (
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Carry is the whole interpreter state. It is what continue-as-new hands to
// the next run, so it holds answers given so far, escalation positions and
// absolute deadlines; nothing in it depends on the run it was made in.
type Carry struct {
	// Runs counts the runs before this one.
	Runs      int       `json:"runs"`
	StartedAt time.Time `json:"started_at"`
	Seq       int       `json:"seq"`
	Events    []Event   `json:"events"`
	Refusals  int       `json:"refusals,omitempty"`
	// RefusalCounts counts refusals per person and code (interpreter v6).
	RefusalCounts []RefusalCount `json:"refusal_counts,omitempty"`
	BreakGlass    bool           `json:"break_glass,omitempty"`
	Cancel        *Answer        `json:"cancel,omitempty"`
	CancelledAt   time.Time      `json:"cancelled_at,omitzero"`
	Steps         []*StepState   `json:"steps"`
	// Room is the incident channel a slack.open_channel step opened (v7).
	Room *activities.Room `json:"room,omitempty"`
	// Groups is the membership of the rosters filled from chat user
	// groups, read when the incident started (v7); empty, not nil, once
	// read (or when reading failed).
	Groups []activities.RosterMembers `json:"groups,omitempty"`
	// GroupPeople are the user groups' members as the worker declares them.
	GroupPeople []plan.Person `json:"group_people,omitempty"`
	// GroupsStale is set when a sign-off is asked again: guard three goes
	// by the groups as they are at the action, so the new round asks the
	// members of now, read before its prompts go out (v7).
	GroupsStale bool `json:"groups_stale,omitempty"`
	// StatusVersion counts the status updates published (v7).
	StatusVersion int `json:"status_version,omitempty"`
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
	Round int `json:"round,omitempty"`
	// RoundOpenedAt is when the current round began asking; a signed answer
	// made well before it is refused.
	RoundOpenedAt time.Time  `json:"round_opened_at,omitzero"`
	Approvals     []Approval `json:"approvals,omitempty"`
	// Signers are everyone who approved the step in any round, in order
	// (interpreter v9), for distinct_from: a new round forgets Approvals.
	Signers    []string `json:"signers,omitempty"`
	DeniedBy   string   `json:"denied_by,omitempty"`
	Choice     string   `json:"choice,omitempty"`
	AnsweredBy string   `json:"answered_by,omitempty"`
	AnswerNote string   `json:"answer_note,omitempty"`
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
	// Messages are the pages and prompts posted for the step and not yet
	// settled (v7).
	Messages []activities.MessageRef `json:"messages,omitempty"`
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

// directory answers "who is this" questions about the plan's people
// (through the rule book) and finds its escalations and zones.
type directory struct {
	*rules.Directory
	escal map[string]plan.Escalation
	zones map[string]plan.Zone
}

func newDirectory(p *plan.Plan) *directory {
	d := &directory{
		Directory: rules.ForPlan(p),
		escal:     map[string]plan.Escalation{},
		zones:     map[string]plan.Zone{},
	}
	for _, x := range p.Escalations {
		d.escal[x.ID] = x
	}
	for _, x := range p.Zones {
		d.zones[x.ID] = x
	}
	return d
}

// recipients are the people to deliver a message to, with their addresses.
func (d *directory) recipients(persons []string) []activities.Recipient {
	out := make([]activities.Recipient, 0, len(persons))
	for _, id := range persons {
		p, _ := d.Person(id)
		out = append(out, activities.Recipient{Person: id, Name: p.Name, Slack: p.Slack, Email: p.Email, PagerDuty: p.PagerDuty})
	}
	return out
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
