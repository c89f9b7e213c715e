// Package actions is the catalogue of built-in actions a playbook step may run:
// each action's arguments, output and whether it is safety-critical. The
// compiler checks `with` blocks against it; `firebreak actions` prints it.
package actions

import (
	"fmt"
	"sort"
	"strings"
)

// Argument types. A type names what the compiler accepts for an argument.
const (
	// String is any string.
	String = "string"
	// Number is any number.
	Number = "number"
	// Bool is true or false.
	Bool = "bool"
	// ListOfString is a list of strings.
	ListOfString = "list(string)"
	// MapOfString is a map of strings.
	MapOfString = "map(string)"
	// Any accepts any value.
	Any = "any"
	// ZoneRef is a zone: zone.NAME, or a string naming a zone.
	ZoneRef = "zone"
	// ConduitRef is a conduit: conduit.NAME, or a string naming a conduit.
	ConduitRef = "conduit"
	// ZoneList is a list of zones: [zone.a, zone.b], or strings naming them.
	ZoneList = "list(zone)"
	// ConduitList is a list of conduits: [conduit.a], or strings naming them.
	ConduitList = "list(conduit)"
	// Principals is a list of people and rosters: [person.a, roster.b].
	Principals = "principals"
	// IntegrationPrefix starts an integration argument type: "integration:modbus"
	// accepts the name of a declared integration of kind modbus, as "modbus.NAME"
	// or "NAME".
	IntegrationPrefix = "integration:"
)

// Target kinds for safety-critical actions.
const (
	// TargetZone means the action acts on the zone in its "zone" argument.
	TargetZone = "zone"
	// TargetConduitTo means the action acts on the protected "to" zone of the
	// conduit in its "conduit" argument.
	TargetConduitTo = "conduit_to"
)

// Arg describes one argument of an action.
type Arg struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
}

// Field describes one output field of an action (step.NAME.output.FIELD).
type Field struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

// Spec describes one action.
type Spec struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Args        []Arg   `json:"args"`
	Output      []Field `json:"output"`
	// SafetyCritical actions must be gated by a covering safety approval.
	SafetyCritical bool `json:"safety_critical"`
	// Target says how to find the zone a safety-critical action acts on.
	Target string `json:"target,omitempty"`
	// Integration is the integration kind the action runs through, if any.
	Integration string `json:"integration,omitempty"`
}

// Arg returns the named argument.
func (s Spec) Arg(name string) (Arg, bool) {
	for _, a := range s.Args {
		if a.Name == name {
			return a, true
		}
	}
	return Arg{}, false
}

// OutputField returns the named output field.
func (s Spec) OutputField(name string) (Field, bool) {
	for _, f := range s.Output {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Registry answers which actions exist.
type Registry interface {
	// Lookup returns the action with the given name.
	Lookup(name string) (Spec, bool)
	// Names returns every action name, sorted.
	Names() []string
}

// Catalogue is a Registry backed by a list of specs.
type Catalogue struct {
	byName map[string]Spec
	names  []string
}

// Validate reports a spec the compiler could not rely on: duplicate or
// untyped arguments, or a safety-critical action whose target argument is
// missing, optional or of the wrong type (the safety check needs it).
func (s Spec) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("an action has no name")
	}
	seen := map[string]bool{}
	for _, a := range s.Args {
		if seen[a.Name] {
			return fmt.Errorf("action %s: argument %q is listed twice", s.Name, a.Name)
		}
		seen[a.Name] = true
		switch a.Type {
		case String, Number, Bool, ListOfString, MapOfString, Any, ZoneRef, ConduitRef, ZoneList, ConduitList, Principals:
		default:
			if !strings.HasPrefix(a.Type, IntegrationPrefix) || a.Type == IntegrationPrefix {
				return fmt.Errorf("action %s: argument %q has unknown type %q", s.Name, a.Name, a.Type)
			}
		}
	}
	if !s.SafetyCritical {
		return nil
	}
	name, typ := "zone", ZoneRef
	switch s.Target {
	case TargetZone:
	case TargetConduitTo:
		name, typ = "conduit", ConduitRef
	default:
		return fmt.Errorf("safety-critical action %s has target %q; want %q or %q", s.Name, s.Target, TargetZone, TargetConduitTo)
	}
	a, ok := s.Arg(name)
	if !ok || !a.Required || a.Type != typ {
		return fmt.Errorf("safety-critical action %s needs a required %q argument of type %s", s.Name, name, typ)
	}
	return nil
}

// NewCatalogue returns a registry of the given specs, or an error if a spec
// is invalid or two share a name.
func NewCatalogue(specs ...Spec) (*Catalogue, error) {
	c := &Catalogue{byName: map[string]Spec{}}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if _, dup := c.byName[s.Name]; dup {
			return nil, fmt.Errorf("action %s is listed twice", s.Name)
		}
		c.byName[s.Name] = s
		c.names = append(c.names, s.Name)
	}
	sort.Strings(c.names)
	return c, nil
}

// Lookup returns the action with the given name.
func (c *Catalogue) Lookup(name string) (Spec, bool) {
	s, ok := c.byName[name]
	return s, ok
}

// Names returns every action name, sorted.
func (c *Catalogue) Names() []string { return append([]string(nil), c.names...) }

// Specs returns every spec, sorted by name.
func (c *Catalogue) Specs() []Spec {
	out := make([]Spec, 0, len(c.names))
	for _, n := range c.names {
		out = append(out, c.byName[n])
	}
	return out
}

var reason = Arg{Name: "reason", Type: String, Description: "Why, for the timeline and the audit trail."}

// from and except narrow ot.isolate_zone and ot.restore_zone to some of the
// conduits into the zone.
var (
	fromZones      = Arg{Name: "from", Type: ZoneList, Description: "Act only on the conduits into the zone from these zones."}
	exceptConduits = Arg{Name: "except", Type: ConduitList, Description: "Conduits into the zone to leave as they are."}
)

// Builtin returns the catalogue of built-in actions. The list is fixed and
// covered by tests, so an invalid entry is a programming error and panics.
func Builtin() *Catalogue {
	c, err := NewCatalogue(builtinSpecs()...)
	if err != nil {
		panic(err)
	}
	return c
}

func builtinSpecs() []Spec {
	return []Spec{
		Spec{
			Name:        "slack.open_channel",
			Description: "Open (or reuse) a Slack channel for the incident and invite people to it.",
			Integration: "slack",
			Args: []Arg{
				{Name: "name", Type: String, Required: true, Description: "Channel name; made lower case, other characters become -. incident.id gives inc-20261201-4f2a; a doubled inc- prefix appears once, and an exercise room starts with exercise- (or ex-)."},
				{Name: "invite", Type: Principals, Description: "People and rosters to invite."},
				{Name: "topic", Type: String, Description: "Channel topic."},
				{Name: "private", Type: Bool, Description: "Open a private channel (the default); false opens a public one."},
			},
			Output: []Field{
				{Name: "channel_id", Type: String, Description: "Slack channel ID."},
				{Name: "channel_name", Type: String, Description: "Channel name as created."},
			},
		},
		Spec{
			Name:        "slack.post",
			Description: "Post a message to a Slack channel.",
			Integration: "slack",
			Args: []Arg{
				{Name: "channel", Type: String, Description: "Channel ID or name; the incident channel when omitted."},
				{Name: "text", Type: String, Required: true, Description: "Message text (Slack mrkdwn)."},
			},
			Output: []Field{
				{Name: "ts", Type: String, Description: "Message timestamp."},
				{Name: "channel_id", Type: String, Description: "Channel the message went to."},
			},
		},
		Spec{
			Name:           "ot.isolate_zone",
			Description:    "Cut every conduit into a zone, except those marked keep_open_on_isolation.",
			SafetyCritical: true,
			Target:         TargetZone,
			Args: []Arg{
				{Name: "zone", Type: ZoneRef, Required: true, Description: "The zone to isolate."},
				fromZones,
				exceptConduits,
				reason,
			},
			Output: []Field{
				{Name: "conduits_cut", Type: ListOfString, Description: "Conduits that were cut."},
				{Name: "conduits_kept", Type: ListOfString, Description: "Conduits left open on purpose (keep_open_on_isolation)."},
				{Name: "conduits_skipped", Type: ListOfString, Description: "Conduits into the zone left as they were by from or except."},
			},
		},
		Spec{
			Name:           "ot.block_conduit",
			Description:    "Cut one conduit at its enforcement point.",
			SafetyCritical: true,
			Target:         TargetConduitTo,
			Args: []Arg{
				{Name: "conduit", Type: ConduitRef, Required: true, Description: "The conduit to cut."},
				reason,
			},
			Output: []Field{
				{Name: "enforcement", Type: String, Description: "Integration instance that cut it."},
			},
		},
		Spec{
			Name:           "ot.restore_zone",
			Description:    "Reopen the conduits into a zone that isolation cut.",
			SafetyCritical: true,
			Target:         TargetZone,
			Args: []Arg{
				{Name: "zone", Type: ZoneRef, Required: true, Description: "The zone to reconnect."},
				fromZones,
				exceptConduits,
				reason,
			},
			Output: []Field{
				{Name: "conduits_restored", Type: ListOfString, Description: "Conduits reopened."},
				{Name: "conduits_skipped", Type: ListOfString, Description: "Conduits into the zone left as they were by from or except."},
			},
		},
		Spec{
			Name:           "ot.restore_conduit",
			Description:    "Reopen one conduit at its enforcement point, whichever step cut it.",
			SafetyCritical: true,
			Target:         TargetConduitTo,
			Args: []Arg{
				{Name: "conduit", Type: ConduitRef, Required: true, Description: "The conduit to reopen."},
				reason,
			},
			Output: []Field{
				{Name: "enforcement", Type: String, Description: "Integration instance that reopened it."},
			},
		},
		Spec{
			Name:        "pagerduty.trigger",
			Description: "Open a PagerDuty alert (Events API v2).",
			Integration: "pagerduty",
			Args: []Arg{
				{Name: "summary", Type: String, Required: true, Description: "Alert summary."},
				{Name: "severity", Type: String, Description: "critical, error, warning or info (default critical)."},
				{Name: "integration", Type: IntegrationPrefix + "pagerduty", Description: "Which pagerduty integration (default \"default\")."},
			},
			Output: []Field{
				{Name: "dedup_key", Type: String, Description: "Key to acknowledge or resolve the alert."},
			},
		},
		Spec{
			Name:        "pagerduty.acknowledge",
			Description: "Acknowledge a PagerDuty alert, which stops its escalation.",
			Integration: "pagerduty",
			Args: []Arg{
				{Name: "dedup_key", Type: String, Required: true, Description: "From step.X.output.dedup_key."},
				{Name: "integration", Type: IntegrationPrefix + "pagerduty", Description: "Which pagerduty integration (default \"default\")."},
			},
			Output: []Field{},
		},
		Spec{
			Name:        "pagerduty.resolve",
			Description: "Resolve a PagerDuty alert.",
			Integration: "pagerduty",
			Args: []Arg{
				{Name: "dedup_key", Type: String, Required: true, Description: "From step.X.output.dedup_key."},
				{Name: "integration", Type: IntegrationPrefix + "pagerduty", Description: "Which pagerduty integration (default \"default\")."},
			},
			Output: []Field{},
		},
		Spec{
			Name:        "webhook.post",
			Description: "POST a signed JSON body to a configured webhook (vendor firewalls, ticketing).",
			Integration: "webhook",
			Args: []Arg{
				{Name: "integration", Type: IntegrationPrefix + "webhook", Required: true, Description: "Which webhook integration."},
				{Name: "body", Type: Any, Description: "JSON body."},
			},
			Output: []Field{
				{Name: "status", Type: Number, Description: "HTTP status code."},
				{Name: "body", Type: String, Description: "Response body."},
			},
		},
		Spec{
			Name:        "modbus.read",
			Description: "Read a holding register from a PLC over Modbus TCP (plant-state check).",
			Integration: "modbus",
			Args: []Arg{
				{Name: "integration", Type: IntegrationPrefix + "modbus", Required: true, Description: "Which modbus integration."},
				{Name: "register", Type: Number, Required: true, Description: "Holding register in Modbus notation: 40001–49999, or 400001–465536."},
			},
			Output: []Field{
				{Name: "value", Type: Number, Description: "Register value."},
			},
		},
		Spec{
			Name:        "edr.contain_host",
			Description: "Network-contain a host through the EDR's webhook.",
			Integration: "webhook",
			Args: []Arg{
				{Name: "host", Type: String, Required: true, Description: "Host name or ID."},
				{Name: "integration", Type: IntegrationPrefix + "webhook", Description: "Which webhook integration (default \"edr\")."},
			},
			Output: []Field{
				{Name: "contained", Type: Bool, Description: "Whether the EDR confirmed containment."},
			},
		},
	}
}
