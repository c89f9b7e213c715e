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

type jlist = []any
type jmap = map[string]any

// TestFunctionParity calls each function through HCL with the compile-time
// (cty) implementations and through the run-time evaluator in package plan,
// with the same arguments, and requires the same result or an error from
// both. Strings are NFC already: cty normalises strings to NFC, the run time
// does not.
func TestFunctionParity(t *testing.T) {
	cases := []struct {
		fn   string
		args jlist
	}{
		{"abs", jlist{-3.0}},
		{"abs", jlist{2.5}},
		{"abs", jlist{"-2.5"}},
		{"abs", jlist{0.0}},
		{"abs", jlist{"x"}},
		{"abs", jlist{true}},
		{"abs", jlist{nil}},
		{"abs", jlist{}},
		{"abs", jlist{1.0, 2.0}},

		{"coalesce", jlist{nil, "a"}},
		{"coalesce", jlist{"", "x"}},
		{"coalesce", jlist{nil, 1.0, "a"}},
		{"coalesce", jlist{nil, true, 2.0}},
		{"coalesce", jlist{nil, jlist{1.0}, jlist{2.0}}},
		{"coalesce", jlist{nil, jmap{"a": 1.0}}},
		{"coalesce", jlist{nil, jlist{1.0}, jmap{"a": 1.0}}},
		{"coalesce", jlist{nil, "a", jlist{1.0}}},
		{"coalesce", jlist{nil, nil}},
		{"coalesce", jlist{true, 2.0}},
		{"coalesce", jlist{2.0, "a"}},
		{"coalesce", jlist{jlist{1.0}, nil, "a"}},

		{"concat", jlist{jlist{1.0}, jlist{"a"}}},
		{"concat", jlist{jlist{}, jlist{}}},
		{"concat", jlist{jlist{1.0, 2.0}, jlist{jlist{3.0}}, jlist{jmap{"a": true}}}},
		{"concat", jlist{}},
		{"concat", jlist{"a"}},
		{"concat", jlist{jlist{1.0}, nil}},
		{"concat", jlist{jlist{1.0}, jmap{"a": 1.0}}},

		{"contains", jlist{jlist{"a", "b"}, "b"}},
		{"contains", jlist{jlist{"a"}, 1.0}},
		{"contains", jlist{jlist{1.0, 2.0}, 2.0}},
		{"contains", jlist{jlist{1.0, "1"}, "1"}},
		{"contains", jlist{jlist{jlist{1.0}}, jlist{1.0}}},
		{"contains", jlist{jlist{jmap{"a": 1.0}}, jmap{"a": 1.0}}},
		{"contains", jlist{jlist{jmap{"a": 1.0}}, jmap{"a": 2.0}}},
		{"contains", jlist{jlist{}, 1.0}},
		// contains(["a"], null) is unknown to cty, so the compiler leaves it
		// to run time, which answers false.
		{"contains", jlist{"abc", "a"}},
		{"contains", jlist{jmap{"a": 1.0}, 1.0}},
		{"contains", jlist{nil, 1.0}},

		{"distinct", jlist{jlist{1.0, 1.0, 2.0}}},
		{"distinct", jlist{jlist{"a", "b", "a"}}},
		{"distinct", jlist{jlist{1.0, "1", 2.0}}},
		{"distinct", jlist{jlist{true, "true", false}}},
		{"distinct", jlist{jlist{nil, nil, 1.0}}},
		{"distinct", jlist{jlist{}}},
		{"distinct", jlist{jlist{jlist{1.0}, jlist{1.0}}}},
		{"distinct", jlist{jlist{1.0, jlist{1.0}}}},
		{"distinct", jlist{"a"}},

		{"format", jlist{"plain"}},
		{"format", jlist{"%s and %s", "a", "b"}},
		{"format", jlist{"%v|%v|%v|%v", "s", 1.5, true, nil}},
		{"format", jlist{"%v", 1000000.0}},
		{"format", jlist{"%v", 0.1}},
		{"format", jlist{"%v", jlist{1.0, "a<b", true, nil, jmap{"b": 1.0, "a": 2.0}}}},
		{"format", jlist{"%#v|%#v", "x", 1e21}},
		{"format", jlist{"%5.1f|%-5d|%05d|%x|%s|%q|%t", 3.14159, 42.0, 42.0, 255.0, 1.5, "hi", "true"}},
		{"format", jlist{"%.0s|%.2s|%8s|%-8s|", "hello", "hello", "x\u0301", "ok"}},
		{"format", jlist{"%[2]s %[1]s %s", "a", "b"}},
		{"format", jlist{"%[2]s %s %[1]s", "a", "b"}},
		{"format", jlist{"%[2]d %.1[1]f|%08.3[1]f", 1.5, 2.0}},
		{"format", jlist{"%[1].1f", 1.5}},
		{"format", jlist{"%10.3s|%-4q|%q", "héllo", "x", "<&>\u2028\t"}},
		{"format", jlist{"%-05d|%#o|% x|%+.3e|%08.2f", 42.0, 8.0, 255.0, -1234.5678, -3.14159}},
		{"format", jlist{"%v|%s|%v|%s", jmap{"é": "<", "a": jlist{}}, 1e-7, 1e-7, -0.5}},
		{"format", jlist{"%d|%v|%s", 0.0, 123456789.0, 123456789.0}},
		{"format", jlist{"%e|%g|%G|%E|%b|%o|%X|%#x", 12345.678, 0.000001, 1e21, 1.5, 5.0, 8.0, 255.0, 255.0}},
		{"format", jlist{"%+d|% d|%+.2f|%.f|%8.3e", 5.0, 5.0, 2.0, 2.5, 1234.5}},
		{"format", jlist{"%d%%", "42"}},
		{"format", jlist{"%5t|%-6v|%06v|%3v", true, true, 1.5, "abcdef"}},
		{"format", jlist{"%d", 1.5}},
		{"format", jlist{"%d", "x"}},
		{"format", jlist{"%s", nil}},
		{"format", jlist{"%s", jlist{1.0}}},
		{"format", jlist{"%t", 1.0}},
		{"format", jlist{"%z", 1.0}},
		{"format", jlist{"abc", 1.0}},
		{"format", jlist{"%s", "a", "b"}},
		{"format", jlist{"%d %d", 1.0}},
		{"format", jlist{"%"}},
		{"format", jlist{"%5"}},
		{"format", jlist{"%[1"}},
		{"format", jlist{"%[0]d", 1.0}},
		{"format", jlist{"%5-d", 1.0}},
		{"format", jlist{"%!", 1.0}},
		{"format", jlist{nil}},
		{"format", jlist{}},

		{"join", jlist{",", jlist{"a", "b"}}},
		{"join", jlist{"-", jlist{"a"}, jlist{"b", "c"}}},
		{"join", jlist{",", jlist{1.0, true, "a"}}},
		{"join", jlist{",", jlist{}}},
		{"join", jlist{1.0, jlist{"a", "b"}}},
		{"join", jlist{",", jlist{nil}}},
		{"join", jlist{",", jlist{"a"}, jlist{"b", nil}}},
		{"join", jlist{",", jlist{jlist{1.0}}}},
		{"join", jlist{","}},
		{"join", jlist{",", "a"}},

		{"keys", jlist{jmap{"b": 1.0, "a": 2.0, "c": nil}}},
		{"keys", jlist{jmap{}}},
		{"keys", jlist{jlist{1.0}}},
		{"keys", jlist{"a"}},
		{"keys", jlist{nil}},

		{"length", jlist{"hello"}},
		{"length", jlist{""}},
		{"length", jlist{"x\u0301llo"}},
		{"length", jlist{"\U0001F44D\U0001F3FD"}},
		{"length", jlist{"\U0001F1EC\U0001F1E7\U0001F1EB\U0001F1F7\U0001F1EA"}},
		{"length", jlist{"\U0001F468\u200D\U0001F469\u200D\U0001F467"}},
		{"length", jlist{"a\r\nb\n"}},
		{"length", jlist{"\u1112\u1161\u11AB\uD55C"}},
		{"length", jlist{"नमस्ते"}},
		{"length", jlist{"\u2764\uFE0F x"}},
		{"length", jlist{"กำ ไทย"}},
		{"length", jlist{"\U0001F3F3\uFE0F\u200D\U0001F308!"}},
		{"length", jlist{jlist{1.0, 2.0}}},
		{"length", jlist{jlist{}}},
		{"length", jlist{jmap{"a": 1.0, "b": 2.0}}},
		{"length", jlist{5.0}},
		{"length", jlist{true}},
		{"length", jlist{nil}},

		{"lookup", jlist{jmap{"a": 1.0}, "a", "x"}},
		{"lookup", jlist{jmap{"a": 1.0}, "b", "x"}},
		{"lookup", jlist{jmap{"1": "one"}, 1.0, "x"}},
		{"lookup", jlist{jlist{1.0}, "a", "x"}},
		{"lookup", jlist{jmap{"a": 1.0}, "a"}},
		{"lookup", jlist{jmap{"a": 1.0}, "b", nil}},
		{"lookup", jlist{jmap{"a": 1.0}, jlist{}, "x"}},

		{"lower", jlist{"ÀB"}},
		{"lower", jlist{5.0}},
		{"lower", jlist{jlist{1.0}}},
		{"upper", jlist{"straße"}},
		{"upper", jlist{true}},
		{"upper", jlist{nil}},
		{"trimspace", jlist{"  x y \n\t"}},
		{"trimspace", jlist{jmap{}}},

		{"max", jlist{1.0, 5.0, 3.0}},
		{"max", jlist{"5", 2.0}},
		{"max", jlist{-1.5, -2.0}},
		{"max", jlist{}},
		{"max", jlist{"x"}},
		{"min", jlist{1.0, 5.0, 3.0}},
		{"min", jlist{-1.5, "-2"}},
		{"min", jlist{}},
		{"min", jlist{1.0, nil}},

		{"replace", jlist{"hello", "l", "L"}},
		{"replace", jlist{"abc", "", "-"}},
		{"replace", jlist{1.5, ".", ","}},
		{"replace", jlist{"a", "b"}},
		{"replace", jlist{"a", jlist{}, "c"}},

		{"split", jlist{",", "a,b,,c"}},
		{"split", jlist{",", ""}},
		{"split", jlist{"", "abc"}},
		{"split", jlist{".", 1.5}},
		{"split", jlist{","}},

		{"substr", jlist{"hello", 1.0, 3.0}},
		{"substr", jlist{"hello", -3.0, -1.0}},
		{"substr", jlist{"hello", -3.0, 2.0}},
		{"substr", jlist{"hello", -2.0, 0.0}},
		{"substr", jlist{"hello", -10.0, 2.0}},
		{"substr", jlist{"hello", 10.0, 2.0}},
		{"substr", jlist{"hello", 5.0, 1.0}},
		{"substr", jlist{"hello", 4.0, 10.0}},
		{"substr", jlist{"hello", 0.0, 0.0}},
		{"substr", jlist{"hello", 0.0, -1.0}},
		{"substr", jlist{"x\u0301llo", 0.0, 2.0}},
		{"substr", jlist{"x\u0301llo", 2.0, -1.0}},
		{"substr", jlist{"", 1.0, 1.0}},
		{"substr", jlist{"\U0001F1EC\U0001F1E7\U0001F1EB\U0001F1F7x", 1.0, 1.0}},
		{"substr", jlist{"hello", "1", "2"}},
		{"substr", jlist{"hello", 1.5, 2.0}},
		{"substr", jlist{"hello", 1.0}},

		{"tonumber", jlist{"5"}},
		{"tonumber", jlist{"-0.5"}},
		{"tonumber", jlist{"1e3"}},
		{"tonumber", jlist{3.0}},
		{"tonumber", jlist{nil}},
		{"tonumber", jlist{" 5"}},
		{"tonumber", jlist{"0x10"}},
		{"tonumber", jlist{"abc"}},
		{"tonumber", jlist{"Inf"}},
		{"tonumber", jlist{true}},
		{"tonumber", jlist{jlist{1.0}}},

		{"tostring", jlist{5.0}},
		{"tostring", jlist{1.5}},
		{"tostring", jlist{0.1}},
		{"tostring", jlist{1e21}},
		{"tostring", jlist{-2.0}},
		{"tostring", jlist{true}},
		{"tostring", jlist{"x"}},
		{"tostring", jlist{nil}},
		{"tostring", jlist{jlist{1.0}}},
		{"tostring", jlist{jmap{"a": 1.0}}},

		{"values", jlist{jmap{"b": 1.0, "a": "x", "c": nil}}},
		{"values", jlist{jmap{}}},
		{"values", jlist{jlist{1.0}}},
		{"values", jlist{nil}},
	}
	fns := Functions()
	for _, c := range cases {
		name := fmt.Sprintf("%s%#v", c.fn, c.args)
		t.Run(name, func(t *testing.T) {
			// Compile time: HCL evaluates fn(a0, a1, ...), converting the
			// arguments to the parameter types as it does in a playbook.
			ctx := &hcl.EvalContext{Functions: fns, Variables: map[string]cty.Value{}}
			var refs []string
			for i, a := range c.args {
				Ref := fmt.Sprintf("a%d", i)
				ctx.Variables[Ref] = jsonToCty(t, a)
				refs = append(refs, Ref)
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
				want = ctyToJSON(t, ctyRes)
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

// jsonToCty converts a JSON-natural value as the compiler sees the same value
// written as a literal: lists are tuples, maps are objects and numbers are
// parsed from their decimal form.
func jsonToCty(t *testing.T, v any) cty.Value {
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
			vs[i] = jsonToCty(t, e)
		}
		return cty.TupleVal(vs)
	case map[string]any:
		if len(x) == 0 {
			return cty.EmptyObjectVal
		}
		vs := make(map[string]cty.Value, len(x))
		for k, e := range x {
			vs[k] = jsonToCty(t, e)
		}
		return cty.ObjectVal(vs)
	}
	t.Fatalf("jsonToCty: unsupported %T", v)
	return cty.NilVal
}

// ctyToJSON converts a cty value to the JSON-natural form the run-time
// evaluator produces.
func ctyToJSON(t *testing.T, v cty.Value) any {
	if !v.IsWhollyKnown() {
		t.Fatalf("ctyToJSON: unknown value %#v", v)
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
			out = append(out, ctyToJSON(t, e))
		}
		return out
	case ty.IsMapType(), ty.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = ctyToJSON(t, e)
		}
		return out
	}
	t.Fatalf("ctyToJSON: unsupported type %s", ty.FriendlyName())
	return nil
}
