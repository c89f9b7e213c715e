package playbooks

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/hashicorp/hcl/v2"
)

// TestBadInput: hostile or broken files get one clear error each, never a panic.
func TestBadInput(t *testing.T) {
	big := bytes.Repeat([]byte("# padding line for a file that is far too large\n"), 10<<20/48+1)
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepJSON := `{"playbook": {"p": ` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}}`
	cases := []struct {
		name, file string
		src        []byte
		summary    string
		line       int
	}{
		{"empty file", "a.hcl", []byte(""), "Empty file", 1},
		{"only white space", "a.hcl", []byte("\n\n   \n"), "Empty file", 1},
		{"binary junk", "a.hcl", []byte("person \"a\" {}\n\x00\x01\x02\xff\xfe"), "Not a text file", 2},
		{"ten megabytes", "a.hcl", big, "File too large", 1},
		{"10,000-deep nesting", "a.hcl", []byte("x = " + deep + "\n"), "Nesting too deep", 1},
		{"10,000-deep nesting in JSON", "a.hcl.json", []byte(deepJSON), "Nesting too deep", 1},
		{"deep templates", "a.hcl", []byte("x = " + strings.Repeat(`"${`, 5000) + strings.Repeat(`}"`, 5000) + "\n"), "Nesting too deep", 1},
		{"invalid UTF-8", "a.hcl", []byte("person \"a\" {\n  name = \"Al\xe9\"\n}\n"), "Invalid UTF-8", 2},
		{"unterminated block", "a.hcl", []byte("person \"a\" {\n  name = \"x\"\n"), "Unclosed configuration block", 1},
		{"JSON syntax error", "a.hcl.json", []byte(`{"person": {"a": {"name": }}}`), "Missing JSON value", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, diags := LoadSource(map[string][]byte{tc.file: tc.src})
			if !diags.HasErrors() {
				diags = append(diags, m.Check(actions.Builtin())...)
			}
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			d := diags[0]
			if !strings.Contains(d.Summary, tc.summary) {
				t.Fatalf("first diagnostic is %q (%s), want %q", d.Summary, d.Detail, tc.summary)
			}
			if d.Subject == nil || d.Subject.Start.Line != tc.line || d.Subject.Filename != tc.file {
				t.Fatalf("subject %v, want %s line %d", d.Subject, tc.file, tc.line)
			}
			if len(d.Detail) > 400 {
				t.Fatalf("detail is %d bytes; a clear error is short", len(d.Detail))
			}
		})
	}
}

// TestLoadPaths covers what Load reports for paths on disk.
func TestLoadPaths(t *testing.T) {
	dir := t.TempDir()
	if _, diags := Load(filepath.Join(dir, "missing")); !hasSummary(diags, "No such file or directory") {
		t.Fatalf("missing path: %v", diags)
	}
	if _, diags := Load(dir); !hasSummary(diags, "No playbook files") {
		t.Fatalf("empty directory: %v", diags)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(dir, "people.hcl"):       `person "alice" { slack = "U01ALICE" }`,
		filepath.Join(sub, "rosters.hcl.json"): `{"roster": {"ops": {"members": ["person.alice"]}}}`,
		filepath.Join(dir, "notes.txt"):        "not a playbook",
		filepath.Join(dir, ".hidden", "x.hcl"): "this is not even HCL {",
		filepath.Join(dir, "zz_playbook.hcl"):  "playbook \"p\" {\n  task \"t\" {\n    assign       = roster.ops\n    instructions = \"Do it.\"\n  }\n}\n",
	}
	for name, src := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, diags := Load(dir)
	diags = append(diags, m.Check(actions.Builtin())...)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics: %s", diags.Error())
	}
	if len(m.Files) != 3 {
		t.Fatalf("loaded %d files, want 3 (hidden directories and non-playbook files skipped)", len(m.Files))
	}
	if _, ok := m.Config.Rosters["ops"]; !ok {
		t.Fatal("JSON roster not loaded")
	}
}

func hasSummary(diags hcl.Diagnostics, s string) bool {
	for _, d := range diags {
		if d.Summary == s {
			return true
		}
	}
	return false
}

// fuzzSeeds are FuzzLoad's starting points: small files that each reach one
// part of the language through decoding, checking and compiling, against the
// organisation in safetyBase. They are kept small on purpose: the fuzzing
// engine minimises every input that finds new coverage by trying to remove
// each byte and each run of bytes, so a seed of a few kilobytes (such as a
// whole library file) keeps the engine minimising for its whole time budget
// and fuzzes almost nothing. TestFuzzSeeds keeps them valid, so each one
// really reaches the checker; the shipped library is checked whole by
// TestLibraryValid.
var fuzzSeeds = []struct {
	name, src string
}{
	{"steps.hcl", `playbook "p" {
  title    = "Steps"
  severity = "sev2"
  input "hosts" { type = list(string) }
  input "who" {
    type    = string
    default = "soc"
  }
  step "alert" {
    action = "slack.post"
    with   = { text = format("Hosts: %s (%s)", join(", ", input.hosts), upper(input.who)) }
  }
  step "each" {
    action   = "slack.post"
    for_each = input.hosts
    with     = { text = "${each.key}: ${each.value} after ${step.alert.status}" }
    when     = input.who != "none"
    timeout  = "30s"
    retry {
      attempts = 3
      backoff  = "5s"
    }
    on_failure = "continue"
  }
}
`},
	{"safety.hcl", `playbook "iso" {
  input "zone" {}
  approval "ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate ${input.zone}?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control, reason = "containment" }
    needs  = [approval.ok]
  }
}
`},
	{"ownsignoff.hcl", `playbook "reconnect" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    for    = [step.isolate]
    prompt = "Isolate?"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
  approval "restore_ok" {
    kind          = "safety"
    covers        = [zone.control]
    for           = [step.restore]
    distinct_from = [approval.isolate_ok]
    prompt        = "Reconnect?"
    needs         = [step.isolate]
  }
  step "restore" {
    action = "ot.restore_zone"
    with   = { zone = zone.control }
    needs  = [approval.restore_ok]
  }
}
`},
	{"people.hcl", `playbook "ask" {
  decision "scope" {
    ask      = [roster.ot_operations, person.erin]
    question = "IT only?"
    options  = ["it", "ot"]
    timeout  = "1h"
    default  = "ot"
  }
  task "reset" {
    assign       = roster.process_safety
    instructions = "Reset ${incident.id}."
    on_timeout   = escalation.ot
    timeout      = "1h"
    needs        = [decision.scope]
  }
  notify "tell" {
    to      = [roster.shift_supervisor]
    when    = decision.scope.choice == "ot"
    message = "Scope: ${decision.scope.choice}"
  }
}
`},
	{"inline.hcl", `playbook "one_line" {
  input "a" { type = string  default = "x" }
  step "s" { action = "slack.post"  with = { text = input.a }  timeout = "1m" }
}
`},
	{"integrations.hcl", `integration "slack" "main" {
  simulate       = true
  bot_token      = env("SLACK_BOT_TOKEN")
  signing_secret = env("SLACK_SIGNING_SECRET")
}
integration "webhook" "edr" { url = env("EDR_URL") }
integration "pagerduty" "default" { routing_key = env("PD_ROUTING_KEY") }
`},
	{"exercise.hcl", `playbook "drill" {
  decision "go" {
    ask      = [roster.ot_operations]
    question = "Go?"
    options  = ["yes", "no"]
  }
}
exercise "ttx" {
  playbook = playbook.drill
  objective "decide" {
    within = "10m"
    of     = decision.go
  }
  inject "start" {
    at      = "0m"
    message = "Alarm"
  }
  responder "carol" {
    acknowledges_after = "uniform(1m,3m)"
    answers {
      decision = decision.go
      with     = "yes"
      after    = "2m"
    }
  }
}
`},
}

// TestFuzzSeeds: every FuzzLoad seed loads, checks and compiles without
// errors, so that fuzzing starts from inputs that reach the whole pipeline.
func TestFuzzSeeds(t *testing.T) {
	for _, s := range fuzzSeeds {
		t.Run(s.name, func(t *testing.T) {
			m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(safetyBase), s.name: []byte(s.src)})
			if !diags.HasErrors() {
				diags = append(diags, m.Check(actions.Builtin())...)
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
		})
	}
}

// FuzzLoad feeds arbitrary bytes to the loader and checker: they must never
// panic, and errors must carry a summary. It is seeded with fuzzSeeds, in
// native and JSON syntax.
// Run: go test ./playbooks -run '^$' -fuzz FuzzLoad -fuzztime 5m
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s.src), false)
	}
	f.Add([]byte(`{"playbook": {"p": {"step": {"s": {"action": "slack.post", "with": {"text": "${input.x}"}}}}}}`), true)
	f.Add([]byte(`{"person": {"x": {"slack": "U01X"}}, "roster": {"r": {"members": ["person.x"]}}}`), true)
	// Comparisons, registers and bare references, as the mistakes checks see them.
	f.Add([]byte(`playbook "p" {
  step "r" {
    action = "modbus.read"
    with   = { integration = "modbus.plc", register = 400001 }
  }
  wait "w" {
    duration = "15 min"
    needs    = step.r
    when     = step.r.output.value != "100" && (step.r.status == 1) == "x"
  }
}`), false)
	f.Add([]byte(`{"playbook": {"p": {"wait": {"w": {"duration": "2d", "needs": "wait.v", "when": "${incident.exercise == \"true\"}"}, "v": {"duration": "1m"}}}}}`), true)
	// Named conditions: chains, a cycle, a self-wait, a non-bool.
	f.Add([]byte(`playbook "p" {
  decision "d" {
    ask      = [roster.ot_operations]
    question = "Go?"
    options  = ["yes", "no"]
  }
  condition "a" { when = decision.d.choice == "yes" }
  condition "b" { when = condition.a && !condition.c }
  condition "c" { when = condition.b || wait.w.status == "done" }
  condition "s" { when = decision.d.choice }
  wait "w" {
    duration = "1m"
    when     = condition.a && condition.b.x || condition.s
  }
}`), false)
	f.Add([]byte(`{"playbook": {"p": {"condition": {"a": {"when": "${wait.v.status == \"done\"}"}}, "wait": {"w": {"duration": "1m", "when": "${condition.a}"}, "v": {"duration": "1m"}}}}}`), true)
	f.Fuzz(func(t *testing.T, src []byte, asJSON bool) {
		name := "fuzz.hcl"
		if asJSON {
			name = "fuzz.hcl.json"
		}
		files := map[string][]byte{name: src}
		if !asJSON {
			files["base.hcl"] = []byte(safetyBase)
		}
		m, diags := LoadSource(files)
		if !diags.HasErrors() {
			diags = append(diags, m.Check(actions.Builtin())...)
			for _, n := range sortedKeys(m.Config.Playbooks) {
				m.Compile(n, actions.Builtin())
			}
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without a summary: %+v", d)
			}
		}
	})
}
