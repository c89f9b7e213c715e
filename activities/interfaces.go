package activities

import "context"

// The interfaces below are what the activities need from the outside world.
// Each is small and defined here, on the consumer side; an integration
// package implements one or more of them, and integrations/sim implements all
// of them as simulated twins.
//
// Every request carries Key, the idempotency key: an integration must make a
// second call with the same Key harmless (return the first call's result and
// not act again). Every request also carries Exercise, true for calls from an
// exercise run; text fields meant for people already start with
// ExercisePrefix when it is set, so an integration need not mark them itself.
//
// Integration errors are retried by Temporal unless they wrap ErrPermanent.

// Chat is the responders' messaging system (Slack).
type Chat interface {
	// OpenChannel opens the incident channel, or reuses the one already
	// opened under the same key, and invites people to it.
	OpenChannel(ctx context.Context, req OpenChannelRequest) (OpenChannelResponse, error)
	// PostMessage posts a message to a channel.
	PostMessage(ctx context.Context, req PostMessageRequest) (PostMessageResponse, error)
	// Deliver sends a notice, a page or a prompt to people directly (and to
	// the incident channel when asked), and says where each message went.
	Deliver(ctx context.Context, req DeliverRequest) (DeliverResponse, error)
	// Settle updates the messages of a step that no longer takes answers
	// (its quorum was met, it timed out, the incident was cancelled, a new
	// round superseded them): they say how it ended and their buttons go.
	Settle(ctx context.Context, req SettleRequest) (SettleResponse, error)
	// PublishStatus brings the incident's pinned status message up to date.
	PublishStatus(ctx context.Context, req StatusRequest) (StatusResponse, error)
	// GroupMembers lists the members of a user group (Slack user IDs).
	GroupMembers(ctx context.Context, req GroupRequest) (GroupResponse, error)
}

// Pager opens, acknowledges and resolves alerts in a paging service
// (PagerDuty Events API v2).
type Pager interface {
	// Trigger opens an alert; the dedup key it returns acknowledges and
	// resolves it.
	Trigger(ctx context.Context, req TriggerRequest) (TriggerResponse, error)
	// Acknowledge marks an alert opened by Trigger as being worked on,
	// which stops its escalation.
	Acknowledge(ctx context.Context, req AcknowledgeRequest) (AcknowledgeResponse, error)
	// Resolve closes an alert opened by Trigger.
	Resolve(ctx context.Context, req ResolveRequest) (ResolveResponse, error)
}

// Isolator cuts and reopens conduits at their enforcement points (nftables
// gateways, vendor firewalls). Cutting a conduit stops all traffic over it,
// in both directions, between the From and To zones' networks.
type Isolator interface {
	// Cut stops traffic over one conduit.
	Cut(ctx context.Context, req ConduitRequest) (ConduitResponse, error)
	// Restore lets traffic over one conduit flow again.
	Restore(ctx context.Context, req ConduitRequest) (ConduitResponse, error)
}

// Webhook posts JSON to a configured webhook integration. A response that
// means the request did not take effect is an error: retryable for 5xx and
// network failures, wrapping ErrPermanent for ones a retry cannot fix (4xx).
type Webhook interface {
	// Send posts the body and returns the HTTP response.
	Send(ctx context.Context, req WebhookRequest) (WebhookResponse, error)
}

// PlantState reads plant state from a PLC (Modbus TCP).
type PlantState interface {
	// ReadRegister reads one holding register.
	ReadRegister(ctx context.Context, req ReadRegisterRequest) (ReadRegisterResponse, error)
}

// EDR contains hosts through an endpoint detection and response product.
type EDR interface {
	// Contain network-contains one host.
	Contain(ctx context.Context, req ContainRequest) (ContainResponse, error)
}

// RealSet says which integration instances reach real systems. The live
// worker's isolator implements it, so a real cut is never allowed on a
// simulated plant-state reading; an isolator that does not implement it
// is taken to be simulated.
type RealSet interface {
	// IsReal reports whether requests naming integration id reach a real
	// system.
	IsReal(id string) bool
}

// OpenChannelRequest asks Chat to open an incident channel.
type OpenChannelRequest struct {
	Key      string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	// IncidentID is the incident the channel is for; later posts without a
	// channel go to it.
	IncidentID string `json:"incident_id"`
	// Name is a valid channel name (lower case letters, digits, '-' and '_').
	Name string `json:"name"`
	// Topic is the channel topic, or "".
	Topic string `json:"topic,omitempty"`
	// Invite are principals as the playbook wrote them: "person.NAME",
	// "roster.NAME"; the integration resolves them to members.
	Invite []string `json:"invite,omitempty"`
	// Public opens a public channel; incident rooms are private unless
	// the playbook says otherwise.
	Public bool `json:"public,omitempty"`
}

// OpenChannelResponse is the channel that was opened or reused.
type OpenChannelResponse struct {
	ChannelID   string `json:"channel_id"`   // channel ID
	ChannelName string `json:"channel_name"` // channel name as created
	// StatusTS is the pinned status message the channel was opened with
	// (PublishStatus keeps it current); "" when the chat has none.
	StatusTS  string `json:"status_ts,omitempty"`
	Simulated bool   `json:"simulated,omitempty"` // true when a simulated twin answered
}

// MessageRef says where one posted message is: its channel (or direct
// message conversation) and its timestamp.
type MessageRef struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// PostMessageRequest asks Chat to post a message to a channel.
type PostMessageRequest struct {
	Key        string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise   bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	IncidentID string `json:"incident_id"`        // the incident whose channel an empty Channel means
	// Channel is a channel ID or name; "" means the incident's channel.
	Channel string `json:"channel,omitempty"`
	// Room is the incident channel, once the incident opened one.
	Room *Room `json:"room,omitempty"`
	// Retry is true when an earlier attempt may have posted the message
	// already: the chat looks for it before posting again.
	Retry bool   `json:"retry,omitempty"`
	Text  string `json:"text"` // message text (Slack mrkdwn)
}

// PostMessageResponse says where the message went.
type PostMessageResponse struct {
	ChannelID string `json:"channel_id"` // the channel the message went to
	// TS is the message timestamp (Slack's message ID).
	TS        string `json:"ts"`
	Simulated bool   `json:"simulated,omitempty"` // true when a simulated twin answered
}

// Purposes of a DeliverRequest.
const (
	// PurposeNotify is an informational message.
	PurposeNotify = "notify"
	// PurposePage asks people to acknowledge.
	PurposePage = "page"
	// PurposePrompt asks people to answer an approval, decision or task.
	PurposePrompt = "prompt"
)

// DeliverRequest asks Chat to deliver a message to people.
type DeliverRequest struct {
	Key        string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise   bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	IncidentID string `json:"incident_id"`        // the incident the message belongs to
	// Step is the step ID the message belongs to (prompts carry it in their
	// buttons so answers find their way back).
	Step string `json:"step"`
	// Purpose is PurposeNotify, PurposePage or PurposePrompt.
	Purpose string `json:"purpose"`
	// Kind is the prompt kind (approval, decision, task); "" otherwise.
	Kind string `json:"kind,omitempty"`
	// StepKind is the kind of the step the message belongs to (page,
	// approval, decision, task, notify), so a page for an approval that
	// timed out can offer the approval's own answers.
	StepKind string `json:"step_kind,omitempty"`
	// Round is the prompt round of the step the message asks about (1 for
	// the first, higher once a stale sign-off is asked again; 0 for a page
	// of a page step, which has no rounds, and for notices). Buttons carry
	// it back with the answer, so a click on an old round's message is
	// refused as stale instead of counting for the new round.
	Round int `json:"round,omitempty"`
	// IncidentChannel asks for the message in the incident channel too.
	// Pages and prompts go there as well whenever Room is set.
	IncidentChannel bool `json:"incident_channel,omitempty"`
	// Room is the incident channel, once the incident opened one.
	Room *Room `json:"room,omitempty"`
	// Retry is true when an earlier attempt of the same call may have
	// delivered some messages already (the activity is retried): the chat
	// looks for them before posting again.
	Retry bool        `json:"retry,omitempty"`
	To    []Recipient `json:"to,omitempty"` // people to deliver to directly
	Text  string      `json:"text"`         // message text (Slack mrkdwn)
	// Options are the answers a prompt offers.
	Options []string `json:"options,omitempty"`
	// BreakGlass is true for the prompt of a safety sign-off, which the
	// break-glass roster may force: the prompt offers it (with a reason).
	BreakGlass bool `json:"break_glass,omitempty"`
}

// DeliverResponse counts who the message reached.
type DeliverResponse struct {
	// Delivered is how many recipients (and the incident channel, if asked)
	// the message reached.
	Delivered int `json:"delivered"`
	// Messages are the messages posted (one per direct message and channel),
	// which Settle updates once the step closes.
	Messages []MessageRef `json:"messages,omitempty"`
	// Failed names the recipients the message could not reach, with why
	// ("person.alice: no Slack user"); delivery to the others went on.
	Failed    []string `json:"failed,omitempty"`
	Simulated bool     `json:"simulated,omitempty"` // true when a simulated twin answered
}

// Room is the incident's channel and its pinned status message.
type Room struct {
	ChannelID string `json:"channel_id"`
	StatusTS  string `json:"status_ts,omitempty"`
}

// SettleRequest asks Chat to close the messages of a step.
type SettleRequest struct {
	Key        string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise   bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	IncidentID string `json:"incident_id"`
	Step       string `json:"step"`
	// StepKind is the kind of the step (page, approval, decision, task).
	StepKind string `json:"step_kind,omitempty"`
	// State is the step's state (done, denied, timed_out, cancelled...),
	// or "superseded" for the messages of a round asked again.
	State string `json:"state"`
	// Outcome is one line for people: "approved by Alice Ng and Bob Ruiz".
	Outcome  string       `json:"outcome"`
	Messages []MessageRef `json:"messages"`
}

// SettleResponse counts the messages updated.
type SettleResponse struct {
	Updated   int  `json:"updated"`
	Simulated bool `json:"simulated,omitempty"` // true when a simulated twin answered
}

// StatusRequest asks Chat to update the incident's pinned status message.
type StatusRequest struct {
	Key        string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise   bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	IncidentID string `json:"incident_id"`
	Room       Room   `json:"room"`
	// Version increases with every change; a chat may skip a request older
	// than one it already applied.
	Version  int          `json:"version"`
	Title    string       `json:"title,omitempty"`
	Severity string       `json:"severity,omitempty"`
	State    string       `json:"state"` // the incident's state
	Steps    []StatusLine `json:"steps"`
}

// StatusLine is one step in a status message.
type StatusLine struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	// Note says what the step waits for or how it ended, or "".
	Note string `json:"note,omitempty"`
}

// StatusResponse acknowledges a status update.
type StatusResponse struct {
	Simulated bool `json:"simulated,omitempty"` // true when a simulated twin answered
}

// GroupRequest asks Chat for the members of a user group.
type GroupRequest struct {
	Key      string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	// Usergroup is the user group ID, e.g. "S01SAFETY".
	Usergroup string `json:"usergroup"`
}

// GroupResponse lists a user group's members.
type GroupResponse struct {
	// Users are the members' chat user IDs, e.g. "U01ALICE".
	Users     []string `json:"users"`
	Simulated bool     `json:"simulated,omitempty"` // true when a simulated twin answered
}

// TriggerRequest asks Pager to open an alert.
type TriggerRequest struct {
	Key      string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	// Integration is the pagerduty integration ID, e.g. "pagerduty.default".
	Integration string `json:"integration"`
	Summary     string `json:"summary"` // alert summary
	// Severity is critical, error, warning or info.
	Severity string `json:"severity"`
	// Details are extra fields shown with the alert.
	Details map[string]string `json:"details,omitempty"`
}

// TriggerResponse is the opened alert.
type TriggerResponse struct {
	DedupKey  string `json:"dedup_key"`           // resolves the alert
	Simulated bool   `json:"simulated,omitempty"` // true when a simulated twin answered
}

// AcknowledgeRequest asks Pager to acknowledge an alert.
type AcknowledgeRequest struct {
	Key         string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise    bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	Integration string `json:"integration"`        // pagerduty integration ID, e.g. "pagerduty.default"
	DedupKey    string `json:"dedup_key"`          // the alert to acknowledge
}

// AcknowledgeResponse confirms an acknowledge.
type AcknowledgeResponse struct {
	Simulated bool `json:"simulated,omitempty"` // true when a simulated twin answered
}

// ResolveRequest asks Pager to resolve an alert.
type ResolveRequest struct {
	Key         string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise    bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	Integration string `json:"integration"`        // pagerduty integration ID, e.g. "pagerduty.default"
	DedupKey    string `json:"dedup_key"`          // the alert to resolve
}

// ResolveResponse acknowledges a resolve.
type ResolveResponse struct {
	Simulated bool `json:"simulated,omitempty"` // true when a simulated twin answered
}

// ConduitRequest asks Isolator to cut or restore one conduit.
type ConduitRequest struct {
	Key      string  `json:"key"`                // idempotency key; repeats must be harmless
	Exercise bool    `json:"exercise,omitempty"` // true for calls from an exercise run
	Conduit  Conduit `json:"conduit"`            // the conduit to cut or restore
	// From and To are the conduit's zones, with their networks.
	From Zone `json:"from"`
	To   Zone `json:"to"` // the protected side
	// Enforcement is the integration ID of the enforcement point, e.g.
	// "nftables.plant3_gw"; never "".
	Enforcement string `json:"enforcement"`
	// Reason is why, for rule comments and audit; may be "".
	Reason string `json:"reason,omitempty"`
	// IncidentID and Step name the incident and step that asked, for rule
	// comments and audit.
	IncidentID string `json:"incident_id,omitempty"`
	Step       string `json:"step,omitempty"`
}

// ConduitResponse acknowledges a cut or restore.
type ConduitResponse struct {
	Simulated bool `json:"simulated,omitempty"` // true when a simulated twin answered
}

// WebhookRequest asks Webhook to post a JSON body.
type WebhookRequest struct {
	Key      string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	// Integration is the webhook integration ID, e.g. "webhook.fw_vendor".
	Integration string `json:"integration"`
	// Body is sent as JSON; nil sends {}.
	Body any `json:"body,omitempty"`
}

// WebhookResponse is the HTTP response.
type WebhookResponse struct {
	Status    int    `json:"status"`              // HTTP status code
	Body      string `json:"body"`                // response body
	Simulated bool   `json:"simulated,omitempty"` // true when a simulated twin answered
}

// ReadRegisterRequest asks PlantState to read a holding register.
type ReadRegisterRequest struct {
	Key      string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	// Integration is the modbus integration ID, e.g. "modbus.plant3_plc".
	Integration string `json:"integration"`
	// Register is the register address as the playbook wrote it, e.g. 40001.
	Register int `json:"register"`
}

// ReadRegisterResponse is the register value.
type ReadRegisterResponse struct {
	Value     int  `json:"value"`               // register value
	Simulated bool `json:"simulated,omitempty"` // true when a simulated twin answered
}

// ContainRequest asks EDR to contain a host.
type ContainRequest struct {
	Key      string `json:"key"`                // idempotency key; repeats must be harmless
	Exercise bool   `json:"exercise,omitempty"` // true for calls from an exercise run
	// Integration is the webhook integration the EDR is reached through,
	// e.g. "webhook.edr".
	Integration string `json:"integration"`
	Host        string `json:"host"` // host name or ID
	// IncidentID and Step name the incident and step that asked, for the
	// EDR's audit.
	IncidentID string `json:"incident_id,omitempty"`
	Step       string `json:"step,omitempty"`
}

// ContainResponse says whether the EDR confirmed containment.
type ContainResponse struct {
	Contained bool `json:"contained"`           // whether the EDR confirmed containment
	Simulated bool `json:"simulated,omitempty"` // true when a simulated twin answered
}
