package playbooks

import (
	"reflect"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
)

// The cases in this file are mistakes that once passed in silence, and
// messages that once named a consequence before its cause. They use the
// fixture of checks_test.go.

// mistakeRead is a playbook with a register read and a post guarded by cond.
func mistakeRead(cond string) string {
	return `playbook "p" {
  severity = "sev1"
  input "limit" {
    type    = number
    default = 100
  }
  input "mode" {
    type    = string
    default = "auto"
  }
  step "read" {
    action = "modbus.read"
    with   = { integration = "modbus.plc", register = 40001 }
  }
  step "post" {
    action = "slack.post"
    when   = ` + cond + `
    with   = { text = "setpoint changed: ${input.limit} ${input.mode}" }
  }
}
`
}

func TestComparisonOfDifferentTypes(t *testing.T) {
	cases := []checkCase{
		{name: "number with a quoted number", src: mistakeRead(`step.read.output.value != "100"`),
			want: []checkWant{checkErr(17, 14, "Comparison of different types",
				`step.read.output.value is a number and "100" is a string, and values of different types are never equal, so != is always true. Write step.read.output.value != 100.`)}},
		{name: "quoted number first", src: mistakeRead(`"100" == step.read.output.value`),
			want: []checkWant{checkErr(17, 14, "Comparison of different types", `so == is always false. Write 100 == step.read.output.value.`)}},
		{name: "number input with a string input", src: mistakeRead(`input.limit == input.mode`),
			want: []checkWant{checkErr(17, 14, "Comparison of different types", `write tostring(input.limit) == input.mode, or convert the string with tonumber().`)}},
		{name: "inside a larger condition", src: mistakeRead(`input.mode == "auto" && (step.read.output.value == "1" || input.limit > 5)`),
			want: []checkWant{checkErr(17, 39, "Comparison of different types", `Write step.read.output.value == 1.`)}},
		{name: "bool with a quoted bool", src: mistakeRead(`incident.exercise == "true"`),
			want: []checkWant{checkErr(17, 14, "Comparison of different types", `incident.exercise is true or false and "true" is a string`)}},
		{name: "in an argument", src: `playbook "p" {
  severity = "sev1"
  step "read" {
    action = "modbus.read"
    with   = { integration = "modbus.plc", register = 40001 }
  }
  step "post" {
    action = "slack.post"
    with   = { text = "changed: ${step.read.output.value == "7"}" }
  }
}
`, want: []checkWant{checkErr(9, 35, "Comparison of different types", `Write step.read.output.value == 7.`)}},
		{name: "same types pass", src: mistakeRead(`step.read.output.value != 100 && input.mode != "auto" && tostring(step.read.output.value) != "100"`)},
		{name: "unknown types are left alone", src: `playbook "p" {
  severity = "sev1"
  input "anything" {
    type    = any
    default = 1
  }
  step "post" {
    action = "slack.post"
    when   = input.anything != "100" && input.anything != null
    with   = { text = "x" }
  }
}
`},
		{name: "in a JSON playbook", src: "# the playbook is in p.hcl.json\n", extra: map[string]string{"p.hcl.json": `{"playbook": {"p": {
  "severity": "sev1",
  "step": {
    "read": {"action": "modbus.read", "with": {"integration": "modbus.plc", "register": 40001}},
    "post": {"action": "slack.post", "when": "${step.read.output.value != \"100\"}", "with": {"text": "x"}}
  }
}}}
`}, want: []checkWant{{sev: 1, summary: "Comparison of different types", detail: `step.read.output.value is a number and "100" is a string`, file: "p.hcl.json", line: 5, col: 49}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

func TestRegisterNotation(t *testing.T) {
	read := func(reg string) string {
		return `playbook "p" {
  severity = "sev1"
  step "read" {
    action = "modbus.read"
    with   = { integration = "modbus.plc", register = ` + reg + ` }
  }
}
`
	}
	zone := func(reg string) string {
		return `zone "pumps" {
  title        = "Dosing pumps"
  purdue_level = 1
  safe_state {
    integration = "modbus.plc"
    register    = ` + reg + `
    expect      = 1
  }
}
`
	}
	cases := []checkCase{
		{name: "five-digit notation", src: read("49999")},
		{name: "six-digit notation", src: read("465536")},
		{name: "read of a raw offset", src: read("100"), want: []checkWant{checkErr(5, 55, "Invalid argument",
			`Argument "register" of modbus.read: register 100 is not in holding-register notation, and a raw protocol offset is not accepted: write a holding register in Modbus notation: 40001 to 49999 (40001 is the first, protocol offset 0), or 400001 to 465536 for all 65536 (400001 is offset 0). For protocol offset 100 write 40101.`)}},
		{name: "read between the notations", src: read("65535"), want: []checkWant{checkErr(5, 55, "Invalid argument",
			`register 65535 falls between the five-digit notation (up to 49999) and the six-digit one (from 400001): write a holding register in Modbus notation: 40001 to 49999 (40001 is the first, protocol offset 0), or 400001 to 465536 for all 65536 (400001 is offset 0). If 65535 is a protocol offset, write 465536.`)}},
		{name: "read past the address space", src: read("465537"), want: []checkWant{checkErr(5, 55, "Invalid argument",
			`register 465537 is outside the Modbus address space`)}},
		{name: "read of a fraction", src: read("40001.5"), want: []checkWant{checkErr(5, 55, "Invalid argument",
			`register 40001.5 is not a whole number`)}},
		{name: "read of a register computed at run time", src: `playbook "p" {
  severity = "sev1"
  input "reg" {
    type = number
  }
  step "read" {
    action = "modbus.read"
    with   = { integration = "modbus.plc", register = input.reg }
  }
}
`},
		{name: "safe_state register valid", src: zone("400010")},
		{name: "safe_state raw offset", src: zone("9"), want: []checkWant{checkErr(6, 19, "Invalid register",
			`Register 9 is not in holding-register notation, and a raw protocol offset is not accepted: write a holding register in Modbus notation: 40001 to 49999`)}},
		{name: "safe_state between the notations", src: zone("300001"), want: []checkWant{checkErr(6, 19, "Invalid register",
			`Register 300001 falls between the five-digit notation (up to 49999) and the six-digit one (from 400001)`)}},
		{name: "safe_state past the address space", src: zone("465537"), want: []checkWant{checkErr(6, 19, "Invalid register",
			`Register 465537 is outside the Modbus address space`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

// bareRefs writes every attribute that takes a list of references with one
// bare reference instead of a list.
const bareRefs = `roster "leads" {
  members = person.alice
}

escalation "leads" {
  tier {
    notify     = roster.leads
    ack_within = "5m"
  }
}

playbook "p" {
  severity  = "sev1"
  may_start = roster.oncall
  page "ot" {
    escalation = escalation.leads
    message    = "Plant 3"
  }
  approval "ok" {
    kind   = "safety"
    covers = zone.control
    prompt = "Isolate?"
    needs  = page.ot
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = approval.ok
  }
  approval "tell" {
    approvers = roster.ops
    prompt    = "Tell the regulator?"
    needs     = step.isolate
  }
  decision "next" {
    ask      = person.carol
    question = "Reconnect?"
    options  = ["reconnect", "stay"]
    needs    = approval.tell
  }
  task "call" {
    assign       = roster.ops
    instructions = "Call the regulator."
    needs        = decision.next
  }
  notify "done" {
    to      = person.dave
    message = "Done."
    needs   = task.call
  }
}
`

func TestBareReferenceIsAOneElementList(t *testing.T) {
	runCheckCase(t, checkCase{name: "every reference list bare", src: bareRefs})
	m, diags := LoadSource(checkCase{src: bareRefs}.files())
	p, cdiags := m.Compile("p", actions.Builtin())
	if diags = append(diags, cdiags...); diags.HasErrors() {
		t.Fatalf("compile: %s", diags.Error())
	}
	want := map[string][]string{
		"approval.ok": {"page.ot"}, "step.isolate": {"approval.ok"}, "approval.tell": {"step.isolate"},
		"decision.next": {"approval.tell"}, "task.call": {"decision.next"}, "notify.done": {"task.call"},
	}
	for _, s := range p.Steps {
		if w, ok := want[s.ID]; ok && !reflect.DeepEqual(s.Needs, w) {
			t.Errorf("%s needs %v, want %v", s.ID, s.Needs, w)
		}
	}
	for _, s := range p.Steps {
		if s.ID == "step.isolate" && (s.Action == nil || len(p.Steps) != 7) {
			t.Errorf("step.isolate compiled to %+v", s)
		}
	}

	// JSON writes the one reference as a string, with or without ${}.
	runCheckCase(t, checkCase{name: "needs as one JSON string", src: "# the playbook is in p.hcl.json\n", extra: map[string]string{"p.hcl.json": `{"playbook": {"p": {
  "severity": "sev1",
  "wait": {"a": {"duration": "1m"}, "b": {"duration": "1m", "needs": "wait.a"}, "c": {"duration": "1m", "needs": "${wait.b}"}}
}}}
`}})
	// Still a step reference, and still only that.
	runCheckCase(t, checkCase{name: "needs of a zone", src: `playbook "p" {
  severity = "sev1"
  wait "w" {
    duration = "1m"
    needs    = zone.control
  }
}
`, want: []checkWant{checkErr(5, 16, "Invalid needs entry", "zone.control is a zone, not a step. Each entry of needs is a step of this playbook, such as step.open_room.")}})
}
