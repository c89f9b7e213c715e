package incident

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// InputError is a problem with what a person asked for on the command line or
// in a request: an input the playbook does not declare, a missing required
// input, a value of the wrong type, an unknown commander or a malformed ID.
// Front doors report it as bad usage.
type InputError struct {
	// Problems are one sentence each.
	Problems []string
	// Help lists what would have been accepted, e.g. the playbook's inputs.
	Help string
}

// Error lists the problems, one a line, then the help.
func (e *InputError) Error() string {
	msg := strings.Join(e.Problems, "\n")
	if e.Help != "" {
		msg += "\n" + e.Help
	}
	return msg
}

// ParseInputs turns "name=value" strings into the run's input values, checked
// against the plan's declared inputs. A value that parses as JSON is used as
// JSON (lists, objects, numbers, bools, quoted strings); anything else is a
// plain string. For an input of type string the text is taken as written
// unless it is a quoted JSON string, so zone=123 gives "123". Values are then
// converted to the input's type. Unknown, repeated, missing and mistyped
// inputs are reported together in one *InputError that lists the playbook's
// inputs.
func ParseInputs(p *plan.Plan, args []string) (map[string]any, error) {
	declared := map[string]plan.Input{}
	var names []string
	for _, in := range p.Inputs {
		declared[in.Name] = in
		names = append(names, in.Name)
	}
	sort.Strings(names)

	out := map[string]any{}
	var problems []string
	for _, arg := range args {
		name, raw, ok := strings.Cut(arg, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			problems = append(problems, fmt.Sprintf("--input %q is not NAME=VALUE, e.g. --input zone=plant3_dmz.", arg))
			continue
		}
		in, known := declared[name]
		if !known {
			problems = append(problems, fmt.Sprintf("Playbook %q has no input %q.%s", p.Playbook, name, didYouMean(name, names)))
			continue
		}
		if _, dup := out[name]; dup {
			problems = append(problems, fmt.Sprintf("Input %q is given more than once.", name))
			continue
		}
		if in.Required && strings.TrimSpace(raw) == "" {
			problems = append(problems, fmt.Sprintf("Input %q is empty; it is required, so give it a value, e.g. --input %s=%s (an empty text on purpose is written --input '%s=\"\"').", name, name, exampleValue(in.Type), name))
			continue
		}
		v, err := inputValue(in, raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("Input %q is %s: %s.", name, in.Type, err))
			continue
		}
		out[name] = v
	}
	for _, in := range p.Inputs {
		if _, given := out[in.Name]; !given && in.Required && !mentioned(args, in.Name) {
			problems = append(problems, fmt.Sprintf("Playbook %q needs input %q (%s): add --input %s=%s.", p.Playbook, in.Name, in.Type, in.Name, exampleValue(in.Type)))
		}
	}
	if len(problems) > 0 {
		return nil, &InputError{Problems: problems, Help: DescribeInputs(p)}
	}
	return out, nil
}

// mentioned reports whether an input was named in args at all (so a value of
// the wrong type is not also reported as missing).
func mentioned(args []string, name string) bool {
	for _, a := range args {
		if n, _, _ := strings.Cut(a, "="); strings.TrimSpace(n) == name {
			return true
		}
	}
	return false
}

// DescribeInputs lists a playbook's inputs with their types, one a line, for
// help and error messages.
func DescribeInputs(p *plan.Plan) string {
	if len(p.Inputs) == 0 {
		return fmt.Sprintf("Playbook %q takes no inputs.", p.Playbook)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Inputs of playbook %q:", p.Playbook)
	for _, in := range p.Inputs {
		fmt.Fprintf(&b, "\n  %s (%s", in.Name, in.Type)
		if in.Required {
			b.WriteString(", required")
		} else if d, err := json.Marshal(in.Default); err == nil {
			fmt.Fprintf(&b, ", default %s", d)
		}
		b.WriteString(")")
		if in.Description != "" {
			b.WriteString("  " + in.Description)
		}
	}
	return b.String()
}

// exampleValue suggests how to write a value of a type on the command line.
func exampleValue(typ string) string {
	switch {
	case typ == "string":
		return "VALUE"
	case typ == "number":
		return "42"
	case typ == "bool":
		return "true"
	case strings.HasPrefix(typ, "list(") || strings.HasPrefix(typ, "set(") || strings.HasPrefix(typ, "tuple("):
		return `'["a","b"]'`
	default:
		return `'{"key":"value"}'`
	}
}

// inputValue parses and converts one raw value to the input's type, returning
// a JSON-natural Go value (string, float64, bool, []any, map[string]any).
func inputValue(in plan.Input, raw string) (any, error) {
	want, err := parseType(in.Type)
	if err != nil {
		return nil, err
	}
	generic := parseRaw(raw)
	if want == cty.String {
		if s, ok := generic.(string); ok && isJSONString(raw) {
			return s, nil
		}
		return raw, nil
	}
	if generic == nil {
		return nil, fmt.Errorf("null is not a value; leave the input out to use its default")
	}
	if t := strings.TrimSpace(raw); generic == raw && t != "" && strings.ContainsRune("[{\"", rune(t[0])) {
		// It was meant as JSON but does not parse: say so rather than
		// that a string is not a list.
		var syntax error
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			syntax = err
		}
		return nil, fmt.Errorf("%q is not valid JSON (%v); quote strings inside it and the whole value for the shell, e.g. --input %s=%s", raw, syntax, in.Name, exampleValue(in.Type))
	}
	b, err := json.Marshal(generic)
	if err != nil {
		return nil, err
	}
	implied, err := ctyjson.ImpliedType(b)
	if err != nil {
		return nil, err
	}
	v, err := ctyjson.Unmarshal(b, implied)
	if err != nil {
		return nil, err
	}
	cv, err := convert.Convert(v, want)
	if err != nil {
		return nil, fmt.Errorf("%s, e.g. --input %s=%s", strings.TrimSuffix(err.Error(), "."), in.Name, exampleValue(in.Type))
	}
	if cv.IsNull() {
		return nil, fmt.Errorf("null is not a value; leave the input out to use its default")
	}
	out, err := ctyjson.Marshal(cv, cv.Type())
	if err != nil {
		return nil, err
	}
	var g any
	if err := json.Unmarshal(out, &g); err != nil {
		return nil, err
	}
	return g, nil
}

// parseRaw reads raw as JSON when it parses, else returns it as a string.
func parseRaw(raw string) any {
	if !json.Valid([]byte(raw)) {
		return raw
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return raw
	}
	return v
}

func isJSONString(raw string) bool {
	t := strings.TrimSpace(raw)
	return len(t) >= 2 && t[0] == '"' && json.Valid([]byte(t))
}

// parseType reads a type as the compiler writes it ("string", "list(string)").
func parseType(s string) (cty.Type, error) {
	if s == "" {
		return cty.String, nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(s), "type", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilType, fmt.Errorf("the plan has an unreadable input type %q", s)
	}
	t, diags := typeexpr.TypeConstraint(expr)
	if diags.HasErrors() {
		return cty.NilType, fmt.Errorf("the plan has an unreadable input type %q", s)
	}
	return t, nil
}
