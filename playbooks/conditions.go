package playbooks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// rootCondition is the reference root of a playbook's named conditions.
const rootCondition = "condition"

// maxConditionText bounds the source text a condition, or a step's
// expression, stands for once every condition it names is written out:
// conditions built from conditions would otherwise double in size with each
// level, and the plan holds them expanded.
const maxConditionText = 64 << 10

// ccond is a named condition being compiled.
type ccond struct {
	decl *Condition
	// refs are the conditions this one refers to, with where.
	refs []condRef
	// broken is set when the condition cannot be used: its own errors are
	// reported once at its declaration, not again at every use.
	broken bool
	// checked is set once its own references and type have been checked.
	checked bool
	used    bool
	// deps are the steps the condition reads, directly or through other
	// conditions; a step that names it waits for them.
	deps map[string]bool
	// size is the length of its source text with every condition it names
	// written out.
	size int
}

type condRef struct {
	name string
	r    hcl.Range
}

// expr returns the condition's expression, or nil when it has none.
func (cc *ccond) expr() hcl.Expression {
	if cc.decl.When == nil {
		return nil
	}
	return cc.decl.When.Expr
}

// conditionNames returns the playbook's condition names, sorted.
func (c *compiler) conditionNames() []string {
	return sortedKeys(c.conds)
}

// checkConditions checks the playbook's named conditions before any step is
// compiled: references, cycles between conditions, and that each is a bool.
// The scope gains condition.NAME, each an unknown bool unless known at
// compile time, so the steps' expressions can be evaluated.
func (c *compiler) checkConditions() {
	c.conds = map[string]*ccond{}
	for _, d := range c.pb.Conditions {
		c.conds[d.Name] = &ccond{decl: d, broken: d.When == nil}
	}
	for _, cc := range c.conds {
		if cc.expr() == nil {
			continue
		}
		for _, t := range cc.expr().Variables() {
			if t.RootName() != rootCondition || len(t) < 2 {
				continue
			}
			if a, ok := t[1].(hcl.TraverseAttr); ok {
				cc.refs = append(cc.refs, condRef{a.Name, t.SourceRange()})
			}
		}
	}
	c.condCycles()
	vals := map[string]cty.Value{}
	for _, name := range c.conditionNames() {
		vals[name] = cty.UnknownVal(cty.Bool)
	}
	c.ctx.Variables[rootCondition] = cty.ObjectVal(vals)
	for _, name := range c.conditionNames() {
		c.checkCondition(name, vals)
	}
}

// condCycles reports each cycle between conditions once, at the declaration
// of its first condition in name order, and marks its members broken.
func (c *compiler) condCycles() {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(name string)
	visit = func(name string) {
		state[name] = onPath
		path = append(path, name)
		for _, ref := range c.conds[name].refs {
			if c.conds[ref.name] == nil {
				continue // reported as unknown when the condition is checked
			}
			switch state[ref.name] {
			case unvisited:
				visit(ref.name)
			case onPath:
				i := len(path) - 1
				for path[i] != ref.name {
					i--
				}
				cycle := append(append([]string{}, path[i:]...), ref.name)
				for _, n := range path[i:] {
					c.conds[n].broken = true
				}
				c.errorf(ref.r, "Cycle between conditions",
					"condition.%s refers back to itself: %s. A condition can use other conditions, but not one that depends on it; write the shared part as its own condition.",
					ref.name, "condition."+strings.Join(cycle, " → condition."))
			}
		}
		path = path[:len(path)-1]
		state[name] = done
	}
	for _, name := range c.conditionNames() {
		if state[name] == unvisited {
			visit(name)
		}
	}
}

// checkCondition checks one condition after those it refers to, and records
// its value in vals and the scope.
func (c *compiler) checkCondition(name string, vals map[string]cty.Value) {
	cc := c.conds[name]
	if cc.checked {
		return
	}
	cc.checked = true
	if cc.broken {
		return
	}
	for _, ref := range cc.refs {
		if c.conds[ref.name] != nil {
			c.checkCondition(ref.name, vals)
		}
	}
	// A stand-in step, so references are checked as in a step's when.
	cs := &cstep{deps: map[string]hcl.Range{}, condition: name}
	cs.out.ID = rootCondition + "." + name
	before := errorCount(c.diags)
	v, ok := c.evaluate(cs, cc.expr(), false)
	if !ok || errorCount(c.diags) > before {
		cc.broken = true
		return
	}
	r := cc.expr().Range()
	cc.deps = map[string]bool{}
	for id := range cs.deps {
		cc.deps[id] = true
	}
	cc.size = len(c.m.sourceText(r))
	for _, ref := range cc.refs {
		if o := c.conds[ref.name]; o != nil {
			for id := range o.deps {
				cc.deps[id] = true
			}
			cc.size += o.size
		}
	}
	if cc.size > maxConditionText {
		c.errorf(r, "Condition too large",
			"condition %s stands for %d bytes of expression once the conditions it names are written out; the limit is %d. Name fewer conditions in it, or the same one fewer times.",
			name, cc.size, maxConditionText)
		cc.broken = true
		return
	}
	if v.Type() != cty.DynamicPseudoType {
		cv, err := strictConvert(v, cty.Bool)
		if err != nil {
			c.errorf(r, "Wrong type", "%s", wrongType("The when of condition "+name, cty.Bool, v))
			cc.broken = true
			return
		}
		v = cv
	}
	if v.IsKnown() && v.IsNull() {
		c.errorf(r, "Null value", "The when of condition %s must not be null.", name)
		cc.broken = true
		return
	}
	if v.IsKnown() {
		vals[name] = v
		c.ctx.Variables[rootCondition] = cty.ObjectVal(vals)
	}
}

// conditionRef checks a reference to a named condition from cs (a step, or
// another condition while conditions are checked). A step that uses a
// condition waits for every step the condition refers to, as if the
// expression were written in its when.
func (c *compiler) conditionRef(cs *cstep, trav hcl.Traversal) bool {
	if len(trav) < 2 {
		c.errorf(trav.SourceRange(), "Incomplete reference", "Refer to a condition by name: condition.NAME.")
		return false
	}
	attr, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		c.errorf(trav.SourceRange(), "Invalid reference", "Refer to a condition by name: condition.NAME.")
		return false
	}
	r := hcl.RangeBetween(trav[0].SourceRange(), trav[1].SourceRange())
	cc := c.conds[attr.Name]
	if cc == nil {
		names := c.conditionNames()
		hint := didYouMean(attr.Name, names)
		if meant := c.conds[suggest(attr.Name, names)]; meant != nil {
			// The typo is the mistake; the condition meant is not unused.
			meant.used = true
		} else if len(names) == 0 {
			hint = fmt.Sprintf(" Declare it in playbook %q: condition %q { when = ... }.", c.pb.Name, attr.Name)
		}
		c.errorf(r, "Reference to undeclared condition", "Playbook %q has no condition named %q.%s Known: %s.",
			c.pb.Name, attr.Name, hint, knownListPrefixed(rootCondition, names))
		return false
	}
	cc.used = true
	if len(trav) > 2 {
		c.errorf(trav[2].SourceRange(), "Unknown attribute", "condition.%s is true or false and has no attributes. Write condition.%s on its own.", attr.Name, attr.Name)
		return false
	}
	if cc.broken {
		return false // reported at the condition
	}
	if cs.condition != "" {
		return true // conditions are checked one by one, in order
	}
	cs.condSize += cc.size
	if cs.condSize > maxConditionText {
		c.errorf(r, "Condition too large",
			"The conditions %s names stand for more than %d bytes of expression once written out. Name fewer conditions, or the same one fewer times.",
			cs.out.ID, maxConditionText)
		return false
	}
	ids := sortedKeys(cc.deps)
	for _, id := range ids {
		if id == cs.out.ID {
			c.errorf(r, "Step refers to itself",
				"%s names condition.%s, which reads %s itself, so it would wait for itself. Use another condition here, or remove the reference from the condition.",
				id, attr.Name, id)
			return false
		}
	}
	// The step waits for these because of the condition: point there.
	for _, id := range ids {
		if _, seen := cs.deps[id]; !seen {
			cs.deps[id] = r
		}
	}
	return true
}

// warnUnusedConditions warns about conditions nothing refers to.
func (c *compiler) warnUnusedConditions() {
	var unused []*ccond
	for _, cc := range c.conds {
		if !cc.used && !cc.broken {
			unused = append(unused, cc)
		}
	}
	sort.Slice(unused, func(i, j int) bool { return unused[i].decl.Name < unused[j].decl.Name })
	for _, cc := range unused {
		c.warnf(cc.decl.DeclRange, "Unused condition",
			"condition %q is declared but nothing in playbook %q refers to condition.%s. Use it in a when or remove it.", cc.decl.Name, c.pb.Name, cc.decl.Name)
	}
}
