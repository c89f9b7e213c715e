package workflows_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/workflows"
)

const roomPlaybook = `playbook "p" {
  step "open_room" {
    action = "slack.open_channel"
    with   = { name = incident.id }
  }
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    needs  = [step.open_room]
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
  decision "scope" {
    question = "Scope?"
    options  = ["plant", "site"]
    ask      = [roster.ot_operations]
    timeout  = "10m"
    needs    = [step.open_room]
  }
}`

func decodeRequests[T any](t *testing.T, entries []sim.Entry) []T {
	t.Helper()
	var out []T
	for _, e := range entries {
		var v T
		if err := json.Unmarshal(e.Request, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestRoomSettlesPromptsAndKeepsStatus: once an incident opened its room,
// prompts go there too; when the sign-off's quorum is met every prompt it
// posted is settled with who approved, a decision that timed out is
// settled as such, and the pinned status ends in the incident's final
// state, with versions that only grow.
func TestRoomSettlesPromptsAndKeepsStatus(t *testing.T) {
	h := newHarness(t)
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.run(workflows.IncidentInput{Plan: compile(t, roomPlaybook), Commander: "alice"})
	if res := h.result(); res.State != workflows.StateFailed {
		// The decision timed out without a default: the incident fails.
		t.Fatalf("state %s; want failed (the decision timed out)", res.State)
	}

	prompts := decodeRequests[activities.DeliverRequest](t, h.effects(sim.OpPrompt))
	var signoff *activities.DeliverRequest
	for i := range prompts {
		if prompts[i].Step == "approval.isolate_ok" {
			signoff = &prompts[i]
		}
		if prompts[i].Room == nil || prompts[i].Room.ChannelID == "" || prompts[i].Room.StatusTS == "" {
			t.Errorf("prompt of %s carries no room: %+v", prompts[i].Step, prompts[i].Room)
		}
	}
	if signoff == nil || !signoff.BreakGlass {
		t.Fatalf("the safety sign-off's prompt does not offer break-glass: %+v", signoff)
	}

	settles := decodeRequests[activities.SettleRequest](t, h.effects(sim.OpSettle))
	byStep := map[string]activities.SettleRequest{}
	for _, s := range settles {
		byStep[s.Step] = s
	}
	ap, ok := byStep["approval.isolate_ok"]
	// Asked: bob, paul, carol, dan (alice started it), plus the room.
	if !ok || ap.State != workflows.StepDone || len(ap.Messages) != 5 || !strings.Contains(ap.Outcome, "approved by bob and carol") {
		t.Errorf("sign-off settled as %+v; want done, 5 messages, approved by bob and carol", ap)
	}
	dec, ok := byStep["decision.scope"]
	if !ok || dec.State != workflows.StepTimedOut || !strings.Contains(dec.Outcome, "nobody answered") {
		t.Errorf("decision settled as %+v; want timed_out", dec)
	}

	statuses := decodeRequests[activities.StatusRequest](t, h.effects(sim.OpStatus))
	if len(statuses) == 0 {
		t.Fatal("no status update")
	}
	for i := 1; i < len(statuses); i++ {
		if statuses[i].Version <= statuses[i-1].Version {
			t.Errorf("status versions %d then %d", statuses[i-1].Version, statuses[i].Version)
		}
	}
	last := statuses[len(statuses)-1]
	if last.State != workflows.StateFailed || last.Room.StatusTS == "" {
		t.Errorf("last status %+v; want the final state", last)
	}
	// Coalesced: far fewer updates than timeline events.
	if n := len(h.timeline().Events); len(statuses) >= n {
		t.Errorf("%d status updates for %d events", len(statuses), n)
	}
}

// TestRoomStaleRound: a sign-off that went stale before its action could
// run is asked again; each round's prompts are settled when it is
// approved.
func TestRoomStaleRound(t *testing.T) {
	const pb = `playbook "p" {
  step "open_room" {
    action = "slack.open_channel"
    with   = { name = incident.id }
  }
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    needs  = [step.open_room]
  }
  wait "pause" { duration = "20m" }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok, wait.pause]
  }
}`
	h := newHarness(t)
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	// valid_for is 15m: at 20m the sign-off is stale and round 2 is asked.
	h.answer(22*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "paul", Round: 2})
	h.answer(23*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "dan", Round: 2})
	h.run(workflows.IncidentInput{Plan: compileWith(t, org, pb), Commander: "alice"})
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Fatalf("state %s", res.State)
	}
	var states []string
	for _, s := range decodeRequests[activities.SettleRequest](t, h.effects(sim.OpSettle)) {
		if s.Step == "approval.isolate_ok" {
			states = append(states, s.State+": "+s.Outcome)
		}
	}
	// Round 1's messages were settled when it was approved; round 2's
	// when it was approved in turn.
	if len(states) != 2 || !strings.Contains(states[0], "approved by bob and carol") || !strings.Contains(states[1], "approved by paul and dan") {
		t.Errorf("sign-off settles %q; want round 1 and round 2 approved", states)
	}
	rounds := map[int]bool{}
	for _, p := range decodeRequests[activities.DeliverRequest](t, h.effects(sim.OpPrompt)) {
		rounds[p.Round] = true
	}
	if !rounds[1] || !rounds[2] {
		t.Errorf("prompt rounds %v; want 1 and 2", rounds)
	}
}

// TestRostersFromUsergroups: a roster filled from a user group is read when
// the incident starts; its members (mapped to people by the worker's
// configuration) are asked and may answer; members no person names are
// recorded as unknown.
func TestRostersFromUsergroups(t *testing.T) {
	const ugOrg = org + `
roster "reviewers" { slack_usergroup = "S0REVIEW" }
`
	const pb = `playbook "p" {
  task "review" {
    instructions = "Review the logs"
    assign       = roster.reviewers
    timeout      = "30m"
  }
}`
	h := newHarness(t)
	h.twin.SetGroup("S0REVIEW", "U01IVAN", "U0STRANGER", "U01HANK")
	done := h.answer(2*time.Minute, workflows.UpdateDone, workflows.Answer{Step: "task.review", Person: "ivan"})
	h.run(workflows.IncidentInput{Plan: compileWith(t, ugOrg, pb), Commander: "alice"})
	accepted(t, done)
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Fatalf("state %s", res.State)
	}
	var read *workflows.Event
	for _, e := range h.timeline().Events {
		if e.Kind == workflows.EventRosters {
			read = &e
		}
	}
	if read == nil || !strings.Contains(read.Detail, "roster.reviewers: hank, ivan") || !strings.Contains(read.Detail, "U0STRANGER") {
		t.Fatalf("rosters event %+v", read)
	}
	prompts := decodeRequests[activities.DeliverRequest](t, h.effects(sim.OpPrompt))
	if len(prompts) != 1 || len(prompts[0].To) != 2 {
		t.Fatalf("prompts %+v; want one to hank and ivan", prompts)
	}
}

// TestRotatedGroupAsksTheMembersOfNow: a sign-off roster filled from a
// user group whose membership changes during the incident (an on-call
// rotation). Guard three counts the members of the moment of the action,
// so it refuses carol's approval once she has rotated out; the sign-off is
// asked again of the members read again then, and dan, who rotated in,
// completes it.
func TestRotatedGroupAsksTheMembersOfNow(t *testing.T) {
	ugOrg := strings.Replace(org, `roster "ot_operations"    { members = [person.carol, person.dan] }`, `roster "ot_operations" { slack_usergroup = "S0OTOPS" }`, 1)
	if ugOrg == org {
		t.Fatal("org changed")
	}
	const pb = `playbook "p" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.control]
    prompt = "Isolate?"
    timeout = "40m"
  }
  step "isolate" {
    action = "ot.isolate_zone"
    with   = { zone = zone.control }
    needs  = [approval.isolate_ok]
  }
}`
	h := newHarness(t)
	h.twin.SetGroup("S0OTOPS", "U01CAROL")
	h.at(time.Minute, func() { h.twin.SetGroup("S0OTOPS", "U01DAN") }) // the rotation
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.answer(6*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "paul", Round: 2})
	dan := h.answer(7*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "dan", Round: 2})
	h.run(workflows.IncidentInput{Plan: compileWith(t, ugOrg, pb), Commander: "alice"})
	var prompted []string
	for _, p := range decodeRequests[activities.DeliverRequest](t, h.effects(sim.OpPrompt)) {
		for _, r := range p.To {
			prompted = append(prompted, fmt.Sprintf("r%d:%s", p.Round, r.Person))
		}
	}
	t.Logf("prompted %v; dan's round-2 approval: accepted=%v rejected=%v err=%v", prompted, dan.Accepted, dan.Rejected, dan.Err)
	if n := len(h.effects(sim.OpCut)); n != 1 || dan.Rejected != nil {
		t.Fatalf("isolations %d; dan (on the sign-off group now) refused: %v\n%s", n, dan.Rejected, dump(h.timeline()))
	}
}

// TestFinalStatusOutlastsAnOutage: Slack is unreachable for a minute just
// as the incident ends; the final status update keeps trying, so the room
// does not say "running" for an incident that has ended.
func TestFinalStatusOutlastsAnOutage(t *testing.T) {
	h := newHarness(t)
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob"})
	h.answer(3*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "carol"})
	h.twin.FailWhen(func(op, key string) error {
		// Slack is unreachable for a minute when the decision times out.
		if op == sim.OpStatus && h.since(h.env.Now()) >= 10*time.Minute && h.since(h.env.Now()) < 11*time.Minute {
			return errors.New("slack is down")
		}
		return nil
	})
	h.run(workflows.IncidentInput{Plan: compile(t, roomPlaybook), Commander: "alice"})
	res := h.result()
	statuses := decodeRequests[activities.StatusRequest](t, h.effects(sim.OpStatus))
	last := statuses[len(statuses)-1]
	if last.State != res.State {
		t.Fatalf("the incident ended %s but the last status Slack took says %s (%d status updates)", res.State, last.State, len(statuses))
	}
}
