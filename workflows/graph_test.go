package workflows_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestParallelStepsAndJoin: independent steps start together, before either
// finishes; a step that needs both waits for the slower branch, not the sum.
func TestParallelStepsAndJoin(t *testing.T) {
	p := compile(t, `playbook "p" {
  step "a" {
    action = "slack.post"
    with   = { text = "a" }
  }
  step "b" {
    action = "edr.contain_host"
    with   = { host = "ws-1" }
  }
  wait "short" { duration = "10m" }
  wait "long"  { duration = "20m" }
  notify "joined" {
    message = "a is ${step.a.status}, b is ${step.b.status}"
    needs   = [step.a, step.b, wait.short, wait.long]
  }
}`)
	h := newHarness(t)
	h.run(workflows.IncidentInput{Plan: p})
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s, want completed", res.State)
	}
	tl := h.timeline()
	// Both actions started before either finished.
	lastStart := max(firstEvent(t, tl, workflows.EventStepStarted, "step.a").Seq, firstEvent(t, tl, workflows.EventStepStarted, "step.b").Seq)
	firstEnd := min(firstEvent(t, tl, workflows.EventStepFinished, "step.a").Seq, firstEvent(t, tl, workflows.EventStepFinished, "step.b").Seq)
	if lastStart > firstEnd {
		t.Errorf("step.a and step.b did not both start before either finished:\n%s", dump(tl))
	}
	// Both waits started at once, so the join starts after 20m, not 30m.
	joined := firstEvent(t, tl, workflows.EventStepStarted, "notify.joined")
	if d := h.since(joined.At); d != 20*time.Minute {
		t.Errorf("notify.joined started at +%s, want +20m (the waits run in parallel)", d)
	}
	notes := h.effects(sim.OpNotify)
	if len(notes) != 1 || !strings.Contains(string(notes[0].Request), "a is done, b is done") {
		t.Errorf("notify effects %v", notes)
	}
	if n := len(h.effects(sim.OpPostMessage)); n != 1 {
		t.Errorf("%d slack.post effects, want 1", n)
	}
	if n := len(h.effects(sim.OpContain)); n != 1 {
		t.Errorf("%d contain effects, want 1", n)
	}
}

// TestSkipsSpread: when false skips with the reason in the timeline; a
// skipped, denied or failed (abort) dependency skips its dependants; a failed
// step with on_failure = continue lets them run.
func TestSkipsSpread(t *testing.T) {
	p := compile(t, `playbook "p" {
  input "go" {
    type    = bool
    default = false
  }
  step "conditional" {
    action = "slack.post"
    with   = { text = "only when go" }
    when   = input.go
  }
  step "after_skip" {
    action = "slack.post"
    with   = { text = "after skip" }
    needs  = [step.conditional]
  }
  approval "ok" {
    approvers = [roster.ot_operations]
    prompt    = "Go on?"
  }
  step "after_deny" {
    action = "slack.post"
    with   = { text = "after deny" }
    needs  = [approval.ok]
  }
  step "breaks" {
    action = "edr.contain_host"
    with   = { host = "bad-abort" }
    retry { attempts = 1 }
  }
  step "after_abort" {
    action = "slack.post"
    with   = { text = "after abort" }
    needs  = [step.breaks]
  }
  step "breaks_softly" {
    action     = "edr.contain_host"
    with       = { host = "bad-continue" }
    on_failure = "continue"
    retry { attempts = 1 }
  }
  step "after_continue" {
    action = "slack.post"
    with   = { text = "after continue" }
    needs  = [step.breaks_softly]
  }
}`)
	h := newHarness(t)
	h.twin.FailWhen(func(op, key string) error {
		if op == sim.OpContain {
			return errors.New("EDR console unreachable")
		}
		return nil
	})
	noReason := h.answer(time.Minute, workflows.UpdateDeny, workflows.Answer{Step: "approval.ok", Person: "carol"})
	deny := h.answer(2*time.Minute, workflows.UpdateDeny, workflows.Answer{Step: "approval.ok", Person: "carol", Reason: "not during the turnaround"})
	h.run(workflows.IncidentInput{Plan: p})
	refused(t, noReason, "needs a reason")
	accepted(t, deny)
	res := h.result()
	if res.State != workflows.StateFailed {
		t.Errorf("state %s, want failed (step.breaks failed with on_failure = abort)", res.State)
	}
	wantStep(t, res.Steps, "step.conditional", workflows.StepSkipped, "when is false", "input.go")
	wantStep(t, res.Steps, "step.after_skip", workflows.StepSkipped, "needs step.conditional, which was skipped")
	wantStep(t, res.Steps, "approval.ok", workflows.StepDenied, "carol", "not during the turnaround")
	wantStep(t, res.Steps, "step.after_deny", workflows.StepSkipped, "approval.ok", "denied by carol")
	wantStep(t, res.Steps, "step.breaks", workflows.StepFailed, "EDR console unreachable")
	wantStep(t, res.Steps, "step.after_abort", workflows.StepSkipped, "needs step.breaks, which failed")
	wantStep(t, res.Steps, "step.breaks_softly", workflows.StepFailed, "on_failure = continue")
	wantStep(t, res.Steps, "step.after_continue", workflows.StepDone)

	tl := h.timeline()
	if e := firstEvent(t, tl, workflows.EventStepSkipped, "step.conditional"); !strings.Contains(e.Detail, "when is false: input.go") {
		t.Errorf("skip event %q does not say why", e.Detail)
	}
	if e := firstEvent(t, tl, workflows.EventDenied, "approval.ok"); e.Person != "carol" || e.Detail != "not during the turnaround" {
		t.Errorf("denied event %+v", e)
	}
	var posted []string
	for _, e := range h.effects(sim.OpPostMessage) {
		posted = append(posted, string(e.Request))
	}
	if len(posted) != 1 || !strings.Contains(posted[0], "after continue") {
		t.Errorf("slack.post effects %v, want only the one after the continued failure", posted)
	}
}

// TestIncidentEndStates: completed when every step succeeded, when a failure
// was allowed to continue, or when an approval was denied; failed when a step
// failed with abort or timed out.
func TestIncidentEndStates(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		fail    bool
		answers []workflows.Answer
		want    string
	}{
		{name: "all done", src: `playbook "p" {
  step "a" {
    action = "slack.post"
    with   = { text = "hello" }
  }
}`, want: workflows.StateCompleted},
		{name: "failure continued", fail: true, src: `playbook "p" {
  step "a" {
    action     = "edr.contain_host"
    with       = { host = "x" }
    on_failure = "continue"
    retry { attempts = 1 }
  }
}`, want: workflows.StateCompleted},
		{name: "failure aborts", fail: true, src: `playbook "p" {
  step "a" {
    action = "edr.contain_host"
    with   = { host = "x" }
    retry { attempts = 2 }
  }
}`, want: workflows.StateFailed},
		{name: "denied is a normal outcome", src: `playbook "p" {
  approval "ok" {
    approvers = [roster.leads]
    prompt    = "ok?"
  }
  step "a" {
    action = "slack.post"
    with   = { text = "x" }
    needs  = [approval.ok]
  }
}`, answers: []workflows.Answer{{Step: "approval.ok", Person: "gina", Reason: "no"}}, want: workflows.StateCompleted},
		{name: "timed out", src: `playbook "p" {
  approval "ok" {
    approvers = [roster.leads]
    prompt    = "ok?"
    timeout   = "5m"
  }
}`, want: workflows.StateFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			if c.fail {
				h.twin.FailWhen(func(op, key string) error { return errors.New("down") })
			}
			var rs []*reply
			for i, a := range c.answers {
				rs = append(rs, h.answer(time.Duration(i+1)*time.Minute, workflows.UpdateDeny, a))
			}
			h.run(workflows.IncidentInput{Plan: compile(t, c.src)})
			for _, r := range rs {
				accepted(t, r)
			}
			res := h.result()
			if res.State != c.want {
				t.Errorf("state %s, want %s; steps %+v", res.State, c.want, res.Steps)
			}
			if st := h.status(); st.State != c.want {
				t.Errorf("status query says %s, want %s", st.State, c.want)
			}
			tl := h.timeline()
			if e := firstEvent(t, tl, workflows.EventIncidentFinished, ""); e.Detail != c.want {
				t.Errorf("incident_finished says %q, want %q", e.Detail, c.want)
			}
		})
	}
}
