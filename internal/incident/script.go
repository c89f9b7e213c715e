package incident

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

// ScriptedAnswer is one answer a scripted responder gives to a step.
type ScriptedAnswer struct {
	// Update is the answer's update name (workflows.UpdateApprove, ...).
	Update string
	Person string
	Option string
	Reason string
	// Refused marks an answer the incident is expected to refuse.
	Refused bool
	// Ready, when set, holds the answer back until the step's status
	// passes, e.g. until a sign-off is asked for the second time.
	Ready func(workflows.StepStatus) bool
}

// Script is what scripted responders do: for each step ID, the answers to
// give, in order, whenever the step waits for one.
type Script map[string][]ScriptedAnswer

// scriptPoll is how often PlayScript reads the incident's status.
const scriptPoll = 20 * time.Millisecond

// PlayScript plays scripted responders on an incident: whenever a step waits
// and its next scripted answer is ready, the answer is sent through Answer,
// the path the CLI and Slack take, with channel "script". pace is a pause
// before each answer (zero for none). It returns the refusals the script
// expected, when the incident is no longer running; an answer refused
// against the script's expectation, or accepted when it should have been
// refused, is an error. When ctx ends first it returns ctx.Err().
func PlayScript(ctx context.Context, c client.Client, id string, script Script, pace time.Duration) ([]string, error) {
	return PlayScriptSigned(ctx, c, id, script, pace, nil)
}

// PlayScriptSigned is PlayScript with every answer attested by signer (a
// front door's key, which may sign for every scripted person); nil sends
// them unsigned.
func PlayScriptSigned(ctx context.Context, c client.Client, id string, script Script, pace time.Duration, signer *attest.Signer) ([]string, error) {
	next := map[string]int{}
	var refusals []string
	for {
		st, err := Status(ctx, c, id)
		if err != nil {
			if ctx.Err() != nil {
				return refusals, ctx.Err()
			}
			return refusals, err
		}
		if st.State != workflows.StateRunning {
			return refusals, nil
		}
		for _, s := range st.Steps {
			if s.State != workflows.StepWaiting || next[s.ID] >= len(script[s.ID]) {
				continue
			}
			a := script[s.ID][next[s.ID]]
			if a.Ready != nil && !a.Ready(s) {
				continue
			}
			if err := sleepCtx(ctx, pace); err != nil {
				return refusals, err
			}
			next[s.ID]++
			ans := workflows.Answer{
				Step: s.ID, Person: a.Person, Option: a.Option, Reason: a.Reason, Round: s.Round, Channel: workflows.ChannelScript,
			}
			if signer != nil {
				if ans, err = SignAnswer(signer, a.Update, id, ans, time.Now()); err != nil {
					return refusals, err
				}
			}
			_, err := Answer(ctx, c, a.Update, id, ans)
			var refused *Refused
			switch {
			case errors.As(err, &refused) && a.Refused:
				refusals = append(refusals, refused.Message)
			case err != nil && ctx.Err() != nil:
				return refusals, ctx.Err()
			case err != nil:
				return refusals, fmt.Errorf("scripted %s by %s on %s: %w", a.Update, a.Person, s.ID, err)
			case a.Refused:
				return refusals, fmt.Errorf("scripted %s by %s on %s should have been refused", a.Update, a.Person, s.ID)
			}
			break // read the status again before the next answer
		}
		if err := sleepCtx(ctx, scriptPoll); err != nil {
			return refusals, err
		}
	}
}

// sleepCtx waits d, or until ctx ends (returning its error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
