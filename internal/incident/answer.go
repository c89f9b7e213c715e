package incident

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Refused means the incident refused an answer: the person may not give it
// (not on the roster, the initiator, already answered, a stale round, an
// unknown option, an attestation that does not hold...). From interpreter
// v6 the incident records in its timeline the refusals of attested answers
// itself; an answer without a valid attestation names nobody for certain
// and is dropped without a trace.
type Refused struct {
	// Code is the rule book's reason for the refusal (rules.NotAuthorised,
	// rules.StaleRound, ...): what a program branches on. It is "" when the
	// worker that refused predates refusal codes.
	Code rules.Code
	// Message is the workflow's explanation, for the person.
	Message string
}

// Error is "refused: " and the incident's reason.
func (e *Refused) Error() string { return "refused: " + e.Message }

// NewNonce returns a fresh random tag for an unsigned answer's update ID
// (16 hex digits). Make one per answer and keep it while the same answer is
// retried, so that the retries are one update.
func NewNonce() string {
	u := uuid.New()
	return hex.EncodeToString(u[:8])
}

// UpdateID returns the Temporal update ID of an answer. Its parts say what
// the answer means (update, step, person, round, option); the last part
// makes it unique per answer: the first 16 hex digits of the digest of the
// attestation's signature when the answer is signed, else nonce (see
// NewNonce). So a retried answer is the same update, which Temporal applies
// once, while a new answer, even with the same meaning, is a new update that
// the incident validates afresh (Temporal would otherwise return an earlier
// answer's result). Each part is path-escaped, so the parts cannot run into
// each other: "approve/approval.isolate_ok/alice/r2/3f2a..." or
// "decide/decision.scope/carol/r1/level%202/9c0d...".
func UpdateID(update string, a workflows.Answer, nonce string) string {
	parts := []string{update, a.Step, a.Person, "r" + strconv.Itoa(a.Round)}
	if a.Option != "" {
		parts = append(parts, a.Option)
	}
	parts = append(parts, answerTag(a, nonce))
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// answerTag is the last part of an answer's update ID.
func answerTag(a workflows.Answer, nonce string) string {
	if a.Attestation != nil {
		return attest.Digest(a.Attestation.Signature)[:16]
	}
	return nonce
}

// Answer sends a person's answer to a running incident as the named update
// and waits for the workflow to apply it; see Send. An unsigned answer gets
// a nonce of its own (NewNonce), used by every retry inside this call.
func Answer(ctx context.Context, c client.Client, updateName, incidentID string, a workflows.Answer) (workflows.AnswerResult, error) {
	return Send(ctx, c, updateName, incidentID, a, NewNonce())
}

// Send sends an answer as the named update, with the update ID of
// UpdateID(updateName, a, nonce), and waits for the workflow to apply it.
// Sending the same answer with the same nonce again is harmless: it is the
// same update (a signed answer's ID depends on its signature only).
//
// A refusal by the incident comes back as *Refused. So does a reply that
// belongs to another answer, which Temporal gives when an update ID was
// used before: StaleRound when the step has moved past the answer's round,
// else Duplicate. An incident that does not exist or has finished is a
// *NotFoundError; no worker answering in time is a *NoWorkerError.
func Send(ctx context.Context, c client.Client, updateName, incidentID string, a workflows.Answer, nonce string) (workflows.AnswerResult, error) {
	var res workflows.AnswerResult
	wfID := workflows.IncidentWorkflowID(incidentID)
	send := func() error {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			UpdateID:     UpdateID(updateName, a, nonce),
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
		if res.Ref != "" && res.Ref != workflows.AnswerRef(updateName, a) {
			return workflows.AnswerResult{}, reusedID(ctx, c, incidentID, a)
		}
		return res, nil
	}
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr):
		return res, &Refused{Code: rules.Code(appErr.Type()), Message: appErr.Message()}
	case isNotFound(err):
		return res, notFound(ctx, c, incidentID)
	case isTimeout(err):
		return res, &NoWorkerError{IncidentID: incidentID, What: "answer", err: err}
	}
	return res, fmt.Errorf("answering incident %s: %w", incidentID, err)
}

// reusedID is the refusal of an answer whose update ID an earlier answer
// had, so that Temporal replied with that answer's result: stale when the
// step is past the answer's round now, else a duplicate.
func reusedID(ctx context.Context, c client.Client, incidentID string, a workflows.Answer) *Refused {
	if st, err := Status(ctx, c, incidentID); err == nil {
		for _, s := range st.Steps {
			if s.ID == a.Step && s.Round > a.Round {
				return &Refused{Code: rules.StaleRound, Message: fmt.Sprintf(
					"%s is asked in round %d now; this answer is for round %d, whose answer with the same update ID was given before. Answer the current round", a.Step, s.Round, a.Round)}
			}
		}
	}
	return &Refused{Code: rules.Duplicate, Message: fmt.Sprintf(
		"an answer with the same update ID was given before, and the incident replied to that one; %s's answer is not applied again", a.Person)}
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
