// Package plan holds the compiled form of a playbook: plain, JSON-serialisable
// data with no HCL types in it. A Plan travels as workflow input, so a running
// incident keeps the playbook it started with. Everything here depends on the
// standard library only, so the workflow interpreter can use it deterministically.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// FormatVersion is the version of the Plan JSON layout. It changes when a field
// changes meaning; adding fields does not change it.
const FormatVersion = 1

// Kind is a step kind, as written in the playbook language: the block type
// of the step ("step", "page", "approval", ...). Every layer that acts on
// steps (the interpreter, the renderers, the graph) keeps its behaviour per
// kind in one table, and a test checks each table has every kind.
type Kind string

// Step kinds, as written in the playbook language.
const (
	KindStep     Kind = "step"
	KindPage     Kind = "page"
	KindApproval Kind = "approval"
	KindDecision Kind = "decision"
	KindTask     Kind = "task"
	KindNotify   Kind = "notify"
	KindWait     Kind = "wait"
)

// StepKinds lists every step kind in the order the documentation presents them.
var StepKinds = []Kind{KindStep, KindPage, KindApproval, KindDecision, KindTask, KindNotify, KindWait}

// StepKindNames returns StepKinds as strings, for lists in messages and for
// lookups by block type.
func StepKindNames() []string {
	out := make([]string, len(StepKinds))
	for i, k := range StepKinds {
		out[i] = string(k)
	}
	return out
}

// Known reports whether k is a step kind this version of firebreak knows.
// A plan made by hand, or by a newer compiler, may carry others.
func (k Kind) Known() bool {
	for _, x := range StepKinds {
		if x == k {
			return true
		}
	}
	return false
}

// Approval kinds.
const (
	// ApprovalSafety is a sign-off under the safety policy; it is what the safety
	// check accepts as a gate in front of a safety-critical action.
	ApprovalSafety = "safety"
	// ApprovalStandard is any other approval, answered by its own approvers.
	ApprovalStandard = "standard"
)

// Failure policies for action steps.
const (
	OnFailureAbort    = "abort"
	OnFailureContinue = "continue"
)

// Quorum rules.
const (
	// QuorumOneFromEach needs one distinct person from each group.
	QuorumOneFromEach = "one_from_each"
	// QuorumCount needs Count distinct people from the union of the groups.
	QuorumCount = "count"
)

// NotifyIncidentChannel is the default destination of a notify step.
const NotifyIncidentChannel = "incident_channel"

// Plan is one compiled playbook together with everything it refers to.
type Plan struct {
	FormatVersion int      `json:"format_version"`
	Playbook      string   `json:"playbook"`
	Title         string   `json:"title,omitempty"`
	Severity      string   `json:"severity,omitempty"`
	Tags          []string `json:"tags,omitempty"`
	// Source is where the playbook block was declared.
	Source Range `json:"source"`

	Inputs []Input `json:"inputs,omitempty"`
	// Steps are in a topological order of their dependencies; ties keep
	// source order. Every step appears after all of its Needs.
	Steps []Step `json:"steps"`

	People       []Person      `json:"people,omitempty"`
	Rosters      []Roster      `json:"rosters,omitempty"`
	Escalations  []Escalation  `json:"escalations,omitempty"`
	Zones        []Zone        `json:"zones,omitempty"`
	Conduits     []Conduit     `json:"conduits,omitempty"`
	Integrations []Integration `json:"integrations,omitempty"`
	Safety       *Safety       `json:"safety,omitempty"`

	// Keys are the public keys the organisation trusts to sign answers and
	// starts: every person's public_key and every front door's (an
	// integration block with public_key), sorted by ID.
	Keys []Key `json:"keys,omitempty"`
	// MayStart are the principals ("roster.x", "person.y") who may start
	// this playbook (its may_start); empty means any declared person.
	MayStart []string `json:"may_start,omitempty"`
}

// Key is a public key the organisation trusts.
type Key struct {
	// ID is the key ID attestations name: "person.NAME" for a person's own
	// key, the integration ID ("slack.main") for a front door's.
	ID string `json:"id"`
	// Person is the person a person's key signs for; "" for a front door,
	// which signs for whoever it has identified.
	Person string `json:"person,omitempty"`
	// PublicKey is "ed25519:BASE64".
	PublicKey string `json:"public_key"`
}

// Input is a value supplied when a run starts, referenced as input.NAME.
type Input struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// Default is used when the run supplies no value. Required is true when
	// there is no default.
	Default  any  `json:"default,omitempty"`
	Required bool `json:"required"`
}

// Step is one node of the playbook graph. Exactly one of the kind-specific
// parts (Action, Page, ...) is set, matching Kind.
type Step struct {
	// ID is the step's address, "<kind>.<name>", unique in the plan.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// Description is free text for people reading the plan or timeline.
	Description string `json:"description,omitempty"`
	// Needs are the IDs of the steps that must finish first: those listed in
	// needs plus every step the block refers to, sorted.
	Needs []string `json:"needs,omitempty"`
	// When, if set, is a boolean expression evaluated once the needs are done;
	// false skips the step.
	When *Expr `json:"when,omitempty"`
	// ForEach, if set, evaluates to a list or map; the step runs once per
	// element with each.key and each.value bound.
	ForEach *Expr `json:"for_each,omitempty"`
	Range   Range `json:"range"`

	Action   *ActionStep   `json:"action,omitempty"`
	Page     *PageStep     `json:"page,omitempty"`
	Approval *ApprovalStep `json:"approval,omitempty"`
	Decision *DecisionStep `json:"decision,omitempty"`
	Task     *TaskStep     `json:"task,omitempty"`
	Notify   *NotifyStep   `json:"notify,omitempty"`
	Wait     *WaitStep     `json:"wait,omitempty"`
}

// ActionStep runs one action from the action registry.
type ActionStep struct {
	Action string `json:"action"`
	// SafetyCritical is copied from the registry at compile time.
	SafetyCritical bool `json:"safety_critical,omitempty"`
	// Target is the zone a safety-critical action acts on (for a conduit, its
	// protected "to" zone).
	Target string `json:"target,omitempty"`
	// GuardedBy lists the safety approvals that cover Target and are required
	// ancestors of this step, as proven by the compiler.
	GuardedBy []string `json:"guarded_by,omitempty"`
	// With holds the action's arguments by name.
	With      map[string]*Expr `json:"with,omitempty"`
	Timeout   Duration         `json:"timeout,omitempty"`
	Retry     *Retry           `json:"retry,omitempty"`
	OnFailure string           `json:"on_failure"`
}

// Retry says how often a failed action is attempted and how long to wait between attempts.
type Retry struct {
	Attempts int      `json:"attempts"`
	Backoff  Duration `json:"backoff,omitempty"`
}

// PageStep pages people up an escalation ladder until someone acknowledges.
type PageStep struct {
	Escalation string `json:"escalation"`
	Message    *Expr  `json:"message"`
}

// ApprovalStep waits for a quorum of people to approve or for one to deny.
type ApprovalStep struct {
	Kind   string   `json:"kind"`
	Covers []string `json:"covers,omitempty"`
	// For lists the safety-critical steps ("step.restore") this sign-off is
	// for, from the approval's for: it guards only them, and they are
	// guarded only by approvals naming them. Empty: any step on a zone it
	// covers that waits for it.
	For []string `json:"for,omitempty"`
	// DistinctFrom lists approvals ("approval.isolate_ok") whose approvers
	// may not approve this one, from the approval's distinct_from.
	DistinctFrom []string `json:"distinct_from,omitempty"`
	Prompt       *Expr    `json:"prompt"`
	Quorum       Quorum   `json:"quorum"`
	// Timeout, when set, escalates via OnTimeout and keeps waiting.
	Timeout   Duration `json:"timeout,omitempty"`
	OnTimeout string   `json:"on_timeout,omitempty"`
}

// Quorum is who may answer an approval and how many distinct people it needs.
type Quorum struct {
	Rule string `json:"rule"`
	// Count is the number of distinct people for QuorumCount; for
	// QuorumOneFromEach it equals len(Groups).
	Count  int      `json:"count"`
	Groups []string `json:"groups"`
	// ExcludeInitiator refuses answers from the person who started the incident.
	ExcludeInitiator bool `json:"exclude_initiator,omitempty"`
	// ValidFor, when set, is how long a sign-off stays fresh.
	ValidFor Duration `json:"valid_for,omitempty"`
}

// DecisionStep asks people to pick one option.
type DecisionStep struct {
	Ask      []string `json:"ask"`
	Question *Expr    `json:"question"`
	Options  []string `json:"options"`
	Timeout  Duration `json:"timeout,omitempty"`
	Default  string   `json:"default,omitempty"`
}

// TaskStep is manual work someone marks done.
type TaskStep struct {
	Assign       []string `json:"assign"`
	Instructions *Expr    `json:"instructions"`
	Timeout      Duration `json:"timeout,omitempty"`
	OnTimeout    string   `json:"on_timeout,omitempty"`
}

// NotifyStep posts a message.
type NotifyStep struct {
	// To is NotifyIncidentChannel or a list of principals ("person.x", "roster.y").
	To      []string `json:"to"`
	Message *Expr    `json:"message"`
}

// WaitStep waits for a fixed time.
type WaitStep struct {
	Duration Duration `json:"duration"`
}

// Person is someone who can be paged, asked or assigned.
type Person struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Slack     string `json:"slack,omitempty"`
	Email     string `json:"email,omitempty"`
	PagerDuty string `json:"pagerduty,omitempty"`
}

// Roster is a named group of people.
type Roster struct {
	ID             string   `json:"id"`
	Description    string   `json:"description,omitempty"`
	Members        []string `json:"members,omitempty"`
	SlackUsergroup string   `json:"slack_usergroup,omitempty"`
}

// Escalation is a ladder of tiers paged in turn until someone acknowledges.
type Escalation struct {
	ID     string `json:"id"`
	Tiers  []Tier `json:"tiers"`
	Repeat int    `json:"repeat"`
}

// Tier is one rung of an escalation ladder.
type Tier struct {
	// Notify are principals: "person.x" or "roster.y".
	Notify    []string `json:"notify"`
	AckWithin Duration `json:"ack_within"`
}

// Zone is an IEC 62443 zone.
type Zone struct {
	ID            string     `json:"id"`
	Title         string     `json:"title,omitempty"`
	PurdueLevel   float64    `json:"purdue_level"`
	SecurityLevel int        `json:"security_level,omitempty"`
	Networks      []string   `json:"networks,omitempty"`
	SafeState     *SafeState `json:"safe_state,omitempty"`
}

// SafeState is a plant-state check made before a zone is isolated.
type SafeState struct {
	Integration string `json:"integration"`
	Register    int    `json:"register"`
	Expect      int    `json:"expect"`
}

// Conduit is an approved data flow between two zones.
type Conduit struct {
	ID                  string   `json:"id"`
	From                string   `json:"from"`
	To                  string   `json:"to"`
	Protocols           []string `json:"protocols,omitempty"`
	Enforcement         string   `json:"enforcement,omitempty"`
	KeepOpenOnIsolation bool     `json:"keep_open_on_isolation,omitempty"`
}

// Integration is one configured instance of an integration, such as
// "nftables.plant3_gw". Secrets appear only as environment variable names.
type Integration struct {
	// ID is "<kind>.<name>".
	ID       string             `json:"id"`
	Kind     string             `json:"kind"`
	Name     string             `json:"name"`
	Settings map[string]Setting `json:"settings,omitempty"`
}

// Setting is one integration setting: a literal value, or the name of an
// environment variable read when the worker starts.
type Setting struct {
	Value any    `json:"value,omitempty"`
	Env   string `json:"env,omitempty"`
}

// Safety is the safety policy in force for the plan.
type Safety struct {
	Signoff    Quorum      `json:"signoff"`
	BreakGlass *BreakGlass `json:"break_glass,omitempty"`
}

// BreakGlass names who may force an emergency safety-critical action.
type BreakGlass struct {
	Rosters       []string `json:"rosters"`
	RequireReason bool     `json:"require_reason"`
}

// Range is a source location, for messages that point back at the playbook.
type Range struct {
	Filename string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
}

// String renders the range as file:line:col.
func (r Range) String() string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Line, r.Column)
}

// Duration is a time.Duration that reads and writes as a Go duration string
// ("5m0s") in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// StepByID returns the step with the given ID, or nil.
func (p *Plan) StepByID(id string) *Step {
	for i := range p.Steps {
		if p.Steps[i].ID == id {
			return &p.Steps[i]
		}
	}
	return nil
}

// Digest is the hex SHA-256 digest of the plan's JSON, after one decode and
// encode so that a plan read back from a workflow input (numbers as
// float64) digests the same as the plan that was sent. A start attestation
// signs it, so a start cannot be replayed with another plan.
func Digest(p *Plan) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	var q Plan
	if err := json.Unmarshal(b, &q); err != nil {
		return "", err
	}
	if b, err = json.Marshal(&q); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// StartDigest is what a start attestation signs in place of a reason: the
// hex SHA-256 digest of the plan's Digest and of the run's inputs as
// canonical JSON (no inputs and empty inputs are the same), so a start
// cannot be replayed with another plan or with other inputs.
func StartDigest(p *Plan, inputs map[string]any) (string, error) {
	pd, err := Digest(p)
	if err != nil {
		return "", err
	}
	in := []byte("{}")
	if len(inputs) > 0 {
		b, err := json.Marshal(inputs)
		if err != nil {
			return "", err
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return "", err
		}
		if in, err = json.Marshal(v); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256([]byte("firebreak-start/1\n" + pd + "\n" + string(in)))
	return hex.EncodeToString(sum[:]), nil
}

// Encode renders a plan as indented JSON with a trailing newline. The same
// plan always encodes to the same bytes.
func Encode(p *Plan) ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
