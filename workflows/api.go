package workflows

import (
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// WorkflowName is the registered name of the incident workflow.
const WorkflowName = "Incident"

// IncidentWorkflowID returns the workflow ID of an incident.
func IncidentWorkflowID(incidentID string) string { return "incident-" + incidentID }

// IncidentIDFromWorkflowID is the inverse of IncidentWorkflowID.
func IncidentIDFromWorkflowID(workflowID string) string {
	const prefix = "incident-"
	if len(workflowID) > len(prefix) && workflowID[:len(prefix)] == prefix {
		return workflowID[len(prefix):]
	}
	return workflowID
}

// Update names: how people answer a running incident; they are the rule
// book's answer names. Each update takes an Answer and returns an
// AnswerResult; its validator refuses answers that may not be given
// (unauthorized person, self-approval, stale or duplicate answer, unknown
// option) without writing anything to the history. A refusal is a Temporal
// application error whose type is a rules.Code.
const (
	UpdateAck        = rules.Ack
	UpdateApprove    = rules.Approve
	UpdateDeny       = rules.Deny
	UpdateDecide     = rules.Decide
	UpdateDone       = rules.Done
	UpdateBreakGlass = rules.BreakGlass
	UpdateCancel     = rules.Cancel
)

// Updates lists every update name, in the order the documentation gives them.
var Updates = rules.Answers

// SignalRefused is the signal a front door (CLI, Slack) sends after an
// update was refused, so the refusal is audited in the timeline. The
// workflow records at most MaxRefusals of them.
const SignalRefused = "refused"

// NotOpenYet is part of the message of a refusal coded rules.NotOpenYet: an
// answer to a step that has not started asking yet. The step may be about
// to open: a worker that was down can deliver the event that opens it
// together with the answer, and the validator sees the answer first. Front
// doors retry such a refusal briefly before reporting it; they go by the
// code, not this text.
const NotOpenYet = "not open for answers yet"

// MaxRefusals bounds how many refused answers one incident records.
const MaxRefusals = 200

// Query names.
const (
	QueryStatus   = "status"
	QueryTimeline = "timeline"
)

// Search attribute names the workflow keeps up to date, for `firebreak list`.
const (
	SearchPlaybook   = "FirebreakPlaybook"
	SearchSeverity   = "FirebreakSeverity"
	SearchState      = "FirebreakState"
	SearchExercise   = "FirebreakExercise"
	SearchBreakGlass = "FirebreakBreakGlass"
)

// Incident states.
const (
	StateRunning   = "running"
	StateCompleted = "completed"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Step states.
const (
	StepPending   = "pending"   // its needs are not done yet
	StepRunning   = "running"   // an activity or timer is in flight
	StepWaiting   = "waiting"   // waiting for people to answer
	StepDone      = "done"      // finished: action succeeded, approval approved, task done...
	StepDenied    = "denied"    // an approval was denied
	StepSkipped   = "skipped"   // when was false, or a dependency did not succeed
	StepFailed    = "failed"    // an action failed after its retries
	StepTimedOut  = "timed_out" // nobody answered in time and nothing took over
	StepCancelled = "cancelled" // the incident was cancelled first
)

// Channels an answer can arrive through, recorded in the timeline.
const (
	ChannelCLI    = "cli"
	ChannelSlack  = "slack"
	ChannelScript = "script"
)

// IncidentInput is the input of the incident workflow.
type IncidentInput struct {
	Plan *plan.Plan `json:"plan"`
	// IncidentID is the human-facing incident ID (the workflow ID is derived).
	IncidentID string `json:"incident_id"`
	// Commander is the person ID of whoever started the incident ("" if not a
	// known person); exclude_initiator refuses their answers.
	Commander string `json:"commander,omitempty"`
	// Start is the commander's attestation of the start (answer
	// attest.Start, step "playbook.NAME", the plan's digest as the reason
	// digest). From interpreter v6 an incident without one runs only when
	// AcceptUnattested is set, and one that does not verify fails at once.
	Start *attest.Attestation `json:"start,omitempty"`
	// AcceptUnattested lets unsigned answers in (firebreak dev and demo);
	// they are marked unattested in status, timeline and reports. It is the
	// starter's claim: a worker that requires attestations (firebreak
	// worker) still refuses, in guard three, any sign-off that rests on
	// one, and delivers nothing for an incident whose start is unsigned.
	AcceptUnattested bool `json:"accept_unattested,omitempty"`
	// Inputs are the run's input values by name; defaults fill the rest.
	Inputs map[string]any `json:"inputs,omitempty"`
	// Exercise runs every activity on simulated twins on the exercise queue.
	Exercise bool `json:"exercise,omitempty"`
	// ContinueAfterEvents, if set, continues the incident as new once its
	// history passes this many events (the server's suggestion is always
	// honoured too). For tests; 0 means only the server's suggestion.
	ContinueAfterEvents int `json:"continue_after_events,omitempty"`
	// Carry is the state handed over by continue-as-new; nil on a fresh start.
	Carry *Carry `json:"carry,omitempty"`
}

// IncidentResult is the result of the incident workflow.
type IncidentResult struct {
	State string `json:"state"`
	// BreakGlass is true when any safety gate was forced; the incident needs
	// post-incident review.
	BreakGlass bool         `json:"break_glass,omitempty"`
	Steps      []StepStatus `json:"steps"`
}

// Answer is what a person sends to a running incident.
type Answer struct {
	// Step is the step ID answered, e.g. "approval.isolate_ok".
	Step string `json:"step"`
	// Person is the person ID answering. The front door (Slack, CLI) sets it
	// from the identity it trusts.
	Person string `json:"person"`
	// Option is the chosen option of a decision.
	Option string `json:"option,omitempty"`
	// Reason is required for deny, break-glass and cancel.
	Reason string `json:"reason,omitempty"`
	// Round, when not zero, must equal the step's current prompt round; an
	// answer to an earlier round (a sign-off that has since gone stale and been
	// asked again) is refused as stale.
	Round int `json:"round,omitempty"`
	// Channel is where the answer came from: cli, slack or script.
	Channel string `json:"channel,omitempty"`
	// Attestation signs the answer (see package attest). From interpreter
	// v6 the validator refuses an answer whose attestation is missing (unless
	// the incident accepts unattested answers), untrusted, replayed, altered
	// or too old, without writing anything to the history.
	Attestation *attest.Attestation `json:"attestation,omitempty"`
}

// AnswerResult tells the person what their answer did.
type AnswerResult struct {
	// Message is one line for the person, e.g. "approved (1 of 2)".
	Message string `json:"message"`
	// StepState is the step's state after the answer.
	StepState string `json:"step_state"`
	// Round is the round the answer was applied to (interpreter v6).
	Round int `json:"round,omitempty"`
	// Ref identifies the answer that was applied: its attestation's
	// signature, or for an unattested answer its digest (AnswerRef). A front
	// door that reused an update ID for a different answer sees a Ref that
	// is not its own: Temporal returned the earlier answer's result.
	Ref string `json:"ref,omitempty"`
}

// AnswerRef identifies an answer for AnswerResult.Ref: the attestation's
// signature, or the digest of the unattested answer's fields.
func AnswerRef(update string, a Answer) string {
	if a.Attestation != nil {
		return attest.Digest(a.Attestation.Signature)
	}
	return attest.Digest(strings.Join([]string{update, a.Step, a.Person, strconv.Itoa(a.Round), a.Option, a.Reason, a.Channel}, "\x00"))
}

// Refusal is the payload of SignalRefused.
type Refusal struct {
	Update  string    `json:"update"`
	Answer  Answer    `json:"answer"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
	// Code is the rule-book code of the refusal.
	Code string `json:"code,omitempty"`
	// Attestation is the front door's signature of the refusal (answer
	// attest.Refused, option the refused update, the message's digest as
	// the reason digest). From interpreter v6 a refusal signal without a
	// valid one from a front door the plan trusts is ignored.
	Attestation *attest.Attestation `json:"attestation,omitempty"`
}

// Status is what the status query returns.
type Status struct {
	IncidentID string `json:"incident_id"`
	Playbook   string `json:"playbook"`
	Title      string `json:"title,omitempty"`
	Severity   string `json:"severity,omitempty"`
	State      string `json:"state"`
	Commander  string `json:"commander,omitempty"`
	Exercise   bool   `json:"exercise,omitempty"`
	BreakGlass bool   `json:"break_glass,omitempty"`
	// Unattested is set when the incident accepts unsigned answers (it was
	// started without a key, on firebreak dev or in the demo).
	Unattested bool      `json:"unattested,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	// Runs counts continue-as-new hand-overs plus one.
	Runs  int          `json:"runs"`
	Steps []StepStatus `json:"steps"`
}

// StepStatus is one step's state in a Status.
type StepStatus struct {
	ID    string    `json:"id"`
	Kind  plan.Kind `json:"kind"`
	State string    `json:"state"`
	// Reason says why a step is skipped, failed, denied or timed out.
	Reason string `json:"reason,omitempty"`
	// Awaiting are the people who may answer now (waiting steps only).
	Awaiting []string `json:"awaiting,omitempty"`
	// Need says what is still missing, e.g. "1 more from roster.ot_operations".
	Need string `json:"need,omitempty"`
	// Round is the prompt round (approvals asked again after going stale).
	Round int `json:"round,omitempty"`
	// Approvals so far in this round.
	Approvals []Approval `json:"approvals,omitempty"`
	// Choice is a decision's outcome.
	Choice string `json:"choice,omitempty"`
	// Escalation shows where a page or an on_timeout escalation stands.
	Escalation string    `json:"escalation,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	BreakGlass bool      `json:"break_glass,omitempty"`
}

// Approval is one person's approval within a round.
type Approval struct {
	Person string    `json:"person"`
	Roster string    `json:"roster,omitempty"`
	At     time.Time `json:"at"`
	// Attestation is the signed approval (nil for an unattested one).
	Attestation *attest.Attestation `json:"attestation,omitempty"`
}

// Event kinds in the timeline.
const (
	EventIncidentStarted   = "incident_started"
	EventIncidentFinished  = "incident_finished"
	EventStepStarted       = "step_started"
	EventStepFinished      = "step_finished"
	EventStepSkipped       = "step_skipped"
	EventStepFailed        = "step_failed"
	EventPaged             = "paged"
	EventPrompted          = "prompted"
	EventAcknowledged      = "acknowledged"
	EventApproved          = "approved"
	EventDenied            = "denied"
	EventDecided           = "decided"
	EventTaskDone          = "task_done"
	EventBreakGlass        = "break_glass"
	EventRefused           = "refused"
	EventTimedOut          = "timed_out"
	EventEscalated         = "escalated"
	EventSignoffStale      = "signoff_stale"
	EventSignoffRefused    = "signoff_refused"
	EventNotified          = "notified"
	EventCancelled         = "cancelled"
	EventContinuedAsNew    = "continued_as_new"
	EventRetry             = "retry"
	EventIterationFinished = "iteration_finished"
	// EventAuthorised records, before a safety-critical action is
	// scheduled, the sign-off (approval and round) that lets it run.
	EventAuthorised = "authorised"
	// EventDeliveryFailed records recipients a page, prompt or notice could
	// not reach (v7); the step and its escalation go on.
	EventDeliveryFailed = "delivery_failed"
	// EventRosters records the members read from chat user groups when the
	// incident started (v7).
	EventRosters = "rosters_read"
)

// Event is one entry of the incident timeline: the audit trail.
type Event struct {
	Seq  int       `json:"seq"`
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	Step string    `json:"step,omitempty"`
	// Iteration is the for_each key, when the event is about one iteration.
	Iteration string `json:"iteration,omitempty"`
	Person    string `json:"person,omitempty"`
	Channel   string `json:"channel,omitempty"`
	Detail    string `json:"detail,omitempty"`
	// BreakGlass marks events that belong to a forced safety gate.
	BreakGlass bool `json:"break_glass,omitempty"`
	// Round is the prompt round an answer or a sign-off belongs to.
	Round int `json:"round,omitempty"`
	// Roster is the roster an approval finally counts for (updated while
	// the quorum's matching moves approvers between rosters).
	Roster string `json:"roster,omitempty"`
	// Reason is an answer's reason as given, so its digest can be checked
	// against the attestation.
	Reason string `json:"reason,omitempty"`
	// Option is a decision answer's option.
	Option string `json:"option,omitempty"`
	// Code is a refusal's rule-book code.
	Code string `json:"code,omitempty"`
	// Signoff is, on an authorised event, the approval whose sign-off let
	// a safety-critical action run.
	Signoff string `json:"signoff,omitempty"`
	// Action is the registry action of a step_started or authorised event.
	Action string `json:"action,omitempty"`
	// Attestation is the signature of the answer or start the event records.
	Attestation *attest.Attestation `json:"attestation,omitempty"`
	// Unattested marks an answer or start that carried no attestation (only
	// incidents that accept unattested answers record one).
	Unattested bool `json:"unattested,omitempty"`
}

// RefusalCount summarises the refusals of one person for one reason. The
// timeline keeps every count, and the latest refusal events in full.
type RefusalCount struct {
	Person string    `json:"person"`
	Code   string    `json:"code"`
	Count  int       `json:"count"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
}

// Timeline is what the timeline query returns.
type Timeline struct {
	IncidentID string `json:"incident_id"`
	Playbook   string `json:"playbook"`
	Exercise   bool   `json:"exercise,omitempty"`
	BreakGlass bool   `json:"break_glass,omitempty"`
	// Unattested is set when the incident accepts unsigned answers.
	Unattested bool    `json:"unattested,omitempty"`
	Events     []Event `json:"events"`
	// Refusals counts every refusal the incident recorded, per person and
	// code (interpreter v6), including those whose events were summarised
	// away.
	Refusals []RefusalCount `json:"refusals,omitempty"`
}
