package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestForgedSignoffs is the attack of someone who can reach the Temporal
// namespace and nothing else: with the official SDK client only (no
// firebreak client code), they start the Incident workflow with a
// hand-edited plan of the shipped ransomware playbook and answer it with
// forged updates naming whoever they like. Against a worker that requires
// attestations (firebreak worker) and one that does not (firebreak dev),
// no conduit is cut in any variant, and each refusal is in the timeline.
func TestForgedSignoffs(t *testing.T) {
	// What the attacker has: the plan as JSON (firebreak plan --format json).
	o, raw := ransomwarePlanJSON(t)
	for _, mode := range []struct {
		name    string
		require bool
	}{{"worker", true}, {"dev", false}} {
		t.Run(mode.name, func(t *testing.T) {
			srv := startServer(t, devserver.Options{Ephemeral: true})
			c := newClient(t, srv)
			j := sim.NewJournal()
			ws, err := runner.Start(c, runner.Options{Journal: j, Org: org.NewHolder(o, org.Options{}), RequireAttestation: mode.require})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(ws.Stop)
			ctx := testContext(t, startTimeout)

			// The plain attack: a start that nobody signed fails at once.
			id := "FORGE-" + mode.name + "-plain"
			p := forge(t, raw, rewriteQuorum)
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.IncidentWorkflowID(id), TaskQueue: "firebreak"}, "Incident",
				map[string]any{"plan": p, "incident_id": id, "commander": "ines", "inputs": map[string]any{"zone": "plant3_dmz"}})
			if err != nil {
				t.Fatal(err)
			}
			var ae *temporal.ApplicationError
			if err := run.Get(ctx, nil); !errors.As(err, &ae) || ae.Type() != "NotAttested" {
				t.Errorf("an unsigned start: %v, want it refused as NotAttested", err)
			}

			for i, v := range forgeries {
				id := fmt.Sprintf("FORGE-%s-%d", mode.name, i)
				t.Run(v.name, func(t *testing.T) {
					p := forge(t, raw, v.edits...)
					// The attacker claims the incident accepts unsigned
					// answers, to get past the workflow's own checks.
					in := map[string]any{"plan": p, "incident_id": id, "commander": "hiro", "accept_unattested": true,
						"inputs": map[string]any{"zone": "plant3_dmz"}}
					run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.IncidentWorkflowID(id), TaskQueue: "firebreak"}, "Incident", in)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") })
					waitStep(t, c, id, "approval.isolate_ok", workflows.StepWaiting, 0)
					for _, who := range []string{"ines", "hiro"} {
						// The forged update, exactly as an attacker would send it.
						h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
							WorkflowID: run.GetID(), UpdateName: "approve", WaitForStage: client.WorkflowUpdateStageCompleted,
							Args: []any{map[string]any{"step": "approval.isolate_ok", "person": who, "channel": "slack"}},
						})
						if err == nil {
							_ = h.Get(ctx, nil)
						}
					}
					ev := waitEvent(t, c, id, "the isolation refused", func(e workflows.Event) bool {
						return e.Step == "step.isolate" && (e.Kind == workflows.EventSignoffRefused || e.Kind == workflows.EventStepSkipped || e.Kind == workflows.EventStepFailed)
					})
					want := v.dev
					if mode.require && ev.Kind != workflows.EventStepSkipped {
						want = "is not attested"
					}
					if !strings.Contains(ev.Detail, want) {
						t.Errorf("the isolation was stopped by %s %q; want it stopped because %q", ev.Kind, ev.Detail, want)
					}
					if cuts := incidentEffects(j.Effects(), id, sim.OpCut); len(cuts) != 0 {
						t.Errorf("conduits cut: %v", cuts)
					}
					for _, e := range j.Attempts() {
						if e.Op == sim.OpCut && strings.HasPrefix(e.Key, id+"/") {
							t.Errorf("a cut was attempted: %+v", e)
						}
					}
				})
			}
		})
	}
}

// An edit of the attacker's plan JSON.
type edit func(t *testing.T, p map[string]any)

// forgeries are the hand-edited plans. Each keeps only the sign-off and the
// isolation of the ransomware playbook (so nothing else stands in the way),
// and answers the sign-off with forged approvals by ines and hiro of
// roster.soc_oncall.
var forgeries = []struct {
	name  string
	edits []edit
	// dev is what stops it on a worker that accepts unsigned answers; on
	// one that requires them, the unsigned start stops every variant that
	// reaches the activity.
	dev string
}{
	{"quorum rewritten to one from the SOC", []edit{rewriteQuorum}, "the worker's safety policy needs one person from each of"},
	{"the approval's needs removed", []edit{func(t *testing.T, p map[string]any) {
		s := step(t, p, "step.isolate")
		s["needs"] = []any{}
		s["action"].(map[string]any)["guarded_by"] = []any{}
	}}, "no valid safety sign-off covers zone plant3_control"},
	{"a conduit's networks changed", []edit{rewriteQuorum, func(t *testing.T, p map[string]any) {
		for _, z := range p["zones"].([]any) {
			if z := z.(map[string]any); z["id"] == "plant3_control" {
				z["networks"] = []any{"10.99.0.0/16"}
			}
		}
		for _, c := range p["conduits"].([]any) {
			if c := c.(map[string]any); c["to"] == "plant3_control" {
				c["enforcement"] = "nftables.attacker_box"
			}
		}
	}}, "the plant model handed to this action is not the worker's"},
	{"safety_critical cleared", []edit{rewriteQuorum, func(t *testing.T, p map[string]any) {
		a := step(t, p, "step.isolate")["action"].(map[string]any)
		delete(a, "safety_critical")
		a["guarded_by"] = []any{}
	}}, "no safety sign-off was handed to this safety-critical action"},
}

// rewriteQuorum makes the safety sign-off "one person from roster.soc_oncall".
func rewriteQuorum(t *testing.T, p map[string]any) {
	q := step(t, p, "approval.isolate_ok")["approval"].(map[string]any)["quorum"].(map[string]any)
	q["rule"] = plan.QuorumCount
	q["count"] = 1
	q["groups"] = []any{"roster.soc_oncall"}
	q["exclude_initiator"] = false
}

// forge decodes the plan JSON, keeps the sign-off and the isolation (with
// the sign-off's own needs gone) and applies the edits.
func forge(t *testing.T, raw []byte, edits ...edit) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	var keep []any
	for _, s := range p["steps"].([]any) {
		s := s.(map[string]any)
		switch s["id"] {
		case "approval.isolate_ok":
			s["needs"] = []any{}
			keep = append(keep, s)
		case "step.isolate":
			s["needs"] = []any{"approval.isolate_ok"}
			keep = append(keep, s)
		}
	}
	p["steps"] = keep
	for _, e := range edits {
		e(t, p)
	}
	return p
}

// step finds a step of the plan JSON by ID.
func step(t *testing.T, p map[string]any, id string) map[string]any {
	t.Helper()
	for _, s := range p["steps"].([]any) {
		if s := s.(map[string]any); s["id"] == id {
			return s
		}
	}
	t.Fatalf("the plan has no step %s to edit", id)
	return nil
}

// ransomwarePlanJSON loads the shipped library as a worker's organisation
// and returns it with the ransomware playbook's compiled plan as JSON: what
// someone who can only reach the Temporal namespace starts from.
func ransomwarePlanJSON(t *testing.T) (*org.Org, []byte) {
	t.Helper()
	o, _, diags := org.Load(libraryDir, org.Options{})
	if diags.HasErrors() {
		t.Fatalf("loading the library: %s", diags.Error())
	}
	compiled, cdiags := o.Plan("ot_ransomware_containment")
	if cdiags.HasErrors() {
		t.Fatal(cdiags.Error())
	}
	raw, err := json.Marshal(compiled)
	if err != nil {
		t.Fatal(err)
	}
	return o, raw
}
