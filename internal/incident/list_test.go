package incident

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/workflows"
	"github.com/temporalio/sqlparser"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestFilterQuery(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		f    Filter
		want string
	}{
		{Filter{}, `WorkflowType = 'Incident' AND ExecutionStatus != 'ContinuedAsNew'`},
		{Filter{Playbook: "ot_ransomware_containment", Severity: "sev1", State: "running", Exercise: &no},
			`WorkflowType = 'Incident' AND ExecutionStatus != 'ContinuedAsNew' AND FirebreakPlaybook = 'ot_ransomware_containment' AND FirebreakSeverity = 'sev1' AND FirebreakState = 'running' AND ExecutionStatus = 'Running' AND FirebreakExercise = false`},
		{Filter{Severity: "SEV2", State: "Failed"},
			`WorkflowType = 'Incident' AND ExecutionStatus != 'ContinuedAsNew' AND FirebreakSeverity = 'sev2' AND FirebreakState = 'failed'`},
		{Filter{State: "cancelled", Exercise: &yes},
			`WorkflowType = 'Incident' AND ExecutionStatus != 'ContinuedAsNew' AND FirebreakState = 'cancelled' AND FirebreakExercise = true`},
		{Filter{Playbook: `x' OR 'a' = 'a`},
			`WorkflowType = 'Incident' AND ExecutionStatus != 'ContinuedAsNew' AND FirebreakPlaybook = 'x\' OR \'a\' = \'a'`},
	}
	for _, tc := range cases {
		got, err := tc.f.Query()
		if err != nil || got != tc.want {
			t.Errorf("%+v:\n got %s (%v)\nwant %s", tc.f, got, err, tc.want)
		}
	}
	_, err := Filter{State: "done"}.Query()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("unknown state: %v", err)
	}
	_, err = Filter{Severity: "critical"}.Query()
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), `Severity "critical" is not one of sev1, sev2, sev3, sev4`) {
		t.Fatalf("unknown severity: %v", err)
	}
}

// TestQuoteParses checks quoted values with the parser the Temporal server
// uses for visibility queries: each value comes back exactly, as one string
// literal, so no value can change the shape of the query.
func TestQuoteParses(t *testing.T) {
	for _, v := range []string{
		"plain", "it's", `back\slash`, `\'`, `'; DROP TABLE x; --`, "new\nline\ttab\rret", `"double"`, "ünïcödé ⚠", `%_*`,
	} {
		q, err := Filter{Playbook: v, Severity: "sev1"}.Query()
		if err != nil {
			t.Fatal(err)
		}
		stmt, err := sqlparser.Parse("select * from t where " + q)
		if err != nil {
			t.Errorf("%q: query does not parse: %v\n%s", v, err, q)
			continue
		}
		var lits []string
		var cmps int
		_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
			switch n := n.(type) {
			case *sqlparser.SQLVal:
				if n.Type == sqlparser.StrVal {
					lits = append(lits, string(n.Val))
				}
			case *sqlparser.ComparisonExpr:
				cmps++
			}
			return true, nil
		}, stmt)
		if cmps != 4 || len(lits) != 4 || lits[2] != v || lits[3] != "sev1" {
			t.Errorf("%q: %d comparisons, literals %q\n%s", v, cmps, lits, q)
		}
	}
}

func TestSummarise(t *testing.T) {
	payload := func(v any) *commonpb.Payload {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	start := time.Date(2026, 11, 22, 14, 3, 7, 0, time.UTC)
	info := &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: workflows.IncidentWorkflowID("INC-20261122-4F2A")},
		StartTime: timestamppb.New(start),
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{
			workflows.SearchPlaybook:   payload("ot_ransomware_containment"),
			workflows.SearchSeverity:   payload("sev1"),
			workflows.SearchState:      payload("running"),
			workflows.SearchExercise:   payload(true),
			workflows.SearchBreakGlass: payload(true),
		}},
	}
	got := summarise(info)
	want := Summary{IncidentID: "INC-20261122-4F2A", Playbook: "ot_ransomware_containment", Severity: "sev1", State: "running",
		Exercise: true, BreakGlass: true, StartedAt: start}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// Terminated from outside: the attribute still says running.
	info.Status = enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
	info.CloseTime = timestamppb.New(start.Add(time.Hour))
	got = summarise(info)
	if got.State != "terminated" || !got.ClosedAt.Equal(start.Add(time.Hour)) {
		t.Fatalf("terminated: %+v", got)
	}
	// A finished incident keeps the state it recorded.
	info.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	info.SearchAttributes.IndexedFields[workflows.SearchState] = payload("cancelled")
	if got = summarise(info); got.State != "cancelled" {
		t.Fatalf("cancelled: %+v", got)
	}
}
