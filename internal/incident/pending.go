package incident

import (
	"context"
	"fmt"

	"github.com/firebreak-ir/firebreak/workflows"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// AnswerStage is where an answer sent with Answer stands on the server.
type AnswerStage int

// Answer stages.
const (
	// AnswerUnknown: the server does not have the answer. It never arrived,
	// or the server restarted before a worker picked it up.
	AnswerUnknown AnswerStage = iota
	// AnswerHeld: the server has the answer and holds it for a worker; it
	// is validated and applied (or refused) when one picks the incident up.
	AnswerHeld
	// AnswerCompleted: a worker has applied or refused the answer; sending
	// it again returns the outcome without applying it twice.
	AnswerCompleted
)

// AnswerStageOf asks the server where an answer sent with Send (and the same
// nonce) stands, without waiting for a worker. namespace is the Temporal
// namespace the client uses.
func AnswerStageOf(ctx context.Context, c client.Client, namespace, updateName, incidentID string, a workflows.Answer, nonce string) (AnswerStage, error) {
	resp, err := c.WorkflowService().PollWorkflowExecutionUpdate(ctx, &workflowservice.PollWorkflowExecutionUpdateRequest{
		Namespace: namespace,
		UpdateRef: &updatepb.UpdateRef{
			WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflows.IncidentWorkflowID(incidentID)},
			UpdateId:          UpdateID(updateName, a, nonce),
		},
		WaitPolicy: &updatepb.WaitPolicy{LifecycleStage: enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED},
	})
	switch {
	case isNotFound(err):
		return AnswerUnknown, nil
	case err != nil:
		return AnswerUnknown, fmt.Errorf("asking the server about the answer on incident %s: %w", incidentID, err)
	case resp.GetStage() == enumspb.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED || resp.GetOutcome() != nil:
		return AnswerCompleted, nil
	}
	return AnswerHeld, nil
}
