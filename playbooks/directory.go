package playbooks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// planPerson is a declared person as the plan and the rule book see it.
func (cfg *Config) planPerson(id string) plan.Person {
	x := cfg.People[id]
	if x == nil {
		return plan.Person{ID: id}
	}
	return plan.Person{ID: id, Name: x.DisplayName, Slack: x.Slack, Email: x.Email, PagerDuty: x.PD}
}

// planRoster is a declared roster as the plan and the rule book see it.
func (cfg *Config) planRoster(id string) plan.Roster {
	x := cfg.Rosters[id]
	if x == nil {
		return plan.Roster{ID: id}
	}
	r := plan.Roster{ID: id, Description: x.Description, SlackUsergroup: x.SlackUsergroup}
	for _, m := range x.Members {
		r.Members = append(r.Members, m.Name)
	}
	return r
}

// Directory is the rule book's directory of every person and roster the
// configuration declares: who belongs to which roster, as the worker's own
// configuration says.
func (cfg *Config) Directory() *rules.Directory {
	var people []plan.Person
	for _, id := range sortedKeys(cfg.People) {
		people = append(people, cfg.planPerson(id))
	}
	var rosters []plan.Roster
	for _, id := range sortedKeys(cfg.Rosters) {
		rosters = append(rosters, cfg.planRoster(id))
	}
	return rules.NewDirectory(people, rosters)
}

// ID is the instance's address, "KIND.NAME".
func (in *Integration) ID() string { return in.Kind + "." + in.Name }

// Plan is the instance as a plan carries it: literal settings as Go values
// and env() settings as the variable's name, never its value.
func (in *Integration) Plan() plan.Integration {
	out := plan.Integration{ID: in.ID(), Kind: in.Kind, Name: in.Name, Settings: map[string]plan.Setting{}}
	for k, s := range in.Settings {
		if s.Env != "" {
			out.Settings[k] = plan.Setting{Env: s.Env}
			continue
		}
		v, _ := ctyToGo(s.Value)
		out.Settings[k] = plan.Setting{Value: v}
	}
	return out
}

// Keys are the public keys the configuration declares, sorted by ID: every
// person's own key (ID "person.NAME", signing only for that person) and
// every front door's (ID the integration's, "slack.main", signing for
// whoever it identified).
func (cfg *Config) Keys() []plan.Key {
	var keys []plan.Key
	for _, id := range sortedKeys(cfg.People) {
		if k := cfg.People[id].PublicKey; k != "" {
			keys = append(keys, plan.Key{ID: blockPerson + "." + id, Person: id, PublicKey: k})
		}
	}
	for _, id := range sortedKeys(cfg.Integrations) {
		if k := cfg.Integrations[id].PublicKey; k != "" {
			keys = append(keys, plan.Key{ID: id, PublicKey: k})
		}
	}
	slices.SortFunc(keys, func(a, b plan.Key) int { return strings.Compare(a.ID, b.ID) })
	return keys
}

// MayStart returns who may start a playbook: its may_start principals
// ("roster.NAME", "person.NAME") as written, without duplicates. It is nil
// when the playbook does not restrict who may start it (any declared person
// may) or does not exist. The worker checks an incident's commander against
// its own configuration with it.
func (cfg *Config) MayStart(playbook string) []string {
	pb := cfg.Playbooks[playbook]
	if pb == nil || len(pb.MayStart) == 0 {
		return nil
	}
	var out []string
	for _, r := range pb.MayStart {
		if !slices.Contains(out, r.addr()) {
			out = append(out, r.addr())
		}
	}
	return out
}

// CheckKeyID checks a signing key ID as `firebreak keygen` takes it:
// "person.NAME" for a person's own key, or an integration ID "KIND.NAME" of
// a known integration kind for a front door's. It does not look the name up
// in any files.
func CheckKeyID(id string) error {
	kind, name, ok := strings.Cut(id, ".")
	kinds := sortedKeys(integrationSettings)
	switch {
	case !ok || kind == "":
		return fmt.Errorf("%q is not a key ID: write person.NAME for a person's own key, or an integration ID such as slack.main for a front door", id)
	case kind != blockPerson && !slices.Contains(kinds, kind):
		return fmt.Errorf("%q is not a key ID: %q is neither person nor an integration kind (%s).%s", id, kind, strings.Join(kinds, ", "), didYouMean(kind, append([]string{blockPerson}, kinds...)))
	case !validName(name):
		return fmt.Errorf("%q is not a key ID: %q is not a valid name (names start with a letter and contain only letters, digits, underscores and dashes)", id, name)
	}
	return nil
}
