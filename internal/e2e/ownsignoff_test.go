package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestForgedRestoreSignoffs: someone who can reach the Temporal namespace
// starts the shipped ransomware playbook with a hand-edited plan that
// loosens the restore's own sign-off, against a real worker that loaded
// the library (firebreak dev, unsigned answers accepted). The workflow
// goes by the edited plan, so only guard three, which goes by the
// worker's own playbook, stands in the way; the restore reopens nothing.
func TestForgedRestoreSignoffs(t *testing.T) {
	o, raw := ransomwarePlanJSON(t)
	srv := startServer(t, devserver.Options{Ephemeral: true})
	c := newClient(t, srv)
	j := sim.NewJournal()
	ws, err := runner.Start(c, runner.Options{Journal: j, Org: org.NewHolder(o, org.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)
	ctx := testContext(t, startTimeout)

	variants := []struct {
		name    string
		edit    func(t *testing.T, p map[string]any)
		restore []string // who approves approval.restore_ok
		// kind and want are the event that stops the restore.
		kind, want string
	}{
		{
			name: "restore guarded by the isolation's sign-off",
			edit: func(t *testing.T, p map[string]any) {
				step(t, p, "step.restore")["action"].(map[string]any)["guarded_by"] = []any{"approval.isolate_ok"}
			},
			restore: []string{"bob", "erin"},
			kind:    workflows.EventStepFailed, want: "sign-off approval.isolate_ok is not the step's own",
		},
		{
			name: "distinct_from taken out",
			edit: func(t *testing.T, p map[string]any) {
				delete(step(t, p, "approval.restore_ok")["approval"].(map[string]any), "distinct_from")
			},
			restore: []string{"alice", "erin"},
			kind:    workflows.EventSignoffRefused, want: "alice also approved approval.isolate_ok",
		},
	}
	for i, v := range variants {
		id := fmt.Sprintf("OWN-%d", i)
		t.Run(v.name, func(t *testing.T) {
			p := forgeRestore(t, raw)
			v.edit(t, p)
			in := map[string]any{"plan": p, "incident_id": id, "commander": "hiro", "accept_unattested": true,
				"inputs": map[string]any{"zone": "plant3_dmz"}}
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.IncidentWorkflowID(id), TaskQueue: "firebreak"}, "Incident", in)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") })
			waitStep(t, c, id, "approval.isolate_ok", workflows.StepWaiting, 0)
			for _, who := range []string{"alice", "olga"} {
				answer(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.isolate_ok", Person: who})
			}
			waitStep(t, c, id, "approval.restore_ok", workflows.StepWaiting, 0)
			for _, who := range v.restore {
				answer(t, c, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.restore_ok", Person: who})
			}
			ev := waitEvent(t, c, id, "the restore stopped", isEvent(v.kind, "step.restore", ""))
			if !strings.Contains(ev.Detail, v.want) {
				t.Errorf("the restore was stopped by %s %q; want %q", ev.Kind, ev.Detail, v.want)
			}
			if cuts := incidentEffects(j.Effects(), id, sim.OpCut); len(cuts) == 0 {
				t.Errorf("the isolation cut nothing; the test did not reach the restore honestly")
			}
			if reopened := incidentEffects(j.Effects(), id, sim.OpRestore); len(reopened) != 0 {
				t.Errorf("conduits reopened: %v", reopened)
			}
		})
	}
}

// forgeRestore decodes the plan JSON and keeps the isolation and the
// restore with their sign-offs, one after the other, without conditions.
func forgeRestore(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	needs := map[string][]any{
		"approval.isolate_ok": {},
		"step.isolate":        {"approval.isolate_ok"},
		"approval.restore_ok": {"step.isolate"},
		"step.restore":        {"approval.restore_ok"},
	}
	var keep []any
	for _, s := range p["steps"].([]any) {
		s := s.(map[string]any)
		if n, ok := needs[s["id"].(string)]; ok {
			s["needs"] = n
			delete(s, "when")
			keep = append(keep, s)
		}
	}
	p["steps"] = keep
	return p
}
