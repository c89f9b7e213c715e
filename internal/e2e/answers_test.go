package e2e

import (
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/workflows"
)

const (
	isolateOK = "approval.isolate_ok"
	isolate   = "step.isolate"
)

// isolatorOps are the twin operations that touch the plant.
var isolatorOps = []string{sim.OpCut, sim.OpRestore}

// TestAnswers sends answers to running incidents on the embedded server
// through incident.Answer, the path the CLI takes, and checks that the
// workflow's validators enforce the two-person rule and break-glass policy,
// and that every refusal is audited in the timeline.
func TestAnswers(t *testing.T) {
	e := startInProcess(t)
	dir := playbookDir(t)
	staleDir := stalePlaybookDir(t)

	t.Run("unauthorized approver is refused and audited", func(t *testing.T) {
		t.Parallel()
		const id = "E2E-UNAUTH"
		startIncident(t, e.c, dir, "isolate_cell", "hiro", id)
		waitStep(t, e.c, id, isolateOK, workflows.StepWaiting, 1)

		refused(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "grace"},
			"grace may not answer approval.isolate_ok", "roster.process_safety or roster.ot_operations")
		refused(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "mallory"},
			`"mallory" is not a person this incident knows`)

		ev := waitEvent(t, e.c, id, "grace's refusal", isEvent(workflows.EventRefused, isolateOK, "grace"))
		if !strings.Contains(ev.Detail, "approve refused: grace may not answer") || ev.Channel != workflows.ChannelCLI {
			t.Errorf("refusal event: %+v", ev)
		}
		waitEvent(t, e.c, id, "mallory's refusal", isEvent(workflows.EventRefused, isolateOK, "mallory"))

		st, err := status(e.c, id)
		if err != nil {
			t.Fatal(err)
		}
		if s := stepOf(st, isolateOK); s.State != workflows.StepWaiting || len(s.Approvals) != 0 {
			t.Errorf("a refused answer changed the sign-off: %+v", s)
		}
		tl, err := timeline(e.c, id)
		if err != nil {
			t.Fatal(err)
		}
		if ap := events(tl, workflows.EventApproved); len(ap) != 0 {
			t.Errorf("refused answers recorded as approvals: %+v", ap)
		}
	})

	t.Run("commander may not sign off their own incident", func(t *testing.T) {
		t.Parallel()
		const id = "E2E-SELF"
		startIncident(t, e.c, dir, "isolate_cell", "alice", id)
		s := waitStep(t, e.c, id, isolateOK, workflows.StepWaiting, 1)
		for _, p := range s.Awaiting {
			if p == "alice" {
				t.Errorf("the commander is listed as a possible approver: %v", s.Awaiting)
			}
		}
		refused(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "alice", Round: s.Round},
			"alice started incident E2E-SELF", "exclude_initiator")
		waitEvent(t, e.c, id, "alice's refusal", isEvent(workflows.EventRefused, isolateOK, "alice"))

		// Someone else from the same roster completes the sign-off.
		answer(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "bob", Round: s.Round})
		answer(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "olga", Round: s.Round})
		waitState(t, e.c, id, workflows.StateCompleted)
		checkEffects(t, e.journal.Attempts(), id, conduitKeys(id, isolate, sim.OpCut, cutConduits), isolatorOps...)
	})

	t.Run("one person counts once", func(t *testing.T) {
		t.Parallel()
		const id = "E2E-TWICE"
		startIncident(t, e.c, dir, "isolate_cell", "hiro", id)
		waitStep(t, e.c, id, isolateOK, workflows.StepWaiting, 1)

		// A retried send is the same update (one nonce per sending): the
		// first result comes back and nothing is counted or refused.
		a := workflows.Answer{Step: isolateOK, Person: "alice", Channel: workflows.ChannelCLI}
		first, err := incident.Send(testContext(t, answerTimeout), e.c, workflows.UpdateApprove, id, a, "retry-1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(first.Message, "(1 of 2)") || first.StepState != workflows.StepWaiting {
			t.Errorf("first approval: %+v", first)
		}
		again, err := incident.Send(testContext(t, answerTimeout), e.c, workflows.UpdateApprove, id, a, "retry-1")
		if err != nil || again != first {
			t.Errorf("a retried update got %+v (%v), want the first result %+v", again, err, first)
		}
		// The same answer sent again is a second approval, and one person
		// never counts twice; the refusal is on record.
		refused(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "alice"},
			"alice has already approved approval.isolate_ok", "one person never counts twice", "still needs one from roster.ot_operations")
		waitEvent(t, e.c, id, "alice's duplicate on record", func(ev workflows.Event) bool {
			return ev.Kind == workflows.EventRefused && ev.Person == "alice" && ev.Code == "Duplicate"
		})
		refused(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "alice", Round: 1},
			"alice has already approved approval.isolate_ok")
		// Nor can the same person fill the other roster's place.
		st, err := status(e.c, id)
		if err != nil {
			t.Fatal(err)
		}
		if s := stepOf(st, isolateOK); len(s.Approvals) != 1 || s.Approvals[0].Person != "alice" || s.State != workflows.StepWaiting {
			t.Fatalf("after alice approved three times: %+v", s)
		}

		done := answer(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "dmitri", Round: 1})
		if done.StepState != workflows.StepDone || !strings.Contains(done.Message, "sign-off complete") {
			t.Errorf("second person's approval: %+v", done)
		}
		waitState(t, e.c, id, workflows.StateCompleted)
		tl, err := timeline(e.c, id)
		if err != nil {
			t.Fatal(err)
		}
		var by []string
		for _, ev := range events(tl, workflows.EventApproved) {
			by = append(by, ev.Person)
		}
		if strings.Join(by, ",") != "alice,dmitri" {
			t.Errorf("approvals in the timeline: %v, want alice then dmitri once each", by)
		}
		checkEffects(t, e.journal.Attempts(), id, conduitKeys(id, isolate, sim.OpCut, cutConduits), isolatorOps...)
	})

	t.Run("break-glass needs a reason and flags the incident", func(t *testing.T) {
		t.Parallel()
		const id = "E2E-GLASS"
		startIncident(t, e.c, dir, "isolate_cell", "hiro", id)
		waitStep(t, e.c, id, isolateOK, workflows.StepWaiting, 1)

		refused(t, e.c, workflows.UpdateBreakGlass, id, workflows.Answer{Step: isolateOK, Person: "farid"},
			"break-glass needs a reason")
		refused(t, e.c, workflows.UpdateBreakGlass, id, workflows.Answer{Step: isolateOK, Person: "farid", Reason: "   "},
			"break-glass needs a reason")
		refused(t, e.c, workflows.UpdateBreakGlass, id, workflows.Answer{Step: isolateOK, Person: "alice", Reason: "gas leak"},
			"alice may not break glass", "roster.shift_supervisor")
		st, err := status(e.c, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.BreakGlass || stepOf(st, isolateOK).State != workflows.StepWaiting {
			t.Fatalf("refused break-glass changed the incident: break_glass=%v step=%+v", st.BreakGlass, stepOf(st, isolateOK))
		}

		res := answer(t, e.c, workflows.UpdateBreakGlass, id, workflows.Answer{Step: isolateOK, Person: "farid", Reason: "gas leak, no approver reachable"})
		if !strings.Contains(res.Message, "break-glass recorded") || res.StepState != workflows.StepDone {
			t.Errorf("break-glass result: %+v", res)
		}
		st = waitState(t, e.c, id, workflows.StateCompleted)
		if !st.BreakGlass {
			t.Errorf("Status.BreakGlass is false after break-glass")
		}
		if s := stepOf(st, isolateOK); !s.BreakGlass {
			t.Errorf("the sign-off step is not flagged: %+v", s)
		}
		if s := stepOf(st, isolate); !s.BreakGlass || !strings.Contains(strings.ToLower(s.Reason), "break-glass") {
			t.Errorf("the isolation does not say it ran under break-glass: %+v", s)
		}
		tl, err := timeline(e.c, id)
		if err != nil {
			t.Fatal(err)
		}
		bg := events(tl, workflows.EventBreakGlass)
		if !tl.BreakGlass || len(bg) != 1 || bg[0].Person != "farid" || !bg[0].BreakGlass || !strings.Contains(bg[0].Detail, "gas leak, no approver reachable") {
			t.Errorf("timeline break-glass: flag %v, events %+v", tl.BreakGlass, bg)
		}
		for _, who := range []string{"farid", "alice"} {
			waitEvent(t, e.c, id, who+"'s refused break-glass", isEvent(workflows.EventRefused, isolateOK, who))
		}
		checkEffects(t, e.journal.Attempts(), id, conduitKeys(id, isolate, sim.OpCut, cutConduits), isolatorOps...)
	})

	t.Run("stale sign-off is asked again", func(t *testing.T) {
		t.Parallel()
		const id = "E2E-STALE"
		startIncident(t, e.c, staleDir, "stale_signoff", "hiro", id)
		s := waitStep(t, e.c, id, isolateOK, workflows.StepWaiting, 1)
		answer(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "alice", Round: s.Round})
		answer(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "erin", Round: s.Round})

		// The wait outlasts valid_for: guard two asks again in round 2
		// instead of isolating on a stale sign-off.
		s = waitStep(t, e.c, id, isolateOK, workflows.StepWaiting, 2)
		if len(s.Approvals) != 0 {
			t.Errorf("round 2 starts with approvals: %+v", s.Approvals)
		}
		ev := waitEvent(t, e.c, id, "the stale sign-off", isEvent(workflows.EventSignoffStale, isolateOK, ""))
		if !strings.Contains(ev.Detail, "valid_for 2s") {
			t.Errorf("stale event: %+v", ev)
		}
		if got := incidentEffects(e.journal.Attempts(), id, isolatorOps...); len(got) != 0 {
			t.Fatalf("the isolation ran on a stale sign-off: %v", got)
		}
		// An answer to round 1 is now stale.
		refused(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "bob", Round: 1},
			"round 1", "is over", "round 2")

		answer(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "bob", Round: 2})
		answer(t, e.c, workflows.UpdateApprove, id, workflows.Answer{Step: isolateOK, Person: "dmitri", Round: 2})
		waitState(t, e.c, id, workflows.StateCompleted)

		tl, err := timeline(e.c, id)
		if err != nil {
			t.Fatal(err)
		}
		var approvedAt, isolatedAt int
		for _, ev := range tl.Events {
			switch {
			case isEvent(workflows.EventApproved, isolateOK, "dmitri")(ev):
				approvedAt = ev.Seq
			case isEvent(workflows.EventStepFinished, isolate, "")(ev):
				isolatedAt = ev.Seq
			}
		}
		if approvedAt == 0 || isolatedAt < approvedAt {
			t.Errorf("the isolation (event %d) should follow the round-2 sign-off (event %d)", isolatedAt, approvedAt)
		}
		checkEffects(t, e.journal.Attempts(), id, conduitKeys(id, isolate, sim.OpCut, cutConduits), isolatorOps...)
	})
}
