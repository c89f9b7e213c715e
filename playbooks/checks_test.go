package playbooks

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
)

// The tests in this file follow Nomad's jobspec2 parse tests: each case is a
// short piece of inline HCL, loaded as "test.hcl" next to a shared fixture
// loaded as "base.hcl", so that line and column numbers in the expected
// diagnostics count from the first line of the case's own source.

// checkBaseOrg declares people, rosters, an escalation, zones, a conduit and
// integrations: everything a case's playbook may refer to.
const checkBaseOrg = `person "alice" {
  name  = "Alice Tremblay"
  slack = "U01ALICE"
  email = "alice@example.com"
}

person "bob" {
  name  = "Bob Okafor"
  slack = "U01BOB"
  email = "bob@example.com"
}

person "carol" {
  name  = "Carol Nguyen"
  slack = "U01CAROL"
  email = "carol@example.com"
}

person "dave" {
  name  = "Dave Singh"
  slack = "U01DAVE"
  email = "dave@example.com"
}

roster "safety" {
  members = [person.alice, person.bob]
}

roster "ops" {
  members = [person.carol, person.dave]
}

roster "oncall" {
  members = [person.alice, person.carol]
}

escalation "ot" {
  tier {
    notify     = [roster.oncall]
    ack_within = "5m"
  }
  tier {
    notify     = [person.dave]
    ack_within = "10m"
  }
}

zone "dmz" {
  title        = "DMZ"
  purdue_level = 3.5
}

zone "control" {
  title        = "Control network"
  purdue_level = 2
  networks     = ["10.30.2.0/24"]
  safe_state {
    integration = "modbus.plc"
    register    = 40001
    expect      = 1
  }
}

conduit "dmz_to_control" {
  from        = zone.dmz
  to          = zone.control
  enforcement = "nftables.gw"
}

integration "slack" "main" {
  bot_token = env("SLACK_BOT_TOKEN")
}

integration "nftables" "gw" {
  netns = "gw"
}

integration "modbus" "plc" {
  address = "127.0.0.1:5020"
}

integration "webhook" "edr" {
  url    = "https://edr.example/api"
  secret = env("EDR_HMAC")
}
`

// checkBaseSafety is the safety policy: one person from each of two disjoint
// rosters of two, excluding whoever started the incident.
const checkBaseSafety = `
safety {
  signoff {
    rosters   = [roster.safety, roster.ops]
    valid_for = "15m"
  }
}
`

// checkBaseHCL is the default fixture.
const checkBaseHCL = checkBaseOrg + checkBaseSafety

// checkExercisePB is the playbook the exercise cases play through; it is
// loaded as "pb.hcl".
const checkExercisePB = `playbook "ttx" {
  severity = "sev1"
  input "zone" {
    type = string
  }
  input "hosts" {
    type    = list(string)
    default = []
  }
  step "open" {
    action = "slack.open_channel"
    with   = { name = "inc-${input.zone}" }
  }
  step "contain" {
    action   = "edr.contain_host"
    for_each = input.hosts
    with     = { host = each.value, integration = "edr" }
  }
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    needs  = [step.open]
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
  decision "reconnect" {
    ask      = [roster.ops]
    question = "Reconnect?"
    options  = ["reconnect", "stay"]
    default  = "stay"
    needs    = [step.isolate]
  }
  task "call" {
    assign       = roster.ops
    instructions = "Call the regulator."
  }
}
`

type checkWant struct {
	sev     hcl.DiagnosticSeverity
	summary string
	detail  string // a substring of the detail
	file    string // "" means test.hcl
	line    int
	col     int
}

func checkErr(line, col int, summary, detail string) checkWant {
	return checkWant{sev: hcl.DiagError, summary: summary, detail: detail, line: line, col: col}
}

func checkWarn(line, col int, summary, detail string) checkWant {
	return checkWant{sev: hcl.DiagWarning, summary: summary, detail: detail, line: line, col: col}
}

type checkCase struct {
	name string
	src  string // test.hcl
	// noSafety loads the fixture without its safety block, for cases that
	// declare their own.
	noSafety bool
	// extra files, by name.
	extra map[string]string
	// want lists every diagnostic, in order; none for a valid case.
	want []checkWant
	// secret must not appear in any diagnostic.
	secret string
	// bug, when set, skips the case: it asserts the correct behaviour and
	// the compiler does not have it yet.
	bug string
}

func (c checkCase) files() map[string][]byte {
	base := checkBaseHCL
	if c.noSafety {
		base = checkBaseOrg
	}
	files := map[string][]byte{"base.hcl": []byte(base), "test.hcl": []byte(c.src)}
	for n, s := range c.extra {
		files[n] = []byte(s)
	}
	return files
}

func checkFmtDiags(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		at := "(no subject)"
		if d.Subject != nil {
			at = fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		fmt.Fprintf(&b, "\n  %s %s %q: %s", at, sev, d.Summary, d.Detail)
	}
	return b.String()
}

func runCheckCase(t *testing.T, c checkCase) {
	t.Helper()
	if c.bug != "" {
		t.Skip("BUG: " + c.bug)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	m, diags := LoadSource(c.files())
	diags = append(diags, m.Check(actions.Builtin())...)
	if len(diags) != len(c.want) {
		t.Fatalf("got %d diagnostics, want %d:%s", len(diags), len(c.want), checkFmtDiags(diags))
	}
	for i, w := range c.want {
		d := diags[i]
		file := w.file
		if file == "" {
			file = "test.hcl"
		}
		if d.Severity != w.sev {
			t.Errorf("diagnostic %d: severity %v, want %v:%s", i, d.Severity, w.sev, checkFmtDiags(hcl.Diagnostics{d}))
		}
		if d.Summary != w.summary {
			t.Errorf("diagnostic %d: summary %q, want %q:%s", i, d.Summary, w.summary, checkFmtDiags(hcl.Diagnostics{d}))
		}
		if !strings.Contains(d.Detail, w.detail) {
			t.Errorf("diagnostic %d: detail %q does not contain %q", i, d.Detail, w.detail)
		}
		if d.Subject == nil {
			t.Errorf("diagnostic %d: no subject range, want %s:%d:%d", i, file, w.line, w.col)
			continue
		}
		got := fmt.Sprintf("%s:%d:%d", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		want := fmt.Sprintf("%s:%d:%d", file, w.line, w.col)
		if got != want {
			t.Errorf("diagnostic %d (%s): subject starts at %s, want %s", i, d.Summary, got, want)
		}
	}
	if c.secret != "" {
		for _, d := range diags {
			if strings.Contains(d.Summary, c.secret) || strings.Contains(d.Detail, c.secret) {
				t.Errorf("a diagnostic shows the secret %q:%s", c.secret, checkFmtDiags(hcl.Diagnostics{d}))
			}
		}
	}
}

func TestCheckBaseFixtureIsValid(t *testing.T) {
	runCheckCase(t, checkCase{name: "base", src: "# nothing\n"})
}

// checkValidPlaybook uses every kind of step and most of the language; it must
// check without a single diagnostic.
const checkValidPlaybook = `playbook "contain" {
  title    = "Contain ransomware"
  severity = "sev1"
  tags     = ["ransomware", "ot"]

  input "zone" {
    type = string
  }
  input "hosts" {
    type    = list(string)
    default = []
  }

  step "open" {
    action = "slack.open_channel"
    with = {
      name   = "inc-${incident.id}"
      invite = [roster.oncall, person.dave]
      topic  = "Ransomware near ${input.zone}"
    }
  }

  page "engineer" {
    escalation = escalation.ot
    message    = "Join ${step.open.output.channel_name}"
  }

  step "contain" {
    action   = "edr.contain_host"
    for_each = input.hosts
    with     = { host = each.value, integration = "edr" }
    timeout  = "2m"
    retry {
      attempts = 3
      backoff  = "10s"
    }
    on_failure = "continue"
  }

  approval "isolate_ok" {
    kind       = "safety"
    covers     = [zone.control]
    prompt     = "Isolate the control network?"
    timeout    = "10m"
    on_timeout = escalation.ot
    needs      = [page.engineer]
  }

  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control, reason = "ransomware" }
    needs  = [approval.isolate_ok, step.contain]
  }

  step "cut" {
    action = "ot.block_conduit"
    with   = { conduit = conduit.dmz_to_control }
    needs  = [approval.isolate_ok]
  }

  decision "reconnect" {
    ask      = [roster.ops]
    question = "Is the control network clean?"
    options  = ["reconnect", "stay_isolated"]
    timeout  = "4h"
    default  = "stay_isolated"
    needs    = [step.isolate]
  }

  approval "restore_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Reconnect the control network?"
    when   = decision.reconnect.choice == "reconnect"
  }

  step "restore" {
    action = "ot.restore_zone"
    with   = { zone = "control" }
    when   = decision.reconnect.choice == "reconnect"
    needs  = [approval.restore_ok]
  }

  approval "press" {
    approvers         = [roster.safety, roster.ops]
    min_approvals     = 2
    exclude_initiator = true
    prompt            = "Publish a statement?"
  }

  task "call_regulator" {
    assign       = roster.ops
    instructions = "Notify the regulator (CIP-008)."
    timeout      = "1h"
    on_timeout   = escalation.ot
  }

  notify "status" {
    to      = "incident_channel"
    message = "Isolated at ${step.isolate.finished_at} by ${join(", ", approval.isolate_ok.approved_by)}"
  }

  notify "compliance" {
    to      = [roster.safety, person.carol]
    message = upper("regulator called by ${task.call_regulator.done_by}")
  }

  wait "soak" {
    duration = "30m"
    needs    = [step.restore]
  }

  step "ticket" {
    action = "webhook.post"
    with   = { integration = "webhook.edr", body = { id = incident.id, exercise = incident.exercise } }
  }

  step "read" {
    action = "modbus.read"
    with   = { integration = "plc", register = 40001 }
    when   = !incident.exercise
  }
}
`

// TestCheckDiagnostics is the table of checks: every case lists all the
// diagnostics it must produce, with where each points.
func TestCheckDiagnostics(t *testing.T) {
	pb := map[string]string{"pb.hcl": checkExercisePB}
	cases := []checkCase{
		// --- valid input ----------------------------------------------------
		{name: "valid playbook", src: checkValidPlaybook},
		{name: "valid exercise with every kind of delay", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control", hosts = ["ws-1"] }
  objective "contain" {
    description = "Isolated within 30 minutes"
    within      = "30m"
    of          = step.isolate
  }
  inject "alert" {
    at      = "0m"
    message = "EDR alert on ws-1"
  }
  responder "alice" {
    acknowledges_after = "uniform(1m,8m)"
    answers {
      approval = approval.isolate_ok
      with     = "approve"
      after    = "lognormal(4m,0.5)"
    }
  }
  responder "carol" {
    acknowledges_after = "exponential(5m)"
    answers {
      decision = decision.reconnect
      with     = "stay"
      after    = "2m"
    }
    answers {
      task = task.call
      with = "done"
    }
  }
  responder "bob" {
    unavailable = true
  }
}
`},

		// --- syntax and schema ----------------------------------------------
		{name: "syntax error", src: `playbook "p" {
  title = "a" "b"
}
`, want: []checkWant{checkErr(2, 15, "Missing newline after argument", "must end with a newline")}},
		{name: "unclosed block", src: `playbook "p" {
  title = "a"
`, want: []checkWant{checkErr(1, 14, "Unclosed configuration block", "no closing brace")}},
		{name: "unknown block type", src: `playbok "p" {
}
`, want: []checkWant{checkErr(1, 1, "Unsupported block type", `Did you mean "playbook"?`)}},
		{name: "unknown block type in playbook", src: `playbook "p" {
  stpe "a" {
    action = "slack.post"
  }
}
`, want: []checkWant{
			checkErr(2, 3, "Unsupported block type", `Did you mean "step"?`),
			checkErr(1, 1, "Empty playbook", `playbook "p" has no steps`),
		}},
		{name: "unknown person attribute", src: `person "erin" {
  name  = "Erin Walsh"
  emial = "erin@example.com"
}
`, want: []checkWant{checkErr(3, 3, "Unsupported argument", `Did you mean "email"?`)}},
		{name: "unknown step attribute", src: `playbook "p" {
  step "a" {
    action = "slack.post"
    with   = { text = "hi" }
    neds   = [step.a]
  }
}
`, want: []checkWant{checkErr(5, 5, "Unsupported argument", `Did you mean "needs"?`)}},

		// --- duplicate names ------------------------------------------------
		{name: "duplicate person across files", src: `person "alice" {
  name = "Alice Again"
}
`, want: []checkWant{checkErr(1, 1, "Duplicate person", "person.alice is already declared at base.hcl:1,1")}},
		{name: "duplicate step in a playbook", src: `playbook "p" {
  step "a" {
    action = "slack.post"
    with   = { text = "one" }
  }
  step "a" {
    action = "slack.post"
    with   = { text = "two" }
  }
}
`, want: []checkWant{checkErr(6, 3, "Duplicate name", `"a" is already used in playbook "p" by step at test.hcl:2,3`)}},

		{name: "same name for two kinds of step", src: `playbook "p" {
  step "a" {
    action = "slack.post"
    with   = { text = "x" }
  }
  page "a" {
    escalation = escalation.ot
    message    = "m"
  }
}
`, want: []checkWant{checkErr(6, 3, "Duplicate name", `"a" is already used in playbook "p" by step at test.hcl:2,3`)}},
		// --- unknown references ---------------------------------------------
		{name: "unknown person", src: `playbook "p" {
  decision "d" {
    ask      = [person.alcie]
    question = "Go?"
    options  = ["yes", "no"]
  }
}
`, want: []checkWant{checkErr(3, 17, "Reference to undeclared person", `Did you mean "alice"?`)}},
		{name: "unknown roster in an argument", src: `playbook "p" {
  step "open" {
    action = "slack.open_channel"
    with = {
      name   = "inc"
      invite = [roster.safty]
    }
  }
}
`, want: []checkWant{checkErr(6, 17, "Reference to undeclared roster", `Did you mean "safety"?`)}},
		{name: "unknown roster in assign", src: `playbook "p" {
  task "t" {
    assign       = roster.safty
    instructions = "Do it."
  }
}
`, want: []checkWant{checkErr(3, 20, "Reference to undeclared roster", `Did you mean "safety"?`)}},
		{name: "unknown zone in covers", src: `playbook "p" {
  approval "ok" {
    kind   = "safety"
    covers = [zone.contrl]
    prompt = "Isolate?"
  }
}
`, want: []checkWant{checkErr(4, 15, "Reference to undeclared zone", `Did you mean "control"?`)}},
		{name: "unknown zone in an argument", src: `playbook "p" {
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.contrl }
  }
}
`, want: []checkWant{checkErr(4, 23, "Reference to undeclared zone", `Did you mean "control"?`)}},
		{name: "unknown escalation", src: `playbook "p" {
  page "p" {
    escalation = escalation.oot
    message    = "Help"
  }
}
`, want: []checkWant{checkErr(3, 18, "Reference to undeclared escalation", `Did you mean "ot"?`)}},
		{name: "unknown step of the same kind", src: `playbook "p" {
  step "open" {
    action = "slack.post"
    with   = { text = "hi" }
  }
  notify "n" {
    message = "x"
    needs   = [step.opne]
  }
}
`, want: []checkWant{checkErr(8, 16, "Reference to undeclared step", `Did you mean "step.open"?`)}},
		{name: "step that exists with another kind", src: `playbook "p" {
  approval "ok" {
    approvers = [roster.ops]
    prompt    = "Go?"
  }
  step "go" {
    action = "slack.post"
    with   = { text = "go" }
    needs  = [step.ok]
  }
}
`, want: []checkWant{checkErr(9, 15, "Reference to undeclared step", "There is approval.ok; did you mean that?")}},
		{name: "unknown input", src: `playbook "p" {
  input "zone" {
    type = string
  }
  notify "n" {
    message = "Zone ${input.zone} and ${input.zoen}"
  }
}
`, want: []checkWant{checkErr(6, 41, "Unknown input", `Did you mean "zone"?`)}},
		{name: "unknown incident attribute", src: `playbook "p" {
  notify "n" {
    message = "Commander: ${incident.comander}"
  }
}
`, want: []checkWant{checkErr(3, 37, "Unknown incident attribute", `Did you mean "commander"?`)}},
		{name: "unknown root", src: `playbook "p" {
  notify "n" {
    message = "Id ${incdent.id}"
  }
}
`, want: []checkWant{checkErr(3, 21, "Unknown name", `Did you mean "incident"?`)}},
		{name: "var instead of input", src: `playbook "p" {
  notify "n" {
    message = "Zone ${var.zone}"
  }
}
`, want: []checkWant{checkErr(3, 23, "Unknown name", "Playbook inputs are referenced as input.NAME.")}},
		{name: "unknown output field", src: `playbook "p" {
  step "open" {
    action = "slack.open_channel"
    with   = { name = "inc" }
  }
  notify "n" {
    message = "Channel ${step.open.output.chanel_id}"
  }
}
`, want: []checkWant{checkErr(7, 42, "Unknown output field", `Did you mean "channel_id"?`)}},
		{name: "unknown step attribute in a reference", src: `playbook "p" {
  step "open" {
    action = "slack.open_channel"
    with   = { name = "inc" }
  }
  notify "n" {
    message = "Channel ${step.open.outputs.channel_id}"
  }
}
`, want: []checkWant{checkErr(7, 35, "Unknown attribute", `Did you mean "output"?`)}},
		{name: "each outside for_each", src: `playbook "p" {
  step "s" {
    action = "slack.post"
    with   = { text = each.value }
  }
}
`, want: []checkWant{checkErr(4, 23, "each outside for_each", "only in the with arguments of a step with for_each")}},
		{name: "step refers to itself", src: `playbook "p" {
  step "s" {
    action = "slack.post"
    with   = { text = "${step.s.status}" }
  }
}
`, want: []checkWant{checkErr(4, 26, "Step refers to itself", "step.s cannot depend on itself")}},

		// --- dependency cycles ----------------------------------------------
		{name: "cycle of two steps", src: `playbook "p" {
  step "a" {
    action = "slack.post"
    with   = { text = "a" }
    needs  = [step.b]
  }
  step "b" {
    action = "slack.post"
    with   = { text = "b" }
    needs  = [step.a]
  }
}
`, want: []checkWant{checkErr(5, 15, "Dependency cycle", "step.a → step.b → step.a")}},
		{name: "cycle of three steps through a reference", src: `playbook "p" {
  step "a" {
    action = "slack.post"
    with   = { text = "after ${notify.c.finished_at}" }
  }
  step "b" {
    action = "slack.post"
    with   = { text = "b" }
    needs  = [step.a]
  }
  notify "c" {
    message = "c"
    needs   = [step.b]
  }
}
`, want: []checkWant{checkErr(4, 32, "Dependency cycle", "step.a → step.b → notify.c → step.a")}},

		// --- argument types -------------------------------------------------
		// A number where a string is wanted converts, as everywhere in HCL.
		{name: "number for a string argument converts", src: `playbook "p" {
  step "s" {
    action = "slack.post"
    with   = { text = 42 }
  }
}
`},
		{name: "template for a number argument", src: `playbook "p" {
  step "s" {
    action = "modbus.read"
    with   = { integration = "plc", register = "r-${incident.id}" }
  }
}
`, want: []checkWant{checkErr(4, 48, "Invalid argument", "must be a number")}},
		{name: "object posing as a zone", src: `playbook "p" {
  step "s" {
    action = "ot.isolate_zone"
    with   = { zone = { kind = "zone", id = 3 } }
  }
}
`, want: []checkWant{checkErr(4, 23, "Invalid argument", "expected zone.NAME or a string naming a zone")}},
		{name: "object posing as a person", src: `playbook "p" {
  step "s" {
    action = "slack.open_channel"
    with   = { name = "x", invite = [{ kind = "person", id = 1 }] }
  }
}
`, want: []checkWant{checkErr(4, 37, "Invalid argument", "expected a list of person and roster references")}},
		{name: "string literal for a number argument", src: `playbook "p" {
  step "s" {
    action = "modbus.read"
    with   = { integration = "plc", register = "forty" }
  }
}
`, want: []checkWant{checkErr(4, 48, "Invalid argument", "must be a number")}},
		{name: "list for a string argument", src: `playbook "p" {
  step "s" {
    action = "slack.post"
    with   = { text = ["a", "b"] }
  }
}
`, want: []checkWant{checkErr(4, 23, "Invalid argument", "must be a string")}},
		{name: "string for a list argument", src: `playbook "p" {
  step "s" {
    action = "slack.open_channel"
    with   = { name = "inc", invite = "alice" }
  }
}
`, want: []checkWant{checkErr(4, 39, "Invalid argument", "expected a list of person and roster references")}},
		{name: "unknown integration argument", src: `playbook "p" {
  step "s" {
    action = "modbus.read"
    with   = { integration = "plcc", register = 40001 }
  }
}
`, want: []checkWant{checkErr(4, 30, "Unknown integration", `Did you mean "modbus.plc"?`)}},

		// --- actions --------------------------------------------------------
		{name: "unknown action", src: `playbook "p" {
  step "s" {
    action = "slack.opne_channel"
    with   = { name = "inc" }
  }
}
`, want: []checkWant{checkErr(3, 14, "Unknown action", `Did you mean "slack.open_channel"?`)}},
		{name: "unknown action argument", src: `playbook "p" {
  step "s" {
    action = "slack.post"
    with   = { text = "hi", chanel = "C01" }
  }
}
`, want: []checkWant{checkErr(4, 29, "Unknown argument", `Did you mean "channel"?`)}},
		{name: "missing required argument", src: `playbook "p" {
  step "s" {
    action = "slack.post"
    with   = { channel = "C01" }
  }
  step "t" {
    action = "slack.post"
  }
}
`, want: []checkWant{
			checkErr(4, 14, "Missing argument", `needs argument "text"`),
			checkErr(6, 3, "Missing argument", `needs argument "text"`),
		}},
		{name: "safety-critical step without sign-off", src: `playbook "p" {
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
  }
}
`, want: []checkWant{checkErr(2, 3, "Safety-critical step without a safety sign-off", "zone.control")}},

		// --- durations ------------------------------------------------------
		{name: "duration with words", src: `playbook "p" {
  wait "w" {
    duration = "5 minutes"
  }
}
`, want: []checkWant{checkErr(3, 16, "Invalid duration", `"5 minutes" is not a duration`)}},
		{name: "duration in days", src: `playbook "p" {
  wait "w" {
    duration = "10d"
  }
}
`, want: []checkWant{checkErr(3, 16, "Invalid duration", `There is no day unit: write "240h".`)}},
		{name: "zero duration", src: `playbook "p" {
  wait "w" {
    duration = "0s"
  }
}
`, want: []checkWant{checkErr(3, 16, "Invalid duration", "must be longer than zero")}},
		{name: "number for a duration", src: `playbook "p" {
  wait "w" {
    duration = 5
  }
}
`, want: []checkWant{checkErr(3, 16, "Invalid duration", "Write a number and a unit")}},
		{name: "bad duration in an escalation", src: `escalation "slow" {
  tier {
    notify     = [roster.ops]
    ack_within = "5 minutes"
  }
}
`, want: []checkWant{checkErr(4, 18, "Invalid duration", `"5 minutes" is not a duration`)}},

		// --- inputs ---------------------------------------------------------
		{name: "unused input", src: `playbook "p" {
  input "zone" {
    type = string
  }
  wait "w" {
    duration = "1m"
  }
}
`, want: []checkWant{checkWarn(2, 3, "Unused input", `nothing in playbook "p" refers to input.zone`)}},
		{name: "input default of the wrong type", src: `playbook "p" {
  input "hosts" {
    type    = list(string)
    default = "ws-01"
  }
  wait "w" {
    duration = "1m"
  }
}
`, want: []checkWant{checkErr(4, 15, "Invalid default", "does not match the input's type list(string)"), checkWarn(2, 3, "Unused input", "input.hosts")}},
		{name: "input with a bad default is still declared", src: `playbook "p" {
  input "hosts" {
    type    = list(string)
    default = "ws-01"
  }
  notify "n" {
    message = join(", ", input.hosts)
  }
}
`, want: []checkWant{checkErr(4, 15, "Invalid default", "does not match the input's type list(string)")}},

		// --- rosters and quorums --------------------------------------------
		{name: "empty roster", src: `roster "empty" {
  description = "Nobody yet"
}
`, want: []checkWant{checkErr(1, 1, "Empty roster", `roster "empty" has no members`)}},
		{name: "empty roster members list", src: `roster "empty" {
  members = []
}
`, want: []checkWant{checkErr(2, 13, "Empty roster", `roster "empty" has no members`)}},
		{name: "unknown roster member", src: `roster "r" {
  members = [person.alice, person.bobb]
}
`, want: []checkWant{checkErr(2, 28, "Reference to undeclared person", `Did you mean "bob"?`)}},
		{name: "approval quorum larger than its people", src: `playbook "p" {
  approval "a" {
    approvers     = [roster.safety]
    min_approvals = 3
    prompt        = "ok?"
  }
}
`, want: []checkWant{checkErr(3, 21, "Quorum cannot be met", "approval.a needs 3 distinct people from roster.safety")}},
		{name: "approval quorum broken by the initiator", src: `playbook "p" {
  approval "a" {
    approvers         = [person.alice, person.bob]
    min_approvals     = 2
    exclude_initiator = true
    prompt            = "ok?"
  }
}
`, want: []checkWant{checkWarn(3, 25, "Quorum fails if one person starts the incident", "If person.alice starts it")}},
		{name: "safety sign-off from one person twice", noSafety: true, src: `roster "r1" {
  members = [person.alice]
}
roster "r2" {
  members = [person.alice]
}
safety {
  signoff {
    rosters = [roster.r1, roster.r2]
  }
}
`, want: []checkWant{checkErr(8, 3, "Quorum cannot be met", "one distinct person from each of roster.r1, roster.r2")}},
		{name: "safety sign-off broken by the initiator", noSafety: true, src: `roster "r1" {
  members = [person.alice]
}
roster "r2" {
  members = [person.alice, person.bob]
}
safety {
  signoff {
    rosters = [roster.r1, roster.r2]
  }
}
`, want: []checkWant{checkWarn(8, 3, "Quorum fails if one person starts the incident", "If person.alice starts it")}},
		{name: "safety sign-off with an unknown roster", noSafety: true, src: `safety {
  signoff {
    rosters = [roster.safety, roster.opps]
  }
}
`, want: []checkWant{checkErr(3, 31, "Reference to undeclared roster", `Did you mean "ops"?`)}},

		// --- plant model ----------------------------------------------------
		{name: "conduit between unknown zones", src: `conduit "c" {
  from = zone.corp
  to   = zone.dmzz
}
`, want: []checkWant{
			checkErr(2, 10, "Reference to undeclared zone", `No zone named "corp" is declared.`),
			checkErr(3, 10, "Reference to undeclared zone", `Did you mean "dmz"?`),
		}},
		{name: "conduit into its own zone", src: `conduit "c" {
  from = zone.dmz
  to   = zone.dmz
}
`, want: []checkWant{checkErr(3, 10, "Conduit into its own zone", "goes from zone.dmz to itself")}},
		{name: "conduit enforcement unknown", src: `conduit "c" {
  from        = zone.dmz
  to          = zone.control
  enforcement = "nftables.gww"
}
`, want: []checkWant{checkErr(4, 17, "Unknown integration", `Did you mean "nftables.gw"?`)}},
		{name: "conduit enforcement of the wrong kind", src: `conduit "c" {
  from        = zone.dmz
  to          = zone.control
  enforcement = "modbus.plc"
}
`, want: []checkWant{checkErr(4, 17, "Wrong kind of integration", "must name a nftables or webhook integration")}},
		{name: "safe_state integration unknown", src: `zone "cell" {
  title = "Cell"
  safe_state {
    integration = "modbus.plcc"
    register    = 40001
    expect      = 1
  }
}
`, want: []checkWant{checkErr(4, 19, "Unknown integration", `Did you mean "modbus.plc"?`)}},

		// --- playbook attributes --------------------------------------------
		{name: "invalid severity", src: `playbook "p" {
  severity = "sev 1"
  wait "w" {
    duration = "1m"
  }
}
`, want: []checkWant{checkErr(2, 14, "Invalid severity", `Did you mean "sev1"?`)}},
		{name: "decision default not among options", src: `playbook "p" {
  decision "d" {
    ask      = [roster.ops]
    question = "Reconnect?"
    options  = ["reconnect", "stay_isolated"]
    default  = "stay_isolatd"
  }
}
`, want: []checkWant{checkErr(6, 16, "Invalid default", `Did you mean "stay_isolated"?`)}},
		{name: "invalid on_failure", src: `playbook "p" {
  step "s" {
    action     = "slack.post"
    with       = { text = "hi" }
    on_failure = "contine"
  }
}
`, want: []checkWant{checkErr(5, 18, "Invalid on_failure", `Did you mean "continue"?`)}},

		// --- secrets --------------------------------------------------------
		{name: "secret written as a literal", src: `integration "slack" "bot" {
  bot_token = "xoxb-1234-secret"
}
`, secret: "xoxb-1234-secret",
			want: []checkWant{checkErr(2, 3, "Secret written into a playbook file", `bot_token = env("SLACK_BOT_TOKEN")`)}},
		{name: "routing key written as a literal", src: `integration "pagerduty" "default" {
  routing_key = "R0UT1NGK3Y"
}
`, secret: "R0UT1NGK3Y",
			want: []checkWant{checkErr(2, 3, "Secret written into a playbook file", `routing_key = env("PAGERDUTY_ROUTING_KEY")`)}},
		{name: "env mixed into a value", src: `integration "webhook" "fw" {
  url    = "https://fw.example"
  secret = "hmac:${env("FW_HMAC")}"
}
`, want: []checkWant{checkErr(3, 12, "env() must be the whole value", `secret = env("NAME")`)}},
		{name: "env in a playbook", src: `playbook "p" {
  step "s" {
    action = "slack.post"
    with   = { text = env("HOME") }
  }
}
`, want: []checkWant{checkErr(4, 23, "Call to unknown function", `only allowed in integration settings`)}},
		{name: "env in a person", src: `person "erin" {
  email = env("ERIN_EMAIL")
}
`, want: []checkWant{checkErr(2, 11, "Call to unknown function", `only allowed in integration settings`)}},

		// --- exercises ------------------------------------------------------
		{name: "exercise of an unknown playbook", extra: pb, src: `exercise "x" {
  playbook = playbook.tx
}
`, want: []checkWant{checkErr(2, 14, "Reference to undeclared playbook", `Did you mean "ttx"?`)}},
		{name: "exercise with an unknown input", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control", hostz = ["ws-1"] }
}
`, want: []checkWant{checkErr(3, 34, "Unknown input", `Did you mean "hosts"?`)}},
		{name: "exercise without a required input", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { hosts = ["ws-1"] }
}
`, want: []checkWant{checkErr(3, 14, "Missing input", `needs input "zone"`)}},
		{name: "exercise input of the wrong type", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control", hosts = "ws-1" }
}
`, want: []checkWant{checkErr(3, 42, "Wrong input type", `Input "hosts" is list(string)`)}},
		{name: "responder not a person", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "alcie" {
    acknowledges_after = "1m"
  }
}
`, want: []checkWant{checkErr(4, 13, "Reference to undeclared person", `Did you mean "alice"?`)}},
		{name: "duplicate responder", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "alice" {
    acknowledges_after = "1m"
  }
  responder "alice" {
    unavailable = true
  }
}
`, want: []checkWant{checkErr(7, 3, "Duplicate responder", `responder "alice"`)}},
		{name: "duplicate inject", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  inject "alert" {
    at      = "0m"
    message = "EDR alert"
  }
  inject "alert" {
    at      = "5m"
    message = "Second alert"
  }
}
`, want: []checkWant{checkErr(8, 3, "Duplicate inject", `inject "alert"`)}},
		{name: "answer with two targets", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "alice" {
    answers {
      approval = approval.isolate_ok
      task     = task.call
      with     = "approve"
    }
  }
}
`, want: []checkWant{checkErr(5, 5, "Answer needs exactly one target", "this one names 2")}},
		{name: "invalid answer to an approval", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "alice" {
    answers {
      approval = approval.isolate_ok
      with     = "aprove"
    }
  }
}
`, want: []checkWant{checkErr(7, 18, "Invalid answer", `Did you mean "approve"?`)}},
		{name: "invalid answer to a decision", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "carol" {
    answers {
      decision = decision.reconnect
      with     = "reconect"
    }
  }
}
`, want: []checkWant{checkErr(7, 18, "Invalid answer", `Did you mean "reconnect"?`)}},
		{name: "answer to an unknown step", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "alice" {
    answers {
      approval = approval.isolate
      with     = "approve"
    }
  }
}
`, want: []checkWant{checkErr(6, 18, "Reference to undeclared step", `Did you mean "approval.isolate_ok"?`)}},
		{name: "commander not a person", extra: pb, src: `exercise "x" {
  playbook  = playbook.ttx
  commander = person.alcie
  inputs    = { zone = "control" }
}
`, want: []checkWant{checkErr(3, 15, "Reference to undeclared person", `Did you mean "alice"?`)}},
		{name: "commander is not a person reference", extra: pb, src: `exercise "x" {
  playbook  = playbook.ttx
  commander = roster.ops
  inputs    = { zone = "control" }
}
`, want: []checkWant{checkErr(3, 15, "Wrong kind of reference", "only a person fits here")}},
		{name: "commander outside may_start", extra: map[string]string{"pb.hcl": strings.Replace(checkExercisePB, `severity = "sev1"`, `severity = "sev1"
  may_start = [roster.ops]`, 1)}, src: `exercise "x" {
  playbook  = playbook.ttx
  commander = person.alice
  inputs    = { zone = "control" }
}
`, want: []checkWant{checkErr(3, 15, "Commander may not start the playbook", "only by carol, dave (may_start)")}},
		{name: "uniform with bounds reversed", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "alice" {
    acknowledges_after = "uniform(8m,1m)"
  }
}
`, want: []checkWant{checkErr(5, 26, "Invalid delay", "the first bound must not exceed the second")}},
		{name: "lognormal with a negative spread", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "carol" {
    answers {
      task  = task.call
      with  = "done"
      after = "lognormal(4m,-1)"
    }
  }
}
`, want: []checkWant{checkErr(8, 15, "Invalid delay", "the spread of lognormal must be a number above 0")}},
		{name: "responder who is never asked", extra: pb, src: `exercise "x" {
  playbook = playbook.ttx
  inputs   = { zone = "control" }
  responder "alice" {
    answers {
      task = task.call
      with = "done"
    }
  }
}
`, want: []checkWant{checkWarn(6, 14, "Responder is not asked", "person.alice answers task.call, but only roster.ops are asked")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

// TestCheckPlanCarriesOnlyEnvNames compiles a playbook that posts to Slack
// and checks that the plan names the Slack integration's environment
// variable and never a value.
func TestCheckPlanCarriesOnlyEnvNames(t *testing.T) {
	m, diags := LoadSource(map[string][]byte{
		"base.hcl": []byte(checkBaseHCL),
		"test.hcl": []byte(`playbook "p" {
  step "s" {
    action = "slack.post"
    with   = { text = "hi" }
  }
}
`),
	})
	p, d := m.Compile("p", actions.Builtin())
	diags = append(diags, d...)
	if len(diags) > 0 || p == nil {
		t.Fatalf("compile: %s", checkFmtDiags(diags))
	}
	var slack *plan.Integration
	for i := range p.Integrations {
		in := &p.Integrations[i]
		if in.Kind == "webhook" {
			t.Errorf("plan carries %s, which the playbook does not use", in.ID)
		}
		if in.ID == "slack.main" {
			slack = in
		}
	}
	if slack == nil {
		t.Fatalf("plan has no slack.main integration: %+v", p.Integrations)
	}
	want := map[string]plan.Setting{"bot_token": {Env: "SLACK_BOT_TOKEN"}}
	if !reflect.DeepEqual(slack.Settings, want) {
		t.Errorf("slack.main settings = %+v, want %+v", slack.Settings, want)
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "firebreak-env") || strings.Contains(string(js), `\u0000`) {
		t.Errorf("plan JSON leaks the env placeholder: %s", js)
	}
}

const checkJSONPlaybookHCL = `playbook "p" {
  severity = "sev2"
  input "zone" {
    type = string
  }
  step "open" {
    action = "slack.open_channel"
    with = {
      name   = "inc-${incident.id}"
      invite = [roster.oncall, person.dave]
    }
  }
  notify "status" {
    message = "Room for ${input.zone}: ${step.open.output.channel_id}"
    needs   = [step.open]
  }
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    needs  = [notify.status]
  }
  step "isolate" {
    action  = "ot.isolate_zone"
    with    = { zone = zone.control }
    needs   = [approval.ok]
    timeout = "2m"
    when    = !incident.exercise
  }
}
`

const checkJSONPlaybookJSON = `{
  "playbook": {
    "p": {
      "severity": "sev2",
      "input": {"zone": {"type": "string"}},
      "step": {
        "open": {
          "action": "slack.open_channel",
          "with": {"name": "inc-${incident.id}", "invite": ["${roster.oncall}", "${person.dave}"]}
        },
        "isolate": {
          "action": "ot.isolate_zone",
          "with": {"zone": "${zone.control}"},
          "needs": ["approval.ok"],
          "timeout": "2m",
          "when": "${!incident.exercise}"
        }
      },
      "notify": {
        "status": {
          "message": "Room for ${input.zone}: ${step.open.output.channel_id}",
          "needs": ["step.open"]
        }
      },
      "approval": {
        "ok": {
          "kind": "safety",
          "covers": ["zone.control"],
          "prompt": "Isolate?",
          "needs": ["notify.status"]
        }
      }
    }
  }
}
`

// checkClearSource removes what depends on where and how the plan was written.
func checkClearSource(p *plan.Plan) {
	p.Source = plan.Range{}
	var clearExpr func(e *plan.Expr)
	clearExpr = func(e *plan.Expr) {
		if e == nil {
			return
		}
		e.Range, e.Source = nil, ""
		for _, a := range e.Args {
			clearExpr(a)
		}
	}
	for i := range p.Steps {
		s := &p.Steps[i]
		s.Range = plan.Range{}
		clearExpr(s.When)
		clearExpr(s.ForEach)
		if s.Action != nil {
			for _, e := range s.Action.With {
				clearExpr(e)
			}
		}
		if s.Page != nil {
			clearExpr(s.Page.Message)
		}
		if s.Approval != nil {
			clearExpr(s.Approval.Prompt)
		}
		if s.Decision != nil {
			clearExpr(s.Decision.Question)
		}
		if s.Task != nil {
			clearExpr(s.Task.Instructions)
		}
		if s.Notify != nil {
			clearExpr(s.Notify.Message)
		}
	}
}

// TestJSONSyntaxMatchesHCL compiles the same playbook written in HCL and in
// HCL's JSON syntax and requires the same plan, apart from source positions.
func TestJSONSyntaxMatchesHCL(t *testing.T) {
	compile := func(name, src string) *plan.Plan {
		t.Helper()
		m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(checkBaseHCL), name: []byte(src)})
		p, d := m.Compile("p", actions.Builtin())
		diags = append(diags, d...)
		if len(diags) > 0 || p == nil {
			t.Fatalf("%s: %s", name, checkFmtDiags(diags))
		}
		return p
	}
	fromHCL := compile("test.hcl", checkJSONPlaybookHCL)
	fromJSON := compile("test.hcl.json", checkJSONPlaybookJSON)

	var ids []string
	for _, s := range fromHCL.Steps {
		ids = append(ids, s.ID)
	}
	if want := []string{"step.open", "notify.status", "approval.ok", "step.isolate"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("HCL plan steps = %v, want %v", ids, want)
	}
	if g := fromJSON.Steps[len(fromJSON.Steps)-1]; g.Action == nil || !reflect.DeepEqual(g.Action.GuardedBy, []string{"approval.ok"}) {
		t.Errorf("JSON plan: step.isolate is not guarded by approval.ok: %+v", g.Action)
	}

	checkClearSource(fromHCL)
	checkClearSource(fromJSON)
	if !reflect.DeepEqual(fromHCL, fromJSON) {
		a, _ := json.MarshalIndent(fromHCL, "", "  ")
		b, _ := json.MarshalIndent(fromJSON, "", "  ")
		t.Errorf("plans differ.\nHCL:\n%s\nJSON:\n%s", a, b)
	}
}
