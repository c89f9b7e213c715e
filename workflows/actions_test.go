package workflows_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// TestForEachListAndMap: one activity per element, each.value (list) and
// each.key/each.value (map) bound in with, one idempotency key per element.
func TestForEachListAndMap(t *testing.T) {
	p := compile(t, `playbook "p" {
  input "hosts" { type = list(string) }
  input "channels" { type = map(string) }
  step "contain" {
    action   = "edr.contain_host"
    for_each = input.hosts
    with     = { host = each.value }
  }
  step "post" {
    action   = "slack.post"
    for_each = input.channels
    with = {
      channel = each.key
      text    = "${each.key}: ${each.value}"
    }
  }
}`)
	h := newHarness(t)
	h.run(workflows.IncidentInput{Plan: p, IncidentID: "INC-FE", Inputs: map[string]any{
		"hosts":    []any{"ws-1", "ws-2", "ws-3"},
		"channels": map[string]any{"soc": "contain now", "ot": "stand by"},
	}})
	res := h.result()
	if res.State != workflows.StateCompleted {
		t.Fatalf("state %s: %+v", res.State, res.Steps)
	}
	var hosts, keys []string
	for _, e := range h.effects(sim.OpContain) {
		var req activities.ContainRequest
		if err := json.Unmarshal(e.Request, &req); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, req.Host)
		keys = append(keys, e.Key)
	}
	slices.Sort(hosts)
	slices.Sort(keys)
	if !slices.Equal(hosts, []string{"ws-1", "ws-2", "ws-3"}) {
		t.Errorf("contained %v", hosts)
	}
	if !slices.Equal(keys, []string{"INC-FE/step.contain[0]", "INC-FE/step.contain[1]", "INC-FE/step.contain[2]"}) {
		t.Errorf("contain keys %v", keys)
	}
	posts := map[string]string{}
	for _, e := range h.effects(sim.OpPostMessage) {
		var req activities.PostMessageRequest
		if err := json.Unmarshal(e.Request, &req); err != nil {
			t.Fatal(err)
		}
		posts[e.Key] = req.Channel + "|" + req.Text
	}
	want := map[string]string{
		"INC-FE/step.post[ot]":  "ot|ot: stand by",
		"INC-FE/step.post[soc]": "soc|soc: contain now",
	}
	if len(posts) != len(want) {
		t.Errorf("posts %v, want %v", posts, want)
	}
	for k, v := range want {
		if posts[k] != v {
			t.Errorf("post %s = %q, want %q", k, posts[k], v)
		}
	}
	tl := h.timeline()
	if n := len(events(tl, workflows.EventIterationFinished, "step.post")); n != 2 {
		t.Errorf("%d iteration_finished events for step.post, want 2:\n%s", n, dump(tl))
	}
	if e := firstEvent(t, tl, workflows.EventStepStarted, "step.contain"); !strings.Contains(e.Detail, "3 item(s)") {
		t.Errorf("step_started detail %q", e.Detail)
	}
}

// TestForEachEmpty: an empty for_each finishes the step at once.
func TestForEachEmpty(t *testing.T) {
	p := compile(t, `playbook "p" {
  input "hosts" {
    type    = list(string)
    default = []
  }
  step "contain" {
    action   = "edr.contain_host"
    for_each = input.hosts
    with     = { host = each.value }
  }
  step "after" {
    action = "slack.post"
    with   = { text = "after" }
    needs  = [step.contain]
  }
}`)
	h := newHarness(t)
	h.run(workflows.IncidentInput{Plan: p})
	res := h.result()
	wantStep(t, res.Steps, "step.contain", workflows.StepDone)
	wantStep(t, res.Steps, "step.after", workflows.StepDone)
}

// TestRetryAndTimeout: retry.attempts is the total number of attempts and
// backoff the wait between them; timeout is each attempt's start-to-close
// timeout (5m without one).
func TestRetryAndTimeout(t *testing.T) {
	const src = `playbook "p" {
  step "contain" {
    action  = "edr.contain_host"
    with    = { host = "ws-1" }
    timeout = "2m"
    retry {
      attempts = 3
      backoff  = "10s"
    }
  }
  step "post" {
    action = "slack.post"
    with   = { text = "no timeout given" }
  }
}`
	for _, c := range []struct {
		failures int
		want     string
	}{
		{failures: 2, want: workflows.StepDone},
		{failures: 3, want: workflows.StepFailed},
		{failures: 5, want: workflows.StepFailed},
	} {
		h := newHarness(t)
		h.twin.FailNext(sim.OpContain, c.failures)
		h.run(workflows.IncidentInput{Plan: compile(t, src)})
		res := h.result()
		s := wantStep(t, res.Steps, "step.contain", c.want)
		tries := h.attempts(sim.OpContain)
		if len(tries) != min(c.failures+1, 3) {
			t.Errorf("%d failures: %d attempts journaled, want %d", c.failures, len(tries), min(c.failures+1, 3))
		}
		effects := len(h.effects(sim.OpContain))
		if (c.want == workflows.StepDone) != (effects == 1) || effects > 1 {
			t.Errorf("%d failures: %d effects", c.failures, effects)
		}
		if c.want == workflows.StepFailed && !strings.Contains(s.Reason, "simulated failure") {
			t.Errorf("failure reason %q", s.Reason)
		}
		// Two backoffs of 10s between three attempts.
		if c.failures == 2 {
			if d := h.since(s.FinishedAt); d != 20*time.Second {
				t.Errorf("finished after %s, want 20s (two 10s backoffs)", d)
			}
		}
		for _, st := range h.activityStarts("ContainHost") {
			if st.StartToClose != 2*time.Minute {
				t.Errorf("ContainHost start-to-close %s, want 2m", st.StartToClose)
			}
		}
		for _, st := range h.activityStarts("SlackPost") {
			if st.StartToClose != 5*time.Minute {
				t.Errorf("SlackPost start-to-close %s, want the 5m default", st.StartToClose)
			}
		}
	}
}

// TestBadArgumentsNotRetried: an action whose arguments the activity cannot
// use fails at once with the activity's message.
func TestBadArgumentsNotRetried(t *testing.T) {
	p := compile(t, `playbook "p" {
  input "host" {
    type    = string
    default = ""
  }
  step "contain" {
    action = "edr.contain_host"
    with   = { host = input.host }
    retry { attempts = 5 }
  }
}`)
	h := newHarness(t)
	h.run(workflows.IncidentInput{Plan: p})
	res := h.result()
	wantStep(t, res.Steps, "step.contain", workflows.StepFailed, "host")
	if n := len(h.activityStarts("ContainHost")); n != 1 {
		t.Errorf("%d attempts of a bad-arguments failure, want 1", n)
	}
}

// TestOnFailureContinueWhenForEachFails: a for_each that cannot be
// evaluated fails the step, and on_failure = "continue" still lets its
// dependants run.
func TestOnFailureContinueWhenForEachFails(t *testing.T) {
	for _, c := range []struct {
		onFailure string
		after     string
	}{{"continue", workflows.StepDone}, {"abort", workflows.StepSkipped}} {
		p := compile(t, `playbook "p" {
  step "contain" {
    action     = "edr.contain_host"
    for_each   = ["ws-1", "ws-2"]
    with       = { host = each.value }
    on_failure = "`+c.onFailure+`"
  }
  notify "after" {
    message = "containment over"
    needs   = [step.contain]
  }
}`)
		// A reference the plan cannot resolve at run time, as a step
		// output that never came would be.
		p.StepByID("step.contain").ForEach = &plan.Expr{Op: plan.OpRef, Path: []string{"step", "gone", "output", "hosts"}, Source: "step.gone.output.hosts"}
		h := newHarness(t)
		h.run(workflows.IncidentInput{Plan: p})
		res := h.result()
		wantStep(t, res.Steps, "step.contain", workflows.StepFailed, "could not evaluate for_each (step.gone.output.hosts)")
		wantStep(t, res.Steps, "notify.after", c.after)
		if n := len(h.activityStarts("ContainHost")); n != 0 {
			t.Errorf("on_failure = %s: %d containments started", c.onFailure, n)
		}
	}
}
