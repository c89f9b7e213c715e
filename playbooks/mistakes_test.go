package playbooks

import (
	"reflect"
	"strings"
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
		{name: "a list with a string", src: strings.Replace(mistakeRead(`input.mode == "auto" && approval.ok.approved_by != "person.alice"`), `  step "read" {`, `  approval "ok" {
    approvers = [roster.ops]
    prompt    = "ok?"
  }
  step "read" {`, 1),
			want: []checkWant{checkErr(21, 38, "Comparison of different types",
				`approval.ok.approved_by is a list of strings and "person.alice" is a string, and values of different types are never equal, so != is always true. To ask whether the list holds it, write !contains(approval.ok.approved_by, "person.alice").`)}},
		{name: "an object with a string", src: mistakeRead(`input.mode == "auto" && zone.control == "control"`),
			want: []checkWant{checkErr(17, 38, "Comparison of different types", `Compare a field of it instead.`)}},
		{name: "a chain reports the comparison that is wrong", src: mistakeRead(`input.mode == "auto" && input.limit == "1" == "1"`),
			want: []checkWant{checkErr(17, 38, "Comparison of different types", `input.limit is a number and "1" is a string, and values of different types are never equal, so == is always false. Write input.limit == 1.`)}},
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

func TestWrongTypeMessages(t *testing.T) {
	cases := []checkCase{
		{name: "a string for a list", src: `playbook "p" {
  severity = "sev1"
  tags     = "ot"
  wait "w" {
    duration = "1m"
  }
}
`, want: []checkWant{checkErr(3, 14, "Wrong type",
			`tags must be a list of strings, such as tags = ["ransomware", "ot"] (a list even for one entry); this is a string.`)}},
		{name: "a list with an object in it", src: `zone "z" {
  networks = ["10.0.0.0/8", { a = 1 }]
}
`, want: []checkWant{checkErr(2, 14, "Wrong type",
			`networks must be a list of strings, such as networks = ["10.30.2.0/24"] (a list even for one entry); element 1 is an object.`)}},
		{name: "a list for a string", src: `playbook "p" {
  severity = "sev1"
  title    = ["a"]
  wait "w" {
    duration = "1m"
  }
}
`, want: []checkWant{checkErr(3, 14, "Wrong type", `title must be a string; this is a list.`)}},
		{name: "a list for a number argument", src: `playbook "p" {
  severity = "sev1"
  step "s" {
    action = "modbus.read"
    with   = { integration = "modbus.plc", register = [40001] }
  }
}
`, want: []checkWant{checkErr(5, 55, "Invalid argument", `Argument "register" of modbus.read: register must be a number; this is a list.`)}},
		{name: "a string when must be a bool", src: `playbook "p" {
  severity = "sev1"
  wait "w" {
    duration = "1m"
    when     = "sometimes"
  }
}
`, want: []checkWant{checkErr(5, 16, "Wrong type", `when must be true or false; this is a string.`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

func TestWrongKindListsWhatFits(t *testing.T) {
	cases := []checkCase{
		{name: "a zone where an escalation fits", src: `playbook "p" {
  severity = "sev1"
  page "ot" {
    escalation = zone.control
    message    = "Plant 3"
  }
}
`, want: []checkWant{checkErr(4, 18, "Wrong kind of reference", "zone.control is a zone; only an escalation fits here. Known: escalation.ot.")}},
		{name: "an escalation where people fit", src: `playbook "p" {
  severity = "sev1"
  task "t" {
    assign       = [escalation.ot]
    instructions = "x"
  }
}
`, want: []checkWant{checkErr(4, 21, "Wrong kind of reference",
			"escalation.ot is an escalation; only a person or a roster fits here. Known: person.alice, person.bob, person.carol, person.dave, roster.oncall, roster.ops, roster.safety.")}},
		{name: "in a declaration", src: `roster "r" {
  members = [roster.ops]
}
`, want: []checkWant{checkErr(2, 14, "Wrong kind of reference", "roster.ops is a roster; only a person fits here. Known: person.alice, person.bob, person.carol, person.dave.")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

func TestDurationMessagesNameTheUnits(t *testing.T) {
	wait := func(d string) string {
		return `playbook "p" {
  severity = "sev1"
  wait "w" {
    duration = "` + d + `"
  }
}
`
	}
	const units = `Write a number and a unit, h (hours), m (minutes) or s (seconds), also ms, us and ns, combined if need be: "90s", "5m", "4h", "1h30m".`
	cases := []checkCase{
		{name: "days", src: wait("2d"), want: []checkWant{checkErr(4, 16, "Invalid duration", `duration: "2d" is not a duration. `+units+` There is no day unit: write "48h".`)}},
		{name: "a spelt-out unit", src: wait("15 min"), want: []checkWant{checkErr(4, 16, "Invalid duration", units+` Did you mean "15m"?`)}},
		{name: "no unit", src: wait("30"), want: []checkWant{checkErr(4, 16, "Invalid duration", units+` A number alone has no unit: write "30m" for 30 minutes, say.`)}},
		{name: "nonsense", src: wait("soon"), want: []checkWant{checkErr(4, 16, "Invalid duration", `duration: "soon" is not a duration. `+units)}},
		{name: "an inject's at", extra: map[string]string{"pb.hcl": checkExercisePB}, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  inject "alert" {
    at      = "5 mins"
    message = "EDR alert"
  }
}
`, want: []checkWant{checkErr(5, 15, "Invalid duration", `at is the time since the exercise started, such as "0m" or "12m"; got "5 mins". `+units+` Did you mean "5m"?`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

func TestRootCauseFirst(t *testing.T) {
	cases := []checkCase{
		{name: "a typo in needs hides the sign-off error it causes", src: `playbook "p" {
  severity = "sev1"
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolat_ok]
  }
}
`, want: []checkWant{checkErr(11, 15, "Reference to undeclared approval", `Did you mean "approval.isolate_ok"?`)}},
		{name: "a typo further up the path", src: `playbook "p" {
  severity = "sev1"
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  wait "settle" {
    duration = "1m"
    needs    = [approval.isolateok]
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [wait.settle]
  }
}
`, want: []checkWant{checkErr(10, 17, "Reference to undeclared approval", `Did you mean "approval.isolate_ok"?`)}},
		{name: "the sign-off error still comes once the name is right", src: `playbook "p" {
  severity = "sev1"
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
  }
}
`, want: []checkWant{checkErr(8, 3, "Safety-critical step without a safety sign-off",
			"approval.isolate_ok covers zone.control but step.isolate does not wait for it (it runs on a parallel branch); add it to needs")}},
		{name: "covers naming the wrong zone points at covers", src: `playbook "p" {
  severity = "sev1"
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.dmz]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
}
`, want: []checkWant{checkErr(5, 14, "Safety-critical step without a safety sign-off",
			"approval.isolate_ok covers zone.dmz, not zone.control.\n\nIf approval.isolate_ok is the sign-off for step.isolate, fix its covers: covers = [zone.control], or [zone.dmz, zone.control] if it signs off both.\nOtherwise, if step.isolate needs a sign-off of its own, add one and wait for it:\n  approval \"isolate_ok2\"")}},
		{name: "a list where one reference is taken", src: `playbook "p" {
  severity = "sev1"
  page "ot" {
    escalation = [escalation.ot]
    message    = "Plant 3"
  }
}
`, want: []checkWant{checkErr(4, 18, "Invalid reference", "Expected a reference to an escalation, such as escalation.ot: one reference, not a list.")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}
