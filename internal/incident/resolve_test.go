package incident

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// fakeClient answers the calls ResolveAnswer makes; any other call panics
// (the embedded interface is nil).
type fakeClient struct {
	client.Client
	pollers  int
	status   *workflows.Status // nil: the query times out, as with no worker
	start    *workflows.IncidentInput
	notFound bool
	queries  int
	// replies are the outcomes of successive updates (the last repeats);
	// updateIDs records the ID of each update sent.
	replies   []fakeReply
	updateIDs []string
}

func (f *fakeClient) DescribeTaskQueue(context.Context, string, enumspb.TaskQueueType) (*workflowservice.DescribeTaskQueueResponse, error) {
	return &workflowservice.DescribeTaskQueueResponse{Pollers: make([]*taskqueuepb.PollerInfo, f.pollers)}, nil
}

func (f *fakeClient) QueryWorkflow(ctx context.Context, _, _ string, _ string, _ ...any) (converter.EncodedValue, error) {
	f.queries++
	if f.notFound {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	if f.status == nil {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return jsonValue{f.status}, nil
}

func (f *fakeClient) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	if f.notFound {
		return &fakeHistory{err: serviceerror.NewNotFound("workflow not found")}
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(*f.start)
	if err != nil {
		panic(err)
	}
	return &fakeHistory{events: []*historypb.HistoryEvent{{
		EventId:   1,
		EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: p},
		},
	}}}
}

type fakeHistory struct {
	events []*historypb.HistoryEvent
	err    error
}

func (h *fakeHistory) HasNext() bool { return h.err != nil || len(h.events) > 0 }

func (h *fakeHistory) Next() (*historypb.HistoryEvent, error) {
	if h.err != nil {
		return nil, h.err
	}
	e := h.events[0]
	h.events = h.events[1:]
	return e, nil
}

type jsonValue struct{ v any }

func (j jsonValue) HasValue() bool { return true }

func (j jsonValue) Get(ptr any) error {
	b, err := json.Marshal(j.v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}

var startedWith = workflows.IncidentInput{IncidentID: "INC-1", Plan: &plan.Plan{Playbook: "p", Steps: []plan.Step{
	{ID: "page.ot_oncall", Kind: "page"}, {ID: "approval.isolate_ok", Kind: "approval"}, {ID: "step.isolate", Kind: "step"},
}}}

func TestResolveAnswer(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		c        *fakeClient
		a        workflows.Answer
		want     workflows.Answer
		noWorker bool
		queries  int
	}{
		{"worker up: name and round from the status",
			&fakeClient{pollers: 1, status: &testStatus},
			workflows.Answer{Step: "isolate_ok", Person: "alice"},
			workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 2}, false, 1},
		{"worker up: a given round is kept",
			&fakeClient{pollers: 1, status: &testStatus},
			workflows.Answer{Step: "isolate_ok", Person: "alice", Round: 1},
			workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 1}, false, 1},
		{"no poller: no query, the name from the plan, the current round",
			&fakeClient{start: &startedWith},
			workflows.Answer{Step: "isolate_ok", Person: "alice"},
			workflows.Answer{Step: "approval.isolate_ok", Person: "alice"}, true, 0},
		{"a poller that does not answer: the plan after the query gives up",
			&fakeClient{pollers: 1, start: &startedWith},
			workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 3},
			workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 3}, true, 1},
		{"cancel has no step to resolve",
			&fakeClient{},
			workflows.Answer{Person: "carol", Reason: "x"},
			workflows.Answer{Person: "carol", Reason: "x"}, false, 0},
	}
	for _, tc := range cases {
		r, err := ResolveAnswer(ctx, tc.c, "INC-1", tc.a, 50*time.Millisecond)
		if err != nil || r.Answer != tc.want || r.NoWorker != tc.noWorker || tc.c.queries != tc.queries {
			t.Errorf("%s: got %+v, %v (%d queries); want %+v, no worker %v (%d queries)", tc.name, r, err, tc.c.queries, tc.want, tc.noWorker, tc.queries)
		}
		// The step's kind comes along, from the status or the plan, so a
		// signature can name the right round.
		if want := plan.KindApproval; tc.a.Step != "" && r.Kind != want || tc.a.Step == "" && r.Kind != "" {
			t.Errorf("%s: kind %q", tc.name, r.Kind)
		}
	}

	// Without a worker an unknown name is still a usage error, listing the
	// plan's steps.
	_, err := ResolveAnswer(ctx, &fakeClient{start: &startedWith}, "INC-1", workflows.Answer{Step: "approval.isolat_ok", Person: "alice"}, time.Second)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), `Did you mean "approval.isolate_ok"?`) ||
		!strings.Contains(err.Error(), "Steps: approval.isolate_ok, page.ot_oncall, step.isolate.") {
		t.Errorf("unknown step without a worker: %v", err)
	}
	// An incident the server does not know is not found, with or without
	// a worker.
	for _, pollers := range []int{0, 1} {
		_, err = ResolveAnswer(ctx, &fakeClient{pollers: pollers, notFound: true}, "INC-9", workflows.Answer{Step: "x", Person: "alice"}, time.Second)
		var nf *NotFoundError
		if !errors.As(err, &nf) {
			t.Errorf("%d pollers, unknown incident: %v", pollers, err)
		}
	}
}
