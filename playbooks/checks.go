package playbooks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
)

// checkConfig checks the organisation-wide blocks (people, rosters,
// escalations, zones, conduits, safety) across files. It runs once per module.
func (m *Module) checkConfig() hcl.Diagnostics {
	if m.configChecked {
		return m.configDiags
	}
	cfg := m.Config
	var diags hcl.Diagnostics
	errorf := func(r hcl.Range, summary, format string, args ...any) {
		addDiag(&diags, hcl.DiagError, r, summary, format, args...)
	}
	exists := func(r Ref) bool {
		if cfg.has(r.Kind, r.Name) {
			return true
		}
		names := cfg.names(r.Kind)
		errorf(r.Range, "Reference to undeclared "+r.Kind, "No %s named %q is declared.%s Known: %s.", r.Kind, r.Name, cfg.hint(r.Name, names), knownList(names))
		return false
	}
	for _, n := range sortedKeys(cfg.Rosters) {
		r := cfg.Rosters[n]
		seen := map[string]bool{}
		for _, mem := range r.Members {
			if seen[mem.Name] {
				errorf(mem.Range, "Duplicate roster member", "person.%s is listed twice in roster %q.", mem.Name, n)
			}
			seen[mem.Name] = true
			exists(mem)
		}
		if len(r.Members) == 0 && r.SlackUsergroup == "" && !r.membersInvalid {
			errorf(r.MembersRange, "Empty roster", "roster %q has no members, so nobody can be paged, asked or assigned through it. Add members = [person.NAME, ...] or a slack_usergroup.", n)
		}
	}
	// One Slack account, one person: the Slack front door finds who
	// answered by the slack attribute, so a shared one would make a click
	// count for whichever person came first.
	slackOwner := map[string]string{}
	for _, n := range sortedKeys(cfg.People) {
		p := cfg.People[n]
		if p.Slack == "" {
			continue
		}
		if prev, dup := slackOwner[p.Slack]; dup {
			errorf(p.DeclRange, "Slack user used twice", "person %q has the same slack = %q as person %q; a click from that Slack account could not tell them apart. Give each person their own Slack member ID.", n, p.Slack, prev)
			continue
		}
		slackOwner[p.Slack] = n
	}
	// One key, one signer: a key shared by two people would let either
	// sign as the other.
	keyOwner := map[string]string{}
	ownKey := func(id, key string, r hcl.Range) {
		if key == "" {
			return
		}
		if prev, dup := keyOwner[key]; dup {
			errorf(r, "Public key used twice", "%s declares the same public_key as %s. Every person and front door signs with its own key; make another with `firebreak keygen %s`.", id, prev, id)
			return
		}
		keyOwner[key] = id
	}
	for _, n := range sortedKeys(cfg.People) {
		ownKey("person."+n, cfg.People[n].PublicKey, cfg.People[n].PublicKeyRange)
	}
	for _, id := range sortedKeys(cfg.Integrations) {
		ownKey(id, cfg.Integrations[id].PublicKey, cfg.Integrations[id].PublicKeyRange)
	}
	for _, n := range sortedKeys(cfg.Escalations) {
		for _, t := range cfg.Escalations[n].Tiers {
			for _, r := range t.Notify {
				exists(r)
			}
		}
	}
	for _, n := range sortedKeys(cfg.Zones) {
		z := cfg.Zones[n]
		if s := z.SafeState; s != nil && s.Integration != "" {
			checkIntegrationRef(cfg, s.Integration, s.IntegrationRange, []string{"modbus"}, errorf)
		}
	}
	for _, n := range sortedKeys(cfg.Conduits) {
		k := cfg.Conduits[n]
		okFrom := k.From != nil && exists(*k.From)
		okTo := k.To != nil && exists(*k.To)
		if okFrom && okTo && k.From.Name == k.To.Name {
			errorf(k.To.Range, "Conduit into its own zone", "conduit %q goes from zone.%s to itself; a conduit joins two different zones.", n, k.From.Name)
		}
		if k.Enforcement != "" {
			checkIntegrationRef(cfg, k.Enforcement, k.EnforcementRange, []string{"nftables", "webhook"}, errorf)
		}
	}
	if s := cfg.Safety; s != nil {
		if so := s.Signoff; so != nil {
			ok := true
			for _, r := range so.Rosters {
				ok = exists(r) && ok
			}
			if ok && len(so.Rosters) > 0 {
				diags = append(diags, quorumDiags(cfg, cfg.signoffQuorum(), so.DeclRange, "the safety sign-off")...)
			}
		}
		if bg := s.BreakGlass; bg != nil {
			for _, r := range bg.Rosters {
				exists(r)
			}
		}
	}
	diags = append(diags, keepOpenOverlaps(cfg)...)
	m.configChecked, m.configDiags = true, diags
	return diags
}

func checkIntegrationRef(cfg *Config, id string, r hcl.Range, kinds []string, errorf func(hcl.Range, string, string, ...any)) {
	kind, _, _ := strings.Cut(id, ".")
	var known []string
	for _, k := range sortedKeys(cfg.Integrations) {
		for _, want := range kinds {
			if strings.HasPrefix(k, want+".") {
				known = append(known, k)
			}
		}
	}
	if !contains(kinds, kind) {
		errorf(r, "Wrong kind of integration", "%q must name a %s integration as \"KIND.NAME\".%s Known: %s.", id, strings.Join(kinds, " or "), cfg.hint(id, known), knownList(known))
		return
	}
	if cfg.Integrations[id] == nil {
		errorf(r, "Unknown integration", "No integration %q is declared.%s Known: %s.", id, cfg.hint(id, known), knownList(known))
	}
}

// quorumDiags reports a quorum the declared people cannot meet (an error),
// or one that fails when a particular person starts the incident (a warning).
func quorumDiags(cfg *Config, q plan.Quorum, r hcl.Range, what string) hcl.Diagnostics {
	dir := cfg.Directory()
	if dir.FromUsergroup(q.Groups) {
		// Members come from a Slack user group when the incident runs; the
		// run checks the quorum then.
		return nil
	}
	rule := fmt.Sprintf("%d distinct people from %s", q.Count, strings.Join(q.Groups, ", "))
	if q.Count == 1 {
		rule = "one person from " + strings.Join(q.Groups, ", ")
	}
	if q.Rule == plan.QuorumOneFromEach {
		rule = "one distinct person from each of " + strings.Join(q.Groups, ", ")
	}
	if !dir.QuorumPossible(q, "") {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Quorum cannot be met",
			Detail:  fmt.Sprintf("%s needs %s, and the people declared cannot make that up (one person never counts twice). Add members to the rosters.", what, rule),
			Subject: &r}}
	}
	if !q.ExcludeInitiator {
		return nil
	}
	everyone := dir.Expand(q.Groups)
	sort.Strings(everyone)
	for _, p := range everyone {
		if !dir.QuorumPossible(q, p) {
			return hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Quorum fails if one person starts the incident",
				Detail:  fmt.Sprintf("%s needs %s, excluding whoever started the incident. If person.%s starts it, nobody else can complete the quorum. Add members to the rosters.", what, rule, p),
				Subject: &r}}
		}
	}
	return nil
}

// checkQuorum reports an approval quorum that cannot be met.
func (c *compiler) checkQuorum(q plan.Quorum, r hcl.Range, id string) {
	c.diags = append(c.diags, quorumDiags(c.cfg, q, r, id)...)
}
