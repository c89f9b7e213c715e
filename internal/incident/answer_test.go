package incident

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

func TestUpdateIDStable(t *testing.T) {
	const n = "0123456789abcdef"
	a := workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 2, Channel: "cli", Reason: "first"}
	id := UpdateID(workflows.UpdateApprove, a, n)
	if id != "approve/approval.isolate_ok/alice/r2/"+n {
		t.Fatalf("UpdateID = %q", id)
	}
	// Same meaning and nonce, different reason or channel: the same update.
	b := a
	b.Reason, b.Channel = "retried", "slack"
	if got := UpdateID(workflows.UpdateApprove, b, n); got != id {
		t.Fatalf("retry changed the ID: %q vs %q", got, id)
	}
	// Anything that changes the meaning changes the ID.
	distinct := map[string]string{id: "base"}
	for name, v := range map[string]string{
		"update": UpdateID(workflows.UpdateDeny, a, n),
		"step":   UpdateID(workflows.UpdateApprove, workflows.Answer{Step: "approval.reconnect_ok", Person: "alice", Round: 2}, n),
		"person": UpdateID(workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "bob", Round: 2}, n),
		"round":  UpdateID(workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 3}, n),
		"option": UpdateID(workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 2, Option: "x"}, n),
		"nonce":  UpdateID(workflows.UpdateApprove, a, "fedcba9876543210"),
	} {
		if prev, dup := distinct[v]; dup {
			t.Errorf("%s gives the same ID as %s: %q", name, prev, v)
		}
		distinct[v] = name
	}
	// Separators inside parts cannot make two answers collide.
	x := UpdateID(workflows.UpdateDecide, workflows.Answer{Step: "decision.a/b", Person: "c", Option: "d"}, n)
	y := UpdateID(workflows.UpdateDecide, workflows.Answer{Step: "decision.a", Person: "b/c", Option: "d"}, n)
	if x == y || strings.Count(x, "/") != 5 {
		t.Fatalf("escaping: %q and %q", x, y)
	}
	if got := UpdateID(workflows.UpdateDecide, workflows.Answer{Step: "decision.scope", Person: "carol", Option: "level 2"}, n); got != "decide/decision.scope/carol/r0/level%202/"+n {
		t.Fatalf("decide ID %q", got)
	}
	if got := UpdateID(workflows.UpdateCancel, workflows.Answer{Person: "carol", Reason: "x"}, n); got != "cancel//carol/r0/"+n {
		t.Fatalf("cancel ID %q", got)
	}
}

func TestUpdateIDUniquePerAnswer(t *testing.T) {
	// Unsigned: every nonce is new, so two sends of the same meaning are two
	// updates that the incident validates afresh.
	seen := map[string]bool{}
	a := workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 1}
	for range 50 {
		nonce := NewNonce()
		if len(nonce) != 16 || strings.Trim(nonce, "0123456789abcdef") != "" {
			t.Fatalf("nonce %q is not 16 hex digits", nonce)
		}
		seen[UpdateID(workflows.UpdateApprove, a, nonce)] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct IDs of 50 unsigned answers", len(seen))
	}
	// Signed: the ID follows the signature, whatever the nonce, so a signed
	// answer retried (by this call or another) is the same update, and a
	// new signature of the same meaning is a new one.
	s, err := attest.GenerateKey("person.alice")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	signed, err := SignAnswer(s, workflows.UpdateApprove, "INC-1", a, now)
	if err != nil {
		t.Fatal(err)
	}
	id := UpdateID(workflows.UpdateApprove, signed, NewNonce())
	if id != UpdateID(workflows.UpdateApprove, signed, NewNonce()) {
		t.Fatal("a signed answer's ID depends on the nonce")
	}
	if want := attest.Digest(signed.Attestation.Signature)[:16]; !strings.HasSuffix(id, "/r1/"+want) {
		t.Fatalf("signed ID %q does not end in the signature's digest %s", id, want)
	}
	again, _ := SignAnswer(s, workflows.UpdateApprove, "INC-1", a, now.Add(time.Second))
	if UpdateID(workflows.UpdateApprove, again, "") == id {
		t.Fatal("two signed answers share an ID")
	}
}

var testStatus = workflows.Status{
	IncidentID: "INC-1",
	Playbook:   "p",
	Steps: []workflows.StepStatus{
		{ID: "page.ot_oncall", Kind: "page", State: "done"},
		{ID: "approval.isolate_ok", Kind: "approval", State: "waiting", Round: 2},
		{ID: "step.isolate", Kind: "step", State: "pending"},
		{ID: "decision.scope", Kind: "decision", State: "waiting"},
	},
}

func TestResolveStep(t *testing.T) {
	for step, want := range map[string]string{
		"approval.isolate_ok": "approval.isolate_ok",
		"isolate_ok":          "approval.isolate_ok",
		"step.isolate":        "step.isolate", // a full ID is taken as given; the incident judges it
		"isolate":             "step.isolate",
		"ot_oncall":           "page.ot_oncall",
		"scope":               "decision.scope",
	} {
		s, err := ResolveStep(testStatus, step)
		if err != nil || s.ID != want {
			t.Errorf("%s: got %q, %v; want %q", step, s.ID, err, want)
		}
	}
	if s, _ := ResolveStep(testStatus, "isolate_ok"); s.Round != 2 {
		t.Errorf("round not carried: %+v", s)
	}

	// Not possible with compiled plans (names are unique), but not guessed either.
	twin := testStatus
	twin.Steps = append([]workflows.StepStatus{{ID: "task.scope", Kind: "task"}}, twin.Steps...)

	for _, tc := range []struct {
		st   workflows.Status
		step string
		want []string
	}{
		{twin, "scope", []string{`"scope" could be any of task.scope, decision.scope`, "give the full step ID"}},
		{testStatus, "isolat", []string{`Incident INC-1 has no step "isolat".`, "Waiting for answers: approval.isolate_ok, decision.scope.", "Steps: approval.isolate_ok, decision.scope, page.ot_oncall, step.isolate."}},
		{testStatus, "approval.isolate", []string{`Did you mean "approval.isolate_ok"?`}},
	} {
		_, err := ResolveStep(tc.st, tc.step)
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("%s: got %v, want *InputError", tc.step, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%s", tc.step, w, err)
			}
		}
	}
}

func TestErrorsRead(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&NotFoundError{IncidentID: "INC-9"}, "no incident INC-9 on this server: it never started here, or it finished longer ago than the namespace keeps incidents; `firebreak list` shows the ones it knows"},
		{&NotFoundError{IncidentID: "INC-9", Finished: "completed"}, "incident INC-9 has finished (completed) and takes no more answers"},
		{&Refused{Message: "bob may not answer approval.isolate_ok: not in roster.process_safety"}, "refused: bob may not answer"},
		{&AlreadyExistsError{IncidentID: "INC-9"}, "incident INC-9 already exists"},
		{&SearchAttributeError{err: errors.New("search attribute FirebreakPlaybook is not defined")},
			"temporal operator search-attribute create --namespace \"$TEMPORAL_NAMESPACE\" --name FirebreakExercise --type Bool"},
	} {
		if !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%T: %q lacks %q", tc.err, tc.err.Error(), tc.want)
		}
	}
	for in, want := range map[string]string{
		"Terminated": "terminated", "WORKFLOW_EXECUTION_STATUS_CANCELED": "cancelled", "TimedOut": "timed_out",
		"Completed": "completed", "ContinuedAsNew": "continued_as_new",
	} {
		if got := executionState(in); got != want {
			t.Errorf("executionState(%q) = %q, want %q", in, got, want)
		}
	}
}
