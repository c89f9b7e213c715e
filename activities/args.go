package activities

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// argReader decodes an action's evaluated arguments (JSON-natural values)
// into Go values, collecting every problem into one ErrBadArguments failure.
type argReader struct {
	call     Call
	action   string
	args     map[string]any
	problems []string
}

// readArgs starts decoding in's arguments for action, which accepts the
// arguments named in known. It checks that the call is for action and that
// no unknown argument was passed.
func readArgs(in ActionInput, action string, known ...string) *argReader {
	r := &argReader{call: in.Call, action: action, args: in.Args}
	if in.Call.Action != "" && in.Call.Action != action {
		r.problems = append(r.problems, fmt.Sprintf("the call is for action %q but reached the activity for %q", in.Call.Action, action))
	}
	var unknown []string
	for k := range in.Args {
		found := false
		for _, n := range known {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		ks := append([]string(nil), known...)
		sort.Strings(ks)
		r.problems = append(r.problems, fmt.Sprintf("unknown argument(s) %s (known: %s)", quoteAll(unknown), strings.Join(ks, ", ")))
	}
	return r
}

func (r *argReader) fail(format string, a ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, a...))
}

// get returns the argument, treating null like absent; it records a problem
// when a required argument is missing.
func (r *argReader) get(name string, required bool) (any, bool) {
	v, ok := r.args[name]
	if !ok || v == nil {
		if required {
			r.fail("argument %q is required", name)
		}
		return nil, false
	}
	return v, true
}

// boolean reads an optional true/false argument, def when it is absent.
func (r *argReader) boolean(name string, def bool) bool {
	v, ok := r.get(name, false)
	if !ok {
		return def
	}
	b, isBool := v.(bool)
	if !isBool {
		r.fail("argument %q must be true or false; got %v", name, v)
		return def
	}
	return b
}

// str reads a string argument; a required one must not be blank.
func (r *argReader) str(name string, required bool) string {
	v, ok := r.get(name, required)
	if !ok {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		r.fail("argument %q must be a string, got %s", name, describe(v))
		return ""
	}
	if required && strings.TrimSpace(s) == "" {
		r.fail("argument %q must not be empty", name)
	}
	return s
}

// strs reads a list of strings.
func (r *argReader) strs(name string, required bool) []string {
	v, ok := r.get(name, required)
	if !ok {
		return nil
	}
	switch l := v.(type) {
	case []string:
		return append([]string(nil), l...)
	case []any:
		out := make([]string, 0, len(l))
		for i, e := range l {
			s, isStr := e.(string)
			if !isStr {
				r.fail("argument %q must be a list of strings; element %d is %s", name, i, describe(e))
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	r.fail("argument %q must be a list of strings, got %s", name, describe(v))
	return nil
}

// num reads a number.
func (r *argReader) num(name string, required bool) (float64, bool) {
	v, ok := r.get(name, required)
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		if err == nil {
			return f, true
		}
	}
	r.fail("argument %q must be a number, got %s", name, describe(v))
	return 0, false
}

// wholeNumber reads a non-negative whole number no larger than limit.
func (r *argReader) wholeNumber(name string, required bool, limit int) int {
	f, ok := r.num(name, required)
	if !ok {
		return 0
	}
	if f != math.Trunc(f) || f < 0 || f > float64(limit) {
		r.fail("argument %q must be a whole number from 0 to %d, got %v", name, limit, f)
		return 0
	}
	return int(f)
}

// raw reads an argument of any type.
func (r *argReader) raw(name string) any {
	v, _ := r.get(name, false)
	return v
}

// ref reads a zone or conduit name; "zone.NAME" is accepted for "NAME".
func (r *argReader) ref(name, kind string) string {
	return strings.TrimPrefix(r.str(name, true), kind+".")
}

// integration reads an integration argument of the given kind, written
// "KIND.NAME" or "NAME", and returns the integration ID "KIND.NAME". def
// is the name used when the argument is absent ("" makes it required).
func (r *argReader) integration(name, kind, def string) string {
	s := r.str(name, def == "")
	if s == "" {
		if def == "" {
			return ""
		}
		s = def
	}
	k, n, dotted := strings.Cut(s, ".")
	if !dotted {
		return kind + "." + s
	}
	if k != kind || n == "" {
		r.fail("argument %q must name a %s integration, written \"%s.NAME\" or \"NAME\"; got %q", name, kind, kind, s)
		return ""
	}
	return s
}

// err returns the collected problems as one ErrBadArguments failure.
func (r *argReader) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	step := r.call.Step
	if step == "" {
		step = "a step"
	}
	return badArgs("%s (%s): %s", step, r.action, strings.Join(r.problems, "; "))
}

// describe names a value's JSON type for error messages, without echoing
// long values.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("bool %v", x)
	case float64, float32, int, int64, json.Number:
		return fmt.Sprintf("number %v", x)
	case []any, []string:
		return "a list"
	case map[string]any, map[string]string:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
