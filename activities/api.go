package activities

import (
	"fmt"
	"sort"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// Task queues. Exercise runs schedule every activity on ExerciseTaskQueue,
// where only simulated twins are registered, so no exercise can reach a real
// actuator.
const (
	// TaskQueue is where incident workflows and live activities run.
	TaskQueue = "firebreak"
	// ExerciseTaskQueue is where exercise activities run, always on simulated twins.
	ExerciseTaskQueue = "firebreak-exercise"
)

// Activity names that are not registry actions.
const (
	// NotifyActivity posts a message to the incident channel or to people.
	NotifyActivity = "Notify"
	// PageActivity pages one tier of an escalation ladder.
	PageActivity = "Page"
	// PromptActivity asks people for an answer (approval, decision, task).
	PromptActivity = "Prompt"
)

// actionActivities maps registry action names to the Activities method that
// carries each out. Every action in the built-in registry has an entry.
var actionActivities = map[string]string{
	"slack.open_channel":    "SlackOpenChannel",
	"slack.post":            "SlackPost",
	"ot.isolate_zone":       "IsolateZone",
	"ot.block_conduit":      "BlockConduit",
	"ot.restore_zone":       "RestoreZone",
	"ot.restore_conduit":    "RestoreConduit",
	"pagerduty.trigger":     "PagerDutyTrigger",
	"pagerduty.resolve":     "PagerDutyResolve",
	"pagerduty.acknowledge": "PagerDutyAcknowledge",
	"webhook.post":          "WebhookPost",
	"modbus.read":           "ModbusRead",
	"edr.contain_host":      "ContainHost",
}

// ActivityFor returns the name of the activity that carries out a registry
// action, or false when no activity implements it.
func ActivityFor(action string) (string, bool) {
	n, ok := actionActivities[action]
	return n, ok
}

// Actions lists the registry actions that have activities, sorted.
func Actions() []string {
	out := make([]string, 0, len(actionActivities))
	for k := range actionActivities {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Error types carried by temporal application errors from activities, so the
// workflow can tell a refusal apart from a transient failure.
const (
	// ErrSignoffRefused means guard three refused: the sign-off handed to a
	// safety-critical activity was missing, stale, did not cover the target,
	// or did not hold by the worker's own safety policy, rosters and keys
	// (or the worker has no configuration to check it against). It is not
	// retried; the workflow asks for a fresh sign-off.
	ErrSignoffRefused = "SignoffRefused"
	// ErrBadArguments means the action's arguments could not be used. Not retried.
	ErrBadArguments = "BadArguments"
)

// Call identifies one invocation of an action for idempotency and audit. It
// is the same on every attempt of the same step iteration.
type Call struct {
	IncidentID string `json:"incident_id"`
	// Step is the step ID, e.g. "step.isolate".
	Step string `json:"step"`
	// Iteration is the for_each key, or "" for a step without for_each.
	Iteration string `json:"iteration,omitempty"`
	// Round counts re-runs of the same step iteration after a fresh sign-off
	// (guard three refused an earlier round). 0 for the first.
	Round int `json:"round,omitempty"`
	// Exercise marks calls from an exercise run; every outbound message says so.
	Exercise bool `json:"exercise,omitempty"`
	// Action is the registry action name, e.g. "ot.isolate_zone".
	Action string `json:"action"`
	// Signoff is the sign-off record that guards a safety-critical action.
	Signoff *Signoff `json:"signoff,omitempty"`
	// Plant carries the zones, conduits and integrations the action may need.
	Plant *Plant `json:"plant,omitempty"`
	// Playbook is the playbook the incident runs.
	Playbook string `json:"playbook,omitempty"`
	// Commander is who started the incident, and Start their attestation
	// of the start. A worker that requires attestations checks Start on
	// every call, and guard three applies exclude_initiator to Commander
	// only when Start proves it.
	Commander string              `json:"commander,omitempty"`
	Start     *attest.Attestation `json:"start,omitempty"`
	// Room is the incident channel and its pinned status message, once a
	// slack.open_channel step opened it (interpreter v7): messages without
	// a channel go there, and pages and prompts are posted there too.
	Room *Room `json:"room,omitempty"`
}

// IdempotencyKey is the key integrations use to make repeated calls harmless.
// It does not depend on the attempt number.
func (c Call) IdempotencyKey() string {
	k := c.IncidentID + "/" + c.Step
	if c.Iteration != "" {
		k += "[" + c.Iteration + "]"
	}
	if c.Round > 0 {
		k += fmt.Sprintf("#%d", c.Round)
	}
	return k
}

// Plant is the slice of the plant model an OT action needs.
type Plant struct {
	Zones        []Zone        `json:"zones,omitempty"`
	Conduits     []Conduit     `json:"conduits,omitempty"`
	Integrations []Integration `json:"integrations,omitempty"`
}

// Zone is a zone of the plant model, as the activity sees it.
type Zone struct {
	ID       string   `json:"id"`
	Title    string   `json:"title,omitempty"`
	Networks []string `json:"networks,omitempty"`
	// SafeState is the plant-state check made before the zone is
	// isolated. Guard three compares it with the worker's when the call
	// carries one, and always reads the worker's.
	SafeState *SafeState `json:"safe_state,omitempty"`
}

// SafeState says which holding register, read through PlantState, shows
// the zone safe to isolate, and the value it must read.
type SafeState struct {
	// Integration is the modbus integration ID, e.g. "modbus.plant3_plc".
	Integration string `json:"integration"`
	Register    int    `json:"register"`
	Expect      int    `json:"expect"`
}

// Conduit is a conduit of the plant model, as the activity sees it.
type Conduit struct {
	ID                  string   `json:"id"`
	From                string   `json:"from"`
	To                  string   `json:"to"`
	Enforcement         string   `json:"enforcement,omitempty"`
	KeepOpenOnIsolation bool     `json:"keep_open_on_isolation,omitempty"`
	Protocols           []string `json:"protocols,omitempty"`
}

// Integration is a configured integration instance; secrets appear only as
// environment variable names.
type Integration struct {
	ID       string            `json:"id"`
	Kind     string            `json:"kind"`
	Settings map[string]string `json:"settings,omitempty"`
}

// Signoff is the record of an approved safety sign-off (or a break-glass
// override) that a safety-critical activity re-checks before acting.
type Signoff struct {
	// Approval is the approval step ID, e.g. "approval.isolate_ok".
	Approval string `json:"approval"`
	// Covers are the zones the approval covers.
	Covers []string `json:"covers"`
	// Required is how many distinct people the quorum needs.
	Required int `json:"required"`
	// Approvers are the people whose approvals made the quorum, in order.
	Approvers []Approver `json:"approvers"`
	// Round is the approval's prompt round the approvals answered.
	Round int `json:"round,omitempty"`
	// GrantedAt is when the quorum was complete.
	GrantedAt time.Time `json:"granted_at"`
	// ValidFor is how long the sign-off stays fresh after GrantedAt; 0 means
	// it does not expire.
	ValidFor time.Duration `json:"valid_for,omitempty"`
	// BreakGlass is set when the gate was forced by the break-glass roster.
	BreakGlass *BreakGlass `json:"break_glass,omitempty"`
	// Signed lists who approved, in any round, every other approval of the
	// incident's plan (an approval nobody approved, or that was skipped,
	// with no people), in plan order. Guard three compares the approvers of
	// this sign-off with those of the approvals the worker's playbook says
	// it must be distinct from (distinct_from).
	Signed []SignedApproval `json:"signed,omitempty"`
}

// SignedApproval is who approved one approval of an incident.
type SignedApproval struct {
	// Approval is the approval step ID, e.g. "approval.isolate_ok".
	Approval string `json:"approval"`
	// People are the person IDs who approved it, in any round.
	People []string `json:"people,omitempty"`
}

// Approver is one person's approval.
type Approver struct {
	Person string    `json:"person"`
	Roster string    `json:"roster,omitempty"`
	At     time.Time `json:"at"`
	// Attestation is the approver's signed approval; guard three verifies
	// it against the worker's own keys.
	Attestation *attest.Attestation `json:"attestation,omitempty"`
}

// BreakGlass records an emergency override of a safety gate.
type BreakGlass struct {
	Person string    `json:"person"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// Attestation is the signed break-glass answer.
	Attestation *attest.Attestation `json:"attestation,omitempty"`
}

// ActionInput is the input of every action activity: the call and the
// action's evaluated arguments by name (JSON-natural values).
type ActionInput struct {
	Call Call           `json:"call"`
	Args map[string]any `json:"args,omitempty"`
}

// ActionResult is the result of every action activity. Output holds the
// fields the registry declares for the action (step.NAME.output.FIELD).
type ActionResult struct {
	Output map[string]any `json:"output,omitempty"`
	// Simulated is true when a simulated twin carried the action out.
	Simulated bool `json:"simulated,omitempty"`
	// Summary is one line for the timeline.
	Summary string `json:"summary,omitempty"`
	// Room is set by slack.open_channel: the incident room later messages
	// go to, and its pinned status message.
	Room *Room `json:"room,omitempty"`
}

// Recipient is someone a message is delivered to.
type Recipient struct {
	Person    string `json:"person"`
	Name      string `json:"name,omitempty"`
	Slack     string `json:"slack,omitempty"`
	Email     string `json:"email,omitempty"`
	PagerDuty string `json:"pagerduty,omitempty"`
}

// NotifyInput is the input of the Notify activity.
type NotifyInput struct {
	Call Call `json:"call"`
	// IncidentChannel is true when the message goes to the incident channel.
	IncidentChannel bool        `json:"incident_channel,omitempty"`
	To              []Recipient `json:"to,omitempty"`
	Text            string      `json:"text"`
}

// NotifyResult is the result of the Notify activity.
type NotifyResult struct {
	Delivered int `json:"delivered"`
	// Messages are where the messages went, for Settle once the step closes.
	Messages []MessageRef `json:"messages,omitempty"`
	// Failed names the recipients the message could not reach, and why.
	Failed    []string `json:"failed,omitempty"`
	Simulated bool     `json:"simulated,omitempty"`
}

// PageInput is the input of the Page activity: one tier of a ladder.
type PageInput struct {
	Call Call `json:"call"`
	// StepKind is the kind of the step paging: page, or an approval or task
	// whose on_timeout escalation is climbing.
	StepKind string `json:"step_kind,omitempty"`
	// Round is the step's prompt round (0 for a page step).
	Round      int         `json:"round,omitempty"`
	Escalation string      `json:"escalation"`
	Cycle      int         `json:"cycle"`
	Tier       int         `json:"tier"`
	To         []Recipient `json:"to"`
	Text       string      `json:"text"`
	AckWithin  string      `json:"ack_within"`
}

// PageResult is the result of the Page activity.
type PageResult struct {
	Delivered int `json:"delivered"`
	// Messages are where the messages went, for Settle once the step closes.
	Messages []MessageRef `json:"messages,omitempty"`
	// Failed names the recipients the message could not reach, and why.
	Failed    []string `json:"failed,omitempty"`
	Simulated bool     `json:"simulated,omitempty"`
}

// PromptInput is the input of the Prompt activity: a question put to people.
type PromptInput struct {
	Call Call `json:"call"`
	// Kind is the step kind asking: approval, decision or task.
	Kind string `json:"kind"`
	// Round is the prompt round asked (1 for the first).
	Round   int         `json:"round,omitempty"`
	To      []Recipient `json:"to"`
	Text    string      `json:"text"`
	Options []string    `json:"options,omitempty"`
	// BreakGlass is true for a safety sign-off the break-glass roster may
	// force (interpreter v7): the prompt offers it.
	BreakGlass bool `json:"break_glass,omitempty"`
}

// PromptResult is the result of the Prompt activity.
type PromptResult struct {
	Delivered int `json:"delivered"`
	// Messages are where the messages went, for Settle once the step closes.
	Messages []MessageRef `json:"messages,omitempty"`
	// Failed names the recipients the message could not reach, and why.
	Failed    []string `json:"failed,omitempty"`
	Simulated bool     `json:"simulated,omitempty"`
}

// SettleInput is the input of the Settle activity: the messages of a step
// that no longer takes answers.
type SettleInput struct {
	Call Call `json:"call"`
	// StepKind is the kind of the step (page, approval, decision, task).
	StepKind string `json:"step_kind"`
	// State is the step's state.
	State string `json:"state"`
	// Outcome is one line for people on how the step ended.
	Outcome  string       `json:"outcome"`
	Messages []MessageRef `json:"messages"`
}

// SettleResult is the result of the Settle activity.
type SettleResult struct {
	Updated   int  `json:"updated"`
	Simulated bool `json:"simulated,omitempty"`
}

// StatusInput is the input of the PublishStatus activity.
type StatusInput struct {
	Call Call `json:"call"`
	// Version increases with every change the incident publishes.
	Version  int          `json:"version"`
	Title    string       `json:"title,omitempty"`
	Severity string       `json:"severity,omitempty"`
	State    string       `json:"state"`
	Steps    []StatusLine `json:"steps"`
}

// StatusResult is the result of the PublishStatus activity.
type StatusResult struct {
	Simulated bool `json:"simulated,omitempty"`
}

// RostersInput is the input of the ResolveRosters activity: the rosters of
// the plan that draw their members from a Slack user group.
type RostersInput struct {
	Call    Call          `json:"call"`
	Rosters []GroupRoster `json:"rosters"`
}

// GroupRoster is a roster filled from a user group.
type GroupRoster struct {
	Roster    string `json:"roster"`    // roster ID, e.g. "safety"
	Usergroup string `json:"usergroup"` // user group ID, e.g. "S01SAFETY"
}

// RostersResult is the membership of each roster at the moment it was read.
type RostersResult struct {
	Rosters []RosterMembers `json:"rosters"`
	// People are the members as the worker's configuration declares them
	// (a plan lists only the people its playbook names), sorted by ID.
	People    []plan.Person `json:"people,omitempty"`
	Simulated bool          `json:"simulated,omitempty"`
}

// RosterMembers is one roster's membership snapshot.
type RosterMembers struct {
	Roster string `json:"roster"`
	// People are the person IDs of the members the worker's configuration
	// knows (by their slack attribute), sorted.
	People []string `json:"people"`
	// Unknown are members no person block names (Slack user IDs, sorted):
	// they cannot answer until one does.
	Unknown []string `json:"unknown,omitempty"`
}
