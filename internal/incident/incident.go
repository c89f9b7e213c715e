// Package incident is the client side of running incidents: it starts the
// incident workflow from a compiled playbook, sends people's answers as
// Temporal updates, reads an incident's status and timeline through queries,
// lists incidents through the visibility search attributes, follows a live
// timeline, and renders status and timelines for people and regulators.
//
// It is shared by the command line and, later, the Slack bridge. Nothing here
// prints unless handed a writer.
package incident

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/firebreak-ir/firebreak/activities"
	"go.temporal.io/api/serviceerror"
)

// NotFoundError means there is no incident with the ID asked about: it never
// existed, or it has finished and the server no longer keeps it (for an
// update, also: it has finished and takes no more answers).
type NotFoundError struct {
	IncidentID string
	// Finished is the incident's final state when it exists but has closed.
	Finished string
}

// Error says the incident is unknown or finished, and what to try.
func (e *NotFoundError) Error() string {
	if e.Finished != "" {
		return fmt.Sprintf("incident %s has finished (%s) and takes no more answers; see `firebreak status %s`", e.IncidentID, e.Finished, e.IncidentID)
	}
	return fmt.Sprintf("no incident %s on this server: it never started here, or it finished longer ago than the namespace keeps incidents; `firebreak list` shows the ones it knows", e.IncidentID)
}

// NoWorkerError means the server accepted the request but no worker answered
// it in time: queries and updates are carried out by a firebreak worker.
type NoWorkerError struct {
	IncidentID string
	What       string // "query" or "answer"
	err        error
}

// Error says nobody answered and that a worker must be running; for an
// answer, also that it was sent and is still waiting on the server.
func (e *NoWorkerError) Error() string {
	if e.What == "answer" {
		return fmt.Sprintf("the answer on incident %s was sent but not confirmed: no firebreak worker replied in time (is one running and polling task queue %q?). "+
			"It waits on the server and is applied or refused when a worker picks the incident up; run the same command again to see the outcome (it is never applied twice). (%v)",
			e.IncidentID, activities.TaskQueue, e.err)
	}
	return fmt.Sprintf("no reply to the %s on incident %s in time: is a firebreak worker running and polling task queue %q? (%v)",
		e.What, e.IncidentID, activities.TaskQueue, e.err)
}

// Unwrap returns the underlying timeout error.
func (e *NoWorkerError) Unwrap() error { return e.err }

// isNotFound reports whether err is the server saying the workflow does not
// exist (or, for updates, has closed).
func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// isTimeout reports whether err is a deadline: the caller's context, or the
// server giving up waiting for a worker.
func isTimeout(err error) bool {
	var de *serviceerror.DeadlineExceeded
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de)
}

// suggest returns the candidate closest to given when it is close enough to
// be a likely typo, or "".
func suggest(given string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := levenshtein.Distance(given, c, nil)
		if d < 3 || (len(given) > 6 && d <= len(given)/3) {
			if best == "" || d < bestDist || (d == bestDist && c < best) {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// didYouMean renders a suggestion as " Did you mean "x"?", or "".
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// joinOr lists names for a message, "(none)" when empty.
func joinOr(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
