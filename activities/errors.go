package activities

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// More error types carried by temporal application errors from activities.
const (
	// ErrNotConfigured means something the action needs is not set up: no
	// integration of that kind is wired into the worker, or a conduit has no
	// enforcement point. Not retried; fix the configuration.
	ErrNotConfigured = "NotConfigured"
	// ErrIntegrationRejected means an integration refused the request for
	// good (it wrapped ErrPermanent). Not retried.
	ErrIntegrationRejected = "IntegrationRejected"
)

// ErrPermanent is wrapped by integrations into errors that retrying cannot
// fix (a rejected request, a bad configuration). The activity turns such an
// error into a non-retryable ErrIntegrationRejected failure; any other
// integration error is retried under the step's retry policy.
var ErrPermanent = errors.New("permanent failure")

// ExercisePrefix starts every outbound message text of an exercise run.
const ExercisePrefix = "[EXERCISE] "

// markExercise prefixes text with ExercisePrefix for exercise calls, once.
func markExercise(c Call, text string) string {
	if !c.Exercise || strings.HasPrefix(text, ExercisePrefix) {
		return text
	}
	return ExercisePrefix + text
}

// badArgs is a non-retryable ErrBadArguments failure.
func badArgs(format string, a ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, a...), ErrBadArguments, nil)
}

// notConfigured is a non-retryable ErrNotConfigured failure.
func notConfigured(format string, a ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, a...), ErrNotConfigured, nil)
}

// integrationError turns an error from an integration into the activity's
// error: non-retryable when it wraps ErrPermanent, of the same type and
// retryability when the integration returned an application error, otherwise
// retryable. The message says what was being done and keeps the cause's text
// (integrations keep secrets out of their errors).
func integrationError(what string, err error) error {
	msg := what + ": " + err.Error()
	if errors.Is(err, ErrPermanent) {
		return temporal.NewNonRetryableApplicationError(msg, ErrIntegrationRejected, nil)
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return temporal.NewApplicationErrorWithOptions(msg, ae.Type(), temporal.ApplicationErrorOptions{
			NonRetryable: ae.NonRetryable(),
		})
	}
	return fmt.Errorf("%s: %w", what, err)
}
