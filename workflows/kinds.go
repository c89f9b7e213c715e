package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// kindOps is what the interpreter does with one step kind. Every kind of
// the plan has an entry in kinds (a test checks it); a plan with a kind
// that has none is refused when the incident starts (interpreter v5).
type kindOps struct {
	// part reports whether the step carries its kind's part (the Action,
	// Page, ... field); a hand-made plan may leave it out.
	part func(s *plan.Step) bool
	// begin starts a step whose needs are met and whose when holds.
	begin func(r *runner, ctx workflow.Context, s *plan.Step, st *StepState) bool
	// tick moves a started step on; it reports whether anything changed.
	tick func(r *runner, ctx workflow.Context, s *plan.Step, st *StepState) bool
	// results adds the kind's own results to the step's value in
	// expressions (step.NAME.output, approval.NAME.approved_by, ...).
	results func(s *plan.Step, st *StepState, v map[string]any)
	// prompt is set for kinds that ask people for an answer.
	prompt *promptOps
}

// promptOps are the parts of a kind that asks people.
type promptOps struct {
	// timeout is how long the prompt waits for an answer (0: forever).
	timeout func(s *plan.Step) time.Duration
	// text is the expression the prompt asks with.
	text func(s *plan.Step) *plan.Expr
	// onTimeout is the escalation that takes over after timeout ("": none).
	onTimeout func(s *plan.Step) string
	// options are the answers the prompt offers (decisions).
	options func(s *plan.Step) []string
}

// kinds holds the interpreter's behaviour per step kind. It is filled in
// init because its functions refer back to it.
var kinds map[plan.Kind]*kindOps

func init() { kinds = kindTable() }

func kindTable() map[plan.Kind]*kindOps {
	return map[plan.Kind]*kindOps{
		plan.KindStep: {
			part:  func(s *plan.Step) bool { return s.Action != nil },
			begin: (*runner).beginAction,
			tick:  (*runner).tickAction,
			results: func(s *plan.Step, st *StepState, v map[string]any) {
				if s.ForEach == nil && len(st.Iterations) == 1 && st.Iterations[0].Output != nil {
					v["output"] = st.Iterations[0].Output
				}
			},
		},
		plan.KindPage: {
			part: func(s *plan.Step) bool { return s.Page != nil },
			begin: func(r *runner, ctx workflow.Context, s *plan.Step, st *StepState) bool {
				st.State = StepWaiting
				st.Ladder = &Ladder{Escalation: s.Page.Escalation}
				r.event(ctx, Event{Kind: EventStepStarted, Step: s.ID, Detail: "paging escalation." + s.Page.Escalation})
				return true
			},
			tick: (*runner).tickPage,
			results: func(s *plan.Step, st *StepState, v map[string]any) {
				if l := st.Ladder; l != nil && l.AckedBy != "" && st.State == StepDone {
					v["acknowledged_by"] = l.AckedBy
					v["acknowledged_at"] = timeString(l.AckedAt)
				}
			},
		},
		plan.KindApproval: {
			part:  func(s *plan.Step) bool { return s.Approval != nil },
			begin: beginPrompt,
			tick:  (*runner).tickPrompt,
			results: func(s *plan.Step, st *StepState, v map[string]any) {
				if !terminal(st.State) {
					return
				}
				v["approved"] = st.State == StepDone
				by := []any{}
				for _, a := range st.Approvals {
					by = append(by, a.Person)
				}
				v["approved_by"] = by
				if st.State == StepDenied {
					v["denied_by"] = st.DeniedBy
					v["reason"] = st.AnswerNote
				}
			},
			prompt: &promptOps{
				timeout:   func(s *plan.Step) time.Duration { return s.Approval.Timeout.Std() },
				text:      func(s *plan.Step) *plan.Expr { return s.Approval.Prompt },
				onTimeout: func(s *plan.Step) string { return s.Approval.OnTimeout },
				options:   func(*plan.Step) []string { return nil },
			},
		},
		plan.KindDecision: {
			part:  func(s *plan.Step) bool { return s.Decision != nil },
			begin: beginPrompt,
			tick:  (*runner).tickPrompt,
			results: func(s *plan.Step, st *StepState, v map[string]any) {
				if st.State == StepDone {
					v["choice"] = st.Choice
					v["decided_by"] = st.AnsweredBy
				}
			},
			prompt: &promptOps{
				timeout:   func(s *plan.Step) time.Duration { return s.Decision.Timeout.Std() },
				text:      func(s *plan.Step) *plan.Expr { return s.Decision.Question },
				onTimeout: func(*plan.Step) string { return "" },
				options:   func(s *plan.Step) []string { return s.Decision.Options },
			},
		},
		plan.KindTask: {
			part:  func(s *plan.Step) bool { return s.Task != nil },
			begin: beginPrompt,
			tick:  (*runner).tickPrompt,
			results: func(s *plan.Step, st *StepState, v map[string]any) {
				if st.State == StepDone {
					v["done_by"] = st.AnsweredBy
				}
			},
			prompt: &promptOps{
				timeout:   func(s *plan.Step) time.Duration { return s.Task.Timeout.Std() },
				text:      func(s *plan.Step) *plan.Expr { return s.Task.Instructions },
				onTimeout: func(s *plan.Step) string { return s.Task.OnTimeout },
				options:   func(*plan.Step) []string { return nil },
			},
		},
		plan.KindNotify: {
			part: func(s *plan.Step) bool { return s.Notify != nil },
			begin: func(r *runner, ctx workflow.Context, s *plan.Step, st *StepState) bool {
				st.State = StepRunning
				r.event(ctx, Event{Kind: EventStepStarted, Step: s.ID})
				r.dispatchNotify(ctx, s, st)
				return true
			},
			// The delivery's callback finishes the step.
			tick:    func(*runner, workflow.Context, *plan.Step, *StepState) bool { return false },
			results: func(*plan.Step, *StepState, map[string]any) {},
		},
		plan.KindWait: {
			part: func(s *plan.Step) bool { return s.Wait != nil },
			begin: func(r *runner, ctx workflow.Context, s *plan.Step, st *StepState) bool {
				st.State = StepRunning
				st.WaitUntil = st.StartedAt.Add(s.Wait.Duration.Std())
				r.event(ctx, Event{Kind: EventStepStarted, Step: s.ID, Detail: "waiting " + s.Wait.Duration.Std().String()})
				return true
			},
			tick: func(r *runner, ctx workflow.Context, s *plan.Step, st *StepState) bool {
				if workflow.Now(ctx).Before(st.WaitUntil) {
					return false
				}
				r.finish(ctx, s, st, StepDone, "")
				return true
			},
			results: func(*plan.Step, *StepState, map[string]any) {},
		},
	}
}

// beginPrompt starts a step that asks people: its first round.
func beginPrompt(r *runner, ctx workflow.Context, s *plan.Step, st *StepState) bool {
	r.openRound(ctx, s, st, 1)
	return true
}

// ErrBadPlan is the type of the application error an incident fails with
// when its plan cannot be run: a step of a kind this worker does not know
// (a hand-made plan, or one from a newer compiler), or a step without the
// part its kind needs.
const ErrBadPlan = "BadPlan"

// Limits on a plan's escalations. The compiler allows repeat 0..100; a
// hand-made plan is held to the same, and a tier must wait a while.
const (
	maxRepeat = 100
	maxTiers  = 100
)

// checkPlan refuses a plan this interpreter cannot run, so the incident
// fails with a clear error instead of spinning or hanging on it: a step of
// an unknown kind or without its kind's part, a need that is not an
// earlier step (a cycle, or a step that needs itself), an escalation tier
// that would page again at once, or a ladder longer than any compiler makes.
// The plan comes from whoever started the workflow, so it is a claim to
// check, not a compiler's proof.
func checkPlan(p *plan.Plan) error {
	bad := func(format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...)+"; the plan is damaged or hand-made: compile the playbook again", ErrBadPlan, nil)
	}
	if err := checkKinds(p); err != nil {
		return err
	}
	earlier := map[string]bool{}
	for i := range p.Steps {
		s := &p.Steps[i]
		if earlier[s.ID] {
			return bad("step %q of playbook %s appears twice", s.ID, p.Playbook)
		}
		for _, n := range s.Needs {
			if !earlier[n] {
				return bad("step %q of playbook %s needs %q, which is not an earlier step of the plan", s.ID, p.Playbook, n)
			}
		}
		earlier[s.ID] = true
	}
	for _, e := range p.Escalations {
		if e.Repeat < 0 || e.Repeat > maxRepeat || len(e.Tiers) > maxTiers {
			return bad("escalation.%s repeats %d times over %d tiers; at most %d times over %d tiers are run", e.ID, e.Repeat, len(e.Tiers), maxRepeat, maxTiers)
		}
		for i, t := range e.Tiers {
			if t.AckWithin <= 0 {
				return bad("tier %d of escalation.%s has ack_within %s; it must be positive", i+1, e.ID, t.AckWithin.Std())
			}
		}
	}
	return nil
}

// checkCarry refuses state handed over by continue-as-new that does not fit
// the plan (anyone may start the workflow with any input).
func checkCarry(p *plan.Plan, c *Carry) error {
	for i, st := range c.Steps {
		if st == nil || st.ID != p.Steps[i].ID {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the carried state of step %d does not match the plan's %q", i+1, p.Steps[i].ID), ErrBadPlan, nil)
		}
		for _, it := range st.Iterations {
			if it == nil {
				return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the carried state of %s has an empty iteration", st.ID), ErrBadPlan, nil)
			}
		}
	}
	return nil
}

// checkKinds refuses a plan with a step this interpreter cannot run.
func checkKinds(p *plan.Plan) error {
	for i := range p.Steps {
		s := &p.Steps[i]
		ops, ok := kinds[s.Kind]
		if !ok {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"step %q of playbook %s has kind %q, which this worker does not run (it runs %s); the plan was made by hand or by a newer firebreak: compile it with this version, or upgrade the workers",
				s.ID, p.Playbook, s.Kind, strings.Join(plan.StepKindNames(), ", ")), ErrBadPlan, nil)
		}
		if !ops.part(s) {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"step %q of playbook %s is a %s without its %s settings; the plan is damaged or hand-made: compile the playbook again", s.ID, p.Playbook, s.Kind, s.Kind), ErrBadPlan, nil)
		}
	}
	return nil
}

// promptOf returns the prompt behaviour of a step's kind, or nil.
func promptOf(s *plan.Step) *promptOps {
	if ops := kinds[s.Kind]; ops != nil {
		return ops.prompt
	}
	return nil
}
