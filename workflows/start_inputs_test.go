package workflows_test

import (
	"errors"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestStartBindsInputs: the start attestation signs the incident, the
// playbook, the commander and the plan's digest, but not the run's
// inputs. For the hour the start is fresh, anyone who reads it from the
// incident's history can start another workflow (any workflow ID) for the
// same incident, the same plan and the same start, with inputs of their
// choosing: the worker, seeing a start it trusts, contains whatever hosts
// the attacker names (edr.contain_host is not safety-critical, so guard
// three does not look), and pages and posts the attacker's text. A start
// whose inputs are not the ones the commander signed must be refused.
func TestStartBindsInputs(t *testing.T) {
	h := newHarness(t)
	h.signed = true
	k := newKeys(t, "alice")
	p := compile(t, `playbook "p" {
  input "host" { type = string }
  step "contain" {
    action = "edr.contain_host"
    with = {
      host        = input.host
      integration = "webhook.edr"
    }
  }
}`)
	k.trustIn(p, h)
	genuine := startSigned(t, k["alice"], workflows.IncidentInput{Plan: p, Inputs: map[string]any{"host": "LAPTOP-PHISHED"}}, h.env.Now())
	forged := genuine
	forged.Inputs = map[string]any{"host": "DC01"}
	h.run(forged)

	err := h.env.GetWorkflowError()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != string(rules.Tampered) {
		t.Errorf("a start with inputs the commander did not sign: workflow error %v, want one coded %s", err, rules.Tampered)
	}
	for _, s := range h.activityStarts("ContainHost") {
		t.Errorf("the worker contained %v on a start signed for LAPTOP-PHISHED", s.Action.Args["host"])
	}
}
