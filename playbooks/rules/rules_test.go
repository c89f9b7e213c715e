package rules_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// dir: safety = alice, bob; ops = carol, bob; super = erin; ug = a Slack
// user group (no members until run time).
func dir() *rules.Directory {
	return rules.NewDirectory(
		[]plan.Person{{ID: "alice"}, {ID: "bob"}, {ID: "carol"}, {ID: "dan"}, {ID: "erin"}},
		[]plan.Roster{
			{ID: "safety", Members: []string{"alice", "bob"}},
			{ID: "ops", Members: []string{"bob", "carol"}},
			{ID: "super", Members: []string{"erin"}},
			{ID: "ug", SlackUsergroup: "S123"},
		})
}

var (
	signoff  = plan.Quorum{Rule: plan.QuorumOneFromEach, Groups: []string{"roster.safety", "roster.ops"}, Count: 2, ExcludeInitiator: true}
	approval = &plan.Step{ID: "approval.ok", Kind: plan.KindApproval, Approval: &plan.ApprovalStep{Kind: plan.ApprovalSafety, Quorum: signoff}}
	decision = &plan.Step{ID: "decision.d", Kind: plan.KindDecision, Decision: &plan.DecisionStep{Ask: []string{"roster.ops"}, Options: []string{"go", "stop"}}}
	task     = &plan.Step{ID: "task.t", Kind: plan.KindTask, Task: &plan.TaskStep{Assign: []string{"person.dan"}}}
	notify   = &plan.Step{ID: "notify.n", Kind: plan.KindNotify, Notify: &plan.NotifyStep{}}
	safety   = &plan.Safety{Signoff: signoff, BreakGlass: &plan.BreakGlass{Rosters: []string{"roster.super"}}}
)

func code(r *rules.Refusal) rules.Code {
	if r == nil {
		return ""
	}
	return r.Code
}

func TestMembersAndExpand(t *testing.T) {
	d := dir()
	cases := []struct {
		in   []string
		want []string
	}{
		{[]string{"person.alice"}, []string{"alice"}},
		{[]string{"roster.safety", "roster.ops"}, []string{"alice", "bob", "carol"}}, // bob once
		{[]string{"roster.nope"}, nil},
		{[]string{"dan"}, []string{"dan"}}, // a bare ID is that person
		{[]string{"roster.ug"}, nil},
	}
	for _, c := range cases {
		if got := d.Expand(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Expand(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !d.In("bob", "roster.ops") || d.In("alice", "roster.ops") {
		t.Error("In is wrong about roster.ops")
	}
	if !d.FromUsergroup([]string{"roster.safety", "roster.ug"}) || d.FromUsergroup([]string{"roster.safety"}) {
		t.Error("FromUsergroup is wrong")
	}
}

func TestAsked(t *testing.T) {
	d := dir()
	if got := d.Asked(approval, "alice"); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Errorf("an approval excluding its initiator asks %v", got)
	}
	if got := d.Asked(decision, "bob"); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Errorf("a decision asks %v (exclude_initiator is for approvals only)", got)
	}
	if got := d.Asked(notify, ""); got != nil {
		t.Errorf("a notify asks %v", got)
	}
}

func TestQuorumMatch(t *testing.T) {
	d := dir()
	cases := []struct {
		approvers []string
		n         int
		groups    []string
	}{
		{[]string{"bob"}, 1, []string{"roster.safety"}},
		// bob is in both: matching moves him to ops so alice counts for safety.
		{[]string{"bob", "alice"}, 2, []string{"roster.ops", "roster.safety"}},
		{[]string{"alice", "bob"}, 2, []string{"roster.safety", "roster.ops"}},
		{[]string{"alice", "alice"}, 1, []string{"roster.safety", ""}}, // one person never counts twice
		{[]string{"erin"}, 0, []string{""}},
	}
	for _, c := range cases {
		n, groups := d.QuorumMatch(signoff, c.approvers)
		if n != c.n || !slices.Equal(groups, c.groups) {
			t.Errorf("QuorumMatch(%v) = %d %v, want %d %v", c.approvers, n, groups, c.n, c.groups)
		}
	}
	count := plan.Quorum{Rule: plan.QuorumCount, Count: 2, Groups: []string{"roster.safety"}}
	if n, _ := d.QuorumMatch(count, []string{"alice", "alice", "bob"}); n != 2 {
		t.Errorf("count quorum counted %d", n)
	}
	if rules.Required(signoff) != 2 || rules.Required(plan.Quorum{Count: 0}) != 1 {
		t.Error("Required is wrong")
	}
	if got := d.QuorumNeed(signoff, []string{"alice"}); got != "still needs one from roster.ops" {
		t.Errorf("QuorumNeed = %q", got)
	}
	if !d.QuorumPossible(signoff, "") || !d.QuorumPossible(signoff, "alice") {
		t.Error("the sign-off can be met, even without alice")
	}
	one := plan.Quorum{Rule: plan.QuorumOneFromEach, Groups: []string{"roster.super", "roster.safety"}}
	if d.QuorumPossible(one, "erin") {
		t.Error("without erin nobody is left for roster.super")
	}
}

func TestMayApproveAndCount(t *testing.T) {
	d := dir()
	cases := []struct {
		person, commander string
		approvers         []string
		want              rules.Code
	}{
		{"bob", "", nil, ""},
		{"erin", "", nil, rules.NotAuthorised},
		{"alice", "alice", nil, rules.SelfApproval},
		{"alice", "", []string{"alice"}, rules.Duplicate},
		{"alice", "", []string{"bob", "carol"}, rules.WouldNotCount},
		{"carol", "", []string{"bob"}, ""},
	}
	for _, c := range cases {
		r := d.MayApprove(approval, c.person, c.commander, "INC-1")
		if r == nil {
			r = d.MayCount(approval, c.person, c.approvers)
		}
		if code(r) != c.want {
			t.Errorf("%s approving after %v: %v, want %q", c.person, c.approvers, r, c.want)
		}
	}
}

func TestMayDecideDoneBreakGlassCancel(t *testing.T) {
	d := dir()
	checks := []struct {
		name string
		got  *rules.Refusal
		want rules.Code
	}{
		{"ops decides", d.MayDecide(decision, "carol", "go"), ""},
		{"not asked", d.MayDecide(decision, "alice", "go"), rules.NotAuthorised},
		{"unknown option", d.MayDecide(decision, "carol", "maybe"), rules.UnknownOption},
		{"assignee done", d.MayMarkDone(task, "dan", "alice"), ""},
		{"commander done", d.MayMarkDone(task, "alice", "alice"), ""},
		{"other done", d.MayMarkDone(task, "bob", "alice"), rules.NotAuthorised},
		{"no commander, nobody else", d.MayMarkDone(task, "bob", ""), rules.NotAuthorised},
		{"supervisor breaks glass", d.MayBreakGlassOn(safety, approval, "erin"), ""},
		{"engineer breaks glass", d.MayBreakGlassOn(safety, approval, "alice"), rules.NotAuthorised},
		{"no policy", d.MayBreakGlassOn(&plan.Safety{}, approval, "erin"), rules.NotAuthorised},
		{"standard approval", d.MayBreakGlassOn(safety, &plan.Step{ID: "approval.s", Approval: &plan.ApprovalStep{Kind: plan.ApprovalStandard}}, "erin"), rules.WrongKind},
		{"commander cancels", d.MayCancel(safety, "alice", "alice", "INC-1"), ""},
		{"supervisor cancels", d.MayCancel(safety, "erin", "alice", "INC-1"), ""},
		{"other cancels", d.MayCancel(safety, "bob", "alice", "INC-1"), rules.NotAuthorised},
		{"anyone cancels without commander", d.MayCancel(safety, "bob", "", "INC-1"), ""},
	}
	for _, c := range checks {
		if code(c.got) != c.want {
			t.Errorf("%s: %v, want %q", c.name, c.got, c.want)
		}
	}
}

func TestReasons(t *testing.T) {
	for _, a := range rules.Answers {
		want := a == rules.Deny || a == rules.BreakGlass || a == rules.Cancel
		if rules.NeedsReason(a) != want {
			t.Errorf("NeedsReason(%s) = %v", a, !want)
		}
		if want && code(rules.RequireReason(a, "  ", "x")) != rules.ReasonRequired {
			t.Errorf("%s without a reason is not refused", a)
		}
		if rules.RequireReason(a, "because", "x") != nil {
			t.Errorf("%s with a reason is refused", a)
		}
	}
}

func TestAnswersKindAndAllowed(t *testing.T) {
	kinds := map[string]plan.Kind{rules.Ack: "", rules.Approve: plan.KindApproval, rules.Deny: plan.KindApproval, rules.BreakGlass: plan.KindApproval,
		rules.Decide: plan.KindDecision, rules.Done: plan.KindTask, rules.Cancel: ""}
	for a, k := range kinds {
		if got := rules.AnswersKind(a); got != k {
			t.Errorf("AnswersKind(%s) = %q, want %q", a, got, k)
		}
	}
	if got := rules.AllowedAnswers(approval); !slices.Equal(got, []string{"approve", "deny"}) {
		t.Errorf("approval answers %v", got)
	}
	if got := rules.AllowedAnswers(decision); !slices.Equal(got, []string{"go", "stop"}) {
		t.Errorf("decision answers %v", got)
	}
	if got := rules.AllowedAnswers(task); !slices.Equal(got, []string{"done"}) {
		t.Errorf("task answers %v", got)
	}
	if rules.AllowedAnswers(notify) != nil {
		t.Error("a notify takes answers")
	}
	for _, k := range plan.StepKinds {
		if rules.HowToAnswer(k) == "" {
			t.Errorf("no HowToAnswer for %s", k)
		}
	}
}

func TestTextLimits(t *testing.T) {
	cases := []struct {
		name                         string
		step, person, option, reason string
		want                         rules.Code
	}{
		{"ordinary", "approval.ok", "alice", "", "compressor 2 is restarting", ""},
		{"reason at the limit", "approval.ok", "alice", "", strings.Repeat("é", rules.MaxReason), ""},
		{"reason over", "approval.ok", "alice", "", strings.Repeat("x", rules.MaxReason+1), rules.TooLong},
		{"1 MB reason", "approval.ok", "alice", "", strings.Repeat("x", 1<<20), rules.TooLong},
		{"long option", "decision.d", "carol", strings.Repeat("o", rules.MaxOption+1), "", rules.TooLong},
		{"long person", "approval.ok", strings.Repeat("p", rules.MaxID+1), "", "", rules.TooLong},
		{"long step", strings.Repeat("s", rules.MaxID+1), "alice", "", "", rules.TooLong},
		{"invalid UTF-8", "approval.ok", "alice", "", "bad \xff byte", rules.TooLong},
	}
	for _, c := range cases {
		r := rules.CheckAnswerText(c.step, c.person, c.option, c.reason, "cli")
		if code(r) != c.want {
			t.Errorf("%s: %v, want %q", c.name, r, c.want)
		}
		if r != nil && len(r.Message) > 300 {
			t.Errorf("%s: the refusal is %d bytes long; it must not quote the text", c.name, len(r.Message))
		}
	}
}

func TestClip(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"too long", 4, "too…"},
		{"ééééé", 3, "éé…"},
		{"bad\xff", 10, "bad\uFFFD"},
		{"x", 0, ""},
		{"xy", 0, ""},
	}
	for _, c := range cases {
		if got := rules.Clip(c.in, c.max); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestRegisterOffset(t *testing.T) {
	for _, tc := range []struct {
		n       float64
		offset  int
		problem string
	}{
		{40001, 0, ""}, {49999, 9998, ""}, {400001, 0, ""}, {465536, 65535, ""},
		{40000, 0, "register 40000 is not in holding-register notation"},
		{0, 0, "For protocol offset 0 write 40001."},
		{9999, 0, "For protocol offset 9999 write 410000."},
		{50000, 0, "If 50000 is a protocol offset, write 450001."},
		{400000, 0, "falls between the five-digit notation"},
		{465537, 0, "outside the Modbus address space"},
		{-1, 0, "outside the Modbus address space"},
		{40001.5, 0, "not a whole number"},
	} {
		off, problem := rules.RegisterOffset(tc.n)
		if off != tc.offset || !strings.Contains(problem, tc.problem) || (tc.problem == "") != (problem == "") {
			t.Errorf("RegisterOffset(%v) = %d, %q; want %d and a problem containing %q", tc.n, off, problem, tc.offset, tc.problem)
		}
	}
}

func TestDistinctFrom(t *testing.T) {
	p := &plan.Plan{Steps: []plan.Step{
		{ID: "approval.isolate_ok", Kind: plan.KindApproval, Approval: &plan.ApprovalStep{}},
		{ID: "step.isolate", Kind: plan.KindStep, Action: &plan.ActionStep{}},
		{ID: "approval.restore_ok", Kind: plan.KindApproval, Approval: &plan.ApprovalStep{DistinctFrom: []string{"approval.isolate_ok", "approval.isolate_ok"}}},
		{ID: "approval.audit", Kind: plan.KindApproval, Approval: &plan.ApprovalStep{DistinctFrom: []string{"approval.restore_ok", "approval.audit"}}},
	}}
	for id, want := range map[string][]string{
		"approval.isolate_ok": {"approval.restore_ok"},
		"approval.restore_ok": {"approval.audit", "approval.isolate_ok"},
		"approval.audit":      {"approval.restore_ok"},
		"step.isolate":        nil,
		"approval.none":       nil,
	} {
		if got := rules.DistinctFrom(p, id); !slices.Equal(got, want) {
			t.Errorf("DistinctFrom(%s) = %v, want %v", id, got, want)
		}
	}
	if got := rules.DistinctFrom(nil, "approval.x"); got != nil {
		t.Errorf("DistinctFrom(nil) = %v", got)
	}
}

func TestMayApproveDistinct(t *testing.T) {
	s := &plan.Step{ID: "approval.restore_ok", Kind: plan.KindApproval, Approval: &plan.ApprovalStep{}}
	signed := []rules.Signed{{Approval: "approval.isolate_ok", People: []string{"bob", "carol"}}}
	rf := rules.MayApproveDistinct(s, "carol", signed)
	if rf == nil || rf.Code != rules.SameApprover || rf.Message != "carol approved approval.isolate_ok and may not approve approval.restore_ok too: the playbook asks for different people on the two sign-offs (distinct_from); someone else must approve approval.restore_ok" {
		t.Errorf("carol: %+v", rf)
	}
	if rf := rules.MayApproveDistinct(s, "alice", signed); rf != nil {
		t.Errorf("alice refused: %v", rf)
	}
}

func TestDisjointQuorums(t *testing.T) {
	dir := rules.NewDirectory(
		[]plan.Person{{ID: "alice"}, {ID: "bob"}, {ID: "carol"}, {ID: "dan"}, {ID: "erin"}},
		[]plan.Roster{
			{ID: "ps", Members: []string{"alice", "bob"}},
			{ID: "ops", Members: []string{"carol", "dan"}},
			{ID: "thin", Members: []string{"erin"}},
			{ID: "both", Members: []string{"alice", "carol"}},
		})
	each := func(groups ...string) plan.Quorum {
		return plan.Quorum{Rule: plan.QuorumOneFromEach, Count: len(groups), Groups: groups}
	}
	count := func(n int, groups ...string) plan.Quorum {
		return plan.Quorum{Rule: plan.QuorumCount, Count: n, Groups: groups}
	}
	cases := []struct {
		name string
		a, b plan.Quorum
		want bool
	}{
		{"two people in each roster", each("roster.ps", "roster.ops"), each("roster.ps", "roster.ops"), true},
		{"one person in a roster both need", each("roster.ps", "roster.thin"), each("roster.ops", "roster.thin"), false},
		{"a person in two rosters placed where needed", each("roster.both"), each("roster.ps", "roster.ops"), true},
		{"count quorums from the same people", count(2, "roster.ps"), count(1, "roster.ps"), false},
		{"count quorum beside one-from-each", count(2, "roster.ps", "roster.thin"), each("roster.ops"), true},
	}
	for _, tc := range cases {
		if got := dir.DisjointQuorums(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: DisjointQuorums = %v, want %v", tc.name, got, tc.want)
		}
	}
}
