package playbooks

import "testing"

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
