package playbooks

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
)

// jsonRefUnit is a whole unit in JSON syntax; every @kind.name@ is a
// reference, written in the form under test.
const jsonRefUnit = `{
  "person": {
    "alice": {"slack": "U01ALICE"}, "bob": {"slack": "U01BOB"}, "carol": {"slack": "U01CAROL"},
    "dan": {"slack": "U01DAN"}, "erin": {"slack": "U01ERIN"}
  },
  "roster": {
    "process_safety":   {"members": [@person.alice@, @person.bob@]},
    "ot_operations":    {"members": [@person.carol@, @person.dan@]},
    "shift_supervisor": {"members": @person.erin@}
  },
  "escalation": {"ot": {"tier": [{"notify": [@roster.ot_operations@], "ack_within": "5m"}]}},
  "zone": {"dmz": {"purdue_level": 3.5}, "control": {"purdue_level": 2}},
  "integration": {"nftables": {"gw": {"netns": "gw"}}},
  "conduit": {"dmz_to_control": {"from": @zone.dmz@, "to": @zone.control@, "enforcement": "nftables.gw"}},
  "safety": {
    "signoff": {"rosters": [@roster.process_safety@, @roster.ot_operations@], "exclude_initiator": true, "valid_for": "15m"},
    "break_glass": {"rosters": [@roster.shift_supervisor@], "require_reason": true}
  },
  "playbook": {"p": {
    "page": {"wake": {"escalation": @escalation.ot@, "message": "Wake up"}},
    "decision": {"choose": {"ask": [@roster.ot_operations@], "question": "Isolate?", "options": ["yes", "no"], "needs": [@page.wake@]}},
    "approval": {
      "ok":  {"kind": "safety", "covers": [@zone.control@], "prompt": "Isolate?", "timeout": "30m", "on_timeout": @escalation.ot@, "needs": [@decision.choose@]},
      "std": {"approvers": [@roster.process_safety@, @person.erin@], "prompt": "Tell the regulator?"}
    },
    "step": {"isolate": {"action": "ot.isolate_zone", "with": {"zone": "${zone.control}"}, "needs": [@approval.ok@]}},
    "task": {"call": {"assign": @person.alice@, "instructions": "Call.", "timeout": "1h", "on_timeout": @escalation.ot@, "needs": [@approval.std@]}},
    "notify": {
      "status": {"to": @roster.ot_operations@, "message": "Done", "needs": [@step.isolate@]},
      "list":   {"to": [@person.bob@, @roster.process_safety@], "message": "Done"}
    }
  }},
  "exercise": {"x": {
    "playbook": @playbook.p@,
    "objective": {"contain": {"within": "30m", "of": @step.isolate@}},
    "inject": {"alert": {"at": "0m", "message": "Ransom note"}},
    "responder": {
      "alice": {"answers": [{"approval": @approval.ok@, "with": "approve", "after": "4m"}, {"task": @task.call@, "with": "done"}]},
      "carol": {"answers": {"decision": @decision.choose@, "with": "yes"}}
    }
  }}
}`

var refMarker = regexp.MustCompile(`@([a-z_]+\.[a-z_]+)@`)

// TestJSONReferenceForms: in JSON syntax a reference may be written as
// "kind.name" or, the Terraform way, as "${kind.name}", in every attribute
// that takes one, with the same result.
func TestJSONReferenceForms(t *testing.T) {
	forms := map[string]string{"plain": `"$1"`, "interpolated": `"$${$1}"`, "interpolated with spaces": `"$${ $1 }"`}
	type got struct {
		m *Module
		p *plan.Plan
	}
	step := func(p *plan.Plan, id string) *plan.Step {
		if s := p.StepByID(id); s != nil {
			return s
		}
		return &plan.Step{}
	}
	rows := []struct {
		attr string
		get  func(g got) any
		want string
	}{
		{"roster members (list)", func(g got) any { return g.m.Config.Rosters["process_safety"].Members }, "person.alice person.bob"},
		{"roster members (one)", func(g got) any { return g.m.Config.Rosters["shift_supervisor"].Members }, "person.erin"},
		{"tier notify", func(g got) any { return g.m.Config.Escalations["ot"].Tiers[0].Notify }, "roster.ot_operations"},
		{"conduit from", func(g got) any { return []Ref{*g.m.Config.Conduits["dmz_to_control"].From} }, "zone.dmz"},
		{"conduit to", func(g got) any { return []Ref{*g.m.Config.Conduits["dmz_to_control"].To} }, "zone.control"},
		{"signoff rosters", func(g got) any { return g.m.Config.Safety.Signoff.Rosters }, "roster.process_safety roster.ot_operations"},
		{"break_glass rosters", func(g got) any { return g.m.Config.Safety.BreakGlass.Rosters }, "roster.shift_supervisor"},
		{"page escalation", func(g got) any { return step(g.p, "page.wake").Page.Escalation }, "ot"},
		{"decision ask", func(g got) any { return step(g.p, "decision.choose").Decision.Ask }, "roster.ot_operations"},
		{"needs", func(g got) any { return step(g.p, "decision.choose").Needs }, "page.wake"},
		{"approval covers", func(g got) any { return step(g.p, "approval.ok").Approval.Covers }, "control"},
		{"approval on_timeout", func(g got) any { return step(g.p, "approval.ok").Approval.OnTimeout }, "ot"},
		{"approval approvers", func(g got) any { return step(g.p, "approval.std").Approval.Quorum.Groups }, "roster.process_safety person.erin"},
		{"task assign", func(g got) any { return step(g.p, "task.call").Task.Assign }, "person.alice"},
		{"task on_timeout", func(g got) any { return step(g.p, "task.call").Task.OnTimeout }, "ot"},
		{"notify to (one)", func(g got) any { return step(g.p, "notify.status").Notify.To }, "roster.ot_operations"},
		{"notify to (list)", func(g got) any { return step(g.p, "notify.list").Notify.To }, "person.bob roster.process_safety"},
		{"guarded by the sign-off", func(g got) any { return step(g.p, "step.isolate").Action.GuardedBy }, "approval.ok"},
	}
	for form, repl := range forms {
		t.Run(form, func(t *testing.T) {
			src := refMarker.ReplaceAllString(jsonRefUnit, repl)
			m, diags := LoadSource(map[string][]byte{"unit.hcl.json": []byte(src)})
			if !diags.HasErrors() {
				// Check covers the exercise too: playbook, of, and answers.
				diags = append(diags, m.Check(actions.Builtin())...)
			}
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %s", diags.Error())
			}
			p, diags := m.Compile("p", actions.Builtin())
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			g := got{m, p}
			for _, r := range rows {
				if s := refString(r.get(g)); s != r.want {
					t.Errorf("%s: got %q, want %q", r.attr, s, r.want)
				}
			}
		})
	}
}

func refString(v any) string {
	switch v := v.(type) {
	case []Ref:
		var out []string
		for _, r := range v {
			out = append(out, r.addr())
		}
		return strings.Join(out, " ")
	case []string:
		return strings.Join(v, " ")
	}
	return fmt.Sprint(v)
}

// TestJSONReferenceHints: a bad reference in a JSON file is explained in
// JSON terms, never with "without quotes", which only fits native syntax.
func TestJSONReferenceHints(t *testing.T) {
	cases := []struct {
		name, attr string
		json       string // a playbook file; the base is safetyBase
		summary    string
		want       string
	}{
		{"escalation with text around", "escalation", `{"playbook": {"p": {"page": {"w": {"escalation": "${escalation.ot}!", "message": "m"}}}}}`,
			"Invalid reference", `"escalation.NAME" or "${escalation.NAME}"`},
		{"escalation as a bare name", "escalation", `{"playbook": {"p": {"page": {"w": {"escalation": "ot", "message": "m"}}}}}`,
			"Invalid reference", `"escalation.NAME" or "${escalation.NAME}"`},
		{"needs entry", "needs", `{"playbook": {"p": {"wait": {"a": {"duration": "1m"}, "b": {"duration": "1m", "needs": ["a"]}}}}}`,
			"Invalid needs entry", `"wait.a" or "${wait.a}". Known: wait.a.`},
		{"needs not a list", "needs", `{"playbook": {"p": {"wait": {"b": {"duration": "1m", "needs": 3}}}}}`,
			"Invalid needs", `["step.open_room", "${approval.isolate_ok}"]`},
		{"covers of a number", "covers", `{"playbook": {"p": {"approval": {"a": {"kind": "safety", "covers": 7, "prompt": "?"}}}}}`,
			"Invalid reference list", `["zone.NAME"]`},
		{"ask with an expression", "ask", `{"playbook": {"p": {"decision": {"d": {"ask": ["${upper(person.alice)}"], "question": "?", "options": ["a", "b"]}}}}}`,
			"Invalid reference", `"person.NAME" or "${person.NAME}"`},
		{"assign with two interpolations", "assign", `{"playbook": {"p": {"task": {"t": {"assign": "${person.alice}${person.bob}", "instructions": "x"}}}}}`,
			"Invalid reference list", `["person.NAME"]`},
		{"notify to the incident channel", "to", `{"playbook": {"p": {"notify": {"n": {"to": "incident_channel", "message": "m"}}}}}`,
			"", ""},
		{"notify to a channel name", "to", `{"playbook": {"p": {"notify": {"n": {"to": "general", "message": "m"}}}}}`,
			"Invalid notify destination", `["roster.compliance"]`},
		{"on_timeout as an index", "on_timeout", `{"playbook": {"p": {"task": {"t": {"assign": "person.alice", "instructions": "x", "timeout": "1h", "on_timeout": "${escalation[0]}"}}}}}`,
			"Invalid reference", `"escalation.NAME" or "${escalation.NAME}"`},
		{"conduit from", "from", `{"conduit": {"c": {"from": "dmz", "to": "${zone.control}"}}}`,
			"Invalid reference", `"zone.NAME" or "${zone.NAME}"`},
		{"exercise playbook", "playbook", `{"playbook": {"p": {"wait": {"a": {"duration": "1m"}}}}, "exercise": {"x": {"playbook": "p"}}}`,
			"Invalid reference", `"playbook.NAME" or "${playbook.NAME}"`},
		{"wrong kind, interpolated", "escalation", `{"playbook": {"p": {"page": {"w": {"escalation": "${roster.ot_operations}", "message": "m"}}}}}`,
			"Wrong kind of reference", "roster.ot_operations is a roster"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(safetyBase), "pb.hcl.json": []byte(tc.json)})
			if !diags.HasErrors() {
				diags = append(diags, m.Check(actions.Builtin())...)
			}
			if tc.summary == "" {
				if len(diags) > 0 {
					t.Fatalf("unexpected diagnostics: %s", diags.Error())
				}
				return
			}
			var hit *hcl.Diagnostic
			for _, d := range diags {
				if strings.Contains(d.Detail, "without quotes") {
					t.Errorf("a JSON diagnostic says \"without quotes\": %s", d.Detail)
				}
				if d.Summary == tc.summary && hit == nil {
					hit = d
				}
			}
			if hit == nil {
				t.Fatalf("no %q diagnostic: %s", tc.summary, diags.Error())
			}
			if !strings.Contains(hit.Detail, tc.want) {
				t.Errorf("detail %q does not say %s", hit.Detail, tc.want)
			}
			if hit.Subject == nil || hit.Subject.Filename != "pb.hcl.json" {
				t.Errorf("subject %v is not in pb.hcl.json", hit.Subject)
			}
		})
	}
}

// TestNativeReferenceHint: native syntax keeps its hint, and a quoted
// reference stays an error there.
func TestNativeReferenceHint(t *testing.T) {
	m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(safetyBase),
		"pb.hcl": []byte("playbook \"p\" {\n  page \"w\" {\n    escalation = \"${escalation.ot}\"\n    message = \"m\"\n  }\n}\n")})
	if !diags.HasErrors() {
		diags = append(diags, m.Check(actions.Builtin())...)
	}
	if !hasSummary(diags, "Invalid reference") || !strings.Contains(diags.Error(), "escalation.NAME, without quotes") {
		t.Fatalf("got %s", diags.Error())
	}
}
