package incident

import (
	"context"
	"fmt"
	"strings"

	"github.com/firebreak-ir/firebreak/workflows"
	"go.temporal.io/sdk/client"
)

// Status asks an incident for its status (the workflows.QueryStatus query).
// Queries work on finished incidents too, as long as the server keeps them
// and a worker is running.
func Status(ctx context.Context, c client.Client, incidentID string) (workflows.Status, error) {
	var st workflows.Status
	err := query(ctx, c, incidentID, workflows.QueryStatus, &st)
	return st, err
}

// Timeline asks an incident for its timeline (the workflows.QueryTimeline
// query), the audit trail of everything that happened.
func Timeline(ctx context.Context, c client.Client, incidentID string) (workflows.Timeline, error) {
	var tl workflows.Timeline
	err := query(ctx, c, incidentID, workflows.QueryTimeline, &tl)
	return tl, err
}

func query(ctx context.Context, c client.Client, incidentID, name string, out any) error {
	v, err := c.QueryWorkflow(ctx, workflows.IncidentWorkflowID(incidentID), "", name)
	switch {
	case err == nil:
	case isNotFound(err):
		return &NotFoundError{IncidentID: incidentID}
	case isTimeout(err):
		return &NoWorkerError{IncidentID: incidentID, What: "query", err: err}
	default:
		return fmt.Errorf("asking incident %s for its %s: %w", incidentID, name, err)
	}
	if err := v.Get(out); err != nil {
		return fmt.Errorf("reading the %s of incident %s: %w", name, incidentID, err)
	}
	return nil
}

// executionState maps a Temporal execution status name
// ("WORKFLOW_EXECUTION_STATUS_TERMINATED" or "Terminated") to a lower-case
// state word such as "terminated"; "canceled" becomes "cancelled" to match the
// incident states.
func executionState(status string) string {
	s := strings.TrimPrefix(status, "WORKFLOW_EXECUTION_STATUS_")
	s = strings.ToLower(s)
	switch s {
	case "canceled":
		return workflows.StateCancelled
	case "timedout":
		return "timed_out"
	case "continuedasnew":
		return "continued_as_new"
	}
	return s
}
