package incident

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/workflows"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// DefaultLimit is how many incidents List returns when the filter sets no limit.
const DefaultLimit = 20

// MaxLimit is the most incidents List returns.
const MaxLimit = 1000

// States lists the incident states a Filter may ask for.
var States = []string{workflows.StateRunning, workflows.StateCompleted, workflows.StateFailed, workflows.StateCancelled}

// Filter narrows List. Empty fields match everything.
type Filter struct {
	Playbook string
	Severity string
	// State is one of States.
	State string
	// Exercise, when set, keeps only exercises (true) or only real
	// incidents (false).
	Exercise *bool
	// Limit is the most incidents returned; DefaultLimit when 0.
	Limit int
}

// Summary is one incident in a list.
type Summary struct {
	IncidentID string    `json:"incident_id"`
	Playbook   string    `json:"playbook"`
	Severity   string    `json:"severity,omitempty"`
	State      string    `json:"state"`
	Exercise   bool      `json:"exercise"`
	BreakGlass bool      `json:"break_glass"`
	StartedAt  time.Time `json:"started_at"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
}

// Query builds the visibility query for a filter: incident workflows only,
// latest run of each (continued-as-new runs are left out), narrowed by the
// firebreak search attributes. Values are quoted, so any text is safe.
func (f Filter) Query() (string, error) {
	// Severities and states are lower-case words; SEV1 means sev1.
	f.Severity, f.State = strings.ToLower(f.Severity), strings.ToLower(f.State)
	if sevs := []string{"sev1", "sev2", "sev3", "sev4"}; f.Severity != "" && !slices.Contains(sevs, f.Severity) {
		return "", &InputError{Problems: []string{fmt.Sprintf("Severity %q is not one of %s.", f.Severity, strings.Join(sevs, ", "))}}
	}
	if f.State != "" && !slices.Contains(States, f.State) {
		return "", &InputError{Problems: []string{fmt.Sprintf("State %q is not one of %s.", f.State, strings.Join(States, ", "))}}
	}
	conds := []string{
		"WorkflowType = " + quote(workflows.WorkflowName),
		"ExecutionStatus != " + quote("ContinuedAsNew"),
	}
	if f.Playbook != "" {
		conds = append(conds, workflows.SearchPlaybook+" = "+quote(f.Playbook))
	}
	if f.Severity != "" {
		conds = append(conds, workflows.SearchSeverity+" = "+quote(f.Severity))
	}
	if f.State != "" {
		conds = append(conds, workflows.SearchState+" = "+quote(f.State))
		if f.State == workflows.StateRunning {
			// A terminated incident never got to record its end.
			conds = append(conds, "ExecutionStatus = "+quote("Running"))
		}
	}
	if f.Exercise != nil {
		conds = append(conds, fmt.Sprintf("%s = %t", workflows.SearchExercise, *f.Exercise))
	}
	return strings.Join(conds, " AND "), nil
}

// quote renders s as a single-quoted string literal of Temporal's visibility
// query language (a SQL dialect): backslashes and quotes are escaped, and
// control characters written as escapes.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// List returns incidents matching the filter, most recently started first.
// Visibility is eventually consistent: an incident started a moment ago may
// be missing for a second or so.
func List(ctx context.Context, c client.Client, f Filter) ([]Summary, error) {
	q, err := f.Query()
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	var out []Summary
	var token []byte
	for len(out) < limit {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize:      int32(min(limit-len(out), 100)),
			NextPageToken: token,
			Query:         q,
		})
		if err != nil {
			if isSearchAttributeError(err) {
				return nil, &SearchAttributeError{err: err}
			}
			return nil, fmt.Errorf("listing incidents: %w", err)
		}
		for _, info := range resp.GetExecutions() {
			if len(out) == limit {
				break
			}
			out = append(out, summarise(info))
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	return out, nil
}

// summarise turns one visibility record into a Summary.
func summarise(info *workflowpb.WorkflowExecutionInfo) Summary {
	s := Summary{IncidentID: workflows.IncidentIDFromWorkflowID(info.GetExecution().GetWorkflowId())}
	if t := info.GetStartTime(); t != nil {
		s.StartedAt = t.AsTime().UTC()
	}
	if t := info.GetCloseTime(); t != nil {
		s.ClosedAt = t.AsTime().UTC()
	}
	fields := info.GetSearchAttributes().GetIndexedFields()
	decode(fields[workflows.SearchPlaybook], &s.Playbook)
	decode(fields[workflows.SearchSeverity], &s.Severity)
	decode(fields[workflows.SearchState], &s.State)
	decode(fields[workflows.SearchExercise], &s.Exercise)
	decode(fields[workflows.SearchBreakGlass], &s.BreakGlass)
	status := info.GetStatus()
	if status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && (s.State == "" || s.State == workflows.StateRunning) {
		// Terminated or timed out: the workflow could not record its end.
		s.State = executionState(status.String())
	}
	return s
}

// decode reads a search attribute payload, leaving out untouched when the
// attribute is missing or unreadable.
func decode(p *commonpb.Payload, out any) {
	if p == nil {
		return
	}
	_ = converter.GetDefaultDataConverter().FromPayload(p, out)
}
