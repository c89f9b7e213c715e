package incident

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/firebreak-ir/firebreak/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// FollowOptions tune Follow.
type FollowOptions struct {
	// Interval is how often the timeline is read; 250 ms when zero.
	Interval time.Duration
	// QueryTimeout bounds each timeline query; 10 s when zero.
	QueryTimeout time.Duration
}

// Follow prints an incident's timeline to w as it grows, one line per event
// (see RenderEventLine), until the incident finishes or ctx is done. It then
// prints the events not yet shown and a final line with the incident's
// state, and returns the result. A workflow that ended without a result
// (failed, terminated, timed out) is reported through the result's State;
// the error is for not being able to follow at all.
func Follow(ctx context.Context, c client.Client, incidentID string, w io.Writer, opts FollowOptions) (workflows.IncidentResult, error) {
	if opts.Interval <= 0 {
		opts.Interval = 250 * time.Millisecond
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type outcome struct {
		res workflows.IncidentResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		o.err = c.GetWorkflow(ctx, workflows.IncidentWorkflowID(incidentID), "").Get(ctx, &o.res)
		done <- o
	}()

	f := &follower{c: c, id: incidentID, w: w, timeout: opts.QueryTimeout, last: -1}
	ticker := time.NewTicker(opts.Interval)
	defer ticker.Stop()
	if err := f.poll(ctx); err != nil {
		return workflows.IncidentResult{}, err
	}
	for {
		select {
		case <-ctx.Done():
			return workflows.IncidentResult{}, ctx.Err()
		case <-ticker.C:
			if err := f.poll(ctx); err != nil {
				return workflows.IncidentResult{}, err
			}
		case o := <-done:
			res, err := closedResult(o.res, o.err)
			if err != nil {
				if isNotFound(err) {
					return res, &NotFoundError{IncidentID: incidentID}
				}
				if ctx.Err() != nil {
					return res, ctx.Err()
				}
				return res, fmt.Errorf("waiting for incident %s to finish: %w", incidentID, err)
			}
			// The last events were recorded just before the workflow closed.
			if err := f.poll(ctx); err != nil {
				fmt.Fprintf(w, "(could not read the last events: %s)\n", line(err.Error()))
			}
			last := fmt.Sprintf("Incident %s %s.", line(incidentID), line(res.State))
			if res.BreakGlass {
				last += " BREAK-GLASS: a safety gate was forced; post-incident review required."
			}
			fmt.Fprintln(w, last)
			return res, nil
		}
	}
}

// follower prints new timeline events.
type follower struct {
	c       client.Client
	id      string
	w       io.Writer
	timeout time.Duration
	// last is the Seq of the last event printed.
	last int
	// failingSince is when queries started failing (zero while they work);
	// told says the failure has been shown, so it is said only once.
	failingSince time.Time
	told         bool
}

// quietFor is how long query failures go unmentioned: right after a start
// the first workflow task may not have run yet.
const quietFor = 3 * time.Second

// poll reads the timeline and prints events not printed yet. Query failures
// other than "no such incident" are shown once and retried: the worker may
// be restarting.
func (f *follower) poll(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	tl, err := Timeline(qctx, f.c, f.id)
	if err != nil {
		var nf *NotFoundError
		if errors.As(err, &nf) || ctx.Err() != nil {
			return err
		}
		if f.failingSince.IsZero() {
			f.failingSince = time.Now()
		}
		if !f.told && time.Since(f.failingSince) >= quietFor {
			fmt.Fprintf(f.w, "(cannot read the timeline, retrying: %s)\n", line(err.Error()))
			f.told = true
		}
		return nil
	}
	f.failingSince, f.told = time.Time{}, false
	for _, e := range tl.Events {
		if e.Seq > f.last {
			fmt.Fprintln(f.w, RenderEventLine(e))
			f.last = e.Seq
		}
	}
	return nil
}

// closedResult turns the outcome of waiting on the workflow into a result:
// a workflow that failed, was cancelled, terminated or timed out gets that
// state. Only errors about the waiting itself are returned.
func closedResult(res workflows.IncidentResult, err error) (workflows.IncidentResult, error) {
	if err == nil {
		if res.State == "" {
			res.State = workflows.StateCompleted
		}
		return res, nil
	}
	var wee *temporal.WorkflowExecutionError
	if !errors.As(err, &wee) {
		return res, err
	}
	var (
		canceled   *temporal.CanceledError
		terminated *temporal.TerminatedError
		timeout    *temporal.TimeoutError
	)
	switch {
	case errors.As(err, &canceled):
		res.State = workflows.StateCancelled
	case errors.As(err, &terminated):
		res.State = "terminated"
	case errors.As(err, &timeout):
		res.State = "timed_out"
	default:
		res.State = workflows.StateFailed
	}
	return res, nil
}

// Succeeded reports whether an incident's final state counts as success for
// an exit status: only completed does.
func Succeeded(state string) bool { return state == workflows.StateCompleted }
