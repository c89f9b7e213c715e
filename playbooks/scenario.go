package playbooks

import (
	"fmt"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Scenario is an exercise block decoded into plain values, ready to run.
type Scenario struct {
	// Name is the exercise's name.
	Name string
	// Description is the exercise's description, "" when it has none.
	Description string
	// Playbook is the name of the playbook rehearsed.
	Playbook string
	// Commander is the person ID who starts the incident: the commander
	// attribute, or else the first person the playbook's may_start names.
	Commander string
	// Inputs are the given input values by name, converted to their
	// declared types (defaults are left to the incident).
	Inputs map[string]any
	// Objectives, Injects and Responders are in the order written.
	Objectives []Objective
	Injects    []Inject
	Responders []Responder
}

// Objective is what an exercise measures: Of finished done within Within
// of the start.
type Objective struct {
	Name        string
	Description string
	Within      time.Duration
	// Of is the step ID, e.g. "step.isolate" or "task.call_regulator".
	Of string
}

// Inject is a timed scenario event told to the players, which may also
// set the simulated state of the exercise's twins from its time on.
type Inject struct {
	Name    string
	At      time.Duration
	Message string
	// Registers are its set_register values, in the order written.
	Registers []RegisterValue
	// EDRContains is edr_contains = BOOL: the EDR's answer for every host
	// (nil when not set that way).
	EDRContains *bool
	// EDRHosts is edr_contains = { HOST = BOOL }: the EDR's answer for
	// those hosts, sorted by host.
	EDRHosts []HostContainment
	// Delivery is its fail_delivery; nil when not set.
	Delivery *Delivery
}

// SetsState reports whether the inject sets any simulated state.
func (in Inject) SetsState() bool {
	return len(in.Registers) > 0 || in.EDRContains != nil || len(in.EDRHosts) > 0 || in.Delivery != nil
}

// Responder is how one person behaves in an exercise.
type Responder struct {
	// Person is the person ID.
	Person string
	// Unavailable people never acknowledge or answer.
	Unavailable bool
	// Acknowledges is the delay to acknowledge a page; nil: never.
	Acknowledges *Delay
	Answers      []ScriptedAnswer
}

// ScriptedAnswer is one answers block of a responder.
type ScriptedAnswer struct {
	// Step is the step ID answered, e.g. "approval.isolate_ok".
	Step string
	// With is approve or deny (approvals), an option (decisions) or done
	// (tasks).
	With string
	// After is the delay from the prompt reaching the person; fixed zero
	// when not written.
	After Delay
}

// Scenario decodes the exercise name of a module that checks cleanly
// (Check). Its error says what is wrong and what to write instead.
func (m *Module) Scenario(name string) (*Scenario, error) {
	ex := m.Config.Exercises[name]
	if ex == nil {
		names := sortedKeys(m.Config.Exercises)
		return nil, fmt.Errorf("no exercise named %q.%s Known: %s", name, m.Config.hint(name, names), knownList(names))
	}
	var diags hcl.Diagnostics
	str := func(a *hcl.Attribute) string {
		if a == nil {
			return ""
		}
		if v, ok := evalStatic(&diags, a.Expr, cty.String, a.Name); ok {
			return v.AsString()
		}
		return ""
	}
	ref := func(a *hcl.Attribute, kinds ...string) string {
		r, ds := decodeRef(a.Expr, kinds...)
		diags = append(diags, ds...)
		if r == nil {
			return ""
		}
		return r.addr()
	}
	delay := func(a *hcl.Attribute) *Delay {
		s := str(a)
		d, err := ParseDelay(s)
		if err != nil {
			r := a.Expr.Range()
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid delay", Detail: err.Error() + ".", Subject: &r})
			return nil
		}
		return &d
	}
	sc := &Scenario{Name: ex.Name, Description: str(ex.Attrs["description"]), Inputs: map[string]any{}}
	if a := ex.Attrs["playbook"]; a != nil {
		if r, ds := decodeRef(a.Expr, blockPlaybook); r != nil {
			sc.Playbook = r.Name
		} else {
			diags = append(diags, ds...)
		}
	}
	pb := m.Config.Playbooks[sc.Playbook]
	if pb == nil {
		return nil, fmt.Errorf("exercise %q: its playbook %q is not declared; run firebreak validate", name, sc.Playbook)
	}
	if a := ex.Attrs["commander"]; a != nil {
		if r, ds := decodeRef(a.Expr, blockPerson); r != nil {
			sc.Commander = r.Name
		} else {
			diags = append(diags, ds...)
		}
	} else if pb.MayStart != nil {
		if may := m.mayStartPeople(pb); len(may) > 0 {
			sc.Commander = may[0]
		}
	}
	if sc.Commander == "" && !diags.HasErrors() {
		r := ex.DeclRange
		return nil, fmt.Errorf("%s: exercise %q names no commander and playbook %q has no may_start to take one from; add commander = person.NAME (who starts the incident: exclude_initiator applies to them)",
			fmtRange(r), name, pb.Name)
	}
	if a := ex.Attrs["inputs"]; a != nil {
		declared := map[string]*Input{}
		for _, in := range pb.Inputs {
			declared[in.Name] = in
		}
		pairs, ds := hcl.ExprMap(a.Expr)
		diags = append(diags, ds...)
		for _, kv := range pairs {
			key, _ := objectKey(kv.Key, nil)
			in := declared[key]
			if in == nil {
				return nil, fmt.Errorf("exercise %q: playbook %q has no input %q; run firebreak validate", name, pb.Name, key)
			}
			v, ds := kv.Value.Value(staticCtx)
			diags = append(diags, ds...)
			if ds.HasErrors() {
				continue
			}
			cv, err := convert.Convert(v, in.Type)
			if err != nil {
				return nil, fmt.Errorf("exercise %q: input %q is %s: %v", name, key, in.TypeString, err)
			}
			gv, err := ctyToGo(cv)
			if err != nil {
				return nil, fmt.Errorf("exercise %q: input %q: %v", name, key, err)
			}
			sc.Inputs[key] = gv
		}
	}
	for _, b := range ex.Objectives {
		c, ds := b.Body.Content(objectiveSchema)
		diags = append(diags, ds...)
		if c == nil {
			continue
		}
		o := Objective{Name: b.Labels[0], Description: str(c.Attributes["description"])}
		if a := c.Attributes["within"]; a != nil {
			o.Within = time.Duration(parseDurationAttr(&diags, a).D)
		}
		if a := c.Attributes["of"]; a != nil {
			o.Of = ref(a, plan.StepKindNames()...)
		}
		sc.Objectives = append(sc.Objectives, o)
	}
	for _, b := range ex.Injects {
		c, ds := b.Body.Content(injectSchema)
		diags = append(diags, ds...)
		if c == nil {
			continue
		}
		in := Inject{Name: b.Labels[0], Message: str(c.Attributes["message"])}
		if d, err := time.ParseDuration(str(c.Attributes["at"])); err == nil {
			in.At = d
		}
		st, ds := m.decodeInjectState(c)
		diags = append(diags, ds...)
		in.Registers, in.EDRContains, in.EDRHosts, in.Delivery = st.registers, st.edrAll, st.edrHosts, st.delivery
		sc.Injects = append(sc.Injects, in)
	}
	for _, b := range ex.Responders {
		c, ds := b.Body.Content(responderSchema)
		diags = append(diags, ds...)
		if c == nil {
			continue
		}
		rs := Responder{Person: b.Labels[0]}
		if a := c.Attributes["unavailable"]; a != nil {
			if v, ok := evalStatic(&diags, a.Expr, cty.Bool, a.Name); ok {
				rs.Unavailable = v.True()
			}
		}
		if a := c.Attributes["acknowledges_after"]; a != nil {
			rs.Acknowledges = delay(a)
		}
		for _, ab := range c.Blocks {
			ac, ds := ab.Body.Content(answersSchema)
			diags = append(diags, ds...)
			if ac == nil {
				continue
			}
			sa := ScriptedAnswer{With: str(ac.Attributes["with"]), After: Delay{Dist: "fixed"}}
			for _, k := range []string{"approval", "decision", "task"} {
				if a := ac.Attributes[k]; a != nil {
					sa.Step = ref(a, k)
				}
			}
			if a := ac.Attributes["after"]; a != nil {
				if d := delay(a); d != nil {
					sa.After = *d
				}
			}
			rs.Answers = append(rs.Answers, sa)
		}
		sc.Responders = append(sc.Responders, rs)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("exercise %q does not check: %s; run firebreak validate for the details", name, diags.Error())
	}
	return sc, nil
}

// mayStartPeople expands a playbook's may_start to people, in the order
// it names them.
func (m *Module) mayStartPeople(pb *Playbook) []string {
	var principals []string
	for _, r := range pb.MayStart {
		principals = append(principals, r.addr())
	}
	return m.Config.Directory().Expand(principals)
}
