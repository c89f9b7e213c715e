package playbooks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// checkComparisons reports every == and != in expr whose two sides have
// types known when the playbook is compiled, and different: a number is
// never equal to a string, so step.read.output.value != "100" is always
// true and the step it guards always runs. Sides whose type is only known
// while the incident runs (any, or null) are left alone.
func (c *compiler) checkComparisons(expr hcl.Expression, ctx *hcl.EvalContext) {
	for _, part := range c.m.syntaxOf(expr) {
		var found []mismatch
		_ = hclsyntax.VisitAll(part.expr, func(n hclsyntax.Node) hcl.Diagnostics {
			if b, ok := n.(*hclsyntax.BinaryOpExpr); ok && (b.Op == hclsyntax.OpEqual || b.Op == hclsyntax.OpNotEqual) {
				if m, ok := c.checkComparison(b, ctx); ok {
					found = append(found, m)
				}
			}
			return nil
		})
		// A comparison holding a wrong one is reported through it: in
		// a == "1" == "1" the first == is the mistake.
		for i, m := range found {
			inner := false
			for j, o := range found {
				inner = inner || (i != j && contains2(m.b.SrcRange, o.b.SrcRange))
			}
			if !inner {
				c.reportComparison(m, part)
			}
		}
	}
}

// mismatch is a comparison of two values of different types.
type mismatch struct {
	b      *hclsyntax.BinaryOpExpr
	lt, rt cty.Type
}

// contains2 reports whether range a holds range b (and is not b).
func contains2(a, b hcl.Range) bool {
	return a.Start.Byte <= b.Start.Byte && b.End.Byte <= a.End.Byte && (a.Start.Byte != b.Start.Byte || a.End.Byte != b.End.Byte)
}

// Bounds on the comparison check, so that a hostile playbook of chained or
// nested comparisons costs little more than a real one: each side is
// evaluated on its own, so n nested comparisons would cost n² without them.
const (
	// maxComparisons is how many comparisons of one playbook are checked.
	maxComparisons = 1024
	// maxComparedSide is the longest side, in bytes, whose type is worked
	// out by evaluating it.
	maxComparedSide = 1024
	// maxQuotedSide is the longest side, in bytes, a message quotes.
	maxQuotedSide = 120
)

func (c *compiler) checkComparison(b *hclsyntax.BinaryOpExpr, ctx *hcl.EvalContext) (mismatch, bool) {
	if c.comparisons++; c.comparisons > maxComparisons {
		return mismatch{}, false
	}
	lt, lok := staticType(b.LHS, ctx)
	rt, rok := staticType(b.RHS, ctx)
	if !lok || !rok || lt.Equals(rt) {
		return mismatch{}, false
	}
	if !primitive(lt) && !primitive(rt) {
		return mismatch{}, false // two collections: left alone
	}
	return mismatch{b: b, lt: lt, rt: rt}, true
}

func (c *compiler) reportComparison(m mismatch, part syntaxPart) {
	b, lt, rt := m.b, m.lt, m.rt
	op, always := "==", "false"
	if b.Op == hclsyntax.OpNotEqual {
		op, always = "!=", "true"
	}
	lsrc, rsrc := part.text(b.LHS.Range()), part.text(b.RHS.Range())
	c.errorf(b.SrcRange, "Comparison of different types",
		"%s is %s and %s is %s, and values of different types are never equal, so %s is always %s. %s",
		lsrc, typeName(lt), rsrc, typeName(rt), op, always, compareFix(b, lt, rt, lsrc, rsrc, op))
}

// staticType returns the type of e when it is a string, number or bool
// known when the playbook is compiled; ok is false otherwise.
func staticType(e hclsyntax.Expression, ctx *hcl.EvalContext) (cty.Type, bool) {
	if p, ok := e.(*hclsyntax.ParenthesesExpr); ok {
		return staticType(p.Expression, ctx)
	}
	if b, ok := e.(*hclsyntax.BinaryOpExpr); ok {
		// An operator's result type is its own, whatever its operands:
		// no need to evaluate a long chain again.
		return b.Op.Type, b.Op.Type != cty.DynamicPseudoType
	}
	if r := e.Range(); r.End.Byte-r.Start.Byte > maxComparedSide {
		return cty.NilType, false
	}
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		return cty.NilType, false
	}
	t := v.Type()
	if !primitive(t) && !t.IsListType() && !t.IsMapType() && !t.IsObjectType() {
		return cty.NilType, false
	}
	if t.HasDynamicTypes() {
		return cty.NilType, false
	}
	if v.IsKnown() && v.IsNull() {
		return cty.NilType, false
	}
	return t, true
}

func primitive(t cty.Type) bool {
	return t == cty.String || t == cty.Number || t == cty.Bool
}

// compareFix says how to write the comparison the user most likely meant.
func compareFix(b *hclsyntax.BinaryOpExpr, lt, rt cty.Type, lsrc, rsrc, op string) string {
	switch {
	case lt.IsListType() && primitive(rt):
		return fmt.Sprintf("To ask whether the list holds it, write %scontains(%s, %s).", negation(op), lsrc, rsrc)
	case rt.IsListType() && primitive(lt):
		return fmt.Sprintf("To ask whether the list holds it, write %scontains(%s, %s).", negation(op), rsrc, lsrc)
	case !primitive(lt) || !primitive(rt):
		return "Compare a field of it instead."
	}
	// A literal on one side written as the other side's type, quoted or
	// not: "100" where a number is meant, or true where "true" is.
	if s, ok := stringLiteral(b.RHS); ok && rt == cty.String {
		if w := unquoted(s, lt); w != "" {
			return fmt.Sprintf("Write %s %s %s.", lsrc, op, w)
		}
	}
	if s, ok := stringLiteral(b.LHS); ok && lt == cty.String {
		if w := unquoted(s, rt); w != "" {
			return fmt.Sprintf("Write %s %s %s.", w, op, rsrc)
		}
	}
	switch {
	case lt == cty.String:
		return fmt.Sprintf("Compare like with like: write %s %s tostring(%s), or convert the string with tonumber().", lsrc, op, rsrc)
	case rt == cty.String:
		return fmt.Sprintf("Compare like with like: write tostring(%s) %s %s, or convert the string with tonumber().", lsrc, op, rsrc)
	}
	return "Compare like with like: a number with a number, true or false with a condition."
}

// negation is "!" for !=, so contains() keeps the comparison's sense.
func negation(op string) string {
	if op == "!=" {
		return "!"
	}
	return ""
}

// stringLiteral returns the text of a string literal such as "100".
func stringLiteral(e hclsyntax.Expression) (string, bool) {
	t, ok := e.(*hclsyntax.TemplateExpr)
	if !ok || !t.IsStringLiteral() {
		return "", false
	}
	v, diags := t.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String || !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

// unquoted writes s as a literal of type t, or "" when it is not one.
func unquoted(s string, t cty.Type) string {
	switch t {
	case cty.Number:
		s = strings.TrimSpace(s)
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpP_") {
			return strconv.FormatFloat(f, 'f', -1, 64)
		}
	case cty.Bool:
		if s == "true" || s == "false" {
			return s
		}
	}
	return ""
}

// syntaxPart is a native-syntax expression with the text it was parsed
// from: the file, or a JSON string after unescaping.
type syntaxPart struct {
	expr hclsyntax.Expression
	src  []byte
	// offset is the byte in the file where src starts.
	offset int
}

// text returns the source of a range within the part, white space folded;
// a long one is shortened, the way a message quotes it.
func (p syntaxPart) text(r hcl.Range) string {
	lo, hi := r.Start.Byte-p.offset, r.End.Byte-p.offset
	if lo < 0 || hi > len(p.src) || lo > hi {
		return "this side"
	}
	if hi-lo > maxQuotedSide {
		return "the expression at line " + strconv.Itoa(r.Start.Line) + ", column " + strconv.Itoa(r.Start.Column)
	}
	return strings.Join(strings.Fields(string(p.src[lo:hi])), " ")
}

// syntaxOf returns the native-syntax expressions expr is made of: expr
// itself, or, from a .hcl.json file, its strings parsed as templates the
// way they are evaluated.
func (m *Module) syntaxOf(expr hcl.Expression) []syntaxPart {
	if e, ok := expr.(hclsyntax.Expression); ok {
		return []syntaxPart{{expr: e, src: m.Files[expr.Range().Filename]}}
	}
	var out []syntaxPart
	var walk func(e hcl.Expression, depth int)
	walk = func(e hcl.Expression, depth int) {
		if depth > maxJSONDepth {
			return
		}
		if pairs, diags := hcl.ExprMap(e); !diags.HasErrors() {
			for _, kv := range pairs {
				walk(kv.Value, depth+1)
			}
			return
		}
		if elems, diags := hcl.ExprList(e); !diags.HasErrors() {
			for _, x := range elems {
				walk(x, depth+1)
			}
			return
		}
		r := e.Range()
		src := m.Files[r.Filename]
		if r.End.Byte > len(src) || r.Start.Byte < 0 || r.Start.Byte >= r.End.Byte || src[r.Start.Byte] != '"' {
			return
		}
		var s string
		if err := json.Unmarshal(src[r.Start.Byte:r.End.Byte], &s); err != nil {
			return
		}
		start := r.Start
		start.Column++
		start.Byte++
		if tmpl, diags := hclsyntax.ParseTemplate([]byte(s), r.Filename, start); !diags.HasErrors() {
			out = append(out, syntaxPart{expr: tmpl, src: []byte(s), offset: start.Byte})
		}
	}
	walk(expr, 0)
	return out
}

// maxJSONDepth bounds how deep syntaxOf walks nested JSON objects and
// arrays; the loader refuses deeper nesting long before.
const maxJSONDepth = 64
