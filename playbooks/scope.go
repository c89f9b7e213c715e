package playbooks

import (
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/zclconf/go-cty/cty"
)

// Reference roots a playbook expression may start with.
const (
	rootInput    = "input"
	rootIncident = "incident"
	rootEach     = "each"
)

// incidentAttrs are the attributes of incident.*, all known only at run time.
var incidentAttrs = map[string]cty.Type{
	"id":         cty.String,
	"commander":  cty.String,
	"exercise":   cty.Bool,
	"title":      cty.String,
	"severity":   cty.String,
	"playbook":   cty.String,
	"started_at": cty.String,
}

// commonStepResults are the attributes every step exposes once it has run.
var commonStepResults = map[string]cty.Type{
	"status":      cty.String,
	"started_at":  cty.String,
	"finished_at": cty.String,
}

// stepResults are the extra attributes each kind of step exposes.
var stepResults = map[plan.Kind]map[string]cty.Type{
	plan.KindStep:     {"output": cty.DynamicPseudoType},
	plan.KindPage:     {"acknowledged_by": cty.String, "acknowledged_at": cty.String},
	plan.KindApproval: {"approved": cty.Bool, "approved_by": cty.List(cty.String), "denied_by": cty.String, "reason": cty.String},
	plan.KindDecision: {"choice": cty.String, "decided_by": cty.String},
	plan.KindTask:     {"done_by": cty.String},
	plan.KindNotify:   {},
	plan.KindWait:     {},
}

// entityAttrs are the attributes of person.*, roster.* and the rest.
var entityAttrs = map[string][]string{
	blockPerson:     {"id", "kind", "name", "slack", "email", "pagerduty"},
	blockRoster:     {"id", "kind", "description", "members", "slack_usergroup"},
	blockZone:       {"id", "kind", "title", "purdue_level", "security_level", "networks"},
	blockConduit:    {"id", "kind", "from", "to", "protocols", "enforcement", "keep_open_on_isolation"},
	blockEscalation: {"id", "kind"},
}

func isStepKind(s string) bool {
	_, ok := stepResults[plan.Kind(s)]
	return ok
}

func ctyTypeOf(t string) cty.Type {
	switch t {
	case actions.String:
		return cty.String
	case actions.Number:
		return cty.Number
	case actions.Bool:
		return cty.Bool
	case actions.ListOfString:
		return cty.List(cty.String)
	case actions.MapOfString:
		return cty.Map(cty.String)
	}
	return cty.DynamicPseudoType
}

func strList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

// entityValues builds the static values of person.*, roster.*, zone.*,
// conduit.* and escalation.* for expression evaluation.
func (c *Config) entityValues() map[string]cty.Value {
	people := map[string]cty.Value{}
	for n, p := range c.People {
		people[n] = cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(n), "kind": cty.StringVal(blockPerson), "name": cty.StringVal(p.DisplayName),
			"slack": cty.StringVal(p.Slack), "email": cty.StringVal(p.Email), "pagerduty": cty.StringVal(p.PD),
		})
	}
	rosters := map[string]cty.Value{}
	for n, r := range c.Rosters {
		var members []string
		for _, m := range r.Members {
			members = append(members, m.Name)
		}
		rosters[n] = cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(n), "kind": cty.StringVal(blockRoster), "description": cty.StringVal(r.Description),
			"members": strList(members), "slack_usergroup": cty.StringVal(r.SlackUsergroup),
		})
	}
	zones := map[string]cty.Value{}
	for n, z := range c.Zones {
		zones[n] = cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(n), "kind": cty.StringVal(blockZone), "title": cty.StringVal(z.Title),
			"purdue_level": cty.NumberFloatVal(z.PurdueLevel), "security_level": cty.NumberIntVal(int64(z.SecurityLevel)),
			"networks": strList(z.Networks),
		})
	}
	conduits := map[string]cty.Value{}
	for n, k := range c.Conduits {
		from, to := "", ""
		if k.From != nil {
			from = k.From.Name
		}
		if k.To != nil {
			to = k.To.Name
		}
		conduits[n] = cty.ObjectVal(map[string]cty.Value{
			"id": cty.StringVal(n), "kind": cty.StringVal(blockConduit), "from": cty.StringVal(from), "to": cty.StringVal(to),
			"protocols": strList(k.Protocols), "enforcement": cty.StringVal(k.Enforcement),
			"keep_open_on_isolation": cty.BoolVal(k.KeepOpenOnIsolation),
		})
	}
	escalations := map[string]cty.Value{}
	for n := range c.Escalations {
		escalations[n] = cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal(n), "kind": cty.StringVal(blockEscalation)})
	}
	return map[string]cty.Value{
		blockPerson: cty.ObjectVal(people), blockRoster: cty.ObjectVal(rosters), blockZone: cty.ObjectVal(zones),
		blockConduit: cty.ObjectVal(conduits), blockEscalation: cty.ObjectVal(escalations),
	}
}

func unknownObject(attrs map[string]cty.Type) cty.Value {
	vals := map[string]cty.Value{}
	for k, t := range attrs {
		vals[k] = cty.UnknownVal(t)
	}
	return cty.ObjectVal(vals)
}
