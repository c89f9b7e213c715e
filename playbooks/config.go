package playbooks

import (
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// Block type names of the playbook language.
const (
	blockPerson      = "person"
	blockRoster      = "roster"
	blockEscalation  = "escalation"
	blockZone        = "zone"
	blockConduit     = "conduit"
	blockIntegration = "integration"
	blockSafety      = "safety"
	blockPlaybook    = "playbook"
	blockExercise    = "exercise"
)

// Config is everything a module declares, decoded but not yet checked
// across blocks.
type Config struct {
	People       map[string]*Person
	Rosters      map[string]*Roster
	Escalations  map[string]*Escalation
	Zones        map[string]*Zone
	Conduits     map[string]*Conduit
	Integrations map[string]*Integration // keyed "kind.name"
	Safety       *Safety
	Playbooks    map[string]*Playbook
	Exercises    map[string]*Exercise

	index *configIndex
}

func newConfig() *Config {
	return &Config{
		People:       map[string]*Person{},
		Rosters:      map[string]*Roster{},
		Escalations:  map[string]*Escalation{},
		Zones:        map[string]*Zone{},
		Conduits:     map[string]*Conduit{},
		Integrations: map[string]*Integration{},
		Playbooks:    map[string]*Playbook{},
		Exercises:    map[string]*Exercise{},
		index:        &configIndex{sorted: map[string][]string{}},
	}
}

// configIndex holds what checking asks of a Config again and again: the
// sorted names of each kind, each computed on first use (by checking, once
// decoding is done and the Config no longer changes), and the did-you-mean
// budget (see Config.hint). It is safe for concurrent use.
type configIndex struct {
	mu        sync.Mutex
	sorted    map[string][]string
	hintsUsed atomic.Int64
}

// Ref is a reference to a named object, such as roster.ot_oncall, with where
// it was written.
type Ref struct {
	Kind  string
	Name  string
	Range hcl.Range
}

func (r Ref) addr() string { return r.Kind + "." + r.Name }

// Person is a decoded person block.
type Person struct {
	Name                          string
	DisplayName, Slack, Email, PD string
	// PublicKey is the person's own signing key ("ed25519:BASE64"), "" when
	// none is declared; the CLI signs the person's answers with it.
	PublicKey string
	// PublicKeyRange is where public_key is written.
	PublicKeyRange hcl.Range
	DeclRange      hcl.Range
}

// Roster is a decoded roster block.
type Roster struct {
	Name           string
	Description    string
	Members        []Ref
	SlackUsergroup string
	DeclRange      hcl.Range
	MembersRange   hcl.Range
	// membersInvalid is set when members had an error: the roster is not
	// empty, its entries are wrong, and that error is the one to report.
	membersInvalid bool
}

// Escalation is a decoded escalation block.
type Escalation struct {
	Name      string
	Tiers     []*Tier
	Repeat    int
	DeclRange hcl.Range
}

// Tier is one tier of an escalation.
type Tier struct {
	Notify    []Ref
	AckWithin DurationAttr
	DeclRange hcl.Range
}

// Zone is a decoded zone block.
type Zone struct {
	Name          string
	Title         string
	PurdueLevel   float64
	SecurityLevel int
	Networks      []string
	SafeState     *SafeState
	DeclRange     hcl.Range
}

// SafeState is a decoded safe_state block.
type SafeState struct {
	Integration      string
	IntegrationRange hcl.Range
	Register         int
	Expect           int
}

// Conduit is a decoded conduit block.
type Conduit struct {
	Name                string
	From, To            *Ref
	Protocols           []string
	Enforcement         string
	EnforcementRange    hcl.Range
	KeepOpenOnIsolation bool
	DeclRange           hcl.Range
}

// Integration is a decoded integration block.
type Integration struct {
	Kind, Name string
	Settings   map[string]Setting
	// Simulate is simulate = true: the worker always runs this instance on
	// its simulated twin and reads none of its env() settings.
	Simulate bool
	// PublicKey is the key of a front door ("ed25519:BASE64"): an instance
	// trusted to sign answers for whoever it identified, such as the Slack
	// gateway. It is not one of the adapter's settings.
	PublicKey string
	// PublicKeyRange is where public_key is written.
	PublicKeyRange hcl.Range
	DeclRange      hcl.Range
}

// Attributes every integration block takes besides its kind's settings.
const (
	// attrSimulate keeps an instance on its simulated twin.
	attrSimulate = "simulate"
	// attrPublicKey makes an instance a front door.
	attrPublicKey = "public_key"
)

// Setting is one decoded integration setting: a literal value, or the name
// of an environment variable (from env("NAME")).
type Setting struct {
	Value cty.Value
	Env   string
}

// Safety is the decoded safety block.
type Safety struct {
	Signoff    *Signoff
	BreakGlass *BreakGlass
	// RestoreNeedsOwnSignoff makes every ot.restore_zone and
	// ot.restore_conduit step need a safety approval that names it in for.
	RestoreNeedsOwnSignoff bool
	DeclRange              hcl.Range
}

// Signoff is the decoded safety signoff block.
type Signoff struct {
	Rosters          []Ref
	ExcludeInitiator bool
	ValidFor         DurationAttr
	DeclRange        hcl.Range
}

// BreakGlass is the decoded safety break_glass block.
type BreakGlass struct {
	Rosters       []Ref
	RequireReason bool
	DeclRange     hcl.Range
}

// Playbook is a decoded playbook block.
type Playbook struct {
	Name        string
	Title       string
	Severity    string
	Tags        []string
	Description string
	// MayStart are the people and rosters who may start the playbook
	// (may_start), as written; nil when any declared person may.
	MayStart []Ref
	// MayStartRange is where may_start is written.
	MayStartRange hcl.Range
	Inputs        []*Input
	// Conditions are the playbook's named conditions, in file order.
	Conditions []*Condition
	Steps      []*StepBlock
	DeclRange  hcl.Range
}

// Condition is a decoded condition block of a playbook: a boolean expression
// written once and referred to as condition.NAME from any step's when.
type Condition struct {
	Name        string
	Description string
	// When is the condition's expression, kept raw like a step's attributes.
	When      *hcl.Attribute
	DeclRange hcl.Range
}

// Input is a decoded playbook input block.
type Input struct {
	Name        string
	Type        cty.Type
	TypeString  string
	Default     *cty.Value
	Description string
	DeclRange   hcl.Range
}

// StepBlock is a decoded step-like block of a playbook, before compilation.
// Attribute expressions are kept raw; the compiler evaluates them once every
// name in the module is known.
type StepBlock struct {
	Kind      plan.Kind
	Name      string
	Attrs     hcl.Attributes
	Retry     *hcl.Block
	DeclRange hcl.Range
	// order is the block's position in load order, for stable sorting.
	order int
}

func (s *StepBlock) addr() string { return string(s.Kind) + "." + s.Name }

// Exercise is a decoded exercise block.
type Exercise struct {
	Name       string
	Attrs      hcl.Attributes
	Objectives []*hcl.Block
	Injects    []*hcl.Block
	Responders []*hcl.Block
	DeclRange  hcl.Range
}

// DurationAttr is a parsed duration attribute with where it was written.
type DurationAttr struct {
	D     int64 // nanoseconds
	Set   bool
	Range hcl.Range
}

// names returns the sorted names of the declared objects of one kind
// (person, roster, escalation, zone, conduit), or nil for any other kind.
// The result is shared: callers must not change it.
func (c *Config) names(kind string) []string {
	if c.index == nil {
		return c.sortNames(kind)
	}
	c.index.mu.Lock()
	defer c.index.mu.Unlock()
	names, ok := c.index.sorted[kind]
	if !ok {
		names = c.sortNames(kind)
		c.index.sorted[kind] = names
	}
	return names
}

func (c *Config) sortNames(kind string) []string {
	switch kind {
	case blockPerson:
		return sortedKeys(c.People)
	case blockRoster:
		return sortedKeys(c.Rosters)
	case blockZone:
		return sortedKeys(c.Zones)
	case blockConduit:
		return sortedKeys(c.Conduits)
	case blockEscalation:
		return sortedKeys(c.Escalations)
	}
	return nil
}

// has reports whether an object of one kind (as for names) is declared.
func (c *Config) has(kind, name string) bool {
	switch kind {
	case blockPerson:
		return c.People[name] != nil
	case blockRoster:
		return c.Rosters[name] != nil
	case blockZone:
		return c.Zones[name] != nil
	case blockConduit:
		return c.Conduits[name] != nil
	case blockEscalation:
		return c.Escalations[name] != nil
	}
	return false
}
