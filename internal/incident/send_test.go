package incident

import (
	"context"
	"errors"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

type fakeReply struct {
	res workflows.AnswerResult
	err error
}

// UpdateWorkflow answers an update with the next canned reply.
func (f *fakeClient) UpdateWorkflow(_ context.Context, opts client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	f.updateIDs = append(f.updateIDs, opts.UpdateID)
	r := f.replies[0]
	if len(f.replies) > 1 {
		f.replies = f.replies[1:]
	}
	return fakeHandle{r}, nil
}

type fakeHandle struct{ r fakeReply }

func (fakeHandle) WorkflowID() string { return "" }
func (fakeHandle) RunID() string      { return "" }
func (fakeHandle) UpdateID() string   { return "" }
func (h fakeHandle) Get(_ context.Context, out any) error {
	if h.r.err != nil {
		return h.r.err
	}
	*out.(*workflows.AnswerResult) = h.r.res
	return nil
}

func TestSendRefusesAnotherAnswersReply(t *testing.T) {
	a := workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 1, Channel: "cli"}
	mine := workflows.AnswerRef(workflows.UpdateApprove, a)
	other := workflows.AnswerRef(workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 1, Reason: "earlier"})
	statusAt := func(round int) workflows.Status {
		return workflows.Status{IncidentID: "INC-1", Steps: []workflows.StepStatus{{ID: "approval.isolate_ok", Kind: "approval", State: "waiting", Round: round}}}
	}
	for _, c := range []struct {
		name   string
		ref    string
		status workflows.Status
		code   rules.Code
	}{
		{"its own reply", mine, statusAt(1), ""},
		{"a worker that sets no reference", "", statusAt(1), ""},
		{"an earlier round's reply", other, statusAt(2), rules.StaleRound},
		{"an earlier answer in this round", other, statusAt(1), rules.Duplicate},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeClient{replies: []fakeReply{{res: workflows.AnswerResult{Message: "approved", Ref: c.ref}}}, status: &c.status}
			res, err := Send(context.Background(), f, workflows.UpdateApprove, "INC-1", a, "0123456789abcdef")
			var ref *Refused
			switch {
			case c.code == "" && (err != nil || res.Message != "approved"):
				t.Fatalf("got %+v, %v; want the reply", res, err)
			case c.code != "" && (!errors.As(err, &ref) || ref.Code != c.code):
				t.Fatalf("got %+v, %v; want refused %s", res, err, c.code)
			case c.code != "" && res.Message != "":
				t.Fatalf("another answer's reply is passed on: %+v", res)
			}
		})
	}
}

func TestSendKeepsOneUpdateID(t *testing.T) {
	a := workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 1}
	f := &fakeClient{replies: []fakeReply{
		{err: temporal.NewApplicationError("not open yet", string(rules.NotOpenYet))},
		{res: workflows.AnswerResult{Message: "approved"}},
	}}
	if _, err := Send(context.Background(), f, workflows.UpdateApprove, "INC-1", a, "0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if len(f.updateIDs) != 2 || f.updateIDs[0] != f.updateIDs[1] || f.updateIDs[0] != "approve/approval.isolate_ok/alice/r1/0123456789abcdef" {
		t.Fatalf("update IDs %v: a retry must reuse the answer's ID", f.updateIDs)
	}
	// Two Answer calls are two answers, each with an ID of its own.
	f = &fakeClient{replies: []fakeReply{{res: workflows.AnswerResult{Message: "ok"}}}}
	for range 2 {
		if _, err := Answer(context.Background(), f, workflows.UpdateApprove, "INC-1", a); err != nil {
			t.Fatal(err)
		}
	}
	if f.updateIDs[0] == f.updateIDs[1] {
		t.Fatalf("two unsigned answers share update ID %s", f.updateIDs[0])
	}
	// A refusal comes back typed, and nothing else is sent (no signal).
	f = &fakeClient{replies: []fakeReply{{err: temporal.NewApplicationError("bob may not answer", string(rules.NotAuthorised))}}}
	_, err := Answer(context.Background(), f, workflows.UpdateApprove, "INC-1", a)
	var ref *Refused
	if !errors.As(err, &ref) || ref.Code != rules.NotAuthorised || ref.Message != "bob may not answer" {
		t.Fatalf("refusal: %v", err)
	}
}
