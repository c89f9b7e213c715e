package playbooks

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Check compiles every playbook and exercise in the module and returns all
// diagnostics: the configuration's own, then each playbook's in name order.
func (m *Module) Check(reg actions.Registry) hcl.Diagnostics {
	diags := m.checkConfig()
	plans := map[string]*plan.Plan{}
	for _, name := range sortedKeys(m.Config.Playbooks) {
		p, d := m.compilePlaybook(name, reg)
		plans[name] = p
		diags = append(diags, d...)
	}
	for _, name := range sortedKeys(m.Config.Exercises) {
		diags = append(diags, m.checkExercise(name, plans)...)
	}
	sortDiagnostics(diags)
	m.Config.explainWrongKinds(diags)
	MarkSecretLines(diags, m.Files)
	return diags
}

// sortDiagnostics orders diagnostics by file and position, so they read top
// to bottom; those without a location come first.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
}

// PlaybookNames returns the names of the module's playbooks, sorted.
func (m *Module) PlaybookNames() []string { return sortedKeys(m.Config.Playbooks) }

// Compile checks the module and compiles one playbook into a plan. The plan is
// nil when there are errors.
func (m *Module) Compile(playbook string, reg actions.Registry) (*plan.Plan, hcl.Diagnostics) {
	diags := m.checkConfig()
	if _, ok := m.Config.Playbooks[playbook]; !ok {
		names := sortedKeys(m.Config.Playbooks)
		hint := m.Config.hint(playbook, names)
		if strings.ContainsAny(playbook, `/\`) || strings.HasSuffix(playbook, ".hcl") || strings.HasSuffix(playbook, ".json") {
			// A file path where the name belongs.
			base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(playbook), ".json"), ".hcl")
			hint = " Name a playbook by the label of its playbook block, not by a file (files are loaded together as a directory)."
			if _, ok := m.Config.Playbooks[base]; ok {
				hint += fmt.Sprintf(" Did you mean %q?", base)
			}
		}
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown playbook",
			Detail:   fmt.Sprintf("There is no playbook %q.%s Known: %s.", playbook, hint, knownList(names)),
		})
	}
	p, d := m.compilePlaybook(playbook, reg)
	diags = append(diags, d...)
	sortDiagnostics(diags)
	m.Config.explainWrongKinds(diags)
	MarkSecretLines(diags, m.Files)
	if diags.HasErrors() {
		return nil, diags
	}
	return p, diags
}

// compiler compiles one playbook.
type compiler struct {
	m     *Module
	cfg   *Config
	reg   actions.Registry
	pb    *Playbook
	diags hcl.Diagnostics

	steps      map[string]*cstep
	order      []*cstep
	ctx        *hcl.EvalContext
	inputs     map[string]*Input
	usedInputs map[string]bool
	uses       map[string]bool
	// mayStart are the checked may_start principals.
	mayStart []string

	// conds are the playbook's named conditions; see checkConditions.
	conds map[string]*ccond

	// comparisons counts the comparisons checkComparisons has looked at.
	comparisons int

	// namesByKind and idsByName index the playbook's blocks for
	// diagnostics; see stepNamesOf.
	namesByKind map[string][]string
	idsByName   map[string][]string
}

// cstep is a step being compiled.
type cstep struct {
	blk  *StepBlock
	out  plan.Step
	spec *actions.Spec
	// deps are the steps this one waits for, with where each was named.
	deps map[string]hcl.Range
	// whenKey identifies the step's condition for the safety check.
	whenKey string
	// hadErrors is set when compiling the step reported an error.
	hadErrors bool
	// condition names the condition this stand-in step checks; empty for
	// the playbook's own steps.
	condition string
	// condSize is the expression text the conditions it names stand for;
	// see maxConditionText.
	condSize int
	// forRefs and distinctRefs are an approval's for and distinct_from
	// entries, checked once every step is compiled (ownSignoffs).
	forRefs, distinctRefs []Ref
	// listRefs are the entries of a list(zone) or list(conduit) argument
	// (from and except), by argument name, for the safety check.
	listRefs map[string][]Ref
}

func (c *compiler) errorf(r hcl.Range, summary, format string, args ...any) {
	addDiag(&c.diags, hcl.DiagError, r, summary, format, args...)
}

func (c *compiler) warnf(r hcl.Range, summary, format string, args ...any) {
	addDiag(&c.diags, hcl.DiagWarning, r, summary, format, args...)
}

func (m *Module) compilePlaybook(name string, reg actions.Registry) (*plan.Plan, hcl.Diagnostics) {
	pb := m.Config.Playbooks[name]
	c := &compiler{
		m: m, cfg: m.Config, reg: reg, pb: pb,
		steps: map[string]*cstep{}, inputs: map[string]*Input{},
		usedInputs: map[string]bool{}, uses: map[string]bool{},
	}
	for _, in := range pb.Inputs {
		c.inputs[in.Name] = in
	}
	for _, sb := range pb.Steps {
		cs := &cstep{blk: sb, deps: map[string]hcl.Range{}}
		cs.out = plan.Step{ID: sb.addr(), Kind: sb.Kind, Name: sb.Name, Range: toRange(sb.DeclRange)}
		c.steps[cs.out.ID] = cs
		c.order = append(c.order, cs)
	}
	if len(c.order) == 0 {
		c.errorf(pb.DeclRange, "Empty playbook", "playbook %q has no steps. Add a step, page, approval, decision, task, notify or wait block.", pb.Name)
	}
	c.ctx = c.evalContext()
	c.checkConditions()
	c.mayStart = c.checkMayStart()
	for _, cs := range c.order {
		before := errorCount(c.diags)
		c.compileStep(cs)
		cs.hadErrors = errorCount(c.diags) > before
	}
	for _, in := range pb.Inputs {
		if !c.usedInputs[in.Name] {
			c.warnf(in.DeclRange, "Unused input", "input %q is declared but nothing in playbook %q refers to input.%s. Use it or remove it.", in.Name, pb.Name, in.Name)
		}
	}
	c.warnUnusedConditions()
	sorted := c.sortSteps()
	if sorted != nil {
		c.safetyCheck()
	}
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	return c.assemble(sorted), c.diags
}

// evalContext builds the playbook's evaluation scope: static objects are known,
// everything only known at run time is an unknown value of the right type.
func (c *compiler) evalContext() *hcl.EvalContext {
	vars := c.m.entities()
	inputs := map[string]cty.Value{}
	for n, in := range c.inputs {
		inputs[n] = cty.UnknownVal(in.Type)
	}
	vars[rootInput] = cty.ObjectVal(inputs)
	vars[rootIncident] = unknownObject(incidentAttrs)
	byKind := map[plan.Kind]map[string]cty.Value{}
	for _, k := range plan.StepKinds {
		byKind[k] = map[string]cty.Value{}
	}
	for _, cs := range c.order {
		attrs := map[string]cty.Type{}
		for k, t := range commonStepResults {
			attrs[k] = t
		}
		for k, t := range stepResults[cs.blk.Kind] {
			attrs[k] = t
		}
		if cs.blk.Kind == plan.KindStep {
			attrs["output"] = c.outputType(cs)
		}
		byKind[cs.blk.Kind][cs.blk.Name] = unknownObject(attrs)
	}
	for k, v := range byKind {
		vars[string(k)] = cty.ObjectVal(v)
	}
	return &hcl.EvalContext{Variables: vars, Functions: Functions()}
}

func (c *compiler) outputType(cs *cstep) cty.Type {
	spec := c.actionSpec(cs, false)
	if spec == nil {
		return cty.DynamicPseudoType
	}
	attrs := map[string]cty.Type{}
	for _, f := range spec.Output {
		attrs[f.Name] = ctyTypeOf(f.Type)
	}
	return cty.Object(attrs)
}

// entities returns the static reference values, computed once per module.
// The returned map is a fresh copy the caller may add to.
func (m *Module) entities() map[string]cty.Value {
	if m.entityVals == nil {
		m.entityVals = m.Config.entityValues()
	}
	vars := make(map[string]cty.Value, len(m.entityVals)+len(plan.StepKinds)+2)
	for k, v := range m.entityVals {
		vars[k] = v
	}
	return vars
}

// actionSpec resolves a step's action, reporting an unknown one when report is set.
func (c *compiler) actionSpec(cs *cstep, report bool) *actions.Spec {
	if cs.spec != nil {
		return cs.spec
	}
	a := cs.blk.Attrs["action"]
	if a == nil {
		return nil
	}
	var ds hcl.Diagnostics
	v, ok := evalStatic(&ds, a.Expr, cty.String, "action")
	if !ok {
		if report {
			c.diags = append(c.diags, ds...)
		}
		return nil
	}
	name := v.AsString()
	spec, found := c.reg.Lookup(name)
	if !found {
		if report {
			c.errorf(a.Expr.Range(), "Unknown action",
				"There is no action %q.%s Run `firebreak actions` to list them. Known: %s.", name, didYouMean(name, c.reg.Names()), knownList(c.reg.Names()))
		}
		return nil
	}
	cs.spec = &spec
	return cs.spec
}

func errorCount(diags hcl.Diagnostics) int {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}

func toRange(r hcl.Range) plan.Range {
	return plan.Range{Filename: r.Filename, Line: r.Start.Line, Column: r.Start.Column}
}

// compileStep compiles one step block into cs.out.
func (c *compiler) compileStep(cs *cstep) {
	attrs := cs.blk.Attrs
	cs.out.Description = c.staticString(attrs["description"])
	if a := attrs["needs"]; a != nil {
		c.needs(cs, a)
	}
	if a := attrs["when"]; a != nil {
		cs.out.When = c.runtime(cs, a.Expr, cty.Bool, "when")
		if v, ok := cs.out.When.IsLiteral(); ok && v == true {
			cs.out.When = nil // always true: no condition
		} else if cs.out.When != nil {
			if cs.out.When.Source == "" {
				r := toRange(a.Expr.Range())
				cs.out.When.Source, cs.out.When.Range = c.m.sourceText(a.Expr.Range()), &r
			}
			cs.whenKey = exprKey(cs.out.When)
		}
	}
	switch cs.blk.Kind {
	case plan.KindStep:
		c.compileAction(cs)
	case plan.KindPage:
		c.compilePage(cs)
	case plan.KindApproval:
		c.compileApproval(cs)
	case plan.KindDecision:
		c.compileDecision(cs)
	case plan.KindTask:
		c.compileTask(cs)
	case plan.KindNotify:
		c.compileNotify(cs)
	case plan.KindWait:
		cs.out.Wait = &plan.WaitStep{Duration: c.durationAttr(attrs["duration"])}
	}
}

// needs decodes an explicit needs list. Like every attribute that takes a
// list of references, it also takes one bare reference: needs = step.x is
// needs = [step.x].
func (c *compiler) needs(cs *cstep, a *hcl.Attribute) {
	var elems []hcl.Expression
	var diags hcl.Diagnostics
	if _, isRef := refTraversal(a.Expr); isRef {
		elems = []hcl.Expression{a.Expr}
	} else {
		elems, diags = hcl.ExprList(a.Expr)
	}
	if diags.HasErrors() {
		if isJSONExpr(a.Expr) {
			c.errorf(a.Expr.Range(), "Invalid needs", `needs is a list of step references, such as ["step.open_room", "${approval.isolate_ok}"].`)
		} else {
			c.errorf(a.Expr.Range(), "Invalid needs", "needs is a list of step references, such as [step.open_room, approval.isolate_ok].")
		}
		return
	}
	for _, e := range elems {
		trav, ok := refTraversal(e)
		if !ok || len(trav) != 2 || !isStepKind(trav.RootName()) {
			example, known := refHint(e, "step.open_room"), ""
			if ids := c.stepIDs(cs); len(ids) > 0 {
				example, known = refHint(e, ids[0]), " Known: "+knownList(ids)+"."
			}
			what := ""
			if ok && len(trav) == 2 && c.cfg.has(trav.RootName(), traversalName(trav)) {
				what = fmt.Sprintf("%s.%s is %s %s, not a step. ", trav.RootName(), traversalName(trav), article(trav.RootName()), trav.RootName())
			}
			c.errorf(e.Range(), "Invalid needs entry", "%sEach entry of needs is a step of this playbook, such as %s.%s", what, example, known)
			continue
		}
		c.stepRef(cs, trav, true)
	}
}

// stepRef resolves a reference to another step of the playbook and records the
// dependency. It returns the referenced step or nil.
func (c *compiler) stepRef(cs *cstep, trav hcl.Traversal, explicit bool) *cstep {
	kind := trav.RootName()
	if len(trav) < 2 {
		c.errorf(trav.SourceRange(), "Incomplete reference", "%s must be followed by a name, as in %s.NAME.", kind, kind)
		return nil
	}
	attr, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		c.errorf(trav.SourceRange(), "Invalid reference", "Refer to steps by name: %s.NAME.", kind)
		return nil
	}
	addr := kind + "." + attr.Name
	target := c.steps[addr]
	r := hcl.RangeBetween(trav[0].SourceRange(), trav[1].SourceRange())
	if target == nil {
		same, other := c.stepNamesOf(kind), c.stepIDsNamed(attr.Name)
		hint := ""
		if len(other) > 0 {
			hint = fmt.Sprintf(" There is %s; did you mean that?", strings.Join(other, " and "))
		} else if c.cfg.index == nil || c.cfg.index.hintsUsed.Add(int64(len(same))) <= hintBudget {
			if s := suggest(attr.Name, same); s != "" {
				hint = fmt.Sprintf(" Did you mean %q?", kind+"."+s)
			}
		}
		c.errorf(r, "Reference to undeclared "+kind,
			"Playbook %q has no %s block named %q.%s Known %s blocks: %s.", c.pb.Name, kind, attr.Name, hint, kind, knownListPrefixed(kind, same))
		return nil
	}
	if target == cs {
		c.errorf(r, "Step refers to itself", "%s cannot depend on itself. Remove the reference.", addr)
		return nil
	}
	if _, seen := cs.deps[addr]; !seen || explicit {
		cs.deps[addr] = r
	}
	return target
}

// stepNamesOf returns the names of the playbook's blocks of one kind (step,
// approval, ...), in order; computed once per compile, for diagnostics.
func (c *compiler) stepNamesOf(kind string) []string {
	if c.namesByKind == nil {
		c.namesByKind = map[string][]string{}
		c.idsByName = map[string][]string{}
		for _, s := range c.order {
			k := string(s.blk.Kind)
			c.namesByKind[k] = append(c.namesByKind[k], s.blk.Name)
			c.idsByName[s.blk.Name] = append(c.idsByName[s.blk.Name], s.out.ID)
		}
	}
	return c.namesByKind[kind]
}

// stepIDs returns the IDs of the playbook's blocks other than cs, in order.
func (c *compiler) stepIDs(cs *cstep) []string {
	var out []string
	for _, s := range c.order {
		if s != cs {
			out = append(out, s.out.ID)
		}
	}
	return out
}

// traversalName returns the NAME of a kind.NAME traversal, or "".
func traversalName(t hcl.Traversal) string {
	if len(t) < 2 {
		return ""
	}
	if a, ok := t[1].(hcl.TraverseAttr); ok {
		return a.Name
	}
	return ""
}

// stepIDsNamed returns the IDs (kind.name) of the playbook's blocks with one
// name, in order.
func (c *compiler) stepIDsNamed(name string) []string {
	c.stepNamesOf("")
	return c.idsByName[name]
}

// checkRefs validates every reference in an expression, records step
// dependencies and input use, and reports whether all references are valid.
func (c *compiler) checkRefs(cs *cstep, expr hcl.Expression, allowEach bool) bool {
	ok := true
	for _, trav := range expr.Variables() {
		if !c.checkRef(cs, trav, allowEach) {
			ok = false
		}
	}
	return ok
}

func (c *compiler) checkRef(cs *cstep, trav hcl.Traversal, allowEach bool) bool {
	root := trav.RootName()
	attrAt := func(i int) (string, hcl.Range, bool) {
		if len(trav) <= i {
			return "", hcl.Range{}, false
		}
		a, ok := trav[i].(hcl.TraverseAttr)
		if !ok {
			return "", hcl.Range{}, false
		}
		return a.Name, trav[i].SourceRange(), true
	}
	switch {
	case isStepKind(root):
		target := c.stepRef(cs, trav, false)
		if target == nil {
			return false
		}
		name, r, ok := attrAt(2)
		if !ok {
			return true
		}
		known := map[string]bool{}
		for k := range commonStepResults {
			known[k] = true
		}
		for k := range stepResults[plan.Kind(root)] {
			known[k] = true
		}
		if !known[name] {
			names := sortedKeys(known)
			c.errorf(r, "Unknown attribute", "%s has no attribute %q.%s Known: %s.", target.out.ID, name, didYouMean(name, names), strings.Join(names, ", "))
			return false
		}
		if name == "output" {
			field, fr, ok := attrAt(3)
			if !ok {
				return true
			}
			if target.blk.Attrs["for_each"] != nil {
				c.errorf(fr, "Output of a for_each step", "%s runs once per item, so it has no single output.%s. Refer to its status or finished_at instead.", target.out.ID, field)
				return false
			}
			spec := c.actionSpec(target, false)
			if spec == nil {
				return true
			}
			if _, ok := spec.OutputField(field); !ok {
				var names []string
				for _, f := range spec.Output {
					names = append(names, f.Name)
				}
				c.errorf(fr, "Unknown output field", "Action %s has no output %q.%s Known: %s.", spec.Name, field, didYouMean(field, names), knownList(names))
				return false
			}
		}
		return true
	case root == rootCondition:
		return c.conditionRef(cs, trav)
	case root == rootInput:
		name, r, ok := attrAt(1)
		if !ok {
			c.errorf(trav.SourceRange(), "Incomplete reference", "Refer to an input by name: input.NAME.")
			return false
		}
		if c.inputs[name] == nil {
			r = hcl.RangeBetween(trav[0].SourceRange(), r)
			names := sortedKeys(c.inputs)
			c.errorf(r, "Unknown input", "Playbook %q declares no input %q.%s Declare it with an input %q block. Known: %s.",
				c.pb.Name, name, c.cfg.hint(name, names), name, knownList(names))
			return false
		}
		c.usedInputs[name] = true
		return true
	case root == rootIncident:
		name, r, ok := attrAt(1)
		if !ok {
			c.errorf(trav.SourceRange(), "Incomplete reference", "Refer to an incident attribute: incident.id, incident.commander, ...")
			return false
		}
		if _, known := incidentAttrs[name]; !known {
			names := sortedKeys(incidentAttrs)
			c.errorf(r, "Unknown incident attribute", "incident has no attribute %q.%s Known: %s.", name, didYouMean(name, names), strings.Join(names, ", "))
			return false
		}
		return true
	case root == rootEach:
		if !allowEach {
			c.errorf(trav.SourceRange(), "each outside for_each", "each.key and each.value exist only in the with arguments of a step with for_each, not in its for_each or when, nor in other blocks.")
			return false
		}
		name, r, ok := attrAt(1)
		if !ok || (name != "key" && name != "value") {
			if !ok {
				r = trav.SourceRange()
			}
			c.errorf(r, "Unknown each attribute", "Use each.key or each.value.")
			return false
		}
		return true
	case entityAttrs[root] != nil:
		name, r, ok := attrAt(1)
		if !ok {
			c.errorf(trav.SourceRange(), "Incomplete reference", "Refer to a %s by name: %s.NAME.", root, root)
			return false
		}
		if !c.cfg.has(root, name) {
			names := c.cfg.names(root)
			r = hcl.RangeBetween(trav[0].SourceRange(), r)
			c.errorf(r, "Reference to undeclared "+root, "No %s named %q is declared.%s Known: %s.", root, name, c.cfg.hint(name, names), knownList(names))
			return false
		}
		c.uses[root+"."+name] = true
		if field, fr, ok := attrAt(2); ok && !contains(entityAttrs[root], field) {
			c.errorf(fr, "Unknown attribute", "A %s has no attribute %q.%s Known: %s.", root, field, didYouMean(field, entityAttrs[root]), strings.Join(entityAttrs[root], ", "))
			return false
		}
		return true
	}
	roots := append([]string{rootInput, rootIncident, rootEach, rootCondition}, plan.StepKindNames()...)
	roots = append(roots, sortedKeys(entityAttrs)...)
	sort.Strings(roots)
	hint := didYouMean(root, roots)
	if root == "var" || root == "inputs" {
		hint = " Playbook inputs are referenced as input.NAME."
	}
	if root == "local" || root == "locals" || root == "conditions" {
		hint = " A playbook names a condition in a condition block, condition \"NAME\" { when = ... }, and refers to it as condition.NAME; playbook inputs are input.NAME."
	}
	c.errorf(trav.SourceRange(), "Unknown name", "%q is not something a playbook can refer to.%s Known: %s.", root, hint, strings.Join(roots, ", "))
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// evaluate checks references and evaluates an expression in the playbook's
// scope (run-time values unknown). ok is false when it cannot be used.
func (c *compiler) evaluate(cs *cstep, expr hcl.Expression, allowEach bool) (cty.Value, bool) {
	if !c.checkRefs(cs, expr, allowEach) {
		return cty.NilVal, false
	}
	ctx := c.ctx
	if allowEach {
		ctx = ctx.NewChild()
		ctx.Variables = map[string]cty.Value{rootEach: cty.ObjectVal(map[string]cty.Value{
			"key": cty.UnknownVal(cty.DynamicPseudoType), "value": cty.UnknownVal(cty.DynamicPseudoType),
		})}
	}
	v, diags := expr.Value(ctx)
	c.diags = append(c.diags, explainDiags(diags)...)
	if diags.HasErrors() {
		return v, false
	}
	c.checkComparisons(expr, ctx)
	return v, true
}

// runtime compiles an expression that may depend on run-time values, checking
// that it can produce the wanted type.
func (c *compiler) runtime(cs *cstep, expr hcl.Expression, want cty.Type, what string) *plan.Expr {
	// each.* exists per item; for_each and when are evaluated once per step.
	allowEach := cs.blk.Attrs["for_each"] != nil && what != "for_each" && what != "when"
	v, ok := c.evaluate(cs, expr, allowEach)
	if !ok {
		return nil
	}
	if want != cty.DynamicPseudoType {
		if v.Type() != cty.DynamicPseudoType {
			cv, err := strictConvert(v, want)
			if err != nil {
				detail := wrongType(what, want, v)
				if errors.Is(err, errRuntimeString) {
					detail = fmt.Sprintf("%s must be %s: %s.", what, typeName(want), err)
				}
				c.errorf(expr.Range(), "Wrong type", "%s", detail)
				return nil
			}
			v = cv
		}
		if v.IsKnown() && v.IsNull() {
			c.errorf(expr.Range(), "Null value", "%s must not be null.", what)
			return nil
		}
	}
	e := c.toExpr(expr, v)
	c.warnCredential(expr.Range(), fmt.Sprintf("The %s of %s", what, cs.out.ID), e)
	return e
}

// warnCredential warns about a URL carrying a credential written into a
// playbook, where env() cannot be used: the place for it is an integration.
func (c *compiler) warnCredential(r hcl.Range, where string, e *plan.Expr) {
	if why := exprCredential(e); why != "" {
		c.diags = append(c.diags, credentialWarning(r, where, why, ", and the plan carries it into every incident's history",
			"Configure the service as an integration whose URL is read from the environment when the worker starts (url = env(\"NAME\")), and name the integration here."))
	}
}

// toExpr turns an evaluated expression into its plan form: a literal when the
// value is already known, otherwise the run-time expression tree.
func (c *compiler) toExpr(expr hcl.Expression, v cty.Value) *plan.Expr {
	if v.IsWhollyKnown() {
		gv, err := ctyToGo(v)
		if err != nil {
			c.errorf(expr.Range(), "Unsupported value", "%s", err)
			return nil
		}
		return plan.Lit(gv)
	}
	e, diags := c.m.runtimeExpr(expr, c.ctx, c.conds)
	c.diags = append(c.diags, diags...)
	if diags.HasErrors() {
		return nil
	}
	return e
}

func (c *compiler) staticString(a *hcl.Attribute) string {
	if a == nil {
		return ""
	}
	v, ok := evalStatic(&c.diags, a.Expr, cty.String, a.Name)
	if !ok {
		return ""
	}
	return v.AsString()
}

func (c *compiler) durationAttr(a *hcl.Attribute) plan.Duration {
	if a == nil {
		return 0
	}
	return plan.Duration(parseDurationAttr(&c.diags, a).D)
}

// principals decodes a list of person and roster references into addresses.
func (c *compiler) principals(a *hcl.Attribute) []string {
	if a == nil {
		return nil
	}
	refs, diags := decodeRefs(a.Expr, blockPerson, blockRoster)
	c.diags = append(c.diags, diags...)
	var out []string
	for _, r := range refs {
		if c.entityExists(r) {
			out = append(out, r.addr())
		}
	}
	if len(refs) == 0 && !diags.HasErrors() {
		c.errorf(a.Expr.Range(), "Nobody named", "%s must name at least one person or roster.", a.Name)
	}
	return out
}

// checkMayStart checks the playbook's may_start and returns its principals.
// They are recorded as used, so the plan carries the people and rosters
// whoever starts an incident is checked against.
func (c *compiler) checkMayStart() []string {
	pb := c.pb
	if pb.MayStart == nil {
		return nil
	}
	if len(pb.MayStart) == 0 {
		c.errorf(pb.MayStartRange, "Nobody may start the playbook",
			"may_start of playbook %q is empty. List who may start it, such as [roster.soc_oncall, person.carol], or remove the attribute so that any declared person may.", pb.Name)
		return nil
	}
	out := []string{}
	seen := map[string]bool{}
	for _, r := range pb.MayStart {
		if !c.entityExists(r) || seen[r.addr()] {
			continue
		}
		seen[r.addr()] = true
		if x := c.cfg.Rosters[r.Name]; r.Kind == blockRoster && x != nil && len(x.Members) == 0 {
			c.errorf(r.Range, "Roster without members in may_start",
				"roster.%s takes its members from a Slack user group, which is known only while an incident runs, so who may start playbook %q cannot be checked. List its people in members, or name people here.", r.Name, pb.Name)
			continue
		}
		out = append(out, r.addr())
	}
	return out
}

// entityExists reports (and records the use of) a static reference.
func (c *compiler) entityExists(r Ref) bool {
	if !c.cfg.has(r.Kind, r.Name) {
		names := c.cfg.names(r.Kind)
		c.errorf(r.Range, "Reference to undeclared "+r.Kind, "No %s named %q is declared.%s Known: %s.", r.Kind, r.Name, c.cfg.hint(r.Name, names), knownList(names))
		return false
	}
	c.uses[r.addr()] = true
	return true
}

func (c *compiler) escalationRef(a *hcl.Attribute) string {
	if a == nil {
		return ""
	}
	r, diags := decodeRef(a.Expr, blockEscalation)
	c.diags = append(c.diags, diags...)
	if r == nil || !c.entityExists(*r) {
		return ""
	}
	return r.Name
}

// compileAction compiles a step block that runs an action.
func (c *compiler) compileAction(cs *cstep) {
	attrs := cs.blk.Attrs
	out := &plan.ActionStep{OnFailure: plan.OnFailureAbort, With: map[string]*plan.Expr{}}
	cs.out.Action = out
	spec := c.actionSpec(cs, true)
	if spec != nil {
		out.Action = spec.Name
		out.SafetyCritical = spec.SafetyCritical
		if spec.Integration != "" {
			c.uses["integration-kind."+spec.Integration] = true
		}
	}
	if a := attrs["for_each"]; a != nil {
		cs.out.ForEach = c.runtime(cs, a.Expr, cty.DynamicPseudoType, "for_each")
		if v, ok := cs.out.ForEach.IsLiteral(); ok {
			switch v.(type) {
			case []any, map[string]any:
			default:
				c.errorf(a.Expr.Range(), "Invalid for_each", "for_each must be a list or a map; got %T.", v)
			}
		}
	}
	out.Timeout = c.durationAttr(attrs["timeout"])
	if a := attrs["on_failure"]; a != nil {
		v := c.staticString(a)
		switch v {
		case plan.OnFailureAbort, plan.OnFailureContinue:
			out.OnFailure = v
		case "":
		default:
			c.errorf(a.Expr.Range(), "Invalid on_failure", "on_failure is \"abort\" (the default: dependent steps are skipped) or \"continue\"; got %q.%s",
				v, didYouMean(v, []string{plan.OnFailureAbort, plan.OnFailureContinue}))
		}
	}
	if cs.blk.Retry != nil {
		rc, diags := cs.blk.Retry.Body.Content(retrySchema)
		c.diags = append(c.diags, diags...)
		if rc != nil {
			r := &plan.Retry{Attempts: 1}
			if a := rc.Attributes["attempts"]; a != nil {
				if n, ok := intValue(&c.diags, a, 1, 100); ok {
					r.Attempts = n
				}
			}
			r.Backoff = c.durationAttr(rc.Attributes["backoff"])
			out.Retry = r
		}
	}
	if spec == nil {
		if a := attrs["with"]; a != nil {
			c.checkRefs(cs, a.Expr, attrs["for_each"] != nil)
		}
		return
	}
	c.compileWith(cs, spec, attrs["with"])
}

// compileWith checks and compiles an action's arguments against the registry.
func (c *compiler) compileWith(cs *cstep, spec *actions.Spec, a *hcl.Attribute) {
	out := cs.out.Action
	given := map[string]bool{}
	if a != nil {
		pairs, diags := hcl.ExprMap(a.Expr)
		if diags.HasErrors() {
			c.errorf(a.Expr.Range(), "Invalid with", "with is an object of the action's arguments, such as with = { zone = zone.plant3_control }.")
			return
		}
		for _, kv := range pairs {
			key, ok := objectKey(kv.Key, nil)
			if !ok {
				c.errorf(kv.Key.Range(), "Invalid argument name", "Argument names in with must be literal names.")
				continue
			}
			arg, ok := spec.Arg(key)
			if !ok {
				var names []string
				for _, a := range spec.Args {
					names = append(names, a.Name)
				}
				c.errorf(kv.Key.Range(), "Unknown argument", "Action %s has no argument %q.%s Known: %s.", spec.Name, key, didYouMean(key, names), knownList(names))
				continue
			}
			if given[key] {
				c.errorf(kv.Key.Range(), "Duplicate argument", "Argument %q is given twice.", key)
				continue
			}
			given[key] = true
			if e := c.argument(cs, spec, arg, kv.Value); e != nil {
				out.With[key] = e
				c.warnCredential(kv.Value.Range(), fmt.Sprintf("Argument %q of %s", key, spec.Name), e)
			}
		}
	}
	for _, arg := range spec.Args {
		if arg.Required && !given[arg.Name] {
			r := cs.blk.DeclRange
			if a != nil {
				r = a.Expr.Range()
			}
			c.errorf(r, "Missing argument", "Action %s needs argument %q (%s): %s", spec.Name, arg.Name, arg.Type, arg.Description)
		}
	}
}

// argument compiles one argument value according to its registry type.
func (c *compiler) argument(cs *cstep, spec *actions.Spec, arg actions.Arg, expr hcl.Expression) *plan.Expr {
	allowEach := cs.blk.Attrs["for_each"] != nil
	v, ok := c.evaluate(cs, expr, allowEach)
	if !ok {
		return nil
	}
	r := expr.Range()
	fail := func(format string, args ...any) *plan.Expr {
		c.errorf(r, "Invalid argument", "Argument %q of %s: %s", arg.Name, spec.Name, fmt.Sprintf(format, args...))
		return nil
	}
	if v.IsKnown() && v.IsNull() {
		return fail("must not be null.")
	}
	switch {
	case arg.Type == actions.ZoneRef || arg.Type == actions.ConduitRef:
		kind := blockZone
		if arg.Type == actions.ConduitRef {
			kind = blockConduit
		}
		if !v.IsWhollyKnown() {
			if spec.SafetyCritical {
				return fail("the %s of a safety-critical action must be known when the playbook is compiled, so the safety check can prove it is signed off. Write %s.NAME.", kind, kind)
			}
			if v.Type() != cty.DynamicPseudoType && v.Type() != cty.String {
				return fail("expected %s.NAME or a string naming a %s.", kind, kind)
			}
			return c.toExpr(expr, v)
		}
		name, ok := entityName(v, kind)
		if !ok {
			return fail("expected %s.NAME or a string naming a %s; got %s.", kind, kind, v.Type().FriendlyName())
		}
		if !c.entityExists(Ref{Kind: kind, Name: name, Range: r}) {
			return nil
		}
		return plan.Lit(name)
	case arg.Type == actions.ZoneList || arg.Type == actions.ConduitList:
		kind := blockZone
		if arg.Type == actions.ConduitList {
			kind = blockConduit
		}
		if !v.IsWhollyKnown() {
			return fail("the %ss must be known when the playbook is compiled, so the safety check can tell what the step touches. Write [%s.NAME, ...].", kind, kind)
		}
		if !v.Type().IsTupleType() && !v.Type().IsListType() && !v.Type().IsSetType() {
			return fail("expected a list such as [%s.NAME]; got %s.", kind, v.Type().FriendlyName())
		}
		// Each entry's own range, when the list is written out in the source.
		elems, _ := hcl.ExprList(expr)
		var refs []Ref
		list := []any{}
		seen := map[string]bool{}
		bad := false
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, ev := it.Element()
			er := r
			if len(elems) == v.LengthInt() {
				er = elems[i].Range()
			}
			if ev.IsNull() {
				c.errorf(er, "Invalid argument", "Argument %q of %s: entry %d is null; expected %s.NAME.", arg.Name, spec.Name, i+1, kind)
				bad = true
				continue
			}
			name, ok := entityName(ev, kind)
			if !ok {
				c.errorf(er, "Invalid argument", "Argument %q of %s: expected %s.NAME or a string naming a %s; got %s.", arg.Name, spec.Name, kind, kind, ev.Type().FriendlyName())
				bad = true
				continue
			}
			ref := Ref{Kind: kind, Name: name, Range: er}
			if !c.entityExists(ref) {
				bad = true
				continue
			}
			if seen[name] {
				c.errorf(er, "Invalid argument", "Argument %q of %s names %s.%s twice.", arg.Name, spec.Name, kind, name)
				bad = true
				continue
			}
			seen[name] = true
			refs = append(refs, ref)
			list = append(list, name)
		}
		if bad {
			return nil
		}
		if len(refs) == 0 && arg.Type == actions.ZoneList {
			return fail("an empty list would read as \"from no zone\", yet it limits nothing. Name the zones, or leave %s out to act on every conduit into the zone.", arg.Name)
		}
		if cs.listRefs == nil {
			cs.listRefs = map[string][]Ref{}
		}
		cs.listRefs[arg.Name] = refs
		return plan.Lit(list)
	case arg.Type == actions.Principals:
		if !v.IsWhollyKnown() {
			return fail("people and rosters must be known when the playbook is compiled; write [roster.NAME, person.NAME].")
		}
		addrs, ok := principalAddrs(v)
		if !ok {
			return fail("expected a list of person and roster references, such as [roster.ot_oncall, person.carol].")
		}
		for _, a := range addrs {
			c.uses[a] = true
		}
		list := make([]any, len(addrs))
		for i, a := range addrs {
			list[i] = a
		}
		return plan.Lit(list)
	case strings.HasPrefix(arg.Type, actions.IntegrationPrefix):
		kind := strings.TrimPrefix(arg.Type, actions.IntegrationPrefix)
		if !v.IsWhollyKnown() || v.Type() != cty.String {
			return fail("expected the name of a %s integration as a string, such as \"%s.NAME\".", kind, kind)
		}
		id, ok := c.integrationID(kind, v.AsString(), r)
		if !ok {
			return nil
		}
		return plan.Lit(id)
	default:
		want := ctyTypeOf(arg.Type)
		if want != cty.DynamicPseudoType && v.Type() != cty.DynamicPseudoType {
			cv, err := strictConvert(v, want)
			if errors.Is(err, errRuntimeString) {
				return fail("must be %s: %s.", typeName(want), err)
			} else if err != nil {
				return fail("%s", wrongType(arg.Name, want, v))
			}
			v = cv
		}
		if isRegisterArg(spec, arg) && v.Type() == cty.Number && v.IsKnown() && !v.IsNull() {
			f, _ := v.AsBigFloat().Float64()
			if _, msg := rules.RegisterOffset(f); msg != "" {
				return fail("%s", msg)
			}
		}
		return c.toExpr(expr, v)
	}
}

// isRegisterArg reports whether arg is a holding-register address, checked
// against the Modbus notation when it is known at compile time.
func isRegisterArg(spec *actions.Spec, arg actions.Arg) bool {
	return spec.Name == "modbus.read" && arg.Name == "register"
}

// integrationID resolves "kind.name" or "name" to a declared integration.
func (c *compiler) integrationID(kind, s string, r hcl.Range) (string, bool) {
	name := strings.TrimPrefix(s, kind+".")
	id := kind + "." + name
	if _, ok := c.cfg.Integrations[id]; ok {
		c.uses["integration."+id] = true
		return id, true
	}
	var known []string
	for _, k := range sortedKeys(c.cfg.Integrations) {
		if strings.HasPrefix(k, kind+".") {
			known = append(known, k)
		}
	}
	c.errorf(r, "Unknown integration", "No %s integration named %q is declared.%s Declare it with integration %q %q { ... }. Known: %s.",
		kind, name, c.cfg.hint(id, known), kind, name, knownList(known))
	return "", false
}

// entityRef reads the kind and id of a static object value such as
// zone.control; ok is false for anything else.
func entityRef(v cty.Value) (kind, id string, ok bool) {
	t := v.Type()
	if !v.IsWhollyKnown() || v.IsNull() || !t.IsObjectType() || !t.HasAttribute("kind") || !t.HasAttribute("id") {
		return "", "", false
	}
	k, i := v.GetAttr("kind"), v.GetAttr("id")
	if k.Type() != cty.String || i.Type() != cty.String || k.IsNull() || i.IsNull() {
		return "", "", false
	}
	return k.AsString(), i.AsString(), true
}

func entityName(v cty.Value, kind string) (string, bool) {
	if v.Type() == cty.String {
		return v.AsString(), true
	}
	k, id, ok := entityRef(v)
	if !ok || k != kind {
		return "", false
	}
	return id, true
}

func principalAddrs(v cty.Value) ([]string, bool) {
	one := func(x cty.Value) (string, bool) {
		k, id, ok := entityRef(x)
		if !ok || (k != blockPerson && k != blockRoster) {
			return "", false
		}
		return k + "." + id, true
	}
	if a, ok := one(v); ok {
		return []string{a}, true
	}
	if !v.CanIterateElements() || v.Type().IsObjectType() || v.Type().IsMapType() {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		a, ok := one(e)
		if !ok {
			return nil, false
		}
		out = append(out, a)
	}
	return out, true
}

func (c *compiler) compilePage(cs *cstep) {
	attrs := cs.blk.Attrs
	p := &plan.PageStep{Escalation: c.escalationRef(attrs["escalation"])}
	if a := attrs["message"]; a != nil {
		p.Message = c.runtime(cs, a.Expr, cty.String, "message")
	}
	cs.out.Page = p
}

func (c *compiler) compileApproval(cs *cstep) {
	attrs := cs.blk.Attrs
	ap := &plan.ApprovalStep{Kind: plan.ApprovalStandard}
	cs.out.Approval = ap
	if a := attrs["kind"]; a != nil {
		k := c.staticString(a)
		switch k {
		case plan.ApprovalSafety, plan.ApprovalStandard:
			ap.Kind = k
		case "break_glass", "break-glass", "emergency":
			c.errorf(a.Expr.Range(), "Break-glass is not an approval kind",
				"Break-glass is a run-time override used by the safety.break_glass roster with a reason; it never satisfies the safety check. Gate the step with kind = \"safety\".")
		default:
			c.errorf(a.Expr.Range(), "Invalid approval kind", "kind is \"safety\" (a sign-off under the safety policy) or \"standard\" (the default); got %q.%s",
				k, didYouMean(k, []string{plan.ApprovalSafety, plan.ApprovalStandard}))
		}
	}
	if a := attrs["prompt"]; a != nil {
		ap.Prompt = c.runtime(cs, a.Expr, cty.String, "prompt")
	}
	ap.Timeout = c.durationAttr(attrs["timeout"])
	ap.OnTimeout = c.escalationRef(attrs["on_timeout"])
	c.checkOnTimeout(attrs)
	coversWritten := false
	if a := attrs["covers"]; a != nil {
		refs, diags := decodeRefs(a.Expr, blockZone)
		c.diags = append(c.diags, diags...)
		coversWritten = len(refs) > 0 || diags.HasErrors()
		for _, r := range refs {
			if c.entityExists(r) {
				ap.Covers = append(ap.Covers, r.Name)
			}
		}
	}
	for _, n := range []string{"for", "distinct_from"} {
		a := attrs[n]
		if a == nil {
			continue
		}
		kind := string(plan.KindStep)
		if n == "distinct_from" {
			kind = string(plan.KindApproval)
		}
		refs, diags := decodeRefs(a.Expr, kind)
		c.diags = append(c.diags, diags...)
		if n == "for" {
			cs.forRefs = refs
		} else {
			cs.distinctRefs = refs
		}
	}
	if a := attrs["for"]; a != nil && ap.Kind != plan.ApprovalSafety {
		c.errorf(a.Range, "for on a standard approval",
			"for names the safety-critical steps a safety sign-off is for; a standard approval never guards one. Add kind = \"safety\" or remove for.")
	}
	if ap.Kind == plan.ApprovalSafety {
		if !coversWritten {
			c.errorf(cs.blk.DeclRange, "Safety approval without covers",
				"A kind = \"safety\" approval must say which zones it signs off: covers = [zone.NAME].")
		}
		c.safetyQuorum(cs, ap)
		return
	}
	if a := attrs["covers"]; a != nil {
		c.errorf(a.Range, "covers on a standard approval",
			"Only kind = \"safety\" approvals cover zones; a standard approval never satisfies the safety check. Add kind = \"safety\" or remove covers.")
	}
	groups := c.principals(attrs["approvers"])
	if attrs["approvers"] == nil {
		c.errorf(cs.blk.DeclRange, "Missing approvers",
			"A standard approval needs approvers = [roster.NAME, person.NAME]. For a sign-off under the safety policy, write kind = \"safety\".")
	}
	q := plan.Quorum{Rule: plan.QuorumCount, Count: 1, Groups: groups}
	if a := attrs["one_from_each"]; a != nil {
		if v, ok := evalStatic(&c.diags, a.Expr, cty.Bool, a.Name); ok && v.True() {
			q.Rule = plan.QuorumOneFromEach
			q.Count = len(groups)
		}
	}
	if a := attrs["min_approvals"]; a != nil {
		if n, ok := intValue(&c.diags, a, 1, 50); ok {
			if q.Rule == plan.QuorumOneFromEach {
				c.errorf(a.Expr.Range(), "Conflicting quorum", "With one_from_each = true the quorum is one person from each approver group; remove min_approvals.")
			} else {
				q.Count = n
			}
		}
	}
	if a := attrs["exclude_initiator"]; a != nil {
		if v, ok := evalStatic(&c.diags, a.Expr, cty.Bool, a.Name); ok {
			q.ExcludeInitiator = v.True()
		}
	}
	ap.Quorum = q
	if !c.diags.HasErrors() {
		c.checkQuorum(q, attrs["approvers"].Expr.Range(), cs.out.ID)
	}
}

// checkOnTimeout warns about an on_timeout that can never fire.
func (c *compiler) checkOnTimeout(attrs hcl.Attributes) {
	if a := attrs["on_timeout"]; a != nil && attrs["timeout"] == nil {
		c.warnf(a.Range, "on_timeout without timeout",
			"on_timeout escalates when timeout passes, and there is no timeout here, so it never fires. Add timeout = \"15m\" (say) or remove on_timeout.")
	}
}

// safetyQuorum fills a safety approval's quorum from the safety policy.
func (c *compiler) safetyQuorum(cs *cstep, ap *plan.ApprovalStep) {
	attrs := cs.blk.Attrs
	if a := attrs["approvers"]; a != nil {
		c.errorf(a.Range, "approvers on a safety approval",
			"A safety sign-off is answered by the rosters in the safety policy's signoff block; remove approvers here.")
	}
	for _, n := range []string{"min_approvals", "one_from_each", "exclude_initiator"} {
		if a := attrs[n]; a != nil {
			c.errorf(a.Range, n+" on a safety approval", "The quorum of a safety sign-off is set once, in the safety block's signoff; remove %s here.", n)
		}
	}
	if c.cfg.Safety == nil || c.cfg.Safety.Signoff == nil {
		r := cs.blk.DeclRange
		if a := attrs["kind"]; a != nil {
			r = a.Expr.Range()
		}
		c.errorf(r, "No safety policy", "kind = \"safety\" needs a safety block with a signoff naming who signs off:\n  safety {\n    signoff {\n      rosters = [roster.process_safety, roster.ot_operations]\n    }\n  }")
		return
	}
	ap.Quorum = c.cfg.signoffQuorum()
	c.uses["safety"] = true
}

func (cfg *Config) signoffQuorum() plan.Quorum {
	so := cfg.Safety.Signoff
	q := plan.Quorum{Rule: plan.QuorumOneFromEach, ExcludeInitiator: so.ExcludeInitiator, ValidFor: plan.Duration(so.ValidFor.D)}
	for _, r := range so.Rosters {
		q.Groups = append(q.Groups, r.addr())
	}
	q.Count = len(q.Groups)
	return q
}

func (c *compiler) compileDecision(cs *cstep) {
	attrs := cs.blk.Attrs
	d := &plan.DecisionStep{Ask: c.principals(attrs["ask"])}
	cs.out.Decision = d
	if a := attrs["question"]; a != nil {
		d.Question = c.runtime(cs, a.Expr, cty.String, "question")
	}
	if a := attrs["options"]; a != nil {
		opts, ok := strListValue(&c.diags, a)
		if ok {
			seen := map[string]bool{}
			for _, o := range opts {
				if o == "" || seen[o] {
					c.errorf(a.Expr.Range(), "Invalid options", "Options must be distinct, non-empty strings; %q is not.", o)
					continue
				}
				seen[o] = true
			}
			if len(opts) < 2 {
				c.errorf(a.Expr.Range(), "Too few options", "A decision needs at least two options.")
			}
			d.Options = opts
		}
	}
	d.Timeout = c.durationAttr(attrs["timeout"])
	if a := attrs["default"]; a != nil {
		d.Default = c.staticString(a)
		if d.Options != nil && !contains(d.Options, d.Default) {
			c.errorf(a.Expr.Range(), "Invalid default", "default must be one of the options (%s); got %q.%s",
				strings.Join(d.Options, ", "), d.Default, c.cfg.hint(d.Default, d.Options))
		}
	}
	if d.Timeout > 0 && d.Default == "" {
		c.warnf(attrs["timeout"].Expr.Range(), "Timeout without default",
			"When decision %q times out nobody has chosen; it is recorded as timed out and dependants are skipped. Set default = \"...\" to carry on with a safe choice.", cs.blk.Name)
	}
}

func (c *compiler) compileTask(cs *cstep) {
	attrs := cs.blk.Attrs
	t := &plan.TaskStep{Assign: c.principals(attrs["assign"])}
	if a := attrs["instructions"]; a != nil {
		t.Instructions = c.runtime(cs, a.Expr, cty.String, "instructions")
	}
	t.Timeout = c.durationAttr(attrs["timeout"])
	t.OnTimeout = c.escalationRef(attrs["on_timeout"])
	c.checkOnTimeout(attrs)
	cs.out.Task = t
}

func (c *compiler) compileNotify(cs *cstep) {
	attrs := cs.blk.Attrs
	n := &plan.NotifyStep{To: []string{plan.NotifyIncidentChannel}}
	if a := attrs["to"]; a != nil {
		// In JSON, "incident_channel" would pass for a one-part traversal.
		trav, isRef := refTraversal(a.Expr)
		isRef = isRef && len(trav) > 1
		v, diags := a.Expr.Value(nil)
		if !isRef && !diags.HasErrors() && v.Type() == cty.String {
			if v.AsString() != plan.NotifyIncidentChannel {
				c.errorf(a.Expr.Range(), "Invalid notify destination",
					"to is \"incident_channel\" (the default) or a list of people and rosters, such as [%s]; got %q.", refExample(a.Expr, "roster.compliance"), v.AsString())
			}
		} else {
			n.To = c.principals(a)
		}
	}
	if a := attrs["message"]; a != nil {
		n.Message = c.runtime(cs, a.Expr, cty.String, "message")
	}
	cs.out.Notify = n
}

// errRuntimeString is strictConvert's refusal of a run-time string.
var errRuntimeString = errors.New("this is a string, known only when the incident runs")

// strictConvert converts like HCL, except that a string only known at run
// time is not accepted where a number or bool is wanted: HCL would allow it
// and fail during the incident, when the string turns out not to be "12" or
// "true".
func strictConvert(v cty.Value, want cty.Type) (cty.Value, error) {
	if !v.IsKnown() && v.Type() == cty.String && (want == cty.Number || want == cty.Bool) {
		return cty.NilVal, errRuntimeString
	}
	return convert.Convert(v, want)
}
