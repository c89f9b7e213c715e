package playbooks

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// runtimeRoots are the reference roots whose values are only known while an
// incident runs.
func isRuntimeRoot(root string) bool {
	return root == rootInput || root == rootIncident || root == rootEach || isStepKind(root)
}

func hasRuntimeRefs(expr hcl.Expression) bool {
	for _, t := range expr.Variables() {
		// A named condition is expanded in place, so it is treated as
		// run-time even when it folds to a literal.
		if isRuntimeRoot(t.RootName()) || t.RootName() == rootCondition {
			return true
		}
	}
	return false
}

// runtimeExpr converts an expression that depends on run-time values into its
// plan form. Sub-expressions known at compile time are folded into literals.
// The root carries the expression's source text and range. A reference to a
// named condition, condition.NAME, becomes the condition's own expression
// (conds holds the checked ones), so the plan holds plain expressions and only
// the root's source text shows the name.
func (m *Module) runtimeExpr(expr hcl.Expression, ctx *hcl.EvalContext, conds map[string]*ccond) (*plan.Expr, hcl.Diagnostics) {
	conv := &exprConverter{m: m, ctx: ctx, conds: conds}
	e := conv.convert(expr)
	if conv.diags.HasErrors() {
		return nil, conv.diags
	}
	r := toRange(expr.Range())
	e.Range = &r
	e.Source = m.sourceText(expr.Range())
	return e, conv.diags
}

// sourceText returns the text of a range, with runs of white space folded.
func (m *Module) sourceText(r hcl.Range) string {
	src := m.Files[r.Filename]
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
		return ""
	}
	return strings.Join(strings.Fields(string(src[r.Start.Byte:r.End.Byte])), " ")
}

type exprConverter struct {
	m     *Module
	ctx   *hcl.EvalContext
	conds map[string]*ccond
	diags hcl.Diagnostics
}

func (x *exprConverter) unsupported(expr hcl.Expression, what string) *plan.Expr {
	r := expr.Range()
	x.diags = append(x.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Not supported at run time",
		Detail: fmt.Sprintf("%s cannot use values that are only known while the incident runs (input.*, step results, answers). "+
			"Compute it from values known in the playbook, or use a simpler expression.", what),
		Subject: &r,
	})
	return plan.Lit(nil)
}

func (x *exprConverter) convert(expr hcl.Expression) *plan.Expr {
	if !hasRuntimeRefs(expr) {
		v, diags := expr.Value(x.ctx)
		x.diags = append(x.diags, diags...)
		if diags.HasErrors() {
			return plan.Lit(nil)
		}
		gv, err := ctyToGo(v)
		if err != nil {
			r := expr.Range()
			x.diags = append(x.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported value", Detail: err.Error(), Subject: &r})
		}
		return plan.Lit(gv)
	}
	switch e := expr.(type) {
	case *hclsyntax.TemplateWrapExpr:
		return x.convert(e.Wrapped)
	case *hclsyntax.ParenthesesExpr:
		return x.convert(e.Expression)
	case *hclsyntax.TemplateExpr:
		out := &plan.Expr{Op: plan.OpTemplate}
		for _, p := range e.Parts {
			out.Args = append(out.Args, x.convert(p))
		}
		return out
	case *hclsyntax.ScopeTraversalExpr:
		if e.Traversal.RootName() == rootCondition {
			return x.condition(e)
		}
		return x.traversal(e.Traversal)
	case *hclsyntax.RelativeTraversalExpr:
		return x.applyTraversal(x.convert(e.Source), e.Traversal)
	case *hclsyntax.IndexExpr:
		return &plan.Expr{Op: plan.OpIndex, Args: []*plan.Expr{x.convert(e.Collection), x.convert(e.Key)}}
	case *hclsyntax.FunctionCallExpr:
		if !contains(plan.RuntimeFunctions, e.Name) {
			return x.unsupported(expr, fmt.Sprintf("Function %s", e.Name))
		}
		if e.ExpandFinal {
			return x.unsupported(expr, "Argument expansion (...)")
		}
		out := &plan.Expr{Op: plan.OpCall, Func: e.Name}
		for _, a := range e.Args {
			out.Args = append(out.Args, x.convert(a))
		}
		return out
	case *hclsyntax.ConditionalExpr:
		return &plan.Expr{Op: plan.OpConditional, Args: []*plan.Expr{x.convert(e.Condition), x.convert(e.TrueResult), x.convert(e.FalseResult)}}
	case *hclsyntax.BinaryOpExpr:
		op, ok := binaryOps[e.Op]
		if !ok {
			return x.unsupported(expr, "This operator")
		}
		return &plan.Expr{Op: plan.OpBinary, Operator: op, Args: []*plan.Expr{x.convert(e.LHS), x.convert(e.RHS)}}
	case *hclsyntax.UnaryOpExpr:
		switch e.Op {
		case hclsyntax.OpLogicalNot:
			return &plan.Expr{Op: plan.OpNot, Args: []*plan.Expr{x.convert(e.Val)}}
		case hclsyntax.OpNegate:
			return &plan.Expr{Op: plan.OpNegate, Args: []*plan.Expr{x.convert(e.Val)}}
		}
		return x.unsupported(expr, "This operator")
	case *hclsyntax.TupleConsExpr:
		out := &plan.Expr{Op: plan.OpList, Args: []*plan.Expr{}}
		for _, a := range e.Exprs {
			out.Args = append(out.Args, x.convert(a))
		}
		return out
	case *hclsyntax.ObjectConsExpr:
		out := &plan.Expr{Op: plan.OpObject, Args: []*plan.Expr{}, Keys: []string{}}
		for _, item := range e.Items {
			key, ok := x.staticKey(item.KeyExpr)
			if !ok {
				return x.unsupported(item.KeyExpr, "An object key")
			}
			out.Keys = append(out.Keys, key)
			out.Args = append(out.Args, x.convert(item.ValueExpr))
		}
		return out
	case *hclsyntax.ForExpr:
		return x.unsupported(expr, "A for expression")
	case *hclsyntax.SplatExpr:
		return x.unsupported(expr, "A splat expression ([*])")
	case *hclsyntax.TemplateJoinExpr:
		return x.unsupported(expr, "A template for directive")
	}
	if _, isSyntax := expr.(hclsyntax.Expression); !isSyntax {
		return x.jsonExpr(expr)
	}
	return x.unsupported(expr, "This expression")
}

var binaryOps = map[*hclsyntax.Operation]string{
	hclsyntax.OpEqual: "==", hclsyntax.OpNotEqual: "!=",
	hclsyntax.OpLessThan: "<", hclsyntax.OpGreaterThan: ">",
	hclsyntax.OpLessThanOrEqual: "<=", hclsyntax.OpGreaterThanOrEqual: ">=",
	hclsyntax.OpLogicalAnd: "&&", hclsyntax.OpLogicalOr: "||",
	hclsyntax.OpAdd: "+", hclsyntax.OpSubtract: "-", hclsyntax.OpMultiply: "*",
	hclsyntax.OpDivide: "/", hclsyntax.OpModulo: "%",
}

func (x *exprConverter) staticKey(expr hcl.Expression) (string, bool) {
	if hasRuntimeRefs(expr) {
		return "", false
	}
	return objectKey(expr, x.ctx)
}

// objectKey reads an object key written as a bare name or as a string known
// when the playbook is compiled.
func objectKey(expr hcl.Expression, ctx *hcl.EvalContext) (string, bool) {
	if k := hcl.ExprAsKeyword(expr); k != "" {
		return k, true
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() || v.Type() != cty.String || !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

// traversal converts an absolute traversal: the leading attribute names form
// the reference path; index steps after it become index nodes.
func (x *exprConverter) traversal(t hcl.Traversal) *plan.Expr {
	path := []string{t.RootName()}
	i := 1
	for ; i < len(t); i++ {
		a, ok := t[i].(hcl.TraverseAttr)
		if !ok {
			break
		}
		path = append(path, a.Name)
	}
	return x.applyTraversal(&plan.Expr{Op: plan.OpRef, Path: path}, t[i:])
}

func (x *exprConverter) applyTraversal(base *plan.Expr, t hcl.Traversal) *plan.Expr {
	out := base
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseAttr:
			out = &plan.Expr{Op: plan.OpAttr, Name: s.Name, Args: []*plan.Expr{out}}
		case hcl.TraverseIndex:
			k, err := ctyToGo(s.Key)
			if err != nil {
				return x.unsupported(&hclsyntax.LiteralValueExpr{SrcRange: s.SrcRange}, "This index")
			}
			out = &plan.Expr{Op: plan.OpIndex, Args: []*plan.Expr{out, plan.Lit(k)}}
		default:
			return x.unsupported(&hclsyntax.LiteralValueExpr{SrcRange: step.SourceRange()}, "A splat ([*])")
		}
	}
	return out
}

// jsonExpr converts an expression from a .hcl.json file: objects and arrays
// are walked, strings are parsed as templates.
func (x *exprConverter) jsonExpr(expr hcl.Expression) *plan.Expr {
	if pairs, diags := hcl.ExprMap(expr); !diags.HasErrors() {
		out := &plan.Expr{Op: plan.OpObject, Args: []*plan.Expr{}, Keys: []string{}}
		for _, kv := range pairs {
			key, ok := x.staticKey(kv.Key)
			if !ok {
				return x.unsupported(kv.Key, "An object key")
			}
			out.Keys = append(out.Keys, key)
			out.Args = append(out.Args, x.convert(kv.Value))
		}
		return out
	}
	if elems, diags := hcl.ExprList(expr); !diags.HasErrors() {
		out := &plan.Expr{Op: plan.OpList, Args: []*plan.Expr{}}
		for _, e := range elems {
			out.Args = append(out.Args, x.convert(e))
		}
		return out
	}
	r := expr.Range()
	src := x.m.Files[r.Filename]
	if r.End.Byte > len(src) || r.Start.Byte >= r.End.Byte || src[r.Start.Byte] != '"' {
		return x.unsupported(expr, "This JSON value")
	}
	var s string
	if err := json.Unmarshal(src[r.Start.Byte:r.End.Byte], &s); err != nil {
		return x.unsupported(expr, "This JSON value")
	}
	start := r.Start
	start.Column++
	start.Byte++
	tmpl, diags := hclsyntax.ParseTemplate([]byte(s), r.Filename, start)
	x.diags = append(x.diags, diags...)
	if diags.HasErrors() {
		return plan.Lit(nil)
	}
	return x.convert(tmpl)
}

// ctyToGo converts a known cty value into JSON-natural Go values.
func ctyToGo(v cty.Value) (any, error) {
	if !v.IsWhollyKnown() {
		return nil, fmt.Errorf("value is not known until the incident runs")
	}
	if v.IsNull() {
		return nil, nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString(), nil
	case t == cty.Bool:
		return v.True(), nil
	case t == cty.Number:
		f, acc := v.AsBigFloat().Float64()
		if acc != big.Exact && (f == 0 || f > 1e300 || f < -1e300) {
			return nil, fmt.Errorf("number %s is out of range", v.AsBigFloat().Text('g', 10))
		}
		return f, nil
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			g, err := ctyToGo(e)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			g, err := ctyToGo(e)
			if err != nil {
				return nil, err
			}
			out[k.AsString()] = g
		}
		return out, nil
	}
	return nil, fmt.Errorf("values of type %s are not supported here", t.FriendlyName())
}

// exprKey identifies an expression by structure, ignoring where it was
// written, so two identical conditions compare equal.
func exprKey(e *plan.Expr) string {
	if e == nil {
		return ""
	}
	cp := *e
	cp.Source, cp.Range = "", nil
	b, _ := json.Marshal(&cp)
	return string(b)
}

// condition expands a reference to a named condition, already checked, into
// the condition's expression.
func (x *exprConverter) condition(e *hclsyntax.ScopeTraversalExpr) *plan.Expr {
	if len(e.Traversal) == 2 {
		if a, ok := e.Traversal[1].(hcl.TraverseAttr); ok {
			if cc := x.conds[a.Name]; cc != nil && !cc.broken && cc.expr() != nil {
				return x.convert(cc.expr())
			}
		}
	}
	return x.unsupported(e, "This reference to a condition")
}
