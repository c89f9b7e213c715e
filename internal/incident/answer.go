package incident

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Refused means the incident refused an answer: the person may not give it
// (not on the roster, the initiator, already answered, a stale round, an
// unknown option...). The refusal has been recorded in the timeline unless
// AuditErr says recording it failed.
type Refused struct {
	// Code is the rule book's reason for the refusal (rules.NotAuthorised,
	// rules.StaleRound, ...): what a program branches on. It is "" when the
	// worker that refused predates refusal codes.
	Code rules.Code
	// Message is the workflow's explanation, for the person.
	Message string
	// AuditErr is set when the refusal could not be recorded in the timeline.
	AuditErr error
}

// Error is "refused: " and the incident's reason.
func (e *Refused) Error() string { return "refused: " + e.Message }

// UpdateID returns the Temporal update ID of an answer. It depends only on
// what the answer means (update, step, person, round, option), not on when or
// how often it is sent, so a retried answer is the same update and Temporal
// applies it once. Each part is path-escaped, so the parts cannot run into
// each other: "approve/approval.isolate_ok/alice/r2" or
// "decide/decision.scope/carol/r0/level%202".
func UpdateID(update string, a workflows.Answer) string {
	parts := []string{update, a.Step, a.Person, "r" + strconv.Itoa(a.Round)}
	if a.Option != "" {
		parts = append(parts, a.Option)
	}
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// Answer sends a person's answer to a running incident as the named update
// and waits for the workflow to apply it. The update ID comes from UpdateID,
// so sending the same answer twice is harmless.
//
// A refusal by the workflow's validator comes back as *Refused, after the
// refusal has been signalled to the incident (workflows.SignalRefused) so it
// is audited. An incident that does not exist or has finished is a
// *NotFoundError; no worker answering in time is a *NoWorkerError.
func Answer(ctx context.Context, c client.Client, updateName, incidentID string, a workflows.Answer) (workflows.AnswerResult, error) {
	var res workflows.AnswerResult
	wfID := workflows.IncidentWorkflowID(incidentID)
	send := func() error {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			UpdateID:     UpdateID(updateName, a),
			WorkflowID:   wfID,
			UpdateName:   updateName,
			Args:         []any{a},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, &res)
		}
		return err
	}
	err := send()
	// A step that is about to open may be refused as "not open yet" when the
	// event that opens it reaches the worker together with the answer. A
	// refused update leaves no trace, so the same update ID can be sent again.
	for deadline := time.Now().Add(notOpenRetryFor); err != nil && notOpenYet(err) && time.Now().Before(deadline); {
		if err := sleepCtx(ctx, notOpenRetryEvery); err != nil {
			return res, err
		}
		err = send()
	}
	if err == nil {
		return res, nil
	}
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr):
		r := &Refused{Code: rules.Code(appErr.Type()), Message: appErr.Message()}
		// The audit record carries what was refused, bounded: a refused
		// answer may be refused for being oversized.
		audited := a
		audited.Reason = rules.Clip(a.Reason, rules.MaxReason)
		audited.Option = rules.Clip(a.Option, rules.MaxOption)
		audited.Step = rules.Clip(a.Step, rules.MaxID)
		audited.Person = rules.Clip(a.Person, rules.MaxID)
		r.AuditErr = c.SignalWorkflow(ctx, wfID, "", workflows.SignalRefused, workflows.Refusal{
			Update:  updateName,
			Answer:  audited,
			Message: rules.Clip(appErr.Message(), rules.MaxRefusalMessage),
			At:      time.Now().UTC(),
		})
		return res, r
	case isNotFound(err):
		return res, notFound(ctx, c, incidentID)
	case isTimeout(err):
		return res, &NoWorkerError{IncidentID: incidentID, What: "answer", err: err}
	}
	return res, fmt.Errorf("answering incident %s: %w", incidentID, err)
}

// How long and how often Answer retries a "not open yet" refusal.
const (
	notOpenRetryFor   = 3 * time.Second
	notOpenRetryEvery = 200 * time.Millisecond
)

func notOpenYet(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == string(rules.NotOpenYet)
}

// notFound builds the error for an incident the server says it cannot find,
// telling a finished incident apart from one that never existed.
func notFound(ctx context.Context, c client.Client, incidentID string) error {
	e := &NotFoundError{IncidentID: incidentID}
	d, err := c.DescribeWorkflowExecution(ctx, workflows.IncidentWorkflowID(incidentID), "")
	if info := d.GetWorkflowExecutionInfo(); err == nil && info != nil && info.GetCloseTime() != nil {
		// The incident's own end state (cancelled, failed...), which a
		// workflow that returned normally records in its search attributes.
		e.Finished = summarise(info).State
	}
	return e
}
