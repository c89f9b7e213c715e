package plan

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func ref(path ...string) *Expr { return &Expr{Op: OpRef, Path: path} }

func bin(l *Expr, op string, r *Expr) *Expr {
	return &Expr{Op: OpBinary, Operator: op, Args: []*Expr{l, r}}
}

func not(x *Expr) *Expr    { return &Expr{Op: OpNot, Args: []*Expr{x}} }
func negate(x *Expr) *Expr { return &Expr{Op: OpNegate, Args: []*Expr{x}} }

func cond(c, t, f *Expr) *Expr { return &Expr{Op: OpConditional, Args: []*Expr{c, t, f}} }

func idx(c, k *Expr) *Expr { return &Expr{Op: OpIndex, Args: []*Expr{c, k}} }

func attr(x *Expr, name string) *Expr { return &Expr{Op: OpAttr, Name: name, Args: []*Expr{x}} }

func tmpl(parts ...*Expr) *Expr { return &Expr{Op: OpTemplate, Args: parts} }

func lst(items ...*Expr) *Expr { return &Expr{Op: OpList, Args: items} }

func object(kv ...any) *Expr {
	e := &Expr{Op: OpObject}
	for i := 0; i < len(kv); i += 2 {
		e.Keys = append(e.Keys, kv[i].(string))
		e.Args = append(e.Args, kv[i+1].(*Expr))
	}
	return e
}

// call calls fn; arguments that are not *Expr become literals.
func call(fn string, args ...any) *Expr {
	e := &Expr{Op: OpCall, Func: fn}
	for _, a := range args {
		x, ok := a.(*Expr)
		if !ok {
			x = Lit(a)
		}
		e.Args = append(e.Args, x)
	}
	return e
}

type L = []any
type M = map[string]any

func testScope() map[string]any {
	return map[string]any{
		"input": M{
			"host":    "plc-7",
			"count":   3.0,
			"ratio":   0.25,
			"enabled": true,
			"nothing": nil,
			"zones":   L{"dmz", "ot"},
			"tags":    M{"site": "north", "tier": 1.0},
		},
		"decision": M{
			"reconnect": M{"choice": "yes", "decided_by": "ana"},
		},
		"each": M{"key": "ot", "value": M{"level": 2.0}},
		// Go types that are not JSON-natural are normalised.
		"native": M{
			"int":     7,
			"int64":   int64(8),
			"uint8":   uint8(9),
			"float32": float32(0.5),
			"strings": []string{"a", "b"},
			"smap":    map[string]string{"k": "v"},
			"imap":    map[string]int{"one": 1},
			"ptr":     &[]int{1, 2},
			"number":  json.Number("12.5"),
			"bad":     struct{}{},
		},
	}
}

const at = "playbook.hcl:12:9: "

func TestEval(t *testing.T) {
	tests := []struct {
		name string
		expr *Expr
		want any
		err  string // the message after "playbook.hcl:12:9: "
	}{
		// Literals.
		{"lit string", Lit("x"), "x", ""},
		{"lit int normalised", Lit(3), 3.0, ""},
		{"lit null", Lit(nil), nil, ""},
		{"lit missing value", &Expr{Op: OpLiteral}, nil, ""},
		{"lit false", Lit(false), false, ""},

		// References.
		{"ref string", ref("input", "host"), "plc-7", ""},
		{"ref object", ref("input", "tags"), M{"site": "north", "tier": 1.0}, ""},
		{"ref null value", ref("input", "nothing"), nil, ""},
		{"ref list element by path", ref("input", "zones", "1"), "ot", ""},
		{"ref decision", ref("decision", "reconnect", "choice"), "yes", ""},
		{"ref each", ref("each", "value", "level"), 2.0, ""},
		{"ref int", ref("native", "int"), 7.0, ""},
		{"ref int64", ref("native", "int64"), 8.0, ""},
		{"ref uint8", ref("native", "uint8"), 9.0, ""},
		{"ref float32", ref("native", "float32"), 0.5, ""},
		{"ref []string", ref("native", "strings"), L{"a", "b"}, ""},
		{"ref map[string]string", ref("native", "smap"), M{"k": "v"}, ""},
		{"ref into map[string]string", ref("native", "smap", "k"), "v", ""},
		{"ref map[string]int", ref("native", "imap"), M{"one": 1.0}, ""},
		{"ref into map[string]int", ref("native", "imap", "one"), 1.0, ""},
		{"ref pointer to slice", ref("native", "ptr", "1"), 2.0, ""},
		{"ref json.Number", ref("native", "number"), 12.5, ""},
		{"ref missing step", ref("decision", "isolate", "choice"), nil, "decision.isolate.choice is not available yet"},
		{"ref missing attribute", ref("decision", "reconnect", "reason"), nil, "decision.reconnect.reason is not available yet"},
		{"ref missing root", ref("approval", "x", "approved"), nil, "approval.x.approved is not available yet"},
		{"ref through null", ref("input", "nothing", "x"), nil, "input.nothing.x is not available yet"},
		{"ref list out of range", ref("input", "zones", "5"), nil, "input.zones.5 is not available yet"},
		{"ref into string", ref("input", "host", "name"), nil, `input.host.name: cannot read "name" of input.host, which is a string`},
		{"ref unsupported type", ref("native", "bad"), nil, "native.bad: unsupported value of type struct {}"},
		{"ref empty", ref(), nil, "empty reference"},

		// Templates.
		{"template parts", tmpl(Lit("host "), ref("input", "host"), Lit(" x"), ref("input", "count")), "host plc-7 x3", ""},
		{"template fraction", tmpl(ref("input", "ratio")), "0.25", ""},
		{"template bool", tmpl(Lit("on="), ref("input", "enabled")), "on=true", ""},
		{"template large integer", tmpl(Lit(1e21)), "1000000000000000000000", ""},
		{"template small fraction", tmpl(Lit(1e-7)), "0.0000001", ""},
		{"template negative", tmpl(Lit(-2.5)), "-2.5", ""},
		{"template sum is decimal", tmpl(bin(Lit(0.1), "+", Lit(0.2))), "0.3", ""},
		{"template empty", tmpl(), "", ""},
		{"template null", tmpl(Lit("a"), Lit(nil)), nil, "cannot include a null value in a string template"},
		{"template list", tmpl(ref("input", "zones")), nil, "cannot include a list in a string template"},
		{"template map", tmpl(ref("input", "tags")), nil, "cannot include a map in a string template"},
		{"template propagates", tmpl(ref("decision", "x", "choice")), nil, "decision.x.choice is not available yet"},

		// Equality.
		{"== strings", bin(ref("decision", "reconnect", "choice"), "==", Lit("yes")), true, ""},
		{"== numbers", bin(Lit(1.0), "==", Lit(1)), true, ""},
		{"== number and string", bin(Lit(1.0), "==", Lit("1")), false, ""},
		{"== null null", bin(Lit(nil), "==", Lit(nil)), true, ""},
		{"== null value", bin(Lit(nil), "==", Lit(0.0)), false, ""},
		{"== lists", bin(Lit(L{1.0, "a"}), "==", lst(Lit(1), Lit("a"))), true, ""},
		{"== lists order", bin(Lit(L{1.0, 2.0}), "==", Lit(L{2.0, 1.0})), false, ""},
		{"== lists length", bin(Lit(L{1.0}), "==", Lit(L{1.0, 1.0})), false, ""},
		{"== maps", bin(ref("input", "tags"), "==", object("tier", Lit(1), "site", Lit("north"))), true, ""},
		{"== maps differ", bin(Lit(M{"a": 1.0}), "==", Lit(M{"a": 2.0})), false, ""},
		{"== maps keys", bin(Lit(M{"a": 1.0}), "==", Lit(M{"b": 1.0})), false, ""},
		{"== bools", bin(Lit(true), "==", Lit(true)), true, ""},
		{"!= strings", bin(Lit("a"), "!=", Lit("b")), true, ""},
		{"!= equal", bin(Lit(2.0), "!=", Lit(2.0)), false, ""},

		// Comparison.
		{"<", bin(Lit(1.0), "<", Lit(2.0)), true, ""},
		{"< string converts", bin(Lit("5"), "<", Lit(10.0)), true, ""},
		{">", bin(ref("input", "count"), ">", Lit(3.0)), false, ""},
		{"<=", bin(Lit(3.0), "<=", Lit(3.0)), true, ""},
		{">=", bin(Lit(2.0), ">=", Lit(3.0)), false, ""},
		{"< bad string", bin(Lit("a"), "<", Lit(1.0)), nil, `invalid left operand of "<": a number is required, got the string "a"`},
		{"> bool", bin(Lit(1.0), ">", Lit(true)), nil, `invalid right operand of ">": a number is required, got a bool`},
		{">= null", bin(Lit(nil), ">=", Lit(1.0)), nil, `invalid left operand of ">=": a number is required, got null`},
		{"<= list", bin(Lit(1.0), "<=", ref("input", "zones")), nil, `invalid right operand of "<=": a number is required, got a list`},

		// Arithmetic.
		{"+", bin(Lit(1.0), "+", Lit(2.0)), 3.0, ""},
		{"+ decimal", bin(Lit(0.1), "+", Lit(0.2)), 0.3, ""},
		{"+ string converts", bin(Lit("5"), "+", Lit(1.0)), 6.0, ""},
		{"-", bin(Lit(1.0), "-", Lit(3.0)), -2.0, ""},
		{"*", bin(Lit(2.0), "*", Lit(3.5)), 7.0, ""},
		{"/", bin(Lit(7.0), "/", Lit(2.0)), 3.5, ""},
		{"/ repeating", bin(Lit(1.0), "/", Lit(3.0)), 1.0 / 3.0, ""},
		{"%", bin(Lit(7.0), "%", Lit(3.0)), 1.0, ""},
		{"% negative dividend", bin(Lit(-7.0), "%", Lit(3.0)), -1.0, ""},
		{"% negative divisor", bin(Lit(7.0), "%", Lit(-3.0)), 1.0, ""},
		{"% fraction", bin(Lit(7.5), "%", Lit(2.0)), 1.5, ""},
		{"+ no negative zero", bin(Lit(-1.0), "*", Lit(0.0)), 0.0, ""},
		{"/ by zero", bin(Lit(1.0), "/", Lit(0.0)), nil, "division by zero"},
		{"% by zero", bin(Lit(1.0), "%", Lit(0.0)), nil, "modulo by zero"},
		{"* overflow", bin(Lit(1e308), "*", Lit(10.0)), nil, "number is too large"},
		{"+ bool", bin(Lit(true), "+", Lit(1.0)), nil, `invalid left operand of "+": a number is required, got a bool`},
		{"- null", bin(Lit(1.0), "-", Lit(nil)), nil, `invalid right operand of "-": a number is required, got null`},
		{"* map", bin(ref("input", "tags"), "*", Lit(2.0)), nil, `invalid left operand of "*": a number is required, got a map`},
		{"unknown operator", bin(Lit(1.0), "^", Lit(2.0)), nil, `unknown operator "^"`},
		{"binary left error", bin(ref("x", "y"), "==", Lit(1.0)), nil, "x.y is not available yet"},
		{"binary right error", bin(Lit(1.0), "+", ref("x", "y")), nil, "x.y is not available yet"},

		// Logic.
		{"&& true", bin(Lit(true), "&&", ref("input", "enabled")), true, ""},
		{"&& false", bin(Lit(true), "&&", Lit(false)), false, ""},
		{"|| true", bin(Lit(false), "||", Lit(true)), true, ""},
		{"|| false", bin(Lit(false), "||", Lit(false)), false, ""},
		{"&& strings convert", bin(Lit("true"), "&&", Lit("1")), true, ""},
		{"&& string 0", bin(Lit(true), "&&", Lit("0")), false, ""},
		{"&& false wins over unavailable", bin(ref("x", "y"), "&&", Lit(false)), false, ""},
		{"&& false wins on the left", bin(Lit(false), "&&", ref("x", "y")), false, ""},
		{"|| true wins over unavailable", bin(Lit(true), "||", ref("x", "y")), true, ""},
		{"|| true wins on the right", bin(ref("x", "y"), "||", Lit(true)), true, ""},
		{"&& null counts as false", bin(Lit(true), "&&", Lit(nil)), false, ""},
		{"|| null is an error", bin(Lit(nil), "||", Lit(false)), nil, `invalid left operand of "||": a bool is required, got null`},
		{"|| null right", bin(Lit(false), "||", Lit(nil)), nil, `invalid right operand of "||": a bool is required, got null`},
		{"&& unavailable", bin(Lit(true), "&&", ref("x", "y")), nil, "x.y is not available yet"},
		{"|| unavailable left first", bin(ref("a", "b"), "||", ref("x", "y")), nil, "a.b is not available yet"},
		{"&& number", bin(Lit(1.0), "&&", Lit(true)), nil, `invalid left operand of "&&": a bool is required, got a number`},
		{"|| bad string", bin(Lit(false), "||", Lit("yes")), nil, `invalid right operand of "||": a bool is required, got the string "yes"`},
		{"!", not(ref("input", "enabled")), false, ""},
		{"! string", not(Lit("false")), true, ""},
		{"! null", not(Lit(nil)), nil, `invalid operand of "!": a bool is required, got null`},
		{"! number", not(Lit(1.0)), nil, `invalid operand of "!": a bool is required, got a number`},
		{"! error", not(ref("x", "y")), nil, "x.y is not available yet"},

		// Negation.
		{"-", negate(Lit(5.0)), -5.0, ""},
		{"- string", negate(Lit("3")), -3.0, ""},
		{"- zero", negate(Lit(0.0)), 0.0, ""},
		{"- bool", negate(Lit(true)), nil, `invalid operand of "-": a number is required, got a bool`},
		{"- error", negate(ref("x", "y")), nil, "x.y is not available yet"},

		// Conditionals.
		{"? true", cond(Lit(true), Lit("a"), Lit("b")), "a", ""},
		{"? false", cond(bin(ref("input", "count"), ">", Lit(5.0)), Lit("a"), Lit("b")), "b", ""},
		{"? string condition", cond(Lit("true"), Lit(1.0), Lit(2.0)), 1.0, ""},
		{"? unchosen branch unavailable", cond(Lit(true), Lit("a"), ref("x", "y")), "a", ""},
		{"? results unify to string", cond(Lit(true), Lit(1.0), Lit("a")), "1", ""},
		{"? null result", cond(Lit(true), Lit(nil), Lit(1.0)), nil, ""},
		{"? lists", cond(Lit(false), Lit(L{1.0}), Lit(L{"a"})), L{"a"}, ""},
		{"? null condition", cond(Lit(nil), Lit(1.0), Lit(2.0)), nil, "the condition is null; it must be true or false"},
		{"? number condition", cond(Lit(5.0), Lit(1.0), Lit(2.0)), nil, "invalid condition: a bool is required, got a number"},
		{"? condition unavailable", cond(ref("x", "y"), Lit(1.0), Lit(2.0)), nil, "x.y is not available yet"},
		{"? chosen branch unavailable", cond(Lit(false), Lit(1.0), ref("x", "y")), nil, "x.y is not available yet"},
		{"? inconsistent", cond(Lit(true), Lit(1.0), Lit(true)), nil, "the true and false results must have consistent types: number and bool"},
		{"? list and map", cond(Lit(true), Lit(L{}), Lit(M{})), nil, "the true and false results must have consistent types: list and map"},

		// Indexing and attributes.
		{"index list", idx(ref("input", "zones"), Lit(1.0)), "ot", ""},
		{"index list by string", idx(ref("input", "zones"), Lit("0")), "dmz", ""},
		{"index map", idx(ref("input", "tags"), Lit("site")), "north", ""},
		{"index map by number", idx(Lit(M{"1": "one"}), Lit(1.0)), "one", ""},
		{"index by each.key", idx(Lit(M{"ot": 3.0}), ref("each", "key")), 3.0, ""},
		{"index fraction", idx(ref("input", "zones"), Lit(0.5)), nil, "invalid index 0.5: a list index must be a whole number"},
		{"index negative", idx(ref("input", "zones"), Lit(-1.0)), nil, "invalid index -1: a list index cannot be negative"},
		{"index out of range", idx(ref("input", "zones"), Lit(2.0)), nil, "invalid index 2: the list has only 2 elements"},
		{"index empty list", idx(Lit(L{}), Lit(0.0)), nil, "invalid index 0: the list is empty"},
		{"index list by word", idx(ref("input", "zones"), Lit("first")), nil, `invalid index: a number is required, got the string "first"`},
		{"index missing key", idx(ref("input", "tags"), Lit("zone")), nil, `invalid index: the map has no element "zone"`},
		{"index map by list", idx(ref("input", "tags"), Lit(L{})), nil, "invalid index: a string is required, got a list"},
		{"index null", idx(Lit(nil), Lit(0.0)), nil, "cannot index a null value"},
		{"index by null", idx(ref("input", "zones"), Lit(nil)), nil, "invalid index: cannot use a null value as an index"},
		{"index string", idx(Lit("abc"), Lit(0.0)), nil, "cannot index a string"},
		{"index collection error", idx(ref("x", "y"), Lit(0.0)), nil, "x.y is not available yet"},
		{"index key error", idx(ref("input", "zones"), ref("x", "y")), nil, "x.y is not available yet"},
		{"attr", attr(ref("input", "tags"), "tier"), 1.0, ""},
		{"attr of object literal", attr(object("a", Lit("x")), "a"), "x", ""},
		{"attr missing", attr(ref("input", "tags"), "zone"), nil, `the object has no attribute "zone"`},
		{"attr of null", attr(Lit(nil), "a"), nil, `cannot read attribute "a" of a null value`},
		{"attr of list", attr(ref("input", "zones"), "a"), nil, `cannot read attribute "a" of a list`},
		{"attr of number", attr(Lit(1.0), "a"), nil, `cannot read attribute "a" of a number`},
		{"attr error", attr(ref("x", "y"), "a"), nil, "x.y is not available yet"},

		// Constructors.
		{"list", lst(Lit(1), ref("input", "host"), lst()), L{1.0, "plc-7", L{}}, ""},
		{"list error", lst(Lit(1), ref("x", "y")), nil, "x.y is not available yet"},
		{"object", object("h", ref("input", "host"), "n", Lit(nil)), M{"h": "plc-7", "n": nil}, ""},
		{"object later key wins", object("a", Lit(1), "a", Lit(2)), M{"a": 2.0}, ""},
		{"object error", object("a", ref("x", "y")), nil, "x.y is not available yet"},
		{"object malformed", &Expr{Op: OpObject, Keys: []string{"a"}}, nil, "malformed object expression: 1 keys for 0 values"},

		// Malformed trees.
		{"unknown op", &Expr{Op: "bogus"}, nil, `unknown expression operator "bogus"`},
		{"binary arity", &Expr{Op: OpBinary, Operator: "+", Args: []*Expr{Lit(1)}}, nil, `malformed "binary" expression: want 2 operands, have 1`},
		{"not arity", &Expr{Op: OpNot}, nil, `malformed "not" expression: want 1 operands, have 0`},
		{"neg arity", &Expr{Op: OpNegate}, nil, `malformed "neg" expression: want 1 operands, have 0`},
		{"cond arity", &Expr{Op: OpConditional, Args: []*Expr{Lit(true)}}, nil, `malformed "cond" expression: want 3 operands, have 1`},
		{"index arity", &Expr{Op: OpIndex}, nil, `malformed "index" expression: want 2 operands, have 0`},
		{"attr arity", &Expr{Op: OpAttr, Name: "a"}, nil, `malformed "attr" expression: want 1 operands, have 0`},
		{"nil operand", &Expr{Op: OpNot, Args: []*Expr{nil}}, nil, "missing expression"},
		{"literal NaN", Lit(nan()), nil, "NaN is not a number"},
		{"literal unsupported", Lit(struct{}{}), nil, "unsupported value of type struct {}"},

		// Calls in general.
		{"call nested", call("upper", tmpl(ref("input", "host"), Lit("-"), call("lower", "X"))), "PLC-7-X", ""},
		{"call unknown", call("env", "HOME"), nil, `call to unknown function "env"`},
		{"call arg error", call("upper", ref("x", "y")), nil, "x.y is not available yet"},
		{"call too few", call("replace", "a", "b"), nil, `replace: expects 3 arguments, got 2; missing value for "replace"`},
		{"call too many", call("upper", "a", "b"), nil, "upper: expects 1 argument, got 2"},
		{"call too few variadic", call("join"), nil, `join: expects at least 1 argument, got 0; missing value for "separator"`},
		{"call null", call("upper", nil), nil, `upper: invalid value for "str" parameter: argument must not be null`},
		{"call null variadic", call("max", 1.0, nil), nil, `max: invalid value for "numbers" parameter: argument must not be null`},

		// abs
		{"abs", call("abs", -3.5), 3.5, ""},
		{"abs string", call("abs", "-2"), 2.0, ""},
		{"abs bool", call("abs", true), nil, `abs: invalid value for "num" parameter: a number is required, got a bool`},

		// coalesce
		{"coalesce", call("coalesce", nil, "", "x"), "", ""},
		{"coalesce ref", call("coalesce", ref("input", "nothing"), ref("input", "host")), "plc-7", ""},
		{"coalesce unify to string", call("coalesce", nil, 1.0, "a"), "1", ""},
		{"coalesce with null passes through", call("coalesce", nil, true, 2.0), true, ""},
		{"coalesce lists", call("coalesce", L{1.0}, L{"a"}), L{1.0}, ""},
		{"coalesce all null", call("coalesce", nil, nil), nil, "coalesce: no non-null arguments"},
		{"coalesce no args", call("coalesce"), nil, "coalesce: at least one argument is required"},
		{"coalesce mixed", call("coalesce", true, 2.0), nil, "coalesce: all arguments must have the same type (got number and bool)"},
		{"coalesce list map", call("coalesce", nil, L{}, M{}), nil, "coalesce: all arguments must have the same type (got list and map)"},

		// concat
		{"concat", call("concat", L{1.0}, L{"a", L{}}), L{1.0, "a", L{}}, ""},
		{"concat empty", call("concat", L{}), L{}, ""},
		{"concat none", call("concat"), nil, "concat: at least one argument is required"},
		{"concat string", call("concat", L{}, "a"), nil, "concat: all arguments must be lists; argument 2 is a string"},

		// contains
		{"contains", call("contains", ref("input", "zones"), "ot"), true, ""},
		{"contains no", call("contains", ref("input", "zones"), "it"), false, ""},
		{"contains by type", call("contains", L{1.0}, "1"), false, ""},
		{"contains deep", call("contains", L{M{"a": L{1.0}}}, M{"a": L{1.0}}), true, ""},
		{"contains null", call("contains", L{nil}, nil), true, ""},
		{"contains map", call("contains", M{"a": 1.0}, 1.0), nil, `contains: invalid value for "list" parameter: a list is required, got a map`},

		// distinct
		{"distinct", call("distinct", L{"a", "b", "a", "c", "b"}), L{"a", "b", "c"}, ""},
		{"distinct numbers", call("distinct", L{1.0, 1, 2.0}), L{1.0, 2.0}, ""},
		{"distinct unify", call("distinct", L{1.0, "1", true, "true"}), L{"1", "true"}, ""},
		{"distinct nulls", call("distinct", L{nil, 1.0, nil}), L{nil, 1.0}, ""},
		{"distinct empty", call("distinct", L{}), L{}, ""},
		{"distinct mixed", call("distinct", L{1.0, L{}}), nil, `distinct: invalid value for "list" parameter: all list elements must have the same type (got number and list)`},
		{"distinct number bool", call("distinct", L{1.0, true}), nil, `distinct: invalid value for "list" parameter: all list elements must have the same type (got number and bool)`},
		{"distinct string", call("distinct", "aa"), nil, `distinct: invalid value for "list" parameter: a list is required, got a string`},

		// format
		{"format", call("format", "%s is %d%%", ref("input", "host"), 42.0), "plc-7 is 42%", ""},
		{"format no verbs", call("format", "plain"), "plain", ""},
		{"format %v", call("format", "%v|%v|%v|%v", "s", 1.5, true, nil), "s|1.5|true|null", ""},
		{"format %v large", call("format", "%v", 1000000.0), "1e+06", ""},
		{"format %v json", call("format", "%v", L{1.0, "a<b", nil, M{"b": 1.0, "a": 2.0}}), `[1,"a\u003cb",null,{"a":2,"b":1}]`, ""},
		{"format %#v", call("format", "%#v|%#v", "x", 1e21), `"x"|1000000000000000000000`, ""},
		{"format widths", call("format", "%5.1f|%-5d|%05d|%x|%X|%o|%b", 3.14159, 42.0, 42.0, 255.0, 255.0, 8.0, 5.0), "  3.1|42   |00042|ff|FF|10|101", ""},
		{"format floats", call("format", "%e|%E|%g|%G|%.2f|%f", 12345.678, 1.5, 0.000001, 1e21, 2.0, 0.1), "1.234568e+04|1.500000E+00|1e-06|1E+21|2.00|0.100000", ""},
		{"format signs", call("format", "%+d|% d|%+.1f", 5.0, 5.0, 2.0), "+5| 5|+2.0", ""},
		{"format strings", call("format", "%.0s|%.2s|%6s|%-6s|%q", "hello", "hello", "né", "ok", `a"b`), `hello|he|    né|ok    |"a\"b"`, ""},
		{"format string conversions", call("format", "%s %s %d %t", 1.5, true, "7", "true"), "1.5 true 7 true", ""},
		{"format %t ignores width", call("format", "%5t", false), "false", ""},
		{"format %v pads", call("format", "%-4v|%04v", true, 7.0), "true|0007", ""},
		{"format indexes", call("format", "%[2]s %[1]s %s", "a", "b"), "b a b", ""},
		{"format indexed numbers", call("format", "%[2]d %.1[1]f", 1.5, 2.0), "2 1.5", ""},
		{"format index before precision", call("format", "%[1].1f", 1.5), nil, "format: unrecognized format character '.' at offset 4"},
		{"format not enough", call("format", "%d %d", 1.0), nil, `format: not enough arguments for "%d" at 3: need index 2 but have 1 total`},
		{"format index too far", call("format", "%[2]s %s %[1]s", "a", "b"), nil, `format: not enough arguments for "%s" at 6: need index 3 but have 2 total`},
		{"format too many", call("format", "%s", "a", "b"), nil, `format: invalid value for "args" parameter: too many arguments; only 1 used by format string`},
		{"format too many no verbs", call("format", "x", 1.0), nil, `format: invalid value for "args" parameter: too many arguments; no verbs in format string`},
		{"format fraction as integer", call("format", "%d", 1.5), nil, `format: unsupported value for "%d" at 0: an integer is required`},
		{"format word as number", call("format", "%f", "x"), nil, `format: unsupported value for "%f" at 0: a number is required, got the string "x"`},
		{"format list as string", call("format", "%s", L{}), nil, `format: unsupported value for "%s" at 0: a string is required, got a list`},
		{"format number as bool", call("format", "%t", 1.0), nil, `format: unsupported value for "%t" at 0: a bool is required, got a number`},
		{"format null", call("format", "%s", nil), nil, `format: unsupported value for "%s" at 0: null value cannot be formatted`},
		{"format bad verb", call("format", "%z", 1.0), nil, `format: unsupported format verb 'z' in "%z" at offset 0`},
		{"format unfinished", call("format", "ab%5"), nil, "format: invalid format string starting at offset 4"},
		{"format unfinished index", call("format", "%[1", 1.0), nil, "format: invalid format string starting at offset 3"},
		{"format bad character", call("format", "%5-d", 1.0), nil, "format: unrecognized format character '-' at offset 2"},
		{"format zero index", call("format", "%[0]d", 1.0), nil, "format: unrecognized format character '0' at offset 2"},
		{"format bad index close", call("format", "%[1x", 1.0), nil, "format: unrecognized format character 'x' at offset 3"},
		{"format infinity json", call("format", "%v", L{inf()}), nil, `format: unsupported value for "%v" at 0: cannot serialize infinity as JSON`},

		// join
		{"join", call("join", ", ", ref("input", "zones")), "dmz, ot", ""},
		{"join several", call("join", "-", L{"a"}, L{"b", "c"}), "a-b-c", ""},
		{"join converts", call("join", ",", L{1.0, true, "a"}), "1,true,a", ""},
		{"join empty", call("join", ",", L{}), "", ""},
		{"join no lists", call("join", ","), nil, "join: at least one list is required"},
		{"join not list", call("join", ",", "a"), nil, `join: invalid value for "lists" parameter: a list of strings is required, got a string`},
		{"join null element", call("join", ",", L{"a", nil}), nil, `join: invalid value for "lists" parameter: element 1 is null; cannot concatenate null values`},
		{"join null element of several", call("join", ",", L{}, L{nil}), nil, `join: invalid value for "lists" parameter: element 0 of list 2 is null; cannot concatenate null values`},
		{"join list element", call("join", ",", L{L{}}), nil, `join: invalid value for "lists" parameter: element 0: a string is required, got a list`},
		{"join bad separator", call("join", L{}, L{}), nil, `join: invalid value for "separator" parameter: a string is required, got a list`},

		// keys
		{"keys", call("keys", M{"b": 1.0, "a": 2.0, "c": nil}), L{"a", "b", "c"}, ""},
		{"keys empty", call("keys", M{}), L{}, ""},
		{"keys list", call("keys", L{}), nil, `keys: invalid value for "inputMap" parameter: a map is required, got a list`},

		// length
		{"length string", call("length", "plc-7"), 5.0, ""},
		{"length combining", call("length", "x\u0301yz"), 3.0, ""},
		{"length emoji", call("length", "\U0001F44D\U0001F3FD\U0001F1EC\U0001F1E7\U0001F468\u200D\U0001F469\u200D\U0001F467"), 3.0, ""},
		{"length crlf", call("length", "a\r\nb"), 3.0, ""},
		{"length hangul jamo", call("length", "\u1112\u1161\u11AB"), 1.0, ""},
		{"length list", call("length", ref("input", "zones")), 2.0, ""},
		{"length map", call("length", ref("input", "tags")), 2.0, ""},
		{"length number", call("length", 5.0), nil, `length: invalid value for "value" parameter: a string, list or map is required, got a number`},

		// lookup
		{"lookup", call("lookup", ref("input", "tags"), "site", "none"), "north", ""},
		{"lookup default", call("lookup", ref("input", "tags"), "zone", "none"), "none", ""},
		{"lookup number key", call("lookup", M{"1": "one"}, 1.0, ""), "one", ""},
		{"lookup two args", call("lookup", M{}, "a"), nil, `lookup: expects 3 arguments, got 2; missing value for "default"`},
		{"lookup list", call("lookup", L{}, "a", ""), nil, `lookup: invalid value for "inputMap" parameter: a map is required, got a list`},
		{"lookup list key", call("lookup", M{}, L{}, ""), nil, `lookup: invalid value for "key" parameter: a string is required, got a list`},

		// lower, upper, trimspace
		{"lower", call("lower", "ÀB"), "àb", ""},
		{"lower number", call("lower", 5.0), "5", ""},
		{"upper", call("upper", "straße"), "STRAßE", ""}, // as strings.ToUpper, like cty
		{"upper bool", call("upper", true), "TRUE", ""},
		{"upper list", call("upper", L{}), nil, `upper: invalid value for "str" parameter: a string is required, got a list`},
		{"trimspace", call("trimspace", " \t x y \n"), "x y", ""},
		{"trimspace map", call("trimspace", M{}), nil, `trimspace: invalid value for "str" parameter: a string is required, got a map`},

		// max, min
		{"max", call("max", 1.0, 5.0, "3"), 5.0, ""},
		{"max negative", call("max", -1.5, -2.0), -1.5, ""},
		{"max none", call("max"), nil, "max: must pass at least one number"},
		{"max word", call("max", 1.0, "x"), nil, `max: invalid value for "numbers" parameter: a number is required, got the string "x"`},
		{"min", call("min", 1.0, 5.0, -3.0), -3.0, ""},
		{"min none", call("min"), nil, "min: must pass at least one number"},

		// replace
		{"replace", call("replace", "a-b-c", "-", "+"), "a+b+c", ""},
		{"replace empty substring", call("replace", "ab", "", "-"), "-a-b-", ""},
		{"replace number", call("replace", 1.5, ".", ","), "1,5", ""},
		{"replace list", call("replace", "a", L{}, ""), nil, `replace: invalid value for "substr" parameter: a string is required, got a list`},

		// split
		{"split", call("split", ",", "a,b,,c"), L{"a", "b", "", "c"}, ""},
		{"split empty", call("split", ",", ""), L{""}, ""},
		{"split no separator", call("split", "", "abc"), L{"a", "b", "c"}, ""},
		{"split list", call("split", ",", L{}), nil, `split: invalid value for "str" parameter: a string is required, got a list`},

		// substr
		{"substr", call("substr", "hello", 1.0, 3.0), "ell", ""},
		{"substr rest", call("substr", "hello", 1.0, -1.0), "ello", ""},
		{"substr from end", call("substr", "hello", -3.0, 2.0), "ll", ""},
		{"substr before start", call("substr", "hello", -10.0, 2.0), "he", ""},
		{"substr past end", call("substr", "hello", 10.0, 2.0), "", ""},
		{"substr at end", call("substr", "hello", 5.0, 1.0), "", ""},
		{"substr long", call("substr", "hello", 3.0, 10.0), "lo", ""},
		{"substr zero length", call("substr", "hello", 1.0, 0.0), "", ""},
		{"substr zero length from end", call("substr", "hello", -2.0, 0.0), "lo", ""},
		{"substr characters", call("substr", "x\u0301yz", 0.0, 2.0), "x\u0301y", ""},
		{"substr strings convert", call("substr", "hello", "1", "2"), "el", ""},
		{"substr fraction", call("substr", "hello", 1.5, 2.0), nil, `substr: invalid value for "offset" parameter: value must be a whole number`},
		{"substr bad length", call("substr", "hello", 1.0, "x"), nil, `substr: invalid value for "length" parameter: a number is required, got the string "x"`},

		// tonumber, tostring
		{"tonumber", call("tonumber", "-1.5e2"), -150.0, ""},
		{"tonumber number", call("tonumber", 3.0), 3.0, ""},
		{"tonumber null", call("tonumber", nil), nil, ""},
		{"tonumber spaces", call("tonumber", " 5"), nil, `tonumber: invalid value for "v" parameter: cannot convert " 5" to number; given string must be a decimal representation of a number`},
		{"tonumber hex", call("tonumber", "0x10"), nil, `tonumber: invalid value for "v" parameter: cannot convert "0x10" to number; given string must be a decimal representation of a number`},
		{"tonumber infinity", call("tonumber", "Inf"), nil, `tonumber: invalid value for "v" parameter: cannot convert "Inf" to number; given string must be a decimal representation of a number`},
		{"tonumber bool", call("tonumber", true), nil, `tonumber: invalid value for "v" parameter: cannot convert bool to number`},
		{"tonumber list", call("tonumber", L{}), nil, `tonumber: invalid value for "v" parameter: cannot convert list to number`},
		{"tostring number", call("tostring", 1e21), "1000000000000000000000", ""},
		{"tostring fraction", call("tostring", 0.1), "0.1", ""},
		{"tostring bool", call("tostring", false), "false", ""},
		{"tostring string", call("tostring", "x"), "x", ""},
		{"tostring null", call("tostring", nil), nil, ""},
		{"tostring map", call("tostring", M{}), nil, `tostring: invalid value for "v" parameter: cannot convert map to string`},

		// values
		{"values", call("values", M{"b": 1.0, "a": "x", "c": nil}), L{"x", 1.0, nil}, ""},
		{"values empty", call("values", M{}), L{}, ""},
		{"values list", call("values", L{}), nil, `values: invalid value for "mapping" parameter: a map is required, got a list`},
	}
	scope := testScope()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := *tc.expr
			e.Source = "expression"
			e.Range = &Range{Filename: "playbook.hcl", Line: 12, Column: 9}
			got, err := e.Eval(scope)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("got %#v, want error %q", got, tc.err)
				}
				if err.Error() != at+tc.err {
					t.Fatalf("error\n got %q\nwant %q", err.Error(), at+tc.err)
				}
				var ee *EvalError
				if !errors.As(err, &ee) || ee.Msg != tc.err || ee.Source != "expression" || ee.Range != e.Range {
					t.Fatalf("error is not the expected *EvalError: %#v", err)
				}
				if got != nil {
					t.Errorf("got %#v alongside the error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestEveryRuntimeFunctionIsTested(t *testing.T) {
	if !sort.StringsAreSorted(RuntimeFunctions) {
		t.Errorf("RuntimeFunctions is not sorted: %v", RuntimeFunctions)
	}
	if len(runtimeFuncs) != len(RuntimeFunctions) {
		t.Errorf("%d implementations for %d RuntimeFunctions", len(runtimeFuncs), len(RuntimeFunctions))
	}
	for _, name := range RuntimeFunctions {
		if _, ok := runtimeFuncs[name]; !ok {
			t.Errorf("RuntimeFunctions lists %q, which has no implementation", name)
		}
		if _, err := (&Expr{Op: OpCall, Func: name}).Eval(nil); err != nil && strings.Contains(err.Error(), "unknown function") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEvalErrorUnwrap(t *testing.T) {
	_, err := ref("decision", "reconnect", "choice").Eval(map[string]any{})
	if !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("errors.Is(%v, ErrNotAvailable) = false", err)
	}
	// Without a range the message stands alone.
	if got, want := err.Error(), "decision.reconnect.choice is not available yet"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Wrapped through operators and calls, it is still recognisable.
	_, err = call("upper", tmpl(ref("x", "y"))).Eval(nil)
	if !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("errors.Is(%v, ErrNotAvailable) = false", err)
	}
	_, err = bin(Lit(1.0), "/", Lit(0.0)).Eval(nil)
	if errors.Is(err, ErrNotAvailable) {
		t.Fatalf("division by zero reported as not available")
	}
	var nilExpr *Expr
	if _, err := nilExpr.Eval(nil); err == nil || err.Error() != "no expression to evaluate" {
		t.Fatalf("nil expression: %v", err)
	}
}

// A plan travels as JSON, so an expression must evaluate the same after a
// round trip, with its literals decoded as JSON-natural values.
func TestEvalAfterJSONRoundTrip(t *testing.T) {
	e := cond(
		bin(bin(ref("input", "count"), "+", Lit(1)), ">=", Lit(int64(4))),
		call("format", "%s has %d zones: %s", ref("input", "host"), call("length", ref("input", "zones")), call("join", ",", ref("input", "zones"))),
		Lit(false),
	)
	e.Source = `input.count + 1 >= 4 ? format(...) : false`
	e.Range = &Range{Filename: "playbook.hcl", Line: 3, Column: 10}
	before, err := e.Eval(testScope())
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var decoded Expr
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatal(err)
	}
	after, err := decoded.Eval(testScope())
	if err != nil {
		t.Fatal(err)
	}
	if want := "plc-7 has 2 zones: dmz,ot"; before != want || after != want {
		t.Fatalf("before %#v, after %#v, want %q", before, after, want)
	}
}

// Eval must not let a caller change the scope through the value it returns.
func TestEvalCopiesScopeValues(t *testing.T) {
	scope := testScope()
	v, err := ref("input", "zones").Eval(scope)
	if err != nil {
		t.Fatal(err)
	}
	v.([]any)[0] = "changed"
	if got := scope["input"].(M)["zones"].(L)[0]; got != "dmz" {
		t.Fatalf("scope changed to %v", got)
	}
}

func TestGraphemeCount(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"e\u0301", 1},                        // combining acute
		{"\u0915\u094D\u0937", 2},             // Devanagari conjunct: two clusters before Unicode 15.1
		{"\u2764\uFE0F", 1},                   // variation selector
		{"\U0001F1EC\U0001F1E7", 1},           // flag
		{"\U0001F1EC\U0001F1E7\U0001F1EB", 2}, // flag and a lone indicator
		{"\U0001F44B\U0001F3FD", 1},           // skin tone
		{"\U0001F468\u200D\U0001F469", 1},     // ZWJ sequence
		{"a\u200Db", 2},                       // ZWJ joins only pictographs
		{"\uD55C\u11AB", 1},                   // Hangul syllable and trailing jamo
		{"\u1100\u1161", 1},                   // leading and vowel jamo
		{"\r\n\n", 2},
		{"\x00a", 2},
		{"\u0600a", 1}, // prepended concatenation mark
	} {
		if got := graphemeCount(tc.s); got != tc.want {
			t.Errorf("graphemeCount(%+q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func nan() float64 { z := 0.0; return z / z }
func inf() float64 { z := 0.0; return 1 / z }

// TestFormatBounds: a format string cannot ask for unbounded padding or wrap
// an argument index around.
func TestFormatBounds(t *testing.T) {
	for _, f := range []string{"%9999999999999s", "%99999999999999999999s", "%.9999999999f", "%[18446744073709551617]s"} {
		e := &Expr{Op: OpCall, Func: "format", Args: []*Expr{Lit(f), Lit("x")}}
		if _, err := e.Eval(nil); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("format(%q): error %v", f, err)
		}
	}
	e := &Expr{Op: OpCall, Func: "format", Args: []*Expr{Lit("%5s|%.2f|%[1]s"), Lit("ab"), Lit(1.5)}}
	if v, err := e.Eval(nil); err != nil || v != "   ab|1.50|ab" {
		t.Errorf("format within bounds: %v, %v", v, err)
	}
}
