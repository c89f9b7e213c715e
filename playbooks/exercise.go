package playbooks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var (
	objectiveSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "description"}, {Name: "within", Required: true}, {Name: "of", Required: true},
	}}
	injectSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "at", Required: true}, {Name: "message", Required: true},
		{Name: injectSetRegister}, {Name: injectEDRContains}, {Name: injectFailDelivery},
	}}
	responderSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "acknowledges_after"}, {Name: "unavailable"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "answers"}},
	}
	answersSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "approval"}, {Name: "decision"}, {Name: "task"}, {Name: "with", Required: true}, {Name: "after"},
	}}
)

// checkExercise checks one exercise block against its playbook. plans holds
// the compiled playbooks (nil for one with errors, which are reported with it).
func (m *Module) checkExercise(name string, plans map[string]*plan.Plan) hcl.Diagnostics {
	ex := m.Config.Exercises[name]
	var diags hcl.Diagnostics
	errorf := func(r hcl.Range, summary, format string, args ...any) {
		addDiag(&diags, hcl.DiagError, r, summary, format, args...)
	}
	pa := ex.Attrs["playbook"]
	if pa == nil {
		return diags
	}
	pref, ds := decodeRef(pa.Expr, blockPlaybook)
	diags = append(diags, ds...)
	if pref == nil {
		return diags
	}
	pb := m.Config.Playbooks[pref.Name]
	if pb == nil {
		names := sortedKeys(m.Config.Playbooks)
		errorf(pref.Range, "Reference to undeclared playbook", "No playbook named %q is declared.%s Known: %s.", pref.Name, m.Config.hint(pref.Name, names), knownList(names))
		return diags
	}
	if a := ex.Attrs["commander"]; a != nil {
		if r, ds := decodeRef(a.Expr, blockPerson); r == nil {
			diags = append(diags, ds...)
		} else if m.Config.People[r.Name] == nil {
			names := sortedKeys(m.Config.People)
			errorf(r.Range, "Reference to undeclared person", "The commander is a declared person; there is no person %q.%s Known: %s.", r.Name, m.Config.hint(r.Name, names), knownList(names))
		} else if pb.MayStart != nil {
			if may := m.mayStartPeople(pb); !contains(may, r.Name) {
				errorf(r.Range, "Commander may not start the playbook", "person.%s commands the exercise, but playbook %q may be started only by %s (may_start), so the incident would be refused at once. Name one of them.", r.Name, pb.Name, strings.Join(may, ", "))
			}
		}
	}
	// The compiled plan says who is asked what.
	compiled := plans[pb.Name]
	steps := map[string]*StepBlock{}
	for _, s := range pb.Steps {
		steps[s.addr()] = s
	}
	stepRef := func(a *hcl.Attribute, kinds ...string) *StepBlock {
		r, ds := decodeRef(a.Expr, kinds...)
		diags = append(diags, ds...)
		if r == nil {
			return nil
		}
		s := steps[r.addr()]
		if s == nil {
			var known []string
			for _, st := range pb.Steps {
				if contains(kinds, string(st.Kind)) {
					known = append(known, st.addr())
				}
			}
			errorf(r.Range, "Reference to undeclared step", "Playbook %q has no %s.%s Known: %s.", pb.Name, r.addr(), m.Config.hint(r.addr(), known), knownList(known))
		}
		return s
	}

	// Inputs: every key declared, every required input given, types match.
	given := map[string]bool{}
	if a := ex.Attrs["inputs"]; a != nil {
		pairs, ds := hcl.ExprMap(a.Expr)
		if ds.HasErrors() {
			errorf(a.Expr.Range(), "Invalid inputs", "inputs is an object of the playbook's inputs, such as { zone = \"plant3_control\" }.")
		}
		declared := map[string]*Input{}
		for _, in := range pb.Inputs {
			declared[in.Name] = in
		}
		for _, kv := range pairs {
			key, _ := objectKey(kv.Key, nil)
			in := declared[key]
			if in == nil {
				names := sortedKeys(declared)
				errorf(kv.Key.Range(), "Unknown input", "Playbook %q has no input %q.%s Known: %s.", pb.Name, key, m.Config.hint(key, names), knownList(names))
				continue
			}
			given[key] = true
			v, ds := kv.Value.Value(staticCtx)
			diags = append(diags, ds...)
			if ds.HasErrors() {
				continue
			}
			if _, err := convert.Convert(v, in.Type); err != nil {
				errorf(kv.Value.Range(), "Wrong input type", "Input %q is %s: %s.", key, in.TypeString, err)
			}
		}
	}
	for _, in := range pb.Inputs {
		if in.Default == nil && !given[in.Name] {
			r := ex.DeclRange
			if a := ex.Attrs["inputs"]; a != nil {
				r = a.Expr.Range()
			}
			errorf(r, "Missing input", "Playbook %q needs input %q (%s); add it to inputs.", pb.Name, in.Name, in.TypeString)
		}
	}

	for _, b := range ex.Objectives {
		c, ds := b.Body.Content(objectiveSchema)
		diags = append(diags, ds...)
		if c == nil {
			continue
		}
		if a := c.Attributes["within"]; a != nil {
			parseDurationAttr(&diags, a)
		}
		if a := c.Attributes["of"]; a != nil {
			stepRef(a, plan.StepKindNames()...)
		}
	}
	for _, b := range ex.Injects {
		c, ds := b.Body.Content(injectSchema)
		diags = append(diags, ds...)
		if c == nil {
			continue
		}
		if a := c.Attributes["at"]; a != nil {
			if v, ok := evalStatic(&diags, a.Expr, cty.String, "at"); ok {
				if d, err := time.ParseDuration(v.AsString()); err != nil || d < 0 {
					errorf(a.Expr.Range(), "Invalid duration", "at is the time since the exercise started, such as \"0m\" or \"12m\"; got %q. %s%s", v.AsString(), durationUnits, durationHint(v.AsString()))
				}
			}
		}
		if a := c.Attributes["message"]; a != nil {
			evalStatic(&diags, a.Expr, cty.String, "message")
		}
		st, ds := m.decodeInjectState(c)
		diags = append(diags, ds...)
		m.checkRegistersRead(pb, st, &diags)
	}
	for _, b := range ex.Responders {
		who := b.Labels[0]
		if m.Config.People[who] == nil {
			names := sortedKeys(m.Config.People)
			errorf(b.LabelRanges[0], "Reference to undeclared person", "A responder is a declared person; there is no person %q.%s Known: %s.", who, m.Config.hint(who, names), knownList(names))
		}
		c, ds := b.Body.Content(responderSchema)
		diags = append(diags, ds...)
		if c == nil {
			continue
		}
		unavailable := false
		if a := c.Attributes["unavailable"]; a != nil {
			if v, ok := evalStatic(&diags, a.Expr, cty.Bool, "unavailable"); ok {
				unavailable = v.True()
			}
		}
		if a := c.Attributes["acknowledges_after"]; a != nil {
			delayAttr(&diags, a)
		}
		if unavailable && (len(c.Blocks) > 0 || c.Attributes["acknowledges_after"] != nil) {
			errorf(b.DefRange, "Unavailable responder answers", "responder %q is unavailable = true, so it cannot also acknowledge or answer. Remove one or the other.", who)
		}
		for _, ab := range c.Blocks {
			ac, ds := ab.Body.Content(answersSchema)
			diags = append(diags, ds...)
			if ac == nil {
				continue
			}
			var set []*hcl.Attribute
			for _, k := range []string{"approval", "decision", "task"} {
				if a := ac.Attributes[k]; a != nil {
					set = append(set, a)
				}
			}
			if len(set) != 1 {
				errorf(ab.DefRange, "Answer needs exactly one target", "An answers block names exactly one of approval, decision or task; this one names %d.", len(set))
				continue
			}
			target := stepRef(set[0], set[0].Name)
			if a := ac.Attributes["after"]; a != nil {
				delayAttr(&diags, a)
			}
			if target != nil && compiled != nil && m.Config.People[who] != nil {
				dir := m.Config.Directory()
				if asked := rules.AskedPrincipals(compiled.StepByID(target.addr())); !contains(dir.Expand(asked), who) && !dir.FromUsergroup(asked) {
					r := set[0].Expr.Range()
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Responder is not asked",
						Detail: fmt.Sprintf("person.%s answers %s, but only %s are asked, so the answer will be refused as unauthorised. If that is the point of the exercise, ignore this.",
							who, target.addr(), strings.Join(asked, ", ")),
						Subject: &r})
				}
			}
			wa := ac.Attributes["with"]
			if target == nil || wa == nil {
				continue
			}
			v, ok := evalStatic(&diags, wa.Expr, cty.String, "with")
			if !ok {
				continue
			}
			answer := v.AsString()
			var allowed []string
			if compiled != nil {
				allowed = rules.AllowedAnswers(compiled.StepByID(target.addr()))
			}
			if allowed != nil && !contains(allowed, answer) {
				errorf(wa.Expr.Range(), "Invalid answer", "%s can be answered with %s; got %q.%s", target.addr(), strings.Join(quoteAll(allowed), ", "), answer, m.Config.hint(answer, allowed))
			}
		}
	}
	return diags
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

var distRe = regexp.MustCompile(`^\s*(uniform|lognormal|exponential)\s*\(([^)]*)\)\s*$`)

// Delay is a responder delay: fixed, or drawn from a distribution.
type Delay struct {
	// Dist is "fixed", "uniform", "lognormal" or "exponential".
	Dist string
	// A and B are the parameters: fixed A; uniform A..B; lognormal median A
	// and sigma B (B in units, not a duration); exponential mean A.
	A, B float64
}

// ParseDelay reads "3m", "uniform(1m,8m)", "lognormal(4m,0.5)" or "exponential(5m)".
// Durations come back in seconds.
func ParseDelay(s string) (Delay, error) {
	m := distRe.FindStringSubmatch(s)
	if m == nil {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			return Delay{}, fmt.Errorf("%q is neither a duration (\"3m\"; units h, m, s, also ms, us, ns) nor a distribution (\"uniform(1m,8m)\", \"lognormal(4m,0.5)\", \"exponential(5m)\")", s)
		}
		return Delay{Dist: "fixed", A: d.Seconds()}, nil
	}
	args := strings.Split(m[2], ",")
	for i := range args {
		args[i] = strings.TrimSpace(args[i])
	}
	dur := func(x string) (float64, error) {
		d, err := time.ParseDuration(x)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%q in %s is not a duration such as \"4m\" (units h, m, s, also ms, us, ns)", x, s)
		}
		return d.Seconds(), nil
	}
	switch m[1] {
	case "uniform":
		if len(args) != 2 {
			return Delay{}, fmt.Errorf("uniform takes two durations, the least and the most: uniform(1m,8m)")
		}
		a, err := dur(args[0])
		if err != nil {
			return Delay{}, err
		}
		b, err := dur(args[1])
		if err != nil {
			return Delay{}, err
		}
		if b < a {
			return Delay{}, fmt.Errorf("uniform(%s,%s): the first bound must not exceed the second", args[0], args[1])
		}
		return Delay{Dist: "uniform", A: a, B: b}, nil
	case "lognormal":
		if len(args) != 2 {
			return Delay{}, fmt.Errorf("lognormal takes a median duration and a spread: lognormal(4m,0.5)")
		}
		a, err := dur(args[0])
		if err != nil {
			return Delay{}, err
		}
		sigma, err := strconv.ParseFloat(args[1], 64)
		if err != nil || sigma <= 0 || sigma > 5 {
			return Delay{}, fmt.Errorf("the spread of lognormal must be a number above 0 and at most 5, such as 0.5; got %q", args[1])
		}
		return Delay{Dist: "lognormal", A: a, B: sigma}, nil
	default:
		if len(args) != 1 {
			return Delay{}, fmt.Errorf("exponential takes one duration, the mean: exponential(5m)")
		}
		a, err := dur(args[0])
		if err != nil {
			return Delay{}, err
		}
		return Delay{Dist: "exponential", A: a}, nil
	}
}

func delayAttr(diags *hcl.Diagnostics, a *hcl.Attribute) {
	v, ok := evalStatic(diags, a.Expr, cty.String, a.Name)
	if !ok {
		return
	}
	if _, err := ParseDelay(v.AsString()); err != nil {
		r := a.Expr.Range()
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid delay", Detail: err.Error() + ".", Subject: &r})
	}
}
