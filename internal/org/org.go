package org

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Org is one loaded, checked organisation: what the worker holds as its
// own authority. Nothing in it may be taken from a plan or a request.
type Org struct {
	// Dir is the playbook directory, "" for the built-in library.
	Dir string
	// Module is the loaded module (its sources show diagnostics).
	Module *playbooks.Module
	// Config is what the directory declares.
	Config *playbooks.Config
	// Directory answers who belongs to which roster.
	Directory *rules.Directory
	// Instances are the integration instances, sorted by ID.
	Instances []*Instance
	// LoadedAt is when the directory was read.
	LoadedAt time.Time
}

// Instance is one integration instance with its env() secrets resolved.
type Instance struct {
	// ID is "KIND.NAME", e.g. "nftables.plant3_gw".
	ID   string
	Kind string
	Name string
	// Simulate is the block's simulate = true: always the simulated twin,
	// and its env() settings are not read.
	Simulate bool
	// Settings are the literal settings as Go values.
	Settings map[string]any
	// Env maps each env() setting to its variable's name.
	Env map[string]string
	// Missing lists the env() variables that are unset or empty (only when
	// loaded with Lenient; a strict load refuses them).
	Missing []string
	// Source is where the block is declared, file:line.
	Source string

	// secrets is behind a pointer so that printing an Instance with %v or
	// %+v shows an address, never the values.
	secrets *secretBox
}

type secretBox struct{ m map[string]Secret }

// Secret is a value read from the environment. It never prints: every fmt
// verb, JSON and slog show "[redacted]", and the value is held only by a
// closure, so a Secret printed as a field of another struct (where fmt
// cannot call its methods) shows a function's address whatever the verb.
// Reveal returns the value for the adapter that needs it.
type Secret struct{ reveal func() string }

func newSecret(v string) Secret { return Secret{reveal: func() string { return v }} }

const redacted = "[redacted]"

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]", so %#v does not show the value either.
func (Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb (%d, %x, %q...).
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON writes "[redacted]".
func (Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// LogValue keeps the value out of slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// Reveal returns the secret's value. Call it only where the value is sent
// to the system it belongs to.
func (s Secret) Reveal() string {
	if s.reveal == nil {
		return ""
	}
	return s.reveal()
}

// Secret returns the resolved value of an env() setting.
func (in *Instance) Secret(setting string) (Secret, bool) {
	if in.secrets == nil {
		return Secret{}, false
	}
	s, ok := in.secrets.m[setting]
	return s, ok
}

// Value returns a setting as the adapter uses it: the resolved env()
// secret when the setting is one, else its literal string ("" when it is
// neither).
func (in *Instance) Value(setting string) string {
	if s, ok := in.Secret(setting); ok {
		return s.Reveal()
	}
	if v, ok := in.Settings[setting].(string); ok {
		return v
	}
	return ""
}

// Options configure Load.
type Options struct {
	// Getenv reads the environment; nil means no variable is set.
	Getenv func(string) string
	// Lenient records unset env() variables in Instance.Missing instead of
	// refusing the load. `firebreak integrations` uses it to show
	// everything at once; the worker never does.
	Lenient bool
	// Now is the clock for LoadedAt; nil means time.Now.
	Now func() time.Time
}

// Load reads and checks the playbook directory dir ("" for the built-in
// library) as `firebreak validate` does, then resolves every env() setting
// of every integration not marked simulate = true. Errors come back as
// diagnostics with source ranges: a missing variable names the variable and
// the integration block, never a value. The module is returned even on
// errors so the diagnostics can be shown with their source lines.
func Load(dir string, opts Options) (*Org, *playbooks.Module, hcl.Diagnostics) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	m, diags := LoadModule(dir)
	if !diags.HasErrors() {
		diags = append(diags, m.Check(actions.Builtin())...)
	}
	if diags.HasErrors() {
		return nil, m, diags
	}
	o := &Org{Dir: dir, Module: m, Config: m.Config, Directory: m.Config.Directory(), LoadedAt: now()}
	for _, id := range slices.Sorted(maps.Keys(m.Config.Integrations)) {
		x := m.Config.Integrations[id]
		p := x.Plan()
		in := &Instance{
			ID: id, Kind: x.Kind, Name: x.Name, Simulate: x.Simulate,
			Settings: map[string]any{}, Env: map[string]string{}, secrets: &secretBox{m: map[string]Secret{}},
			Source: fmt.Sprintf("%s:%d", x.DeclRange.Filename, x.DeclRange.Start.Line),
		}
		for _, k := range slices.Sorted(maps.Keys(p.Settings)) {
			s := p.Settings[k]
			if s.Env == "" {
				in.Settings[k] = s.Value
				continue
			}
			in.Env[k] = s.Env
			if x.Simulate {
				continue
			}
			v := getenv(s.Env)
			if strings.TrimSpace(v) == "" {
				in.Missing = append(in.Missing, s.Env)
				if !opts.Lenient {
					r := x.DeclRange
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Environment variable not set",
						Detail: fmt.Sprintf("integration %q %q reads %s from $%s, which is unset or empty in this process's environment. Set it before starting (it is read once, when the directory is loaded), or add simulate = true to the block to run the instance on its simulated twin.",
							x.Kind, x.Name, k, s.Env),
						Subject: &r,
					})
				}
				continue
			}
			in.secrets.m[k] = newSecret(v)
		}
		o.Instances = append(o.Instances, in)
	}
	if diags.HasErrors() {
		return nil, m, diags
	}
	return o, m, diags
}

// Instance returns the instance with the given ID ("KIND.NAME").
func (o *Org) Instance(id string) *Instance {
	for _, in := range o.Instances {
		if in.ID == id {
			return in
		}
	}
	return nil
}

// Summary is one line about what was loaded, for logs and start-up output.
func (o *Org) Summary() string {
	c := o.Config
	return fmt.Sprintf("%s: %d people, %d rosters, %d zones, %d conduits, %d integrations, %d playbooks",
		Describe(o.Dir), len(c.People), len(c.Rosters), len(c.Zones), len(c.Conduits), len(o.Instances), len(c.Playbooks))
}

// Plan compiles one of the organisation's playbooks.
func (o *Org) Plan(playbook string) (*plan.Plan, hcl.Diagnostics) {
	return o.Module.Compile(playbook, actions.Builtin())
}

// Holder keeps the organisation a running process works with and replaces
// it on Reload. Readers take Current and use that Org for one piece of
// work; a reload never changes an Org in place.
type Holder struct {
	dir  string
	opts Options

	mu  sync.RWMutex
	cur *Org
}

// NewHolder holds o, which was loaded from dir with opts; Reload loads dir
// again the same way.
func NewHolder(o *Org, opts Options) *Holder {
	return &Holder{dir: o.Dir, opts: opts, cur: o}
}

// Current returns the organisation in force.
func (h *Holder) Current() *Org {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cur
}

// Reload loads the directory again. When the new version loads and checks
// cleanly it replaces the current one; otherwise the current one stays and
// the diagnostics say why. The returned module shows the diagnostics.
func (h *Holder) Reload() (*Org, *playbooks.Module, hcl.Diagnostics) {
	o, m, diags := Load(h.dir, h.opts)
	if o == nil {
		return h.Current(), m, diags
	}
	h.mu.Lock()
	h.cur = o
	h.mu.Unlock()
	return o, m, diags
}
