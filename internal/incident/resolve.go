package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// ResolveStep finds the step an answer is about in an incident's status. It
// accepts the full step ID ("approval.isolate_ok") or the bare name
// ("isolate_ok"): the language gives every step of a playbook its own name,
// so a bare name is unambiguous (a plan where it is not gets an error asking
// for the full ID). It returns the step's status so the caller can use its
// current round. Whether the step is one the update can answer is for the
// incident to judge, so a wrong guess is refused and audited there.
func ResolveStep(st workflows.Status, step string) (workflows.StepStatus, error) {
	ids := make([]string, len(st.Steps))
	for i, s := range st.Steps {
		ids[i] = s.ID
	}
	id, err := resolveStepID(st.IncidentID, ids, waitingSteps(st), step)
	if err != nil {
		return workflows.StepStatus{}, err
	}
	i := slices.Index(ids, id)
	return st.Steps[i], nil
}

// resolveStepID turns a full step ID or a bare step name into the step's ID
// among ids; waiting, when known, are the steps waiting for answers, for the
// help of the error.
func resolveStepID(incidentID string, ids, waiting []string, step string) (string, error) {
	if slices.Contains(ids, step) {
		return step, nil
	}
	var byName []string
	for _, id := range ids {
		if _, name, ok := strings.Cut(id, "."); ok && name == step {
			byName = append(byName, id)
		}
	}
	switch len(byName) {
	case 1:
		return byName[0], nil
	case 0:
	default:
		return "", &InputError{Problems: []string{fmt.Sprintf("%q could be any of %s in incident %s; give the full step ID.", step, strings.Join(byName, ", "), incidentID)}}
	}
	sorted := slices.Sorted(slices.Values(ids))
	msg := fmt.Sprintf("Incident %s has no step %q.%s", incidentID, step, didYouMean(step, sorted))
	help := "Steps: " + joinOr(sorted) + "."
	if len(waiting) > 0 {
		help = "Waiting for answers: " + strings.Join(waiting, ", ") + ".\n" + help
	}
	return "", &InputError{Problems: []string{msg}, Help: help}
}

// waitingSteps lists the steps that are waiting for people.
func waitingSteps(st workflows.Status) []string {
	var out []string
	for _, s := range st.Steps {
		if s.State == workflows.StepWaiting {
			out = append(out, s.ID)
		}
	}
	return out
}

// StartInput reads the input the incident's current run started with (its
// plan, commander and inputs) from the workflow's history. Unlike a query,
// the server answers it without a worker.
func StartInput(ctx context.Context, c client.Client, incidentID string) (workflows.IncidentInput, error) {
	var in workflows.IncidentInput
	it := c.GetWorkflowHistory(ctx, workflows.IncidentWorkflowID(incidentID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return in, fmt.Errorf("incident %s has an empty history", incidentID)
	}
	ev, err := it.Next()
	switch {
	case err == nil:
	case isNotFound(err):
		return in, &NotFoundError{IncidentID: incidentID}
	default:
		return in, fmt.Errorf("reading how incident %s started: %w", incidentID, err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil {
		return in, fmt.Errorf("the history of incident %s does not begin with its start", incidentID)
	}
	if err := converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &in); err != nil {
		return in, fmt.Errorf("reading how incident %s started: %w", incidentID, err)
	}
	return in, nil
}

// Resolved is an answer made ready to send by ResolveAnswer.
type Resolved struct {
	// Answer has the full step ID, and the step's current round when a
	// worker told it.
	Answer workflows.Answer
	// NoWorker is set when no worker answered the status query (or none has
	// polled lately): the step was resolved from the plan the incident
	// started with, and a round left at 0 means whatever round the step is
	// in when a worker applies the answer (an unsigned answer only: a
	// signed one names its round, see SigningRound).
	NoWorker bool
	// Kind is the kind of the step answered ("" for a cancel).
	Kind plan.Kind
}

// ResolveAnswer prepares an answer for Answer: it turns a bare step name
// into the full step ID and, when no round was given, fills in the step's
// current round, both from the incident's status. When no worker can answer
// the status query within queryFor (or none has polled the task queue
// lately) it resolves the step from the plan in the incident's start input
// instead, which the server gives without a worker, so the answer can still
// be sent and wait on the server for a worker. An answer without a step
// (cancel) is returned as it is.
func ResolveAnswer(ctx context.Context, c client.Client, incidentID string, a workflows.Answer, queryFor time.Duration) (Resolved, error) {
	if a.Step == "" {
		return Resolved{Answer: a}, nil
	}
	if polling, err := WorkerPolling(ctx, c); err != nil || polling {
		qctx, cancel := context.WithTimeout(ctx, queryFor)
		st, err := Status(qctx, c, incidentID)
		cancel()
		var nw *NoWorkerError
		switch {
		case err == nil:
			step, err := ResolveStep(st, a.Step)
			if err != nil {
				return Resolved{}, err
			}
			a.Step = step.ID
			if a.Round == 0 {
				a.Round = step.Round
			}
			return Resolved{Answer: a, Kind: step.Kind}, nil
		case ctx.Err() != nil:
			return Resolved{}, ctx.Err()
		case !errors.As(err, &nw):
			return Resolved{}, err
		}
	}
	in, err := StartInput(ctx, c, incidentID)
	if err != nil {
		return Resolved{}, err
	}
	if in.Plan == nil {
		return Resolved{}, fmt.Errorf("incident %s started without a plan", incidentID)
	}
	ids := make([]string, len(in.Plan.Steps))
	for i, s := range in.Plan.Steps {
		ids[i] = s.ID
	}
	id, err := resolveStepID(incidentID, ids, nil, a.Step)
	if err != nil {
		return Resolved{}, err
	}
	a.Step = id
	return Resolved{Answer: a, NoWorker: true, Kind: in.Plan.StepByID(id).Kind}, nil
}
