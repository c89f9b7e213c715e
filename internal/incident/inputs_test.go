package incident

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

const library = "../../playbooks/library"

// testPlan has one input of each common type.
var testPlan = &plan.Plan{
	Playbook: "triage",
	Inputs: []plan.Input{
		{Name: "zone", Type: "string", Required: true, Description: "where it was seen"},
		{Name: "hosts", Type: "list(string)", Default: []any{}},
		{Name: "count", Type: "number", Default: 1.0},
		{Name: "urgent", Type: "bool", Default: false},
		{Name: "labels", Type: "map(string)", Default: map[string]any{}},
	},
}

func TestParseInputs(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want map[string]any
	}{
		{"plain string", []string{"zone=plant3_dmz"}, map[string]any{"zone": "plant3_dmz"}},
		{"string keeps everything after the first =", []string{"zone=a=b"}, map[string]any{"zone": "a=b"}},
		{"empty string, written as JSON", []string{`zone=""`}, map[string]any{"zone": ""}},
		{"number text for a string stays text", []string{"zone=007"}, map[string]any{"zone": "007"}},
		{"bool text for a string stays text", []string{"zone=true"}, map[string]any{"zone": "true"}},
		{"quoted JSON string is unquoted", []string{`zone="plant 3"`}, map[string]any{"zone": "plant 3"}},
		{"JSON list", []string{"zone=z", `hosts=["ws-eng-07","hmi-3"]`}, map[string]any{"zone": "z", "hosts": []any{"ws-eng-07", "hmi-3"}}},
		{"JSON list of numbers to list(string)", []string{"zone=z", `hosts=[1,2]`}, map[string]any{"zone": "z", "hosts": []any{"1", "2"}}},
		{"number", []string{"zone=z", "count=3"}, map[string]any{"zone": "z", "count": 3.0}},
		{"number in a string converts", []string{"zone=z", `count="4.5"`}, map[string]any{"zone": "z", "count": 4.5}},
		{"bool", []string{"zone=z", "urgent=true"}, map[string]any{"zone": "z", "urgent": true}},
		{"map", []string{"zone=z", `labels={"site":"plant3"}`}, map[string]any{"zone": "z", "labels": map[string]any{"site": "plant3"}}},
		{"spaces around the name", []string{" zone =x"}, map[string]any{"zone": "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInputs(testPlan, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestParseInputsErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown input with a suggestion", []string{"zone=z", "host=a"},
			[]string{`Playbook "triage" has no input "host". Did you mean "hosts"?`, "Inputs of playbook \"triage\":", "zone (string, required)", "hosts (list(string), default [])"}},
		{"missing required", []string{"count=2"},
			[]string{`Playbook "triage" needs input "zone" (string): add --input zone=VALUE.`}},
		{"missing everything", nil, []string{`needs input "zone"`}},
		{"not NAME=VALUE", []string{"zone"}, []string{`--input "zone" is not NAME=VALUE`}},
		{"empty name", []string{"=x", "zone=z"}, []string{`--input "=x" is not NAME=VALUE`}},
		{"repeated", []string{"zone=a", "zone=b"}, []string{`Input "zone" is given more than once.`}},
		{"wrong type: bare word for a list", []string{"zone=z", "hosts=ws-eng-07"},
			[]string{`Input "hosts" is list(string):`, `--input hosts='["a","b"]'`}},
		{"empty required", []string{"zone="}, []string{`Input "zone" is empty; it is required`}},
		{"JSON with unquoted strings", []string{"zone=z", "hosts=[ws-eng-07]"},
			[]string{`Input "hosts" is list(string): "[ws-eng-07]" is not valid JSON`, "quote strings inside it", `--input hosts='["a","b"]'`}},
		{"unfinished JSON", []string{"zone=z", "hosts={"}, []string{`"{" is not valid JSON`}},
		{"wrong type: word for a number", []string{"zone=z", "count=many"}, []string{`Input "count" is number:`}},
		{"wrong type: number for a bool", []string{"zone=z", "urgent=2"}, []string{`Input "urgent" is bool:`}},
		{"null", []string{"zone=z", "count=null"}, []string{`Input "count" is number: null is not a value`}},
		{"several problems at once", []string{"nope=1", "count=x"},
			[]string{`no input "nope"`, `Input "count" is number`, `needs input "zone"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInputs(testPlan, tc.args)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want *InputError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
	// A mistyped input is not also reported as missing.
	_, err := ParseInputs(testPlan, []string{"zone"})
	if strings.Contains(err.Error(), "needs input") {
		t.Errorf("malformed zone also reported missing:\n%s", err)
	}
}

func TestPrepareLibrary(t *testing.T) {
	p, err := Prepare(StartRequest{
		Dir:       library,
		Playbook:  "ot_ransomware_containment",
		Inputs:    []string{"zone=plant3_dmz", `hosts=["ws-eng-07"]`},
		Commander: "carol",
		Exercise:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	in := p.Input
	if in.Plan == nil || in.Plan.Playbook != "ot_ransomware_containment" || in.Commander != "carol" || !in.Exercise {
		t.Fatalf("input: %+v", in)
	}
	if !reflect.DeepEqual(in.Inputs, map[string]any{"zone": "plant3_dmz", "hosts": []any{"ws-eng-07"}}) {
		t.Fatalf("inputs: %#v", in.Inputs)
	}
	if !strings.HasPrefix(in.IncidentID, "INC-") || !idPattern.MatchString(in.IncidentID) {
		t.Fatalf("generated ID %q", in.IncidentID)
	}
	opts := startOptions(in)
	if opts.ID != "incident-"+in.IncidentID || opts.TaskQueue != "firebreak" || !opts.WorkflowExecutionErrorWhenAlreadyStarted {
		t.Fatalf("start options: %+v", opts)
	}
	if opts.TypedSearchAttributes.Size() != 5 {
		t.Fatalf("search attributes: %d, want 5", opts.TypedSearchAttributes.Size())
	}
}

// TestPrepareBuiltIn: with no directory, the built-in library is loaded (no
// matter the working directory), and messages name it rather than a path.
func TestPrepareBuiltIn(t *testing.T) {
	t.Chdir(t.TempDir())
	p, err := Prepare(StartRequest{Playbook: "ot_ransomware_containment", Inputs: []string{"zone=plant3_dmz"}, Commander: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Plan.Source.Filename != "built-in/ot_ransomware_containment.hcl" || len(p.Warnings) != 0 {
		t.Fatalf("plan from %q, warnings %v", p.Plan.Source.Filename, p.Warnings)
	}
	_, err = Prepare(StartRequest{Playbook: "ot_ransomware_containment", Inputs: []string{"zone=plant3_dmz"}, Commander: "carl"})
	if err == nil || !strings.Contains(err.Error(), `No person "carl" is declared in the built-in library (Northwind Energy sample)`) {
		t.Fatalf("unknown commander: %v", err)
	}
}

func TestPrepareErrors(t *testing.T) {
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "p.hcl"), []byte("playbook \"p\" {\n  step \"s\" { action = \"ot.isolate_zon\" }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		req  StartRequest
		want []string
	}{
		{"unknown commander", StartRequest{Dir: library, Playbook: "ot_ransomware_containment", Inputs: []string{"zone=z"}, Commander: "carl"},
			[]string{`No person "carl" is declared`, `Did you mean "carol"?`, "Known: alice, bob, carol"}},
		{"bad ID", StartRequest{Dir: library, Playbook: "ot_ransomware_containment", Inputs: []string{"zone=z"}, IncidentID: "INC 1/2"},
			[]string{`Incident ID "INC 1/2" is not usable`}},
		{"inputs and commander together", StartRequest{Dir: library, Playbook: "ot_ransomware_containment", Commander: "nobody"},
			[]string{`needs input "zone"`, `No person "nobody"`, `Inputs of playbook "ot_ransomware_containment"`}},
		{"no such directory", StartRequest{Dir: "no/such/dir", Playbook: "p"}, []string{"no/such/dir: no such file or directory", "leave both out for the built-in library"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(tc.req)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want *InputError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
	for _, req := range []StartRequest{
		{Dir: bad, Playbook: "p"},
		{Dir: library, Playbook: "no_such_playbook"},
	} {
		_, err := Prepare(req)
		var pe *PlaybookError
		if !errors.As(err, &pe) || !pe.Diags.HasErrors() || pe.Module == nil {
			t.Errorf("%+v: got %v, want *PlaybookError with diagnostics", req, err)
		}
	}
}

func TestNewIncidentID(t *testing.T) {
	now := time.Date(2026, 11, 22, 23, 30, 0, 0, time.FixedZone("X", -3600))
	id := NewIncidentID(now)
	if !strings.HasPrefix(id, "INC-20261123-") || len(id) != len("INC-20261123-4F2A") || strings.ToUpper(id) != id {
		t.Fatalf("ID %q", id)
	}
	seen := map[string]bool{}
	for range 20 {
		seen[NewIncidentID(now)] = true
	}
	if len(seen) < 15 { // 20 draws of 16 bits: a handful of clashes at most
		t.Fatalf("IDs are not random: %d distinct of 20", len(seen))
	}
}
