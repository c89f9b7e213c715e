package bench

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ir/firebreak/internal/demo"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

var (
	record    = flag.Bool("record", false, "run the replay scenarios on an embedded server and write the histories missing from "+historiesDir)
	overwrite = flag.Bool("overwrite", false, "with -record, also rewrite the current interpreter version's histories that exist (only while no incident runs on the code they came from)")
)

// historiesDir is where the replay tests in workflows read recorded histories.
const historiesDir = "../../workflows/testdata/histories"

// scenario is one recorded incident.
type scenario struct {
	// name is the history's file name without ".json".
	name string
	req  incident.StartRequest
	// script answers steps, in order per step, whenever they wait.
	script incident.Script
	// want is the incident's final state; steps are final step states to check.
	want  string
	steps map[string]string
	// signer, when set, signs the start and every scripted answer (the
	// scenario directory's front door).
	signer *attest.Signer
}

// replayScenarios are the recorded incidents. Add one for every new kind of
// behaviour the interpreter gains; never re-record an old one to make a
// change pass (see workflows/replay_test.go).
func replayScenarios(scenarioDir string, gateway *attest.Signer) []scenario {
	ransomware := func(id string, exercise bool) incident.StartRequest {
		return incident.StartRequest{Dir: libraryDir, Playbook: "ot_ransomware_containment", Inputs: RansomwareInputs, Commander: "ines", IncidentID: id, Exercise: exercise}
	}
	denied := incident.Script{
		"page.ot_engineer": {{Update: workflows.UpdateAck, Person: "olga"}},
		"approval.isolate_ok": {
			{Update: workflows.UpdateApprove, Person: "alice"},
			{Update: workflows.UpdateDeny, Person: "erin", Reason: "compressor 2 is mid-startup; isolating now would trip it"},
		},
		"task.call_regulator": {{Update: workflows.UpdateDone, Person: "maria"}},
	}
	breakGlass := incident.Script{
		"page.ot_engineer": {{Update: workflows.UpdateAck, Person: "dmitri"}},
		"approval.isolate_ok": {
			{Update: workflows.UpdateBreakGlass, Person: "farid", Reason: "HMIs freezing, ransomware spreading; nobody from process safety reachable"},
		},
		"task.verify_islanded": {{Update: workflows.UpdateDone, Person: "grace"}},
		"decision.reconnect":   {{Update: workflows.UpdateDecide, Person: "olga", Option: "stay_isolated"}},
		"task.call_regulator":  {{Update: workflows.UpdateDone, Person: "kate"}},
	}
	cancel := incident.Script{
		"page.ot_engineer": {{Update: workflows.UpdateAck, Person: "dmitri"}},
		"approval.isolate_ok": {
			{Update: workflows.UpdateApprove, Person: "noah"},
			{Update: workflows.UpdateCancel, Person: "ines", Reason: "false positive: the EDR alert was a red-team exercise"},
		},
	}
	stale := incident.Script{
		"approval.isolate_ok": {
			{Update: workflows.UpdateApprove, Person: "alice"},
			{Update: workflows.UpdateApprove, Person: "dmitri"},
			// Asked again once the sign-off went stale during wait.settle.
			{Update: workflows.UpdateApprove, Person: "bob", Ready: round(2)},
			{Update: workflows.UpdateApprove, Person: "olga", Ready: round(2)},
		},
	}
	ladder := incident.Script{
		// carol is paged by tier 2; she acknowledges once the ladder has
		// gone round to tier 1 again.
		"page.oncall": {{Update: workflows.UpdateAck, Person: "carol", Ready: func(s workflows.StepStatus) bool {
			return strings.Contains(s.Escalation, "round 2")
		}}},
	}
	return []scenario{
		{name: "ransomware_demo", req: ransomware("REC-ransomware", false), script: demo.Script(), want: workflows.StateCompleted,
			steps: map[string]string{"step.isolate": workflows.StepDone, "step.restore": workflows.StepDone}},
		{name: "ransomware_exercise", req: ransomware("REC-exercise", true), script: demo.Script(), want: workflows.StateCompleted,
			steps: map[string]string{"step.isolate": workflows.StepDone, "step.restore": workflows.StepDone}},
		{name: "ransomware_denied", req: ransomware("REC-denied", false), script: denied, want: workflows.StateCompleted,
			steps: map[string]string{"approval.isolate_ok": workflows.StepDenied, "step.isolate": workflows.StepSkipped, "task.call_regulator": workflows.StepDone}},
		{name: "ransomware_break_glass", req: ransomware("REC-break-glass", false), script: breakGlass, want: workflows.StateCompleted,
			steps: map[string]string{"step.isolate": workflows.StepDone, "approval.restore_ok": workflows.StepSkipped}},
		{name: "ransomware_cancelled", req: ransomware("REC-cancelled", false), script: cancel, want: workflows.StateCancelled,
			steps: map[string]string{"step.isolate": workflows.StepCancelled}},
		{name: "stale_signoff", req: incident.StartRequest{Dir: scenarioDir, Playbook: "replay_stale_signoff", Commander: "ines", IncidentID: "REC-stale"},
			script: stale, want: workflows.StateCompleted, steps: map[string]string{"step.isolate": workflows.StepDone}},
		{name: "ransomware_signed", req: signedReq(ransomware("REC-signed", false), scenarioDir, gateway), script: demo.Script(), want: workflows.StateCompleted,
			steps: map[string]string{"step.isolate": workflows.StepDone, "step.restore": workflows.StepDone}, signer: gateway},
		{name: "usergroup_room", req: incident.StartRequest{Dir: scenarioDir, Playbook: "replay_usergroup", Commander: "ines", IncidentID: "REC-usergroup"},
			script: incident.Script{"task.review": {{Update: workflows.UpdateDone, Person: "kate"}}}, want: workflows.StateCompleted,
			steps: map[string]string{"task.review": workflows.StepDone}},
		{name: "page_ladder", req: incident.StartRequest{Dir: scenarioDir, Playbook: "replay_page_ladder", Commander: "ines", IncidentID: "REC-ladder"},
			script: ladder, want: workflows.StateCompleted, steps: map[string]string{"page.oncall": workflows.StepDone, "notify.acked": workflows.StepDone}},
	}
}

// signedReq is req on the scenario directory, its start signed by gateway.
func signedReq(req incident.StartRequest, dir string, gateway *attest.Signer) incident.StartRequest {
	req.Dir = dir
	req.Signer = gateway
	return req
}

func round(n int) func(workflows.StepStatus) bool {
	return func(s workflows.StepStatus) bool { return s.Round == n }
}

// scenarioSafety replaces the library's safety policy for the custom
// scenarios: a sign-off is good for 2 seconds, so it goes stale in a wait.
const scenarioSafety = `
safety {
  signoff {
    rosters           = [roster.process_safety, roster.ot_operations]
    exclude_initiator = true
    valid_for         = "2s"
  }
  break_glass {
    rosters        = [roster.shift_supervisor]
    require_reason = true
  }
}
`

// scenarioPlaybooks are the custom scenarios' playbooks, loaded with the
// library's people, plant and integrations.
const scenarioPlaybooks = `
escalation "replay_ladder" {
  tier {
    notify     = [person.olga]
    ack_within = "1s"
  }
  tier {
    notify     = [person.carol]
    ack_within = "1s"
  }
  repeat = 1
}

playbook "replay_stale_signoff" {
  title    = "Replay recording: a sign-off goes stale before the isolation"
  severity = "sev2"

  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.plant3_control]
    prompt = "Isolate the plant 3 control network?"
  }

  wait "settle" {
    duration = "4s"
    needs    = [approval.isolate_ok]
  }

  step "isolate" {
    action = "ot.isolate_zone"
    with = {
      zone   = zone.plant3_control
      reason = "replay recording"
    }
    needs = [approval.isolate_ok, wait.settle]
  }
}

roster "replay_reviewers" {
  members         = [person.kate]
  slack_usergroup = "S0REPLAY"
}

playbook "replay_usergroup" {
  title    = "Replay recording: a roster read from a user group, in a room"
  severity = "sev3"

  step "open_room" {
    action = "slack.open_channel"
    with   = { name = incident.id }
  }

  task "review" {
    instructions = "Replay recording: review the logs"
    assign       = roster.replay_reviewers
    needs        = [step.open_room]
  }
}

playbook "replay_page_ladder" {
  title    = "Replay recording: a page climbs its ladder"
  severity = "sev3"

  page "oncall" {
    escalation = escalation.replay_ladder
    message    = "Replay recording: please acknowledge"
  }

  notify "acked" {
    message = "Acknowledged by ${page.oncall.acknowledged_by}"
    needs   = [page.oncall]
  }
}
`

// writeScenarioDir writes the library with the scenario safety policy and
// playbooks into a temporary directory, with a front door whose key (made
// afresh) signs the signed scenario.
func writeScenarioDir(t *testing.T) (string, *attest.Signer) {
	t.Helper()
	dir := t.TempDir()
	gateway, err := attest.GenerateKey("slack.replay_gateway")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(libraryDir, "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no library files in %s: %v", libraryDir, err)
	}
	for _, f := range files {
		if filepath.Base(f) == "safety.hcl" {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	door := fmt.Sprintf("integration \"slack\" \"replay_gateway\" {\n  simulate   = true\n  public_key = %q\n}\n", gateway.Public())
	for name, src := range map[string]string{"safety.hcl": scenarioSafety, "replay_scenarios.hcl": scenarioPlaybooks, "replay_gateway.hcl": door} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, gateway
}

// TestReplayScenariosCompile keeps the recording scenarios loadable without
// running them.
func TestReplayScenariosCompile(t *testing.T) {
	dir, gateway := writeScenarioDir(t)
	for _, sc := range replayScenarios(dir, gateway) {
		if _, err := incident.Prepare(sc.req); err != nil {
			t.Errorf("%s: %v", sc.name, err)
		}
	}
}

// TestRecordHistories runs every replay scenario on an embedded server with
// the production worker assembly (runner.Start) and writes each history to
// workflows/testdata/histories/vN_NAME.json, N being the interpreter version
// it ran on (its GetVersion marker), in the JSON form of
// `temporal workflow show --output json`. A file that exists is kept (the
// scenario still runs, as a check) unless -overwrite is given too, so after
// an interpreter version bump -record adds the new version's histories and
// leaves the old versions' alone. It runs only with -record:
//
//	go test ./internal/bench -run TestRecordHistories -record             # new scenarios
//	go test ./internal/bench -run TestRecordHistories -record -overwrite  # all of them
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("records workflows/testdata/histories; run with -record (and -overwrite to replace existing files)")
	}
	e := startServer(t, devserver.Options{Ephemeral: true})
	dir, gateway := writeScenarioDir(t)
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ws, err := runner.Start(e.c, runner.Options{Org: org.NewHolder(o, org.Options{Lenient: true})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)
	if err := os.MkdirAll(historiesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sc := range replayScenarios(dir, gateway) {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			recordScenario(t, e, sc)
		})
	}
}

func recordScenario(t *testing.T, e *env, sc scenario) {
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	prep, err := incident.Prepare(sc.req)
	if err != nil {
		t.Fatal(err)
	}
	started, err := incident.StartPrepared(ctx, e.c, prep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incident.PlayScriptSigned(ctx, e.c, started.IncidentID, sc.script, 0, sc.signer); err != nil {
		t.Fatal(err)
	}
	var res workflows.IncidentResult
	if err := e.c.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.State != sc.want {
		t.Errorf("incident ended %s, want %s", res.State, sc.want)
	}
	for _, s := range res.Steps {
		if want, ok := sc.steps[s.ID]; ok && s.State != want {
			t.Errorf("%s is %s (%s), want %s", s.ID, s.State, s.Reason, want)
		}
	}
	if t.Failed() {
		return
	}
	h, err := History(ctx, e.c, started.WorkflowID, started.RunID)
	if err != nil {
		t.Fatal(err)
	}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	version, err := interpreterVersion(h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(historiesDir, fmt.Sprintf("v%d_%s.json", version, sc.name))
	if _, err := os.Stat(path); err == nil && !*overwrite {
		t.Logf("kept %s (exists; -overwrite replaces it): this run had %s", path, ShapeOf(h))
		return
	}
	if err := os.WriteFile(path, append(bytes.TrimSpace(data), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: %s", path, ShapeOf(h))
}

// interpreterChange is the workflow.GetVersion change ID of the interpreter
// (workflows/incident.go).
const interpreterChange = "firebreak-interpreter"

// interpreterVersion reads the interpreter version a history ran on from its
// GetVersion marker (0, workflow.DefaultVersion, when it has none).
func interpreterVersion(h *historypb.History) (int, error) {
	for _, ev := range h.Events {
		m := ev.GetMarkerRecordedEventAttributes()
		if m == nil || m.GetMarkerName() != versionMarker {
			continue
		}
		var change string
		var version int
		dc := converter.GetDefaultDataConverter()
		if err := dc.FromPayloads(m.GetDetails()["change-id"], &change); err != nil {
			return 0, fmt.Errorf("reading the version marker's change ID: %w", err)
		}
		if change != interpreterChange {
			continue
		}
		if err := dc.FromPayloads(m.GetDetails()["version"], &version); err != nil {
			return 0, fmt.Errorf("reading the version marker's version: %w", err)
		}
		return version, nil
	}
	return 0, nil
}

// versionMarker is the marker name workflow.GetVersion records.
const versionMarker = "Version"
