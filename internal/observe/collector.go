package observe

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Scan settings.
const (
	// ScanEvery is how often the worker reads the incident gauges from
	// Temporal visibility.
	ScanEvery = 30 * time.Second
	// ScanIncidents is how many open incidents (the most recently started)
	// a scan asks for their status to count approvals waiting.
	ScanIncidents = 200
	// scanTimeout bounds one scan, and queryTimeout one status query.
	scanTimeout  = 20 * time.Second
	queryTimeout = 2 * time.Second
)

// TemporalCheck is the readiness check of a Temporal connection: the
// frontend's health check.
func TemporalCheck(c client.Client) Check {
	return func(ctx context.Context) error {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return fmt.Errorf("temporal is not reachable: %w", err)
		}
		return nil
	}
}

// Scanner reads the gauges that describe incidents rather than one
// process (incidents by state, approvals waiting) from Temporal: the
// search attributes the incident workflow keeps, and the status query of
// the open incidents. One process per namespace should run it (the
// worker does; serve does not), or the gauges count twice when summed.
type Scanner struct {
	// Temporal is the client of the namespace scanned.
	Temporal client.Client
	// Metrics receive the gauges.
	Metrics *Metrics
	// Logger receives a warning when a scan fails; nil discards.
	Logger *slog.Logger
	// Incidents caps the open incidents asked for their status; 0 is
	// ScanIncidents.
	Incidents int
}

// Run scans now and every ScanEvery until ctx ends.
func (s *Scanner) Run(ctx context.Context) {
	t := time.NewTicker(ScanEvery)
	defer t.Stop()
	for {
		if err := s.Scan(ctx); err != nil && ctx.Err() == nil && s.Logger != nil {
			s.Logger.Warn("metrics: reading incidents from Temporal visibility failed; the incident gauges keep their last values", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Scan reads the gauges once. On error the gauges keep their last values
// and the error counter goes up.
func (s *Scanner) Scan(ctx context.Context) error {
	if s.Metrics == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	err := s.scan(ctx)
	if err != nil {
		s.Metrics.scanErrors.Inc()
		return err
	}
	s.Metrics.scanLast.Set(float64(time.Now().Unix()))
	return nil
}

func (s *Scanner) scan(ctx context.Context) error {
	type key struct{ state, exercise string }
	counts := map[key]int64{}
	for _, state := range incident.States {
		for _, ex := range []bool{false, true} {
			q, err := incident.Filter{State: state, Exercise: &ex}.Query()
			if err != nil {
				return err
			}
			resp, err := s.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
			if err != nil {
				return fmt.Errorf("counting %s incidents: %w", state, err)
			}
			counts[key{state, fmt.Sprint(ex)}] = resp.GetCount()
		}
	}
	limit := s.Incidents
	if limit <= 0 {
		limit = ScanIncidents
	}
	open, err := incident.List(ctx, s.Temporal, incident.Filter{State: workflows.StateRunning, Limit: limit})
	if err != nil {
		return err
	}
	waiting := map[string]int{"false": 0, "true": 0}
	// Out of time before every open incident answered (many incidents, a
	// slow worker): the counts stand, and the approvals counted so far
	// are published as truncated rather than the whole scan failing,
	// which would freeze every gauge for as long as the worker stays slow.
	outOfTime := false
	for _, sum := range open {
		if ctx.Err() != nil {
			outOfTime = true
			break
		}
		qctx, cancel := context.WithTimeout(ctx, queryTimeout)
		st, err := incident.Status(qctx, s.Temporal, sum.IncidentID)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				outOfTime = true
				break
			}
			// Finished since it was listed, or a worker is not up
			// to answer: the others still count.
			continue
		}
		for _, step := range st.Steps {
			if step.Kind == plan.KindApproval && step.State == workflows.StepWaiting {
				waiting[fmt.Sprint(sum.Exercise)]++
			}
		}
	}
	for k, n := range counts {
		s.Metrics.incidents.WithLabelValues(k.state, k.exercise).Set(float64(n))
	}
	for ex, n := range waiting {
		s.Metrics.approvals.WithLabelValues(ex).Set(float64(n))
	}
	truncated := 0.0
	if running := counts[key{workflows.StateRunning, "false"}] + counts[key{workflows.StateRunning, "true"}]; outOfTime || running > int64(len(open)) && len(open) == limit {
		truncated = 1
	}
	s.Metrics.scanTrunc.Set(truncated)
	return nil
}
