package playbooks

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func TestFunctionsMatchRuntimeFunctions(t *testing.T) {
	var got []string
	for name := range Functions() {
		got = append(got, name)
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, plan.RuntimeFunctions) {
		t.Fatalf("Functions() has %v,\nplan.RuntimeFunctions is %v", got, plan.RuntimeFunctions)
	}
	if !sort.StringsAreSorted(plan.RuntimeFunctions) {
		t.Errorf("plan.RuntimeFunctions is not sorted: %v", plan.RuntimeFunctions)
	}
	// Callers may extend the map they get.
	Functions()["extra"] = Functions()["upper"]
	if _, ok := Functions()["extra"]; ok {
		t.Error("Functions() returned a shared map")
	}
}

type list = []any
type obj = map[string]any

// TestFunctionParity calls each function through HCL with the compile-time
// (cty) implementations and through the run-time evaluator in package plan,
// with the same arguments, and requires the same result or an error from
// both. Strings are NFC already: cty normalises strings to NFC, the run time
// does not.
func TestFunctionParity(t *testing.T) {
	cases := []struct {
		fn   string
		args list
	}{
		{"abs", list{-3.0}},
		{"abs", list{2.5}},
		{"abs", list{"-2.5"}},
		{"abs", list{0.0}},
		{"abs", list{"x"}},
		{"abs", list{true}},
		{"abs", list{nil}},
		{"abs", list{}},
		{"abs", list{1.0, 2.0}},

		{"coalesce", list{nil, "a"}},
		{"coalesce", list{"", "x"}},
		{"coalesce", list{nil, 1.0, "a"}},
		{"coalesce", list{nil, true, 2.0}},
		{"coalesce", list{nil, list{1.0}, list{2.0}}},
		{"coalesce", list{nil, obj{"a": 1.0}}},
		{"coalesce", list{nil, list{1.0}, obj{"a": 1.0}}},
		{"coalesce", list{nil, "a", list{1.0}}},
		{"coalesce", list{nil, nil}},

		{"concat", list{list{1.0}, list{"a"}}},
		{"concat", list{list{}, list{}}},
		{"concat", list{list{1.0, 2.0}, list{list{3.0}}, list{obj{"a": true}}}},
		{"concat", list{}},
		{"concat", list{"a"}},
		{"concat", list{list{1.0}, nil}},
		{"concat", list{list{1.0}, obj{"a": 1.0}}},

		{"contains", list{list{"a", "b"}, "b"}},
		{"contains", list{list{"a"}, 1.0}},
		{"contains", list{list{1.0, 2.0}, 2.0}},
		{"contains", list{list{1.0, "1"}, "1"}},
		{"contains", list{list{list{1.0}}, list{1.0}}},
		{"contains", list{list{obj{"a": 1.0}}, obj{"a": 1.0}}},
		{"contains", list{list{obj{"a": 1.0}}, obj{"a": 2.0}}},
		{"contains", list{list{}, 1.0}},
		{"contains", list{list{"a"}, nil}},
		{"contains", list{"abc", "a"}},
		{"contains", list{obj{"a": 1.0}, 1.0}},
		{"contains", list{nil, 1.0}},

		{"distinct", list{list{1.0, 1.0, 2.0}}},
		{"distinct", list{list{"a", "b", "a"}}},
		{"distinct", list{list{1.0, "1", 2.0}}},
		{"distinct", list{list{true, "true", false}}},
		{"distinct", list{list{nil, nil, 1.0}}},
		{"distinct", list{list{}}},
		{"distinct", list{list{list{1.0}, list{1.0}}}},
		{"distinct", list{list{1.0, list{1.0}}}},
		{"distinct", list{"a"}},

		{"format", list{"plain"}},
		{"format", list{"%s and %s", "a", "b"}},
		{"format", list{"%v|%v|%v|%v", "s", 1.5, true, nil}},
		{"format", list{"%v", 1000000.0}},
		{"format", list{"%v", 0.1}},
		{"format", list{"%v", list{1.0, "a<b", true, nil, obj{"b": 1.0, "a": 2.0}}}},
		{"format", list{"%#v|%#v", "x", 1e21}},
		{"format", list{"%5.1f|%-5d|%05d|%x|%s|%q|%t", 3.14159, 42.0, 42.0, 255.0, 1.5, "hi", "true"}},
		{"format", list{"%.0s|%.2s|%8s|%-8s|", "hello", "hello", "x\u0301", "ok"}},
		{"format", list{"%[2]s %[1]s %s", "a", "b"}},
		{"format", list{"%[2]s %s %[1]s", "a", "b"}},
		{"format", list{"%e|%g|%G|%E|%b|%o|%X|%#x", 12345.678, 0.000001, 1e21, 1.5, 5.0, 8.0, 255.0, 255.0}},
		{"format", list{"%+d|% d|%+.2f|%.f|%8.3e", 5.0, 5.0, 2.0, 2.5, 1234.5}},
		{"format", list{"%d%%", "42"}},
		{"format", list{"%5t|%-6v|%06v|%3v", true, true, 1.5, "abcdef"}},
		{"format", list{"%d", 1.5}},
		{"format", list{"%d", "x"}},
		{"format", list{"%s", nil}},
		{"format", list{"%s", list{1.0}}},
		{"format", list{"%t", 1.0}},
		{"format", list{"%z", 1.0}},
		{"format", list{"abc", 1.0}},
		{"format", list{"%s", "a", "b"}},
		{"format", list{"%d %d", 1.0}},
		{"format", list{"%"}},
		{"format", list{"%5"}},
		{"format", list{"%[1"}},
		{"format", list{"%[0]d", 1.0}},
		{"format", list{"%5-d", 1.0}},
		{"format", list{"%!", 1.0}},
		{"format", list{nil}},
		{"format", list{}},

		{"join", list{",", list{"a", "b"}}},
		{"join", list{"-", list{"a"}, list{"b", "c"}}},
		{"join", list{",", list{1.0, true, "a"}}},
		{"join", list{",", list{}}},
		{"join", list{1.0, list{"a", "b"}}},
		{"join", list{",", list{nil}}},
		{"join", list{",", list{"a"}, list{"b", nil}}},
		{"join", list{",", list{list{1.0}}}},
		{"join", list{","}},
		{"join", list{",", "a"}},

		{"keys", list{obj{"b": 1.0, "a": 2.0, "c": nil}}},
		{"keys", list{obj{}}},
		{"keys", list{list{1.0}}},
		{"keys", list{"a"}},
		{"keys", list{nil}},

		{"length", list{"hello"}},
		{"length", list{""}},
		{"length", list{"x\u0301llo"}},
		{"length", list{"\U0001F44D\U0001F3FD"}},
		{"length", list{"\U0001F1EC\U0001F1E7\U0001F1EB\U0001F1F7\U0001F1EA"}},
		{"length", list{"\U0001F468\u200D\U0001F469\u200D\U0001F467"}},
		{"length", list{"a\r\nb\n"}},
		{"length", list{"\u1112\u1161\u11AB\uD55C"}},
		{"length", list{"नमस्ते"}},
		{"length", list{"\u2764\uFE0F x"}},
		{"length", list{list{1.0, 2.0}}},
		{"length", list{list{}}},
		{"length", list{obj{"a": 1.0, "b": 2.0}}},
		{"length", list{5.0}},
		{"length", list{true}},
		{"length", list{nil}},

		{"lookup", list{obj{"a": 1.0}, "a", "x"}},
		{"lookup", list{obj{"a": 1.0}, "b", "x"}},
		{"lookup", list{obj{"1": "one"}, 1.0, "x"}},
		{"lookup", list{list{1.0}, "a", "x"}},
		{"lookup", list{obj{"a": 1.0}, "a"}},
		{"lookup", list{obj{"a": 1.0}, "b", nil}},
		{"lookup", list{obj{"a": 1.0}, list{}, "x"}},

		{"lower", list{"ÀB"}},
		{"lower", list{5.0}},
		{"lower", list{list{1.0}}},
		{"upper", list{"straße"}},
		{"upper", list{true}},
		{"upper", list{nil}},
		{"trimspace", list{"  x y \n\t"}},
		{"trimspace", list{obj{}}},

		{"max", list{1.0, 5.0, 3.0}},
		{"max", list{"5", 2.0}},
		{"max", list{-1.5, -2.0}},
		{"max", list{}},
		{"max", list{"x"}},
		{"min", list{1.0, 5.0, 3.0}},
		{"min", list{-1.5, "-2"}},
		{"min", list{}},
		{"min", list{1.0, nil}},

		{"replace", list{"hello", "l", "L"}},
		{"replace", list{"abc", "", "-"}},
		{"replace", list{1.5, ".", ","}},
		{"replace", list{"a", "b"}},
		{"replace", list{"a", list{}, "c"}},

		{"split", list{",", "a,b,,c"}},
		{"split", list{",", ""}},
		{"split", list{"", "abc"}},
		{"split", list{".", 1.5}},
		{"split", list{","}},

		{"substr", list{"hello", 1.0, 3.0}},
		{"substr", list{"hello", -3.0, -1.0}},
		{"substr", list{"hello", -3.0, 2.0}},
		{"substr", list{"hello", -2.0, 0.0}},
		{"substr", list{"hello", -10.0, 2.0}},
		{"substr", list{"hello", 10.0, 2.0}},
		{"substr", list{"hello", 5.0, 1.0}},
		{"substr", list{"hello", 4.0, 10.0}},
		{"substr", list{"hello", 0.0, 0.0}},
		{"substr", list{"hello", 0.0, -1.0}},
		{"substr", list{"x\u0301llo", 0.0, 2.0}},
		{"substr", list{"x\u0301llo", 2.0, -1.0}},
		{"substr", list{"", 1.0, 1.0}},
		{"substr", list{"hello", "1", "2"}},
		{"substr", list{"hello", 1.5, 2.0}},
		{"substr", list{"hello", 1.0}},

		{"tonumber", list{"5"}},
		{"tonumber", list{"-0.5"}},
		{"tonumber", list{"1e3"}},
		{"tonumber", list{3.0}},
		{"tonumber", list{nil}},
		{"tonumber", list{" 5"}},
		{"tonumber", list{"0x10"}},
		{"tonumber", list{"abc"}},
		{"tonumber", list{"Inf"}},
		{"tonumber", list{true}},
		{"tonumber", list{list{1.0}}},

		{"tostring", list{5.0}},
		{"tostring", list{1.5}},
		{"tostring", list{0.1}},
		{"tostring", list{1e21}},
		{"tostring", list{-2.0}},
		{"tostring", list{true}},
		{"tostring", list{"x"}},
		{"tostring", list{nil}},
		{"tostring", list{list{1.0}}},
		{"tostring", list{obj{"a": 1.0}}},

		{"values", list{obj{"b": 1.0, "a": "x", "c": nil}}},
		{"values", list{obj{}}},
		{"values", list{list{1.0}}},
		{"values", list{nil}},
	}
	ctx := &hcl.EvalContext{Functions: Functions(), Variables: map[string]cty.Value{}}
	for _, c := range cases {
		name := fmt.Sprintf("%s%#v", c.fn, c.args)
		t.Run(name, func(t *testing.T) {
			// Compile time: HCL evaluates fn(a0, a1, ...), converting the
			// arguments to the parameter types as it does in a playbook.
			var refs []string
			for i, a := range c.args {
				ref := fmt.Sprintf("a%d", i)
				ctx.Variables[ref] = toCty(t, a)
				refs = append(refs, ref)
			}
			src := c.fn + "(" + strings.Join(refs, ", ") + ")"
			expr, diags := hclsyntax.ParseExpression([]byte(src), "parity.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatalf("parse %s: %s", src, diags)
			}
			var want any
			var ctyErr error
			ctyRes, diags := expr.Value(ctx)
			if diags.HasErrors() {
				ctyErr = diags
			} else {
				want = fromCty(t, ctyRes)
			}

			lits := make([]*plan.Expr, len(c.args))
			for i, a := range c.args {
				lits[i] = plan.Lit(a)
			}
			got, err := (&plan.Expr{Op: plan.OpCall, Func: c.fn, Args: lits}).Eval(nil)

			switch {
			case ctyErr != nil && err != nil:
				// Both refuse; the messages are worded independently.
			case ctyErr != nil:
				t.Errorf("cty fails (%v) but run time returns %#v", ctyErr, got)
			case err != nil:
				t.Errorf("cty returns %#v but run time fails: %v", want, err)
			case !reflect.DeepEqual(got, want):
				t.Errorf("cty returns %#v, run time returns %#v", want, got)
			}
		})
	}
}

// toCty converts a JSON-natural value as the compiler sees the same value
// written as a literal: lists are tuples, maps are objects and numbers are
// parsed from their decimal form.
func toCty(t *testing.T, v any) cty.Value {
	switch x := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType)
	case string:
		return cty.StringVal(x)
	case bool:
		return cty.BoolVal(x)
	case float64:
		return cty.MustParseNumberVal(strconv.FormatFloat(x, 'g', -1, 64))
	case []any:
		if len(x) == 0 {
			return cty.EmptyTupleVal
		}
		vs := make([]cty.Value, len(x))
		for i, e := range x {
			vs[i] = toCty(t, e)
		}
		return cty.TupleVal(vs)
	case map[string]any:
		if len(x) == 0 {
			return cty.EmptyObjectVal
		}
		vs := make(map[string]cty.Value, len(x))
		for k, e := range x {
			vs[k] = toCty(t, e)
		}
		return cty.ObjectVal(vs)
	}
	t.Fatalf("toCty: unsupported %T", v)
	return cty.NilVal
}

// fromCty converts a cty value to the JSON-natural form the run-time
// evaluator produces.
func fromCty(t *testing.T, v cty.Value) any {
	if !v.IsWhollyKnown() {
		t.Fatalf("fromCty: unknown value %#v", v)
	}
	if v.IsNull() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Bool:
		return v.True()
	case ty == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		if f == 0 {
			f = 0
		}
		return f
	case ty.IsListType(), ty.IsTupleType(), ty.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, fromCty(t, e))
		}
		return out
	case ty.IsMapType(), ty.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = fromCty(t, e)
		}
		return out
	}
	t.Fatalf("fromCty: unsupported type %s", ty.FriendlyName())
	return nil
}
