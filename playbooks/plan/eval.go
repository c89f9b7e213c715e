package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file evaluates run-time expressions. It follows the semantics of HCL
// (github.com/hashicorp/hcl/v2/hclsyntax) and of go-cty's standard library
// runtimeFuncs, so that an expression folded at compile time and the same
// expression evaluated while an incident runs agree. It depends on the
// standard library only and is deterministic: no clocks, no randomness, no
// goroutines and no iteration over maps without sorting, so it is safe to use
// inside a workflow.
//
// Numbers are float64 values, as JSON decodes them. Arithmetic is carried out
// on 512-bit big.Floats built from each operand's shortest decimal form, as
// cty does with the decimal literals it parses, so 0.1 + 0.2 is 0.3 here too.

// ErrNotAvailable is wrapped by the error Eval returns when a reference names
// something that is not in the scope yet, such as the answer to a decision
// that has not been made. Test for it with errors.Is.
var ErrNotAvailable = errors.New("not available yet")

// EvalError is the error Eval returns. It points at the expression as written.
type EvalError struct {
	// Source is the expression as written, from the root expression.
	Source string
	// Range is where the root expression was written, if known.
	Range *Range
	// Msg says what went wrong.
	Msg string

	err error
}

// Error renders the error as "file:line:col: message".
func (e *EvalError) Error() string {
	if e.Range != nil {
		return e.Range.String() + ": " + e.Msg
	}
	return e.Msg
}

// Unwrap returns the underlying error, so that errors.Is(err,
// ErrNotAvailable) works.
func (e *EvalError) Unwrap() error { return e.err }

// RuntimeFunctions lists, sorted, the runtimeFuncs an expression may call at run
// time. Compile-time evaluation offers exactly the same set.
var RuntimeFunctions = []string{
	"abs", "coalesce", "concat", "contains", "distinct", "format", "join",
	"keys", "length", "lookup", "lower", "max", "min", "replace", "split",
	"substr", "tonumber", "tostring", "trimspace", "upper", "values",
}

// Eval evaluates the expression against scope, whose top-level keys are the
// reference roots (input, incident, each, step kinds, ...). The result is a
// JSON-natural value: string, float64, bool, []any, map[string]any or nil.
// Scope values may also use other Go integer and float types, []string and
// map[string]string (or any slice, or map with string keys); they are
// normalised. Any error is an *EvalError carrying e's Source and Range.
func (e *Expr) Eval(scope map[string]any) (any, error) {
	if e == nil {
		return nil, &EvalError{Msg: "no expression to evaluate", err: errors.New("no expression to evaluate")}
	}
	v, err := eval(e, scope)
	if err != nil {
		return nil, &EvalError{Source: e.Source, Range: e.Range, Msg: err.Error(), err: err}
	}
	return v, nil
}

func eval(e *Expr, scope map[string]any) (any, error) {
	if e == nil {
		return nil, errors.New("missing expression")
	}
	switch e.Op {
	case OpLiteral:
		if e.Value == nil {
			return nil, nil
		}
		return normaliseValue(e.Value.V)
	case OpRef:
		return evalRef(e.Path, scope)
	case OpTemplate:
		var b strings.Builder
		for _, a := range e.Args {
			v, err := eval(a, scope)
			if err != nil {
				return nil, err
			}
			s, err := templateString(v)
			if err != nil {
				return nil, err
			}
			b.WriteString(s)
		}
		return b.String(), nil
	case OpBinary:
		if err := wantArgs(e, 2); err != nil {
			return nil, err
		}
		return evalBinary(e.Operator, e.Args[0], e.Args[1], scope)
	case OpNot:
		if err := wantArgs(e, 1); err != nil {
			return nil, err
		}
		v, err := eval(e.Args[0], scope)
		if err != nil {
			return nil, err
		}
		b, err := asBool(v)
		if err != nil {
			return nil, fmt.Errorf(`invalid operand of "!": %w`, err)
		}
		return !b, nil
	case OpNegate:
		if err := wantArgs(e, 1); err != nil {
			return nil, err
		}
		v, err := eval(e.Args[0], scope)
		if err != nil {
			return nil, err
		}
		f, err := asNumber(v)
		if err != nil {
			return nil, fmt.Errorf(`invalid operand of "-": %w`, err)
		}
		if f == 0 {
			return float64(0), nil
		}
		return -f, nil
	case OpConditional:
		if err := wantArgs(e, 3); err != nil {
			return nil, err
		}
		return evalConditional(e.Args[0], e.Args[1], e.Args[2], scope)
	case OpIndex:
		if err := wantArgs(e, 2); err != nil {
			return nil, err
		}
		coll, err := eval(e.Args[0], scope)
		if err != nil {
			return nil, err
		}
		key, err := eval(e.Args[1], scope)
		if err != nil {
			return nil, err
		}
		return evalIndex(coll, key)
	case OpAttr:
		if err := wantArgs(e, 1); err != nil {
			return nil, err
		}
		obj, err := eval(e.Args[0], scope)
		if err != nil {
			return nil, err
		}
		return getAttr(obj, e.Name)
	case OpList:
		out := make([]any, 0, len(e.Args))
		for _, a := range e.Args {
			v, err := eval(a, scope)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case OpObject:
		if len(e.Keys) != len(e.Args) {
			return nil, fmt.Errorf("malformed object expression: %d keys for %d values", len(e.Keys), len(e.Args))
		}
		out := make(map[string]any, len(e.Args))
		for i, a := range e.Args {
			v, err := eval(a, scope)
			if err != nil {
				return nil, err
			}
			out[e.Keys[i]] = v
		}
		return out, nil
	case OpCall:
		args := make([]any, len(e.Args))
		for i, a := range e.Args {
			v, err := eval(a, scope)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
		return callFunction(e.Func, args)
	}
	return nil, fmt.Errorf("unknown expression operator %q", e.Op)
}

func wantArgs(e *Expr, n int) error {
	if len(e.Args) != n {
		return fmt.Errorf("malformed %q expression: want %d operands, have %d", e.Op, n, len(e.Args))
	}
	return nil
}

// ---- references, indexing and attributes ----

func evalRef(path []string, scope map[string]any) (any, error) {
	if len(path) == 0 {
		return nil, errors.New("empty reference")
	}
	name := strings.Join(path, ".")
	var cur any = scope
	for i, step := range path {
		v, found, err := refChild(cur, step)
		if err != nil {
			return nil, fmt.Errorf("%s: cannot read %q of %s, which is %s", name, step, strings.Join(path[:i], "."), err)
		}
		if !found {
			return nil, fmt.Errorf("%s is %w", name, ErrNotAvailable)
		}
		cur = v
	}
	v, err := normaliseValue(cur)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// refChild looks one step down a reference path. A missing key or a null
// container is "not found"; a container of the wrong kind is an error that
// describes it.
func refChild(cur any, step string) (any, bool, error) {
	switch c := cur.(type) {
	case nil:
		return nil, false, nil
	case map[string]any:
		v, ok := c[step]
		return v, ok, nil
	case map[string]string:
		v, ok := c[step]
		return v, ok, nil
	case []any:
		i, err := strconv.Atoi(step)
		if err != nil || i < 0 || i >= len(c) {
			return nil, false, nil
		}
		return c[i], true, nil
	}
	rv := reflect.ValueOf(cur)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		v := rv.MapIndex(reflect.ValueOf(step).Convert(rv.Type().Key()))
		if !v.IsValid() {
			return nil, false, nil
		}
		return v.Interface(), true, nil
	case reflect.Slice, reflect.Array:
		i, err := strconv.Atoi(step)
		if err != nil || i < 0 || i >= rv.Len() {
			return nil, false, nil
		}
		return rv.Index(i).Interface(), true, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, false, nil
		}
		return refChild(rv.Elem().Interface(), step)
	}
	v, err := normaliseValue(cur)
	if err != nil {
		return nil, false, err
	}
	return nil, false, errors.New(describeValue(v))
}

func evalIndex(coll, key any) (any, error) {
	if coll == nil {
		return nil, errors.New("cannot index a null value")
	}
	if key == nil {
		return nil, errors.New("invalid index: cannot use a null value as an index")
	}
	switch c := coll.(type) {
	case []any:
		f, err := asNumber(key)
		if err != nil {
			return nil, fmt.Errorf("invalid index: %w", err)
		}
		switch {
		case f != math.Trunc(f) || math.IsInf(f, 0):
			return nil, fmt.Errorf("invalid index %s: a list index must be a whole number", numberString(f))
		case f < 0:
			return nil, fmt.Errorf("invalid index %s: a list index cannot be negative", numberString(f))
		case len(c) == 0:
			return nil, fmt.Errorf("invalid index %s: the list is empty", numberString(f))
		case f >= float64(len(c)):
			return nil, fmt.Errorf("invalid index %s: the list has only %d elements", numberString(f), len(c))
		}
		return c[int(f)], nil
	case map[string]any:
		k, err := asString(key)
		if err != nil {
			return nil, fmt.Errorf("invalid index: %w", err)
		}
		v, ok := c[k]
		if !ok {
			return nil, fmt.Errorf("invalid index: the map has no element %q", k)
		}
		return v, nil
	}
	return nil, fmt.Errorf("cannot index %s", describeValue(coll))
}

func getAttr(obj any, name string) (any, error) {
	switch o := obj.(type) {
	case nil:
		return nil, fmt.Errorf("cannot read attribute %q of a null value", name)
	case map[string]any:
		v, ok := o[name]
		if !ok {
			return nil, fmt.Errorf("the object has no attribute %q", name)
		}
		return v, nil
	}
	return nil, fmt.Errorf("cannot read attribute %q of %s", name, describeValue(obj))
}

// ---- operators ----

func evalBinary(op string, lx, rx *Expr, scope map[string]any) (any, error) {
	if op == "&&" || op == "||" {
		return evalLogical(op, lx, rx, scope)
	}
	l, err := eval(lx, scope)
	if err != nil {
		return nil, err
	}
	r, err := eval(rx, scope)
	if err != nil {
		return nil, err
	}
	switch op {
	case "==":
		return valuesEqual(l, r), nil
	case "!=":
		return !valuesEqual(l, r), nil
	case "<", ">", "<=", ">=", "+", "-", "*", "/", "%":
	default:
		return nil, fmt.Errorf("unknown operator %q", op)
	}
	a, err := asNumber(l)
	if err != nil {
		return nil, fmt.Errorf("invalid left operand of %q: %w", op, err)
	}
	b, err := asNumber(r)
	if err != nil {
		return nil, fmt.Errorf("invalid right operand of %q: %w", op, err)
	}
	switch op {
	case "<":
		return a < b, nil
	case ">":
		return a > b, nil
	case "<=":
		return a <= b, nil
	case ">=":
		return a >= b, nil
	}
	return arithmetic(op, a, b)
}

// evalLogical implements && and || as HCL does: both operands are evaluated,
// and an operand that decides the result on its own (false for &&, true for
// ||) wins even when the other operand failed to evaluate. As in HCL, a null
// operand counts as false when deciding && early.
func evalLogical(op string, lx, rx *Expr, scope map[string]any) (any, error) {
	l, lerr := eval(lx, scope)
	r, rerr := eval(rx, scope)
	var lb, rb bool
	if lerr == nil && l != nil {
		var err error
		if lb, err = asBool(l); err != nil {
			return nil, fmt.Errorf("invalid left operand of %q: %w", op, err)
		}
	}
	if rerr == nil && r != nil {
		var err error
		if rb, err = asBool(r); err != nil {
			return nil, fmt.Errorf("invalid right operand of %q: %w", op, err)
		}
	}
	if op == "&&" {
		if (lerr == nil && !lb) || (rerr == nil && !rb) {
			return false, nil
		}
	} else if (lerr == nil && lb) || (rerr == nil && rb) {
		return true, nil
	}
	if lerr != nil {
		return nil, lerr
	}
	if rerr != nil {
		return nil, rerr
	}
	if l == nil {
		return nil, fmt.Errorf("invalid left operand of %q: a bool is required, got null", op)
	}
	if r == nil {
		return nil, fmt.Errorf("invalid right operand of %q: a bool is required, got null", op)
	}
	if op == "&&" {
		return lb && rb, nil
	}
	return lb || rb, nil
}

func arithmetic(op string, a, b float64) (any, error) {
	x, y := bigNumber(a), bigNumber(b)
	z := new(big.Float).SetPrec(bigPrec)
	switch op {
	case "+":
		if math.IsInf(a, 0) && math.IsInf(b, 0) && a != b {
			return nil, errors.New("cannot add infinities of opposite sign")
		}
		z.Add(x, y)
	case "-":
		if math.IsInf(a, 0) && math.IsInf(b, 0) && a == b {
			return nil, errors.New("cannot subtract infinity from infinity")
		}
		z.Sub(x, y)
	case "*":
		if (math.IsInf(a, 0) && b == 0) || (math.IsInf(b, 0) && a == 0) {
			return nil, errors.New("cannot multiply zero by infinity")
		}
		z.Mul(x, y)
	case "/":
		if b == 0 {
			return nil, errors.New("division by zero")
		}
		if math.IsInf(a, 0) && math.IsInf(b, 0) {
			return nil, errors.New("cannot divide infinity by infinity")
		}
		z.Quo(x, y)
	case "%":
		if b == 0 {
			return nil, errors.New("modulo by zero")
		}
		if math.IsInf(a, 0) || math.IsInf(b, 0) {
			return nil, errors.New("cannot use modulo with infinity")
		}
		// As cty does: a - b*trunc(a/b).
		q := new(big.Float).SetPrec(bigPrec).Quo(x, y)
		qi, _ := q.Int(nil)
		z.SetInt(qi)
		z.Mul(y, z)
		z.Sub(x, z)
	}
	return fromBig(z)
}

func evalConditional(cx, tx, fx *Expr, scope map[string]any) (any, error) {
	c, err := eval(cx, scope)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("the condition is null; it must be true or false")
	}
	b, err := asBool(c)
	if err != nil {
		return nil, fmt.Errorf("invalid condition: %w", err)
	}
	chosen, other := tx, fx
	if !b {
		chosen, other = fx, tx
	}
	v, err := eval(chosen, scope)
	if err != nil {
		return nil, err
	}
	// HCL gives both results a common type. Only the chosen result is
	// needed; the other one is consulted when it can be evaluated.
	if o, oerr := eval(other, scope); oerr == nil {
		k, err := unifyKinds([]any{v, o}, false)
		if err != nil {
			return nil, fmt.Errorf("the true and false results must have consistent types: %w", err)
		}
		if k == kindString && v != nil {
			return asString(v)
		}
	}
	return v, nil
}

// ---- values ----

const bigPrec = 512

// bigNumber returns f as cty holds a number parsed from f's shortest decimal
// form.
func bigNumber(f float64) *big.Float {
	if math.IsInf(f, 0) {
		return new(big.Float).SetPrec(bigPrec).SetInf(f < 0)
	}
	z, _, err := big.ParseFloat(strconv.FormatFloat(f, 'g', -1, 64), 10, bigPrec, big.ToNearestEven)
	if err != nil {
		// Unreachable: FormatFloat always writes a valid decimal.
		return new(big.Float).SetPrec(bigPrec).SetFloat64(f)
	}
	return z
}

func fromBig(z *big.Float) (any, error) {
	f, _ := z.Float64()
	if math.IsInf(f, 0) && !z.IsInf() {
		return nil, errors.New("number is too large")
	}
	if f == 0 {
		f = 0 // no negative zero
	}
	return f, nil
}

// numberString renders a number as HCL converts a number to a string: an
// integer without a fraction, otherwise the shortest decimal, never with an
// exponent.
func numberString(f float64) string {
	if f == 0 {
		return "0"
	}
	return bigNumber(f).Text('f', -1)
}

// parseNumber converts a string to a number as cty does.
func parseNumber(s string) (float64, bool) {
	z, _, err := big.ParseFloat(s, 10, bigPrec, big.ToNearestEven)
	if err != nil || z.IsInf() {
		return 0, false
	}
	f, _ := z.Float64()
	if math.IsInf(f, 0) {
		return 0, false
	}
	if f == 0 {
		f = 0
	}
	return f, true
}

func asNumber(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case string:
		if f, ok := parseNumber(x); ok {
			return f, nil
		}
		return 0, fmt.Errorf("a number is required, got the string %q", x)
	}
	return 0, fmt.Errorf("a number is required, got %s", describeValue(v))
}

func asBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch x {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return false, fmt.Errorf("a bool is required, got the string %q", x)
	}
	return false, fmt.Errorf("a bool is required, got %s", describeValue(v))
}

func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return numberString(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("a string is required, got %s", describeValue(v))
}

func templateString(v any) (string, error) {
	switch v.(type) {
	case nil:
		return "", errors.New("cannot include a null value in a string template")
	case []any:
		return "", errors.New("cannot include a list in a string template")
	case map[string]any:
		return "", errors.New("cannot include a map in a string template")
	}
	return asString(v)
}

// describe names the kind of a value for messages: "a string", "null", ...
func describeValue(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a bool"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("a %T", v)
}

// equal is HCL's ==: values of different kinds are unequal, numbers compare
// numerically, lists and maps compare element by element.
func valuesEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for _, k := range sortedMapKeys(x) {
			yv, ok := y[k]
			if !ok || !valuesEqual(x[k], yv) {
				return false
			}
		}
		return true
	}
	return false
}

// normalise converts a Go value into the JSON-natural form, copying
// containers.
func normaliseValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool:
		return x, nil
	case float64:
		if math.IsNaN(x) {
			return nil, errors.New("NaN is not a number")
		}
		if x == 0 {
			return float64(0), nil
		}
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case json.Number:
		if f, ok := parseNumber(string(x)); ok {
			return f, nil
		}
		return nil, fmt.Errorf("invalid number %q", string(x))
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for _, k := range sortedMapKeys(x) {
			out[k] = x[k]
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normaliseValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedMapKeys(x) {
			n, err := normaliseValue(x[k])
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return normaliseValue(rv.Float())
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return []any{}, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normaliseValue(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		out := make(map[string]any, len(keys))
		for _, k := range keys {
			n, err := normaliseValue(rv.MapIndex(k).Interface())
			if err != nil {
				return nil, err
			}
			out[k.String()] = n
		}
		return out, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normaliseValue(rv.Elem().Interface())
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

// Value kinds, for giving several values a common type as cty does.
const (
	kindNull = iota
	kindString
	kindNumber
	kindBool
	kindList
	kindMap
)

func kindOf(v any) int {
	switch v.(type) {
	case string:
		return kindString
	case float64:
		return kindNumber
	case bool:
		return kindBool
	case []any:
		return kindList
	case map[string]any:
		return kindMap
	}
	return kindNull
}

var kindNames = [...]string{"null", "string", "number", "bool", "list", "map"}

// unifyKinds finds the kind that all the non-null values convert to, as
// cty's type unification does: their common kind, or string for a mixture
// of strings with numbers and bools. Numbers and bools alone, or lists or
// maps with anything else, have no common kind; when dynamicNulls is set and
// a null is present, such values pass through unchanged instead (kindNull),
// because cty types a literal null as "any type". (cty also unifies the
// elements of lists and maps; that is not modelled here.)
func unifyKinds(vs []any, dynamicNulls bool) (int, error) {
	var seen [len(kindNames)]bool
	hasNull := false
	for _, v := range vs {
		if k := kindOf(v); k == kindNull {
			hasNull = true
		} else {
			seen[k] = true
		}
	}
	var kinds []int
	for k := range seen {
		if seen[k] {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		return kindNull, nil
	case len(kinds) == 1:
		return kinds[0], nil
	case seen[kindList] && seen[kindMap]:
	case seen[kindString] && !seen[kindList] && !seen[kindMap]:
		return kindString, nil
	case hasNull && dynamicNulls:
		return kindNull, nil
	}
	return 0, fmt.Errorf("%s and %s", kindNames[kinds[0]], kindNames[kinds[1]])
}

// sortedMapKeys returns the keys of m in lexicographic order. Maps are only
// ever visited in this order, so that results and errors are deterministic.
func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- functions ----

// funcParam describes one parameter of a run-time function.
type funcParam struct {
	name      string
	allowNull bool
}

// runtimeFunc is a run-time function: its parameters, an optional variadic
// parameter, and the implementation, which receives arguments already
// checked for count and nulls.
type runtimeFunc struct {
	params   []funcParam
	variadic *funcParam
	impl     func(args []any) (any, error)
}

var runtimeFuncs map[string]runtimeFunc

func init() {
	runtimeFuncs = map[string]runtimeFunc{
		"abs":       {params: []funcParam{{name: "num"}}, impl: fnAbs},
		"coalesce":  {variadic: &funcParam{name: "vals", allowNull: true}, impl: fnCoalesce},
		"concat":    {variadic: &funcParam{name: "seqs"}, impl: fnConcat},
		"contains":  {params: []funcParam{{name: "list"}, {name: "value", allowNull: true}}, impl: fnContains},
		"distinct":  {params: []funcParam{{name: "list"}}, impl: fnDistinct},
		"format":    {params: []funcParam{{name: "format"}}, variadic: &funcParam{name: "args", allowNull: true}, impl: fnFormat},
		"join":      {params: []funcParam{{name: "separator"}}, variadic: &funcParam{name: "lists"}, impl: fnJoin},
		"keys":      {params: []funcParam{{name: "inputMap"}}, impl: fnKeys},
		"length":    {params: []funcParam{{name: "value"}}, impl: fnLength},
		"lookup":    {params: []funcParam{{name: "inputMap"}, {name: "key"}, {name: "default"}}, impl: fnLookup},
		"lower":     {params: []funcParam{{name: "str"}}, impl: stringFunc("str", strings.ToLower)},
		"max":       {variadic: &funcParam{name: "numbers"}, impl: fnMax},
		"min":       {variadic: &funcParam{name: "numbers"}, impl: fnMin},
		"replace":   {params: []funcParam{{name: "str"}, {name: "substr"}, {name: "replace"}}, impl: fnReplace},
		"split":     {params: []funcParam{{name: "separator"}, {name: "str"}}, impl: fnSplit},
		"substr":    {params: []funcParam{{name: "str"}, {name: "offset"}, {name: "length"}}, impl: fnSubstr},
		"tonumber":  {params: []funcParam{{name: "v", allowNull: true}}, impl: fnToNumber},
		"tostring":  {params: []funcParam{{name: "v", allowNull: true}}, impl: fnToString},
		"trimspace": {params: []funcParam{{name: "str"}}, impl: stringFunc("str", strings.TrimSpace)},
		"upper":     {params: []funcParam{{name: "str"}}, impl: stringFunc("str", strings.ToUpper)},
		"values":    {params: []funcParam{{name: "mapping"}}, impl: fnValues},
	}
}

// callFunction calls a run-time function. Errors name the function.
func callFunction(name string, args []any) (any, error) {
	f, ok := runtimeFuncs[name]
	if !ok {
		return nil, fmt.Errorf("call to unknown function %q", name)
	}
	if len(args) < len(f.params) {
		return nil, fmt.Errorf("%s: expects %s, got %d; missing value for %q",
			name, pluralArgs(len(f.params), "argument", f.variadic != nil), len(args), f.params[len(args)].name)
	}
	if f.variadic == nil && len(args) > len(f.params) {
		return nil, fmt.Errorf("%s: expects %s, got %d", name, pluralArgs(len(f.params), "argument", false), len(args))
	}
	for i, a := range args {
		p := f.variadic
		if i < len(f.params) {
			p = &f.params[i]
		}
		if a == nil && !p.allowNull {
			return nil, fmt.Errorf("%s: invalid value for %q parameter: argument must not be null", name, p.name)
		}
	}
	v, err := f.impl(args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

func pluralArgs(n int, what string, orMore bool) string {
	s := fmt.Sprintf("%d %s", n, what)
	if n != 1 {
		s += "s"
	}
	if orMore {
		s = "at least " + s
	}
	return s
}

// argError reports an unsuitable argument for the named parameter.
func argError(pname string, err error) error {
	return fmt.Errorf("invalid value for %q parameter: %w", pname, err)
}

func stringArg(pname string, v any) (string, error) {
	s, err := asString(v)
	if err != nil {
		return "", argError(pname, err)
	}
	return s, nil
}

func numberArg(pname string, v any) (float64, error) {
	f, err := asNumber(v)
	if err != nil {
		return 0, argError(pname, err)
	}
	return f, nil
}

func stringFunc(pname string, f func(string) string) func([]any) (any, error) {
	return func(args []any) (any, error) {
		s, err := stringArg(pname, args[0])
		if err != nil {
			return nil, err
		}
		return f(s), nil
	}
}

func fnAbs(args []any) (any, error) {
	f, err := numberArg("num", args[0])
	if err != nil {
		return nil, err
	}
	return math.Abs(f), nil
}

func fnCoalesce(args []any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("at least one argument is required")
	}
	kind, err := unifyKinds(args, true)
	if err != nil {
		return nil, fmt.Errorf("all arguments must have the same type (got %w)", err)
	}
	for _, a := range args {
		if a == nil {
			continue
		}
		if kind == kindString {
			return asString(a)
		}
		return a, nil
	}
	return nil, errors.New("no non-null arguments")
}

func fnConcat(args []any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("at least one argument is required")
	}
	out := []any{}
	for i, a := range args {
		l, ok := a.([]any)
		if !ok {
			return nil, fmt.Errorf("all arguments must be lists; argument %d is %s", i+1, describeValue(a))
		}
		out = append(out, l...)
	}
	return out, nil
}

func fnContains(args []any) (any, error) {
	l, ok := args[0].([]any)
	if !ok {
		return nil, argError("list", fmt.Errorf("a list is required, got %s", describeValue(args[0])))
	}
	for _, e := range l {
		if valuesEqual(e, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnDistinct(args []any) (any, error) {
	l, ok := args[0].([]any)
	if !ok {
		return nil, argError("list", fmt.Errorf("a list is required, got %s", describeValue(args[0])))
	}
	kind, err := unifyKinds(l, false)
	if err != nil {
		return nil, argError("list", fmt.Errorf("all list elements must have the same type (got %w)", err))
	}
	out := []any{}
	for _, e := range l {
		if kind == kindString && e != nil {
			e, _ = asString(e)
		}
		dup := false
		for _, o := range out {
			if valuesEqual(o, e) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out, nil
}

func fnJoin(args []any) (any, error) {
	sep, err := stringArg("separator", args[0])
	if err != nil {
		return nil, err
	}
	lists := args[1:]
	if len(lists) == 0 {
		return nil, errors.New("at least one list is required")
	}
	var items []string
	for li, a := range lists {
		l, ok := a.([]any)
		if !ok {
			return nil, argError("lists", fmt.Errorf("a list of strings is required, got %s", describeValue(a)))
		}
		for ei, e := range l {
			if e == nil {
				if len(lists) > 1 {
					return nil, argError("lists", fmt.Errorf("element %d of list %d is null; cannot concatenate null values", ei, li+1))
				}
				return nil, argError("lists", fmt.Errorf("element %d is null; cannot concatenate null values", ei))
			}
			s, err := asString(e)
			if err != nil {
				return nil, argError("lists", fmt.Errorf("element %d: %w", ei, err))
			}
			items = append(items, s)
		}
	}
	return strings.Join(items, sep), nil
}

func fnKeys(args []any) (any, error) {
	m, ok := args[0].(map[string]any)
	if !ok {
		return nil, argError("inputMap", fmt.Errorf("a map is required, got %s", describeValue(args[0])))
	}
	out := []any{}
	for _, k := range sortedMapKeys(m) {
		out = append(out, k)
	}
	return out, nil
}

func fnLength(args []any) (any, error) {
	switch v := args[0].(type) {
	case string:
		return float64(graphemeCount(v)), nil
	case []any:
		return float64(len(v)), nil
	case map[string]any:
		return float64(len(v)), nil
	}
	return nil, argError("value", fmt.Errorf("a string, list or map is required, got %s", describeValue(args[0])))
}

func fnLookup(args []any) (any, error) {
	m, ok := args[0].(map[string]any)
	if !ok {
		return nil, argError("inputMap", fmt.Errorf("a map is required, got %s", describeValue(args[0])))
	}
	k, err := stringArg("key", args[1])
	if err != nil {
		return nil, err
	}
	if v, ok := m[k]; ok {
		return v, nil
	}
	return args[2], nil
}

func fnMax(args []any) (any, error) { return extremum(args, func(a, b float64) bool { return a > b }) }

func fnMin(args []any) (any, error) { return extremum(args, func(a, b float64) bool { return a < b }) }

func extremum(args []any, better func(a, b float64) bool) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("must pass at least one number")
	}
	var best float64
	for i, a := range args {
		f, err := numberArg("numbers", a)
		if err != nil {
			return nil, err
		}
		if i == 0 || better(f, best) {
			best = f
		}
	}
	return best, nil
}

func fnReplace(args []any) (any, error) {
	var s [3]string
	for i, name := range []string{"str", "substr", "replace"} {
		var err error
		if s[i], err = stringArg(name, args[i]); err != nil {
			return nil, err
		}
	}
	return strings.ReplaceAll(s[0], s[1], s[2]), nil
}

func fnSplit(args []any) (any, error) {
	sep, err := stringArg("separator", args[0])
	if err != nil {
		return nil, err
	}
	s, err := stringArg("str", args[1])
	if err != nil {
		return nil, err
	}
	parts := strings.Split(s, sep)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// fnSubstr follows cty's SubstrFunc exactly, including its treatment of a
// negative offset beyond the start (it starts from the beginning) and of a
// zero length with a negative offset (it takes the rest of the string).
func fnSubstr(args []any) (any, error) {
	in, err := stringArg("str", args[0])
	if err != nil {
		return nil, err
	}
	offset, err := wholeArg("offset", args[1])
	if err != nil {
		return nil, err
	}
	length, err := wholeArg("length", args[2])
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		offset += graphemeCount(in)
	} else if length == 0 {
		return "", nil
	}
	sub := in
	if offset > 0 {
		i, pos := 0, 0
		for i < len(sub) {
			i += nextGrapheme(sub[i:])
			pos++
			if pos == offset {
				break
			}
			if i >= len(in) {
				return "", nil
			}
		}
		sub = sub[i:]
	}
	if length < 0 {
		return sub, nil
	}
	i, pos := 0, 0
	for i < len(sub) {
		i += nextGrapheme(sub[i:])
		pos++
		if pos == length {
			break
		}
	}
	return sub[:i], nil
}

func wholeArg(pname string, v any) (int, error) {
	f, err := numberArg(pname, v)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, argError(pname, errors.New("value must be a whole number"))
	}
	return int(f), nil
}

func fnToNumber(args []any) (any, error) {
	switch v := args[0].(type) {
	case nil, float64:
		return v, nil
	case string:
		if f, ok := parseNumber(v); ok {
			return f, nil
		}
		return nil, argError("v", fmt.Errorf("cannot convert %q to number; given string must be a decimal representation of a number", v))
	}
	return nil, argError("v", fmt.Errorf("cannot convert %s to number", kindNames[kindOf(args[0])]))
}

func fnToString(args []any) (any, error) {
	switch v := args[0].(type) {
	case nil:
		return nil, nil
	case string, float64, bool:
		return asString(v)
	}
	return nil, argError("v", fmt.Errorf("cannot convert %s to string", kindNames[kindOf(args[0])]))
}

func fnValues(args []any) (any, error) {
	m, ok := args[0].(map[string]any)
	if !ok {
		return nil, argError("mapping", fmt.Errorf("a map is required, got %s", describeValue(args[0])))
	}
	out := []any{}
	for _, k := range sortedMapKeys(m) {
		out = append(out, m[k])
	}
	return out, nil
}

// ---- format ----

// fmtVerb is one %... sequence of a format string.
type fmtVerb struct {
	raw    string
	offset int
	argNum int
	mode   byte

	zero, sharp, plus, minus, space bool

	hasWidth bool
	width    int
	hasPrec  bool
	prec     int
}

// fnFormat follows cty's FormatFunc: verbs %v %#v %t %b %d %o %x %X %e %E %f
// %g %G %s %q and %%, flags "0#-+ ", width, precision and [n] argument
// indexes, with widths and precisions counted in characters.
func fnFormat(args []any) (any, error) {
	format, err := stringArg("format", args[0])
	if err != nil {
		return nil, err
	}
	vals := args[1:]
	var buf strings.Builder
	nextArg, highest := 1, 0
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	// number reads a decimal number at p, refusing ones past maxFormatNumber
	// (as Go's fmt does) so a format cannot ask for gigabytes of padding.
	tooBig := fmt.Errorf("a width, precision or argument index in the format string is larger than %d", maxFormatNumber)
	number := func(p int) (int, int, error) {
		n := 0
		for ; p < len(format) && digit(format[p]); p++ {
			n = 10*n + int(format[p]-'0')
			if n > maxFormatNumber {
				return 0, p, tooBig
			}
		}
		return n, p, nil
	}
	unfinished := fmt.Errorf("invalid format string starting at offset %d", len(format))
	badChar := func(p int) error {
		r := []rune(format[p:])[0]
		return fmt.Errorf("unrecognized format character %q at offset %d", r, p)
	}
	for p := 0; p < len(format); {
		if format[p] != '%' {
			buf.WriteByte(format[p])
			p++
			continue
		}
		if p+1 < len(format) && format[p+1] == '%' {
			buf.WriteByte('%')
			p += 2
			continue
		}
		v := fmtVerb{offset: p, argNum: nextArg, width: -1, prec: -1}
		p++
	flags:
		for ; p < len(format); p++ {
			switch format[p] {
			case '0':
				v.zero = true
			case '#':
				v.sharp = true
			case '-':
				v.minus = true
			case '+':
				v.plus = true
			case ' ':
				v.space = true
			default:
				break flags
			}
		}
		if p < len(format) && format[p] >= '1' && format[p] <= '9' {
			v.hasWidth = true
			if v.width, p, err = number(p); err != nil {
				return nil, err
			}
		}
		if p < len(format) && format[p] == '.' {
			v.hasPrec = true
			if v.prec, p, err = number(p + 1); err != nil {
				return nil, err
			}
		}
		if p < len(format) && format[p] == '[' {
			p++
			if p >= len(format) {
				return nil, unfinished
			}
			if format[p] < '1' || format[p] > '9' {
				return nil, badChar(p)
			}
			if v.argNum, p, err = number(p); err != nil {
				return nil, err
			}
			if p >= len(format) {
				return nil, unfinished
			}
			if format[p] != ']' {
				return nil, badChar(p)
			}
			p++
		}
		if p >= len(format) {
			return nil, unfinished
		}
		c := format[p]
		if !isLetter(c) {
			return nil, badChar(p)
		}
		v.mode = c
		p++
		v.raw = format[v.offset:p]
		if v.argNum > highest {
			highest = v.argNum
		}
		if err := formatAppend(&v, &buf, vals); err != nil {
			return nil, err
		}
		nextArg = v.argNum + 1
	}
	if highest < len(vals) {
		if highest == 0 {
			return nil, argError("args", errors.New("too many arguments; no verbs in format string"))
		}
		return nil, argError("args", fmt.Errorf("too many arguments; only %d used by format string", highest))
	}
	return buf.String(), nil
}

// maxFormatNumber bounds widths, precisions and argument indexes in format().
const maxFormatNumber = 1000000

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func formatAppend(v *fmtVerb, buf *strings.Builder, args []any) error {
	i := v.argNum - 1
	if i >= len(args) {
		return fmt.Errorf("not enough arguments for %q at %d: need index %d but have %d total", v.raw, v.offset, v.argNum, len(args))
	}
	arg := args[i]
	if v.mode != 'v' && arg == nil {
		return fmt.Errorf("unsupported value for %q at %d: null value cannot be formatted", v.raw, v.offset)
	}
	if !v.hasWidth {
		v.width = -1
	}
	if !v.hasPrec {
		v.prec = -1
	}
	unsupported := func(err error) error {
		return fmt.Errorf("unsupported value for %q at %d: %w", v.raw, v.offset, err)
	}
	switch v.mode {
	case 'v':
		if !v.sharp {
			switch x := arg.(type) {
			case string:
				buf.WriteString(padWidth(v, x))
				return nil
			case float64:
				buf.WriteString(padWidth(v, bigNumber(x).Text('g', -1)))
				return nil
			}
		}
		var jb strings.Builder
		if err := marshalJSON(&jb, arg); err != nil {
			return unsupported(err)
		}
		buf.WriteString(padWidth(v, jb.String()))
	case 't':
		b, err := asBool(arg)
		if err != nil {
			return unsupported(err)
		}
		buf.WriteString(strconv.FormatBool(b))
	case 'b', 'd', 'o', 'x', 'X', 'e', 'E', 'f', 'g', 'G':
		f, err := asNumber(arg)
		if err != nil {
			return unsupported(err)
		}
		bf := bigNumber(f)
		verb := stripIndex(v.raw)
		switch v.mode {
		case 'b', 'd', 'o', 'x', 'X':
			bi, acc := bf.Int(nil)
			if acc != big.Exact || bi == nil {
				return unsupported(errors.New("an integer is required"))
			}
			buf.WriteString(fmt.Sprintf(verb, bi))
		default:
			buf.WriteString(fmt.Sprintf(verb, bf))
		}
	case 's', 'q':
		s, err := asString(arg)
		if err != nil {
			return unsupported(err)
		}
		if v.prec > 0 {
			pos := 0
			for n := 0; n < v.prec && pos < len(s); n++ {
				pos += nextGrapheme(s[pos:])
			}
			s = s[:pos]
		}
		if v.mode == 'q' {
			s = jsonString(s)
		}
		buf.WriteString(padWidth(v, s))
	default:
		return fmt.Errorf("unsupported format verb %q in %q at offset %d", rune(v.mode), v.raw, v.offset)
	}
	return nil
}

// padWidth pads s to the verb's width, counted in characters.
func padWidth(v *fmtVerb, s string) string {
	if v.width < 0 {
		return s
	}
	n := graphemeCount(s)
	if n >= v.width {
		return s
	}
	pad := " "
	if v.zero {
		pad = "0"
	}
	pads := strings.Repeat(pad, v.width-n)
	if v.minus {
		return s + pads
	}
	return pads + s
}

// stripIndex removes a [n] argument index from a verb, leaving a verb Go's
// fmt understands for a single argument.
func stripIndex(raw string) string {
	start, end := strings.Index(raw, "["), strings.Index(raw, "]")
	if start < 0 || end < 0 {
		return raw
	}
	return raw[:start] + raw[end+1:]
}

func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// marshalJSON writes v as cty writes JSON: object keys sorted, numbers in
// plain decimal.
func marshalJSON(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(jsonString(x))
	case float64:
		if math.IsInf(x, 0) {
			return errors.New("cannot serialize infinity as JSON")
		}
		b.WriteString(numberString(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := marshalJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedMapKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(k))
			b.WriteByte(':')
			if err := marshalJSON(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("unsupported value of type %T", v)
	}
	return nil
}

// ---- characters ----

// cty counts string lengths, offsets and widths in grapheme clusters
// (user-perceived characters) using the Unicode segmentation tables. The
// standard library has no such tables, so graphemeCount and nextGrapheme
// approximate the rules of UAX #29 with the Unicode categories Go does have:
// CR LF, controls, combining marks and other extenders, spacing marks, ZWJ
// emoji sequences, regional-indicator pairs (flags) and Hangul syllables.
// Plain text, accented letters and common emoji sequences are counted as cty
// counts them; rare scripts with prepended marks may differ.

// graphemeCount returns the number of characters in s.
func graphemeCount(s string) int {
	n := 0
	for i := 0; i < len(s); i += nextGrapheme(s[i:]) {
		n++
	}
	return n
}

// Grapheme cluster break classes.
const (
	gcbOther = iota
	gcbCR
	gcbLF
	gcbControl
	gcbExtend
	gcbZWJ
	gcbSpacingMark
	gcbPrepend
	gcbRegional
	gcbL
	gcbV
	gcbT
	gcbLV
	gcbLVT
)

func gcbClass(r rune) int {
	switch {
	case r == '\r':
		return gcbCR
	case r == '\n':
		return gcbLF
	case r == 0x200D:
		return gcbZWJ
	case r == 0x200C, r >= 0xFF9E && r <= 0xFF9F, r >= 0x1F3FB && r <= 0x1F3FF, r >= 0xE0020 && r <= 0xE007F:
		return gcbExtend
	case r >= 0x1F1E6 && r <= 0x1F1FF:
		return gcbRegional
	case r >= 0x0600 && r <= 0x0605, r == 0x06DD, r == 0x070F, r == 0x0890, r == 0x0891, r == 0x08E2, r == 0x110BD, r == 0x110CD:
		return gcbPrepend
	case r >= 0x1100 && r <= 0x115F, r >= 0xA960 && r <= 0xA97C:
		return gcbL
	case r >= 0x1160 && r <= 0x11A7, r >= 0xD7B0 && r <= 0xD7C6:
		return gcbV
	case r >= 0x11A8 && r <= 0x11FF, r >= 0xD7CB && r <= 0xD7FB:
		return gcbT
	case r >= 0xAC00 && r <= 0xD7A3:
		if (r-0xAC00)%28 == 0 {
			return gcbLV
		}
		return gcbLVT
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Other_Grapheme_Extend):
		return gcbExtend
	case r == 0x0E33, r == 0x0EB3, unicode.Is(unicode.Mc, r):
		return gcbSpacingMark
	case unicode.In(r, unicode.Cc, unicode.Zl, unicode.Zp, unicode.Cf):
		return gcbControl
	}
	return gcbOther
}

// isPictographic approximates Extended_Pictographic, for ZWJ sequences.
func isPictographic(r rune) bool {
	switch {
	case r == 0x00A9, r == 0x00AE, r == 0x203C, r == 0x2049, r == 0x2122, r == 0x2139,
		r >= 0x2194 && r <= 0x21AA, r >= 0x231A && r <= 0x23FF, r == 0x24C2,
		r >= 0x25AA && r <= 0x25FE, r >= 0x2600 && r <= 0x27BF, r >= 0x2934 && r <= 0x2935,
		r >= 0x2B05 && r <= 0x2B55, r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299:
		return true
	case r >= 0x1F000 && r <= 0x1FAFF:
		return !(r >= 0x1F1E6 && r <= 0x1F1FF) && !(r >= 0x1F3FB && r <= 0x1F3FF)
	case r >= 0x1FC00 && r <= 0x1FFFD:
		return true
	}
	return false
}

// nextGrapheme returns the length in bytes of the first character of s,
// which must not be empty.
func nextGrapheme(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	prev := gcbClass(r)
	if prev == gcbControl || prev == gcbLF {
		return n
	}
	if prev == gcbCR {
		if len(s) > n && s[n] == '\n' {
			return n + 1
		}
		return n
	}
	emoji := isPictographic(r) // inside ExtPict Extend* (ZWJ)?
	regional := 0
	if prev == gcbRegional {
		regional = 1
	}
	i := n
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		c := gcbClass(r)
		join := false
		switch {
		case c == gcbCR || c == gcbLF || c == gcbControl:
		case prev == gcbPrepend:
			join = true
		case c == gcbExtend || c == gcbZWJ || c == gcbSpacingMark:
			join = true
		case prev == gcbL && (c == gcbL || c == gcbV || c == gcbLV || c == gcbLVT),
			(prev == gcbLV || prev == gcbV) && (c == gcbV || c == gcbT),
			(prev == gcbLVT || prev == gcbT) && c == gcbT:
			join = true
		case prev == gcbZWJ && emoji && isPictographic(r):
			join = true
		case prev == gcbRegional && c == gcbRegional && regional%2 == 1:
			join = true
		}
		if !join {
			break
		}
		switch {
		case c == gcbExtend:
		case c == gcbZWJ:
		case isPictographic(r) && prev == gcbZWJ:
		default:
			emoji = false
		}
		if c == gcbRegional {
			regional++
		}
		prev = c
		i += n
	}
	return i
}
