package playbooks

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Schemas, one per block type. They are package variables so that the
// language's names live in one place.
var (
	rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: blockPerson, LabelNames: []string{"name"}},
		{Type: blockRoster, LabelNames: []string{"name"}},
		{Type: blockEscalation, LabelNames: []string{"name"}},
		{Type: blockZone, LabelNames: []string{"name"}},
		{Type: blockConduit, LabelNames: []string{"name"}},
		{Type: blockIntegration, LabelNames: []string{"kind", "name"}},
		{Type: blockSafety},
		{Type: blockPlaybook, LabelNames: []string{"name"}},
		{Type: blockExercise, LabelNames: []string{"name"}},
	}}
	personSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "name"}, {Name: "slack"}, {Name: "email"}, {Name: "pagerduty"}, {Name: attrPublicKey},
	}}
	rosterSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "description"}, {Name: "members"}, {Name: "slack_usergroup"},
	}}
	escalationSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "repeat"}, {Name: "description"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "tier"}},
	}
	tierSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "notify", Required: true}, {Name: "ack_within", Required: true},
	}}
	zoneSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "title"}, {Name: "purdue_level"}, {Name: "security_level"}, {Name: "networks"}, {Name: "description"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "safe_state"}},
	}
	safeStateSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "integration", Required: true}, {Name: "register", Required: true}, {Name: "expect", Required: true},
	}}
	conduitSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true}, {Name: "to", Required: true}, {Name: "protocols"},
		{Name: "enforcement"}, {Name: "keep_open_on_isolation"}, {Name: "description"},
	}}
	safetySchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "restore_needs_own_signoff"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "signoff"}, {Type: "break_glass"}},
	}
	signoffSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "rosters", Required: true}, {Name: "exclude_initiator"}, {Name: "valid_for"},
	}}
	breakGlassSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "rosters", Required: true}, {Name: "require_reason"},
	}}
	playbookSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "title"}, {Name: "severity"}, {Name: "tags"}, {Name: "description"}, {Name: "may_start"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "input", LabelNames: []string{"name"}},
			{Type: "condition", LabelNames: []string{"name"}},
			{Type: "step", LabelNames: []string{"name"}},
			{Type: "page", LabelNames: []string{"name"}},
			{Type: "approval", LabelNames: []string{"name"}},
			{Type: "decision", LabelNames: []string{"name"}},
			{Type: "task", LabelNames: []string{"name"}},
			{Type: "notify", LabelNames: []string{"name"}},
			{Type: "wait", LabelNames: []string{"name"}},
		},
	}
	conditionSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "when", Required: true}, {Name: "description"},
	}}
	inputSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"},
	}}
	commonStepAttrs = []hcl.AttributeSchema{{Name: "needs"}, {Name: "when"}, {Name: "description"}}
	stepSchemas     = map[string]*hcl.BodySchema{
		"step": {
			Attributes: withCommon(
				hcl.AttributeSchema{Name: "action", Required: true}, hcl.AttributeSchema{Name: "with"},
				hcl.AttributeSchema{Name: "for_each"}, hcl.AttributeSchema{Name: "timeout"},
				hcl.AttributeSchema{Name: "on_failure"}),
			Blocks: []hcl.BlockHeaderSchema{{Type: "retry"}},
		},
		"page": {Attributes: withCommon(
			hcl.AttributeSchema{Name: "escalation", Required: true}, hcl.AttributeSchema{Name: "message", Required: true})},
		"approval": {Attributes: withCommon(
			hcl.AttributeSchema{Name: "kind"}, hcl.AttributeSchema{Name: "covers"},
			hcl.AttributeSchema{Name: "prompt", Required: true}, hcl.AttributeSchema{Name: "timeout"},
			hcl.AttributeSchema{Name: "on_timeout"}, hcl.AttributeSchema{Name: "approvers"},
			hcl.AttributeSchema{Name: "min_approvals"}, hcl.AttributeSchema{Name: "one_from_each"},
			hcl.AttributeSchema{Name: "exclude_initiator"}, hcl.AttributeSchema{Name: "for"},
			hcl.AttributeSchema{Name: "distinct_from"})},
		"decision": {Attributes: withCommon(
			hcl.AttributeSchema{Name: "ask", Required: true}, hcl.AttributeSchema{Name: "question", Required: true},
			hcl.AttributeSchema{Name: "options", Required: true}, hcl.AttributeSchema{Name: "timeout"},
			hcl.AttributeSchema{Name: "default"})},
		"task": {Attributes: withCommon(
			hcl.AttributeSchema{Name: "assign", Required: true}, hcl.AttributeSchema{Name: "instructions", Required: true},
			hcl.AttributeSchema{Name: "timeout"}, hcl.AttributeSchema{Name: "on_timeout"})},
		"notify": {Attributes: withCommon(
			hcl.AttributeSchema{Name: "to"}, hcl.AttributeSchema{Name: "message", Required: true})},
		"wait": {Attributes: withCommon(hcl.AttributeSchema{Name: "duration", Required: true})},
	}
	retrySchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "attempts", Required: true}, {Name: "backoff"},
	}}
	exerciseSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "playbook", Required: true}, {Name: "inputs"}, {Name: "description"}, {Name: "commander"}},
		Blocks: []hcl.BlockHeaderSchema{
			{Type: "objective", LabelNames: []string{"name"}},
			{Type: "inject", LabelNames: []string{"name"}},
			{Type: "responder", LabelNames: []string{"name"}},
		},
	}
	// integrationSettings lists the settings each integration kind takes,
	// besides attrSimulate and attrPublicKey, which every kind takes.
	integrationSettings = map[string][]hcl.AttributeSchema{
		"slack":     {{Name: "bot_token"}, {Name: "app_token"}, {Name: "signing_secret"}, {Name: "api_url"}},
		"nftables":  {{Name: "netns"}, {Name: "table"}},
		"pagerduty": {{Name: "routing_key", Required: true}, {Name: "api_url"}},
		"webhook":   {{Name: "url", Required: true}, {Name: "secret"}, {Name: "timeout"}},
		"modbus":    {{Name: "address", Required: true}, {Name: "unit_id"}, {Name: "timeout"}},
	}
)

func withCommon(attrs ...hcl.AttributeSchema) []hcl.AttributeSchema {
	return append(append([]hcl.AttributeSchema(nil), commonStepAttrs...), attrs...)
}

// staticCtx evaluates literal attributes: functions, no variables.
var staticCtx = &hcl.EvalContext{Functions: Functions()}

type decoder struct {
	diags hcl.Diagnostics
	cfg   *Config
	// declared remembers where each name was declared, for duplicate errors.
	declared map[string]hcl.Range
	order    int
}

func (m *Module) decode() hcl.Diagnostics {
	d := &decoder{cfg: m.Config, declared: map[string]hcl.Range{}}
	for _, f := range m.bodies {
		content := d.content(f.body, rootSchema)
		if content == nil {
			continue
		}
		for _, b := range content.Blocks {
			d.block(b)
		}
	}
	return d.diags
}

func (d *decoder) errorf(r hcl.Range, summary, format string, args ...any) {
	addDiag(&d.diags, hcl.DiagError, r, summary, format, args...)
}

func (d *decoder) content(body hcl.Body, schema *hcl.BodySchema) *hcl.BodyContent {
	c, diags := body.Content(schema)
	d.diags = append(d.diags, diags...)
	return c
}

// declare records a name, reporting a duplicate.
func (d *decoder) declare(key, what string, r hcl.Range) bool {
	if prev, ok := d.declared[key]; ok {
		d.errorf(r, "Duplicate "+what, "%s is already declared at %s. Names must be unique; rename one of them.", key, fmtRange(prev))
		return false
	}
	d.declared[key] = r
	return true
}

func fmtRange(r hcl.Range) string {
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}

func (d *decoder) block(b *hcl.Block) {
	switch b.Type {
	case blockPerson:
		d.person(b)
	case blockRoster:
		d.roster(b)
	case blockEscalation:
		d.escalation(b)
	case blockZone:
		d.zone(b)
	case blockConduit:
		d.conduit(b)
	case blockIntegration:
		d.integration(b)
	case blockSafety:
		d.safety(b)
	case blockPlaybook:
		d.playbook(b)
	case blockExercise:
		d.exercise(b)
	}
}

func (d *decoder) label(b *hcl.Block, i int) bool {
	name := b.Labels[i]
	if !validName(name) {
		d.errorf(b.LabelRanges[i], "Invalid name",
			"%q is not a valid name. Names start with a letter and contain only letters, digits, underscores and dashes.", name)
		return false
	}
	return true
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return true
}

func (d *decoder) person(b *hcl.Block) {
	c := d.content(b.Body, personSchema)
	if c == nil || !d.label(b, 0) || !d.declare("person."+b.Labels[0], "person", b.DefRange) {
		return
	}
	p := &Person{Name: b.Labels[0], DeclRange: b.DefRange}
	p.DisplayName, _ = d.str(c.Attributes, "name")
	p.Slack, _ = d.str(c.Attributes, "slack")
	p.Email, _ = d.str(c.Attributes, "email")
	p.PD, _ = d.str(c.Attributes, "pagerduty")
	if a := c.Attributes["slack"]; a != nil && p.Slack != "" && !looksLikeSlackID(p.Slack) {
		d.errorf(a.Expr.Range(), "Invalid Slack member ID",
			"%q is not a Slack member ID. Use the ID from the person's Slack profile (\"Copy member ID\"), such as \"U01ALICE\".", p.Slack)
	}
	if a := c.Attributes["email"]; a != nil && p.Email != "" && !strings.Contains(p.Email, "@") {
		d.errorf(a.Expr.Range(), "Invalid email address", "%q is not an email address.", p.Email)
	}
	p.PublicKey, p.PublicKeyRange = d.publicKey(c.Attributes[attrPublicKey], "person."+p.Name, "person \""+p.Name+"\"")
	d.cfg.People[p.Name] = p
}

// publicKey decodes a public_key attribute of the block called where, whose
// key ID is id. It must be a literal "ed25519:BASE64": a key is not a
// secret, and the worker, the workflow and `firebreak verify` must all read
// the same one from the files.
func (d *decoder) publicKey(a *hcl.Attribute, id, where string) (string, hcl.Range) {
	if a == nil {
		return "", hcl.Range{}
	}
	hint := fmt.Sprintf("Make a key pair with `firebreak keygen %s`; it writes the private key to a file and prints the line to paste here.", id)
	v, diags := a.Expr.Value(envCtx)
	if !diags.HasErrors() && (isEnvCall(v) || containsEnvMarker(v)) {
		d.errorf(a.Expr.Range(), "public_key must be a literal",
			"The public_key of %s is read from the files, never from the environment: the worker, the incident and `firebreak verify` must all trust the same key. Write it as public_key = \"ed25519:BASE64\" (it is not a secret). %s", where, hint)
		return "", hcl.Range{}
	}
	s, ok := evalStatic(&d.diags, a.Expr, cty.String, a.Name)
	if !ok {
		return "", hcl.Range{}
	}
	if _, err := attest.ParsePublicKey(s.AsString()); err != nil {
		d.errorf(a.Expr.Range(), "Invalid public key", "The public_key of %s does not parse: %v. %s", where, err, hint)
		return "", hcl.Range{}
	}
	return strings.TrimSpace(s.AsString()), a.Expr.Range()
}

func looksLikeSlackID(s string) bool {
	if len(s) < 3 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (d *decoder) roster(b *hcl.Block) {
	c := d.content(b.Body, rosterSchema)
	if c == nil || !d.label(b, 0) || !d.declare("roster."+b.Labels[0], "roster", b.DefRange) {
		return
	}
	r := &Roster{Name: b.Labels[0], DeclRange: b.DefRange, MembersRange: b.DefRange}
	r.Description, _ = d.str(c.Attributes, "description")
	r.SlackUsergroup, _ = d.str(c.Attributes, "slack_usergroup")
	if a := c.Attributes["members"]; a != nil {
		before := errorCount(d.diags)
		r.Members = d.refs(a, blockPerson)
		r.MembersRange = a.Expr.Range()
		r.membersInvalid = errorCount(d.diags) > before
	}
	d.cfg.Rosters[r.Name] = r
}

func (d *decoder) escalation(b *hcl.Block) {
	c := d.content(b.Body, escalationSchema)
	if c == nil || !d.label(b, 0) || !d.declare("escalation."+b.Labels[0], "escalation", b.DefRange) {
		return
	}
	e := &Escalation{Name: b.Labels[0], DeclRange: b.DefRange}
	if n, ok := d.integer(c.Attributes, "repeat", 0, 100); ok {
		e.Repeat = n
	}
	for _, tb := range c.Blocks {
		tc := d.content(tb.Body, tierSchema)
		if tc == nil {
			continue
		}
		t := &Tier{DeclRange: tb.DefRange}
		if a := tc.Attributes["notify"]; a != nil {
			t.Notify = d.refs(a, blockPerson, blockRoster)
			if len(t.Notify) == 0 {
				d.errorf(a.Expr.Range(), "Empty tier", "A tier must notify at least one person or roster.")
			}
		}
		t.AckWithin = d.duration(tc.Attributes, "ack_within")
		e.Tiers = append(e.Tiers, t)
	}
	if len(e.Tiers) == 0 {
		d.errorf(b.DefRange, "Escalation without tiers",
			"escalation %q has no tier blocks. Add at least one:\n  tier {\n    notify     = [roster.ot_oncall]\n    ack_within = \"5m\"\n  }", e.Name)
	}
	d.cfg.Escalations[e.Name] = e
}

func (d *decoder) zone(b *hcl.Block) {
	c := d.content(b.Body, zoneSchema)
	if c == nil || !d.label(b, 0) || !d.declare("zone."+b.Labels[0], "zone", b.DefRange) {
		return
	}
	z := &Zone{Name: b.Labels[0], DeclRange: b.DefRange}
	z.Title, _ = d.str(c.Attributes, "title")
	if a := c.Attributes["purdue_level"]; a != nil {
		if v, ok := d.value(a, cty.Number); ok {
			f, _ := v.AsBigFloat().Float64()
			if f < 0 || f > 5 {
				d.errorf(a.Expr.Range(), "Invalid Purdue level", "purdue_level must be between 0 and 5 (3.5 for an industrial DMZ); got %g.", f)
			}
			z.PurdueLevel = f
		}
	}
	if n, ok := d.integer(c.Attributes, "security_level", 0, 4); ok {
		z.SecurityLevel = n
	}
	if a := c.Attributes["networks"]; a != nil {
		nets, _ := d.strList(c.Attributes, "networks")
		for _, n := range nets {
			if _, err := netip.ParsePrefix(n); err != nil {
				d.errorf(a.Expr.Range(), "Invalid network", "%q is not a CIDR prefix such as \"10.30.2.0/24\": %v.", n, err)
			}
		}
		z.Networks = nets
	}
	for _, sb := range c.Blocks {
		if z.SafeState != nil {
			d.errorf(sb.DefRange, "Duplicate safe_state block", "A zone has at most one safe_state block.")
			continue
		}
		sc := d.content(sb.Body, safeStateSchema)
		if sc == nil {
			continue
		}
		s := &SafeState{}
		s.Integration, _ = d.str(sc.Attributes, "integration")
		if a := sc.Attributes["integration"]; a != nil {
			s.IntegrationRange = a.Expr.Range()
		}
		if a := sc.Attributes["register"]; a != nil {
			s.Register, _ = registerValue(&d.diags, a.Expr, "register")
		}
		s.Expect, _ = d.integer(sc.Attributes, "expect", 0, 65535)
		z.SafeState = s
	}
	d.cfg.Zones[z.Name] = z
}

func (d *decoder) conduit(b *hcl.Block) {
	c := d.content(b.Body, conduitSchema)
	if c == nil || !d.label(b, 0) || !d.declare("conduit."+b.Labels[0], "conduit", b.DefRange) {
		return
	}
	k := &Conduit{Name: b.Labels[0], DeclRange: b.DefRange}
	k.From = d.oneRef(c.Attributes["from"], blockZone)
	k.To = d.oneRef(c.Attributes["to"], blockZone)
	k.Protocols, _ = d.strList(c.Attributes, "protocols")
	k.Enforcement, _ = d.str(c.Attributes, "enforcement")
	if a := c.Attributes["enforcement"]; a != nil {
		k.EnforcementRange = a.Expr.Range()
	}
	k.KeepOpenOnIsolation, _ = d.boolean(c.Attributes, "keep_open_on_isolation")
	d.cfg.Conduits[k.Name] = k
}

func (d *decoder) integration(b *hcl.Block) {
	kind := b.Labels[0]
	known, ok := integrationSettings[kind]
	if !ok {
		d.errorf(b.LabelRanges[0], "Unknown integration kind",
			"There is no integration kind %q.%s Known: %s.", kind, didYouMean(kind, sortedKeys(integrationSettings)), strings.Join(sortedKeys(integrationSettings), ", "))
		return
	}
	c := d.content(b.Body, &hcl.BodySchema{Attributes: append([]hcl.AttributeSchema{{Name: attrSimulate}, {Name: attrPublicKey}}, known...)})
	if c == nil || !d.label(b, 1) || !d.declare("integration."+kind+"."+b.Labels[1], "integration", b.DefRange) {
		return
	}
	in := &Integration{Kind: kind, Name: b.Labels[1], Settings: map[string]Setting{}, DeclRange: b.DefRange}
	in.Simulate, _ = d.boolean(c.Attributes, attrSimulate)
	in.PublicKey, in.PublicKeyRange = d.publicKey(c.Attributes[attrPublicKey], in.ID(), fmt.Sprintf("integration %q %q", kind, in.Name))
	for _, name := range sortedKeys(c.Attributes) {
		if name == attrSimulate || name == attrPublicKey {
			continue
		}
		a := c.Attributes[name]
		v, diags := a.Expr.Value(envCtx)
		if isSecretSetting(name) && !isEnvCall(v) {
			// The line may hold the secret itself: never show it.
			for _, dg := range diags {
				dg.Extra = secretSource{}
			}
		}
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		if env, ok := envName(v); ok {
			in.Settings[name] = Setting{Env: env}
			continue
		}
		if containsEnvMarker(v) {
			d.errorf(a.Expr.Range(), "env() must be the whole value",
				"Write %s = env(\"NAME\") on its own; the value is read from the environment when the worker starts and is never combined with other text in a playbook.", name)
			continue
		}
		if isSecretSetting(name) {
			r := a.NameRange
			d.diags = append(d.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Secret written into a playbook file",
				Detail: fmt.Sprintf("%s is a secret. Read it from the environment when the worker starts: %s = env(\"%s\"). Remove the value from the file and from version control history.",
					name, name, strings.ToUpper(kind+"_"+name)),
				Subject: &r,
				Extra:   secretSource{},
			})
			continue
		}
		if _, err := ctyToGo(v); err != nil {
			d.errorf(a.Expr.Range(), "Unsupported value", "%s: %s.", name, err)
			continue
		}
		if why := valueCredential(v); why != "" {
			d.diags = append(d.diags, credentialWarning(a.Expr.Range(),
				fmt.Sprintf("%s of integration %s.%s", name, kind, in.Name), why, " and in every copy of the file",
				fmt.Sprintf("Read it from the environment when the worker starts instead: %s = env(\"%s\").", name, strings.ToUpper(kind+"_"+in.Name+"_"+name))))
		}
		in.Settings[name] = Setting{Value: v}
	}
	d.cfg.Integrations[kind+"."+in.Name] = in
}

func (d *decoder) safety(b *hcl.Block) {
	c := d.content(b.Body, safetySchema)
	if c == nil || !d.declare("safety", "safety block", b.DefRange) {
		return
	}
	s := &Safety{DeclRange: b.DefRange}
	if v, ok := d.boolean(c.Attributes, "restore_needs_own_signoff"); ok {
		s.RestoreNeedsOwnSignoff = v
	}
	for _, sb := range c.Blocks {
		switch sb.Type {
		case "signoff":
			if s.Signoff != nil {
				d.errorf(sb.DefRange, "Duplicate signoff block", "The safety block has one signoff block.")
				continue
			}
			sc := d.content(sb.Body, signoffSchema)
			if sc == nil {
				continue
			}
			so := &Signoff{DeclRange: sb.DefRange, ExcludeInitiator: true}
			if a := sc.Attributes["rosters"]; a != nil {
				so.Rosters = d.refs(a, blockRoster)
				if len(so.Rosters) == 0 {
					d.errorf(a.Expr.Range(), "No sign-off rosters", "List the rosters a sign-off needs one person from, e.g. [roster.process_safety, roster.ot_operations].")
				}
			}
			if v, ok := d.boolean(sc.Attributes, "exclude_initiator"); ok {
				so.ExcludeInitiator = v
			}
			so.ValidFor = d.duration(sc.Attributes, "valid_for")
			s.Signoff = so
		case "break_glass":
			if s.BreakGlass != nil {
				d.errorf(sb.DefRange, "Duplicate break_glass block", "The safety block has one break_glass block.")
				continue
			}
			bc := d.content(sb.Body, breakGlassSchema)
			if bc == nil {
				continue
			}
			bg := &BreakGlass{DeclRange: sb.DefRange, RequireReason: true}
			if a := bc.Attributes["rosters"]; a != nil {
				bg.Rosters = d.refs(a, blockRoster)
			}
			if v, ok := d.boolean(bc.Attributes, "require_reason"); ok {
				bg.RequireReason = v
			}
			s.BreakGlass = bg
		}
	}
	if s.Signoff == nil {
		d.errorf(b.DefRange, "Safety policy without signoff",
			"The safety block needs a signoff block naming who must approve safety-critical actions:\n  signoff {\n    rosters = [roster.process_safety, roster.ot_operations]\n  }")
	}
	d.cfg.Safety = s
}

func (d *decoder) playbook(b *hcl.Block) {
	c := d.content(b.Body, playbookSchema)
	if c == nil || !d.label(b, 0) || !d.declare("playbook."+b.Labels[0], "playbook", b.DefRange) {
		return
	}
	p := &Playbook{Name: b.Labels[0], DeclRange: b.DefRange}
	p.Title, _ = d.str(c.Attributes, "title")
	p.Description, _ = d.str(c.Attributes, "description")
	p.Tags, _ = d.strList(c.Attributes, "tags")
	if a := c.Attributes["may_start"]; a != nil {
		p.MayStartRange = a.Expr.Range()
		before := len(d.diags)
		p.MayStart = d.refs(a, blockPerson, blockRoster)
		if p.MayStart == nil && len(d.diags) == before {
			// An empty list would read as "nobody"; say what absence means.
			p.MayStart = []Ref{}
		}
	}
	if sev, ok := d.str(c.Attributes, "severity"); ok {
		switch sev {
		case "sev1", "sev2", "sev3", "sev4":
			p.Severity = sev
		default:
			d.errorf(c.Attributes["severity"].Expr.Range(), "Invalid severity",
				"severity must be one of sev1, sev2, sev3, sev4 (sev1 is the most severe); got %q.%s", sev,
				didYouMean(sev, []string{"sev1", "sev2", "sev3", "sev4"}))
		}
	}
	type declared struct {
		kind string
		r    hcl.Range
	}
	names := map[string]declared{}
	for _, sb := range c.Blocks {
		if !d.label(sb, 0) {
			continue
		}
		// Step names are unique across kinds; inputs and conditions have
		// their own namespaces.
		key := sb.Labels[0]
		if sb.Type == "input" || sb.Type == "condition" {
			key = sb.Type + "." + key
		}
		if prev, dup := names[key]; dup && sb.Type == "condition" {
			d.errorf(sb.DefRange, "Duplicate condition",
				"condition %q is already declared in playbook %q at %s. Give each condition its own name, or remove one.",
				sb.Labels[0], p.Name, fmtRange(prev.r))
			continue
		} else if dup {
			d.errorf(sb.DefRange, "Duplicate name",
				"%q is already used in playbook %q by %s at %s. Every step, page, approval, decision, task, notify and wait in a playbook needs its own name.",
				sb.Labels[0], p.Name, prev.kind, fmtRange(prev.r))
			continue
		}
		names[key] = declared{sb.Type, sb.DefRange}
		if sb.Type == "input" {
			if in := d.input(sb); in != nil {
				p.Inputs = append(p.Inputs, in)
			}
			continue
		}
		if sb.Type == "condition" {
			if cc := d.content(sb.Body, conditionSchema); cc != nil {
				cd := &Condition{Name: sb.Labels[0], When: cc.Attributes["when"], DeclRange: sb.DefRange}
				cd.Description, _ = d.str(cc.Attributes, "description")
				p.Conditions = append(p.Conditions, cd)
			}
			continue
		}
		sc := d.content(sb.Body, stepSchemas[sb.Type])
		if sc == nil {
			continue
		}
		st := &StepBlock{Kind: plan.Kind(sb.Type), Name: sb.Labels[0], Attrs: sc.Attributes, DeclRange: sb.DefRange, order: d.order}
		d.order++
		for _, rb := range sc.Blocks {
			if st.Retry != nil {
				d.errorf(rb.DefRange, "Duplicate retry block", "A step has at most one retry block.")
				continue
			}
			st.Retry = rb
		}
		p.Steps = append(p.Steps, st)
	}
	d.cfg.Playbooks[p.Name] = p
}

func (d *decoder) input(b *hcl.Block) *Input {
	c := d.content(b.Body, inputSchema)
	if c == nil {
		return nil
	}
	in := &Input{Name: b.Labels[0], Type: cty.String, TypeString: "string", DeclRange: b.DefRange}
	in.Description, _ = d.str(c.Attributes, "description")
	if a := c.Attributes["type"]; a != nil {
		t, diags := typeexpr.TypeConstraint(a.Expr)
		if diags.HasErrors() {
			for _, dg := range diags {
				dg.Detail += " Input types are string, number, bool, list(string), map(string) and the like."
			}
			d.diags = append(d.diags, diags...)
			return nil
		}
		in.Type = t
		in.TypeString = typeexpr.TypeString(t)
	}
	if a := c.Attributes["default"]; a != nil {
		v, diags := a.Expr.Value(staticCtx)
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			return in
		}
		cv, err := convert.Convert(v, in.Type)
		if err != nil {
			// Keep the input so its uses do not also report it as undeclared.
			d.errorf(a.Expr.Range(), "Invalid default", "The default does not match the input's type %s: %v.", in.TypeString, err)
			return in
		}
		if _, err := ctyToGo(cv); err != nil {
			d.errorf(a.Expr.Range(), "Invalid default", "%s.", err)
			return in
		}
		in.Default = &cv
	}
	return in
}

func (d *decoder) exercise(b *hcl.Block) {
	c := d.content(b.Body, exerciseSchema)
	if c == nil || !d.label(b, 0) || !d.declare("exercise."+b.Labels[0], "exercise", b.DefRange) {
		return
	}
	e := &Exercise{Name: b.Labels[0], Attrs: c.Attributes, DeclRange: b.DefRange}
	seen := map[string]hcl.Range{}
	for _, sb := range c.Blocks {
		key := sb.Type + "." + sb.Labels[0]
		if prev, dup := seen[key]; dup {
			d.errorf(sb.DefRange, "Duplicate "+sb.Type, "%s %q is already declared in exercise %q at %s; merge the two blocks.", sb.Type, sb.Labels[0], e.Name, fmtRange(prev))
			continue
		}
		seen[key] = sb.DefRange
		switch sb.Type {
		case "objective":
			e.Objectives = append(e.Objectives, sb)
		case "inject":
			e.Injects = append(e.Injects, sb)
		case "responder":
			e.Responders = append(e.Responders, sb)
		}
	}
	d.cfg.Exercises[e.Name] = e
}

// --- attribute helpers --------------------------------------------------------

// value evaluates a literal attribute and converts it to want.
func (d *decoder) value(a *hcl.Attribute, want cty.Type) (cty.Value, bool) {
	return evalStatic(&d.diags, a.Expr, want, a.Name)
}

func evalStatic(diags *hcl.Diagnostics, expr hcl.Expression, want cty.Type, name string) (cty.Value, bool) {
	v, ds := expr.Value(staticCtx)
	*diags = append(*diags, explainDiags(ds)...)
	if ds.HasErrors() {
		return cty.NilVal, false
	}
	if v.IsNull() {
		r := expr.Range()
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Null value",
			Detail: fmt.Sprintf("%s must not be null; remove the attribute to use the default.", name), Subject: &r})
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, want)
	if err != nil {
		r := expr.Range()
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Wrong type",
			Detail: wrongType(name, want, v), Subject: &r})
		return cty.NilVal, false
	}
	return cv, true
}

// wrongType says that attribute name must be of type want, with an
// example for a list, and what v is instead (for a list, which element is
// wrong). The conversion's error
// is not repeated: it says "list of string required".
func wrongType(name string, want cty.Type, v cty.Value) string {
	msg := fmt.Sprintf("%s must be %s", name, typeName(want))
	if ex := typeExample(name, want); ex != "" {
		msg += ", such as " + ex
	}
	got := "this is " + article(valueKind(v.Type())) + " " + valueKind(v.Type())
	if want.IsListType() && (v.Type().IsTupleType() || v.Type().IsListType()) && v.IsKnown() && !v.IsNull() {
		// A list, then, with an element of the wrong type: name it.
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			if _, err := convert.Convert(e, want.ElementType()); err != nil {
				got = fmt.Sprintf("element %d is %s %s", i, article(valueKind(e.Type())), valueKind(e.Type()))
				break
			}
		}
	}
	return msg + "; " + got + "."
}

// valueKind names a value's type the way a playbook writes values.
func valueKind(t cty.Type) string {
	switch {
	case t == cty.String:
		return "string"
	case t == cty.Number:
		return "number"
	case t == cty.Bool:
		return "bool (true or false)"
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		return "list"
	case t.IsObjectType() || t.IsMapType():
		return "object"
	}
	return "value of type " + t.FriendlyName()
}

// listExamples are the examples wrongType gives for lists of strings.
var listExamples = map[string]string{
	"tags":      `["ransomware", "ot"]`,
	"networks":  `["10.30.2.0/24"]`,
	"protocols": `["modbus", "opc-ua"]`,
	"options":   `["isolate", "monitor"]`,
}

// typeExample writes name = VALUE for a list of type t, or "": scalars
// need no example, and a made-up number could mislead.
func typeExample(name string, t cty.Type) string {
	switch {
	case t.IsListType() && t.ElementType() == cty.String:
		ex := listExamples[name]
		if ex == "" {
			ex = `["first", "second"]`
		}
		return name + " = " + ex + " (a list even for one entry)"
	}
	return ""
}

func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "true or false"
	case t.IsListType() && t.ElementType() == cty.String:
		return "a list of strings"
	}
	return t.FriendlyName()
}

func (d *decoder) str(attrs hcl.Attributes, name string) (string, bool) {
	a := attrs[name]
	if a == nil {
		return "", false
	}
	v, ok := d.value(a, cty.String)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (d *decoder) boolean(attrs hcl.Attributes, name string) (bool, bool) {
	a := attrs[name]
	if a == nil {
		return false, false
	}
	v, ok := d.value(a, cty.Bool)
	if !ok {
		return false, false
	}
	return v.True(), true
}

func (d *decoder) integer(attrs hcl.Attributes, name string, lo, hi int) (int, bool) {
	a := attrs[name]
	if a == nil {
		return 0, false
	}
	return intValue(&d.diags, a, lo, hi)
}

func intValue(diags *hcl.Diagnostics, a *hcl.Attribute, lo, hi int) (int, bool) {
	v, ok := evalStatic(diags, a.Expr, cty.Number, a.Name)
	if !ok {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		r := a.Expr.Range()
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid number",
			Detail: fmt.Sprintf("%s must be a whole number from %d to %d; got %s.", a.Name, lo, hi, v.AsBigFloat().Text('f', -1)), Subject: &r})
		return 0, false
	}
	var n int
	_ = gocty.FromCtyValue(v, &n)
	return n, true
}

// registerValue evaluates a holding register written as a literal in
// Modbus notation (see rules.RegisterOffset) and returns it as written.
func registerValue(diags *hcl.Diagnostics, e hcl.Expression, name string) (int, bool) {
	v, ok := evalStatic(diags, e, cty.Number, name)
	if !ok {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	if _, msg := rules.RegisterOffset(f); msg != "" {
		addDiag(diags, hcl.DiagError, e.Range(), "Invalid register", "%s%s", strings.ToUpper(msg[:1]), msg[1:])
		return 0, false
	}
	return int(f), true
}

func (d *decoder) strList(attrs hcl.Attributes, name string) ([]string, bool) {
	a := attrs[name]
	if a == nil {
		return nil, false
	}
	return strListValue(&d.diags, a)
}

// strListValue evaluates a literal list of strings.
func strListValue(diags *hcl.Diagnostics, a *hcl.Attribute) ([]string, bool) {
	v, ok := evalStatic(diags, a.Expr, cty.List(cty.String), a.Name)
	if !ok {
		return nil, false
	}
	out := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			r := a.Expr.Range()
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Null in list",
				Detail: fmt.Sprintf("%s must not contain null.", a.Name), Subject: &r})
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

func (d *decoder) duration(attrs hcl.Attributes, name string) DurationAttr {
	a := attrs[name]
	if a == nil {
		return DurationAttr{}
	}
	return parseDurationAttr(&d.diags, a)
}

func parseDurationAttr(diags *hcl.Diagnostics, a *hcl.Attribute) DurationAttr {
	v, ok := evalStatic(diags, a.Expr, cty.String, a.Name)
	if !ok {
		return DurationAttr{}
	}
	dur, err := parseDuration(v.AsString())
	r := a.Expr.Range()
	if err != nil {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid duration",
			Detail: fmt.Sprintf("%s: %s", a.Name, err), Subject: &r})
		return DurationAttr{}
	}
	return DurationAttr{D: int64(dur), Set: true, Range: r}
}

// parseDuration reads a duration string such as "90s", "5m", "4h" or "1h30m".
// durationUnits says how a duration is written, for messages.
const durationUnits = `Write a number and a unit, h (hours), m (minutes) or s (seconds), also ms, us and ns, combined if need be: "90s", "5m", "4h", "1h30m".`

// durationHint guesses what a mistaken duration meant: "5 min" is "5m",
// and there is no day unit.
func durationHint(s string) string {
	t := strings.TrimSpace(s)
	i := len(strings.TrimRight(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || len(num) > 20 {
		return ""
	}
	switch unit {
	case "d", "day", "days":
		return fmt.Sprintf(" There is no day unit: write %q.", strconv.FormatFloat(n*24, 'f', -1, 64)+"h")
	case "":
		return fmt.Sprintf(" A number alone has no unit: write %q for %s minutes, say.", num+"m", num)
	}
	units := map[string]string{
		"sec": "s", "secs": "s", "second": "s", "seconds": "s",
		"min": "m", "mins": "m", "minute": "m", "minutes": "m",
		"hr": "h", "hrs": "h", "hour": "h", "hours": "h",
	}
	if u, ok := units[unit]; ok {
		return fmt.Sprintf(" Did you mean %q?", num+u)
	}
	return ""
}

func parseDuration(s string) (time.Duration, error) {
	dur, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration. %s%s", s, durationUnits, durationHint(s))
	}
	if dur <= 0 {
		return 0, fmt.Errorf("%q must be longer than zero", s)
	}
	return dur, nil
}

// refs decodes a list of references (or a single one) to objects of the
// given kinds, such as [roster.ot_oncall, person.carol].
func (d *decoder) refs(a *hcl.Attribute, kinds ...string) []Ref {
	out, diags := decodeRefs(a.Expr, kinds...)
	d.diags = append(d.diags, diags...)
	return out
}

func (d *decoder) oneRef(a *hcl.Attribute, kinds ...string) *Ref {
	if a == nil {
		return nil
	}
	r, diags := decodeRef(a.Expr, kinds...)
	d.diags = append(d.diags, diags...)
	return r
}

func decodeRefs(expr hcl.Expression, kinds ...string) ([]Ref, hcl.Diagnostics) {
	if _, ok := refTraversal(expr); ok {
		r, diags := decodeRef(expr, kinds...)
		if r == nil {
			return nil, diags
		}
		return []Ref{*r}, diags
	}
	elems, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		return nil, refListError(expr, kinds)
	}
	var out []Ref
	for _, e := range elems {
		r, ds := decodeRef(e, kinds...)
		diags = append(diags, ds...)
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, diags
}

func refListError(expr hcl.Expression, kinds []string) hcl.Diagnostics {
	r := expr.Range()
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid reference list",
		Detail: fmt.Sprintf("Expected a list of references to %s, such as [%s].", orList(kinds), refExample(expr, kinds[0]+".NAME")), Subject: &r}}
}

func decodeRef(expr hcl.Expression, kinds ...string) (*Ref, hcl.Diagnostics) {
	r := expr.Range()
	trav, ok := refTraversal(expr)
	if !ok || len(trav) != 2 {
		hint := refHint(expr, kinds[0]+".NAME")
		if elems, diags := hcl.ExprList(expr); !diags.HasErrors() && len(elems) == 1 {
			if t, ok := refTraversal(elems[0]); ok && len(t) == 2 {
				hint = fmt.Sprintf("%s: one reference, not a list", refHint(elems[0], t.RootName()+"."+traversalName(t)))
			}
		}
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid reference",
			Detail: fmt.Sprintf("Expected a reference to %s, such as %s.", orList(kinds), hint), Subject: &r}}
	}
	root := trav.RootName()
	attr, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid reference",
			Detail: fmt.Sprintf("Expected a reference to %s, such as %s.", orList(kinds), refHint(expr, kinds[0]+".NAME")), Subject: &r}}
	}
	for _, k := range kinds {
		if k == root {
			return &Ref{Kind: root, Name: attr.Name, Range: trav.SourceRange()}, nil
		}
	}
	return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summaryWrongKind,
		Detail: fmt.Sprintf("%s.%s is %s %s; only %s fits here.", root, attr.Name, article(root), root, orList(kinds)), Subject: &r,
		Extra: wrongKind{kinds: kinds}}}
}

// summaryWrongKind is the summary of a reference to the wrong kind of thing.
const summaryWrongKind = "Wrong kind of reference"

// wrongKind marks a "Wrong kind of reference" diagnostic with the kinds
// that fit, so that once every file is decoded the detail can list the
// declared names of those kinds (see Config.explainWrongKinds).
type wrongKind struct{ kinds []string }

// explainWrongKinds adds to each "Wrong kind of reference" the names of
// the kinds that fit, and clears the mark; it runs before MarkSecretLines,
// which leaves marked diagnostics alone.
func (c *Config) explainWrongKinds(diags hcl.Diagnostics) {
	for _, d := range diags {
		wk, ok := d.Extra.(wrongKind)
		if !ok {
			continue
		}
		d.Extra = nil
		var known []string
		for _, k := range wk.kinds {
			if names := c.names(k); names != nil {
				known = append(known, prefixAll(k, names)...)
			}
		}
		d.Detail += " Known: " + knownList(known) + "."
	}
}

// isJSONExpr reports whether an expression comes from a file in HCL's JSON
// syntax, where a reference is written inside a string.
func isJSONExpr(expr hcl.Expression) bool {
	_, native := expr.(hclsyntax.Expression)
	return !native
}

// refTraversal returns the reference an expression is written as: a bare
// traversal in native syntax (escalation.x); in JSON syntax a string holding
// one ("escalation.x") or, the way Terraform writes it, a template that is
// nothing but a single interpolation of one ("${escalation.x}").
func refTraversal(expr hcl.Expression) (hcl.Traversal, bool) {
	if trav, diags := hcl.AbsTraversalForExpr(expr); !diags.HasErrors() {
		return trav, true
	}
	if !isJSONExpr(expr) {
		return nil, false
	}
	v, diags := expr.Value(nil) // nil context: the string as written
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return nil, false
	}
	r := expr.Range()
	// Past the opening quote, as HCL's JSON parser does for templates.
	start := hcl.Pos{Line: r.Start.Line, Column: r.Start.Column + 1, Byte: r.Start.Byte + 1}
	tmpl, diags := hclsyntax.ParseTemplate([]byte(v.AsString()), r.Filename, start)
	if diags.HasErrors() {
		return nil, false
	}
	wrap, ok := tmpl.(*hclsyntax.TemplateWrapExpr)
	if !ok {
		return nil, false
	}
	st, ok := wrap.Wrapped.(*hclsyntax.ScopeTraversalExpr)
	if !ok {
		return nil, false
	}
	return st.Traversal, true
}

// refHint says how to write the reference ref where expr is: bare in native
// syntax, in a string (either form) in JSON syntax.
func refHint(expr hcl.Expression, ref string) string {
	if isJSONExpr(expr) {
		return fmt.Sprintf("%q or \"${%s}\"", ref, ref)
	}
	switch expr.(type) {
	case *hclsyntax.TemplateExpr, *hclsyntax.TemplateWrapExpr:
		return ref + ", without quotes"
	}
	return ref
}

// refExample is the reference ref as written where expr is, for an example
// inside a list: bare in native syntax, quoted in JSON syntax.
func refExample(expr hcl.Expression, ref string) string {
	if isJSONExpr(expr) {
		return fmt.Sprintf("%q", ref)
	}
	return ref
}

func orList(kinds []string) string {
	with := make([]string, len(kinds))
	for i, k := range kinds {
		with[i] = article(k) + " " + k
	}
	switch len(with) {
	case 0:
		return "nothing"
	case 1:
		return with[0]
	}
	return strings.Join(with[:len(with)-1], ", ") + " or " + with[len(with)-1]
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// secretSource marks a diagnostic whose source line holds a secret, so that
// renderers show its location but not the line (see render.SourceHider).
type secretSource struct{}

// HideSource reports that the line must not be shown.
func (secretSource) HideSource() bool { return true }

func isEnvCall(v cty.Value) bool {
	_, ok := envName(v)
	return ok
}
