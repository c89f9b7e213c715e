package playbooks

import (
	"strconv"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Functions returns the functions playbook expressions may call, for
// compile-time evaluation. The set is exactly plan.RuntimeFunctions, and each
// behaves as its run-time counterpart in package plan, so an expression gives
// the same result whether it is folded by the compiler or evaluated while the
// incident runs. Each call returns a new map, which the caller may extend.
func Functions() map[string]function.Function {
	return map[string]function.Function{
		"abs":       stdlib.AbsoluteFunc,
		"coalesce":  stdlib.CoalesceFunc,
		"concat":    stdlib.ConcatFunc,
		"contains":  stdlib.ContainsFunc,
		"distinct":  stdlib.DistinctFunc,
		"format":    stdlib.FormatFunc,
		"join":      stdlib.JoinFunc,
		"keys":      stdlib.KeysFunc,
		"length":    lengthFunc,
		"lookup":    stdlib.LookupFunc,
		"lower":     stdlib.LowerFunc,
		"max":       stdlib.MaxFunc,
		"min":       stdlib.MinFunc,
		"replace":   stdlib.ReplaceFunc,
		"split":     stdlib.SplitFunc,
		"substr":    stdlib.SubstrFunc,
		"tonumber":  toNumberFunc,
		"tostring":  toStringFunc,
		"trimspace": stdlib.TrimSpaceFunc,
		"upper":     stdlib.UpperFunc,
		"values":    stdlib.ValuesFunc,
	}
}

// lengthFunc counts the characters of a string (grapheme clusters, as
// stdlib.StrlenFunc does) or the elements of a list, tuple, set, map or
// object. cty's own stdlib.LengthFunc accepts neither strings nor objects,
// and object literals are the usual maps in a playbook.
var lengthFunc = function.New(&function.Spec{
	Description: "Returns the number of characters in a string or of elements in a collection.",
	Params: []function.Parameter{{
		Name:             "value",
		Type:             cty.DynamicPseudoType,
		AllowDynamicType: true,
		AllowUnknown:     true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) {
		ty := args[0].Type()
		switch {
		case ty == cty.String, ty == cty.DynamicPseudoType,
			ty.IsListType(), ty.IsTupleType(), ty.IsSetType(), ty.IsMapType(), ty.IsObjectType():
			return cty.Number, nil
		}
		return cty.NilType, function.NewArgErrorf(0, "a string, list or map is required, got %s", ty.FriendlyName())
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		if v.Type() == cty.String {
			return stdlib.Strlen(v)
		}
		if !v.IsKnown() && v.Type().IsObjectType() {
			return cty.NumberIntVal(int64(len(v.Type().AttributeTypes()))), nil
		}
		return v.Length(), nil
	},
})

var (
	// toStringFunc converts a string, number or bool to a string; null stays null.
	toStringFunc = makeToFunc(cty.String)
	// toNumberFunc converts a number or a decimal string to a number; null stays null.
	toNumberFunc = makeToFunc(cty.Number)
)

// makeToFunc builds a conversion function in the manner of
// stdlib.MakeToFunc, with the messages the run-time functions give. A string
// that spells infinity is not a number here, as it cannot be written as JSON.
func makeToFunc(want cty.Type) function.Function {
	return function.New(&function.Spec{
		Description: "Converts the given value to " + want.FriendlyName() + ".",
		Params: []function.Parameter{{
			Name:             "v",
			Type:             cty.DynamicPseudoType,
			AllowNull:        true,
			AllowDynamicType: true,
		}},
		Type: func(args []cty.Value) (cty.Type, error) {
			got := args[0].Type()
			if got.Equals(want) || got == cty.DynamicPseudoType {
				return want, nil
			}
			if convert.GetConversionUnsafe(got, want) == nil {
				return cty.NilType, function.NewArgErrorf(0, "cannot convert %s to %s", friendlyKind(got), want.FriendlyName())
			}
			return want, nil
		},
		Impl: func(args []cty.Value, ret cty.Type) (cty.Value, error) {
			v := args[0]
			out, err := convert.Convert(v, ret)
			if err == nil && want == cty.Number && out.IsKnown() && !out.IsNull() && out.AsBigFloat().IsInf() && v.Type() == cty.String {
				err = function.NewArgErrorf(0, "infinity")
			}
			if err != nil {
				if v.Type() == cty.String && want == cty.Number {
					return cty.NilVal, function.NewArgErrorf(0, "cannot convert %s to number; given string must be a decimal representation of a number", strconv.Quote(v.AsString()))
				}
				return cty.NilVal, function.NewArgErrorf(0, "cannot convert %s to %s", friendlyKind(v.Type()), want.FriendlyName())
			}
			return out, nil
		},
	})
}

// friendlyKind names a type as the run-time functions do: tuples are lists
// and objects are maps.
func friendlyKind(ty cty.Type) string {
	switch {
	case ty.IsListType(), ty.IsTupleType(), ty.IsSetType():
		return "list"
	case ty.IsMapType(), ty.IsObjectType():
		return "map"
	}
	return ty.FriendlyName()
}
