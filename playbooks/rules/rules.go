// Package rules is firebreak's rule book: the rules about people that the
// compiler, the running incident and every front door (the CLI now, Slack
// next) must apply alike. Who is asked for a step, who may answer it, how
// "roster.x" and "person.y" expand to people, how a quorum is counted (one
// person never counts twice), which answers need a reason, and how long a
// reason or an option may be.
//
// Each rule lives here once. The workflow's update validator calls it to
// refuse an answer, the compiler calls it to warn about an exercise
// responder who would be refused, and the CLI calls it to say what an
// answer needs before sending it. A refusal is a *Refusal with a Code, so a
// front door branches on the code, never on the message text.
//
// The package depends on the standard library and the plan types only, and
// everything in it is deterministic (no maps ranged over for results, no
// clock), so the workflow interpreter may call it.
package rules

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// Answer names: what a person can send to a running incident. They are the
// workflow's update names.
const (
	Ack        = "ack"
	Approve    = "approve"
	Deny       = "deny"
	Decide     = "decide"
	Done       = "done"
	BreakGlass = "break_glass"
	Cancel     = "cancel"
)

// Answers lists every answer name, in the order the documentation gives them.
var Answers = []string{Ack, Approve, Deny, Decide, Done, BreakGlass, Cancel}

// Limits on what a person may send. A reason is copied into the timeline and
// into the skip notes of every step that depended on a denied approval, so
// an unbounded one could push an incident over Temporal's payload limits.
const (
	// MaxReason is the longest reason (deny, break-glass, cancel), in characters.
	MaxReason = 2000
	// MaxOption is the longest option name of a decision answer, in characters.
	MaxOption = 200
	// MaxID is the longest person or step ID an answer may name, in characters.
	MaxID = 200
	// MaxRefusalMessage is the longest refusal message an incident records.
	MaxRefusalMessage = 1000
	// MaxChannel is the longest channel name (cli, slack, script) an answer
	// may say it came through.
	MaxChannel = 40
)

// Clip shortens text to at most max characters, ending it with "…" when it
// was cut, without splitting a character. Invalid UTF-8 is replaced.
func Clip(text string, max int) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	if max < 1 {
		return ""
	}
	n := 0
	for i := range text {
		if n == max-1 {
			return text[:i] + "…"
		}
		n++
	}
	return text
}

// NeedsReason reports whether an answer must carry a reason: a denial (the
// people waiting on the approval are told why), a break-glass override
// (reviewed after the incident) and a cancellation (the timeline says why).
func NeedsReason(answer string) bool {
	switch answer {
	case Deny, BreakGlass, Cancel:
		return true
	}
	return false
}

// AnswersKind is the step kind an answer is for: approve, deny and
// break_glass answer approvals, decide answers decisions, done answers
// tasks. Ack (any step with a page in progress) and cancel (the whole
// incident) return "".
func AnswersKind(answer string) plan.Kind {
	switch answer {
	case Approve, Deny, BreakGlass:
		return plan.KindApproval
	case Decide:
		return plan.KindDecision
	case Done:
		return plan.KindTask
	}
	return ""
}

// HowToAnswer says, for people, how a step of the given kind is answered.
func HowToAnswer(kind plan.Kind) string {
	switch kind {
	case plan.KindPage:
		return "answer it with ack"
	case plan.KindApproval:
		return "answer it with approve or deny, or break-glass if it is a safety sign-off"
	case plan.KindDecision:
		return "answer it with decide"
	case plan.KindTask:
		return "answer it with done"
	}
	return "it takes no answers"
}

// Modbus holding-register limits, shared by the modbus.read activity and
// the exercise injects that set a register's simulated value.
const (
	// FirstRegister is the first holding register in the five-digit
	// notation: 40001 is protocol offset 0.
	FirstRegister = 40001
	// LastShortRegister is the last holding register the five-digit
	// notation can write: 49999, offset 9998.
	LastShortRegister = 49999
	// FirstLongRegister is the first holding register in the six-digit
	// notation: 400001 is offset 0 again.
	FirstLongRegister = 400001
	// MaxRegister is the largest register address accepted: the six-digit
	// notation ends at 465536, offset 65535.
	MaxRegister = 465536
	// MaxRegisterValue is the largest value a 16-bit holding register holds.
	MaxRegisterValue = 65535
)

// Exercise answers, as a responder block's "with" writes them.
const (
	// ExerciseApprove approves an approval.
	ExerciseApprove = "approve"
	// ExerciseDeny denies an approval.
	ExerciseDeny = "deny"
	// ExerciseDone marks a task done.
	ExerciseDone = "done"
)

// AllowedAnswers lists what a scripted responder may answer a step with:
// approve or deny for an approval, done for a task, one of the options for
// a decision; nil for a step that takes no answers.
func AllowedAnswers(s *plan.Step) []string {
	switch {
	case s == nil:
		return nil
	case s.Kind == plan.KindApproval && s.Approval != nil:
		return []string{ExerciseApprove, ExerciseDeny}
	case s.Kind == plan.KindTask && s.Task != nil:
		return []string{ExerciseDone}
	case s.Kind == plan.KindDecision && s.Decision != nil:
		return append([]string(nil), s.Decision.Options...)
	}
	return nil
}

// AskedPrincipals returns the principals ("roster.x", "person.y") a step
// asks to answer it: an approval's quorum groups, a decision's ask, a
// task's assign; nil for other kinds. It goes by the step's kind, so a
// hand-made step that carries another kind's part asks nobody extra.
func AskedPrincipals(s *plan.Step) []string {
	switch {
	case s == nil:
		return nil
	case s.Kind == plan.KindApproval && s.Approval != nil:
		return s.Approval.Quorum.Groups
	case s.Kind == plan.KindDecision && s.Decision != nil:
		return s.Decision.Ask
	case s.Kind == plan.KindTask && s.Task != nil:
		return s.Task.Assign
	}
	return nil
}

// CheckText refuses a text longer than max characters, or one that is not
// valid UTF-8, naming the field ("the reason", "the option").
func CheckText(field, text string, max int) *Refusal {
	if !utf8.ValidString(text) {
		return Refuse(TooLong, "%s is not valid UTF-8 text; send plain text", field)
	}
	if n := utf8.RuneCountInString(text); n > max {
		return Refuse(TooLong, "%s is %d characters long; at most %d are accepted. Shorten it (put long evidence in the incident channel or a ticket and refer to it)", field, n, max)
	}
	return nil
}

// CheckAnswerText applies the size limits to every field of an answer that
// a front door or a person wrote. It runs before any other rule, so no
// refusal message ever quotes an oversized text.
func CheckAnswerText(step, person, option, reason, channel string) *Refusal {
	if r := CheckText("the channel", channel, MaxChannel); r != nil {
		return r
	}
	if r := CheckText("the person ID", person, MaxID); r != nil {
		return r
	}
	if r := CheckText("the step ID", step, MaxID); r != nil {
		return r
	}
	if r := CheckText("the option", option, MaxOption); r != nil {
		return r
	}
	return CheckText("the reason", reason, MaxReason)
}

// ---- people ----

// Directory answers "who is this" questions: how principals expand to
// people and who belongs to a group. It is built from the people and
// rosters of a plan or of the worker's own configuration.
type Directory struct {
	people  map[string]plan.Person
	rosters map[string]plan.Roster
	order   []string // person IDs in declaration order
	// rosterOrder lists roster IDs in declaration order.
	rosterOrder []string
}

// NewDirectory builds a directory of the given people and rosters.
func NewDirectory(people []plan.Person, rosters []plan.Roster) *Directory {
	d := &Directory{people: map[string]plan.Person{}, rosters: map[string]plan.Roster{}}
	for _, p := range people {
		if _, dup := d.people[p.ID]; !dup {
			d.order = append(d.order, p.ID)
		}
		d.people[p.ID] = p
	}
	for _, r := range rosters {
		if _, dup := d.rosters[r.ID]; !dup {
			d.rosterOrder = append(d.rosterOrder, r.ID)
		}
		d.rosters[r.ID] = r
	}
	return d
}

// ForPlan builds the directory of a plan's people and rosters.
func ForPlan(p *plan.Plan) *Directory { return NewDirectory(p.People, p.Rosters) }

// Person returns a declared person.
func (d *Directory) Person(id string) (plan.Person, bool) {
	p, ok := d.people[id]
	return p, ok
}

// PeopleIDs lists the declared people, in declaration order.
func (d *Directory) PeopleIDs() []string { return append([]string(nil), d.order...) }

// Members expands one principal into person IDs: "person.x" is x,
// "roster.y" is y's members (none for an unknown roster), and a bare ID
// stands for that person.
func (d *Directory) Members(principal string) []string {
	kind, name, ok := strings.Cut(principal, ".")
	switch {
	case ok && kind == "person" && name != "":
		return []string{name}
	case ok && kind == "roster" && name != "":
		return d.rosters[name].Members
	}
	return []string{principal}
}

// Expand expands principals into distinct person IDs, in first-seen order.
func (d *Directory) Expand(principals []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, pr := range principals {
		for _, m := range d.Members(pr) {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// In reports whether a person belongs to a principal.
func (d *Directory) In(person, principal string) bool {
	for _, m := range d.Members(principal) {
		if m == person {
			return true
		}
	}
	return false
}

// InAny reports whether a person belongs to any of the principals.
func (d *Directory) InAny(person string, principals []string) bool {
	for _, p := range principals {
		if d.In(person, p) {
			return true
		}
	}
	return false
}

// FromUsergroup reports whether any of the principals is a roster filled
// from a Slack user group, whose members are known only when an incident
// runs.
func (d *Directory) FromUsergroup(principals []string) bool {
	for _, p := range principals {
		if kind, name, _ := strings.Cut(p, "."); kind == "roster" && d.rosters[name].SlackUsergroup != "" {
			return true
		}
	}
	return false
}

// Asked lists the people a step asks, in first-seen order: everyone in its
// asked principals, less the incident's commander when an approval's quorum
// excludes the initiator.
func (d *Directory) Asked(s *plan.Step, commander string) []string {
	people := d.Expand(AskedPrincipals(s))
	if s == nil || s.Kind != plan.KindApproval || s.Approval == nil || !s.Approval.Quorum.ExcludeInitiator || commander == "" {
		return people
	}
	var keep []string
	for _, p := range people {
		if p != commander {
			keep = append(keep, p)
		}
	}
	return keep
}

// ---- quorums ----

// Required is how many distinct people a quorum needs: one per group for
// one_from_each, Count (at least one) otherwise.
func Required(q plan.Quorum) int {
	if q.Rule == plan.QuorumOneFromEach {
		return len(q.Groups)
	}
	return max(q.Count, 1)
}

// QuorumMatch counts how many of the approvers count towards the quorum and
// which group counts each ("" for one who does not count). For
// one_from_each it finds the largest assignment of distinct approvers to
// distinct groups (bipartite matching), so an approver in two groups is
// placed where the quorum needs them; for a count quorum every approver in
// any group counts. One person never counts twice: a repeated approver
// counts once.
func (d *Directory) QuorumMatch(q plan.Quorum, approvers []string) (int, []string) {
	groupOf := make([]string, len(approvers))
	seen := map[string]bool{}
	if q.Rule != plan.QuorumOneFromEach {
		n := 0
		for i, a := range approvers {
			if seen[a] {
				continue
			}
			seen[a] = true
			for _, g := range q.Groups {
				if d.In(a, g) {
					groupOf[i] = g
					n++
					break
				}
			}
		}
		return n, groupOf
	}
	// Augmenting paths (Kuhn): groups on one side, approvers on the other.
	// Sizes are tiny.
	owner := make([]int, len(q.Groups)) // group -> approver index, -1 when free
	for i := range owner {
		owner[i] = -1
	}
	var try func(a int, visited []bool) bool
	try = func(a int, visited []bool) bool {
		for g := range q.Groups {
			if visited[g] || !d.In(approvers[a], q.Groups[g]) {
				continue
			}
			visited[g] = true
			if owner[g] < 0 || try(owner[g], visited) {
				owner[g] = a
				return true
			}
		}
		return false
	}
	n := 0
	for a := range approvers {
		if seen[approvers[a]] {
			continue
		}
		seen[approvers[a]] = true
		if try(a, make([]bool, len(q.Groups))) {
			n++
		}
	}
	for g, a := range owner {
		if a >= 0 {
			groupOf[a] = q.Groups[g]
		}
	}
	return n, groupOf
}

// QuorumPossible reports whether the people of the quorum's groups, less
// excluded (a person ID, or "" for nobody), can make up the quorum.
func (d *Directory) QuorumPossible(q plan.Quorum, excluded string) bool {
	var people []string
	for _, p := range d.Expand(q.Groups) {
		if p != excluded {
			people = append(people, p)
		}
	}
	n, _ := d.QuorumMatch(q, people)
	return n >= Required(q)
}

// QuorumNeed says what a quorum still lacks given the approvers so far,
// e.g. "still needs one from roster.ot_operations", or "the quorum is
// complete".
func (d *Directory) QuorumNeed(q plan.Quorum, approvers []string) string {
	n, groups := d.QuorumMatch(q, approvers)
	total := Required(q)
	if n >= total {
		return "the quorum is complete"
	}
	if q.Rule == plan.QuorumOneFromEach {
		var missing []string
		for _, g := range q.Groups {
			found := false
			for _, x := range groups {
				if x == g {
					found = true
				}
			}
			if !found {
				missing = append(missing, g)
			}
		}
		return "still needs one from " + strings.Join(missing, " and ")
	}
	return fmt.Sprintf("still needs %d more from %s", total-n, strings.Join(q.Groups, ", "))
}

// ---- who may answer ----

// MayApprove decides whether a person may approve or deny an approval: they
// must be in one of its quorum's groups, and not the incident's commander
// when the quorum excludes the initiator.
func (d *Directory) MayApprove(s *plan.Step, person, commander, incidentID string) *Refusal {
	q := s.Approval.Quorum
	if !d.InAny(person, q.Groups) {
		return Refuse(NotAuthorised, "%s may not answer %s: not in %s", person, s.ID, strings.Join(q.Groups, " or "))
	}
	if q.ExcludeInitiator && commander != "" && person == commander {
		return Refuse(SelfApproval, "%s started incident %s and may not answer %s (exclude_initiator: no self-approval)", person, incidentID, s.ID)
	}
	return nil
}

// MayCount decides whether one more approval from person would count
// towards the quorum, given the approvers so far: a person who already
// approved, or whose every group is already filled, would not.
func (d *Directory) MayCount(s *plan.Step, person string, approvers []string) *Refusal {
	q := s.Approval.Quorum
	for _, a := range approvers {
		if a == person {
			return Refuse(Duplicate, "%s has already approved %s; one person never counts twice (%s)", person, s.ID, d.QuorumNeed(q, approvers))
		}
	}
	before, _ := d.QuorumMatch(q, approvers)
	after, _ := d.QuorumMatch(q, append(append([]string(nil), approvers...), person))
	if after <= before {
		return Refuse(WouldNotCount, "%s's approval would not count: %s", person, d.QuorumNeed(q, approvers))
	}
	return nil
}

// Signed is who approved one approval, for the distinct_from rule.
type Signed struct {
	// Approval is the approval's step ID, e.g. "approval.isolate_ok".
	Approval string
	// People are the person IDs who approved it.
	People []string
}

// DistinctFrom returns the approvals whose approvers may not approve the
// approval id of p: those its distinct_from names and those whose
// distinct_from names it (the rule holds both ways, whichever is answered
// first), sorted, without repeats. It returns nil for any other step.
func DistinctFrom(p *plan.Plan, id string) []string {
	if p == nil {
		return nil
	}
	var out []string
	if s := p.StepByID(id); s != nil && s.Kind == plan.KindApproval && s.Approval != nil {
		out = append(out, s.Approval.DistinctFrom...)
	}
	for i := range p.Steps {
		o := &p.Steps[i]
		if o.ID != id && o.Kind == plan.KindApproval && o.Approval != nil && contains(o.Approval.DistinctFrom, id) {
			out = append(out, o.ID)
		}
	}
	sort.Strings(out)
	var uniq []string
	for i, x := range out {
		if x != id && (i == 0 || out[i-1] != x) {
			uniq = append(uniq, x)
		}
	}
	return uniq
}

// MayApproveDistinct decides whether person may approve approval s given
// who approved the approvals it must be distinct from (see DistinctFrom):
// someone who approved one of them may not approve s too (SameApprover).
func MayApproveDistinct(s *plan.Step, person string, signed []Signed) *Refusal {
	for _, o := range signed {
		if contains(o.People, person) {
			return Refuse(SameApprover, "%s approved %s and may not approve %s too: the playbook asks for different people on the two sign-offs (distinct_from); someone else must approve %s", person, o.Approval, s.ID, s.ID)
		}
	}
	return nil
}

// DisjointQuorums reports whether the people of two quorums' groups can
// make up both quorums with nobody in both (what distinct_from asks). It
// counts the initiator too, who may not be excluded at run time.
func (d *Directory) DisjointQuorums(a, b plan.Quorum) bool {
	var slots [][]string // each slot is filled by one distinct person from its principals
	for _, q := range []plan.Quorum{a, b} {
		if q.Rule == plan.QuorumOneFromEach {
			for _, g := range q.Groups {
				slots = append(slots, []string{g})
			}
			continue
		}
		for i := 0; i < Required(q); i++ {
			slots = append(slots, q.Groups)
		}
	}
	people := d.Expand(append(append([]string(nil), a.Groups...), b.Groups...))
	owner := make([]int, len(slots)) // slot -> person index, -1 when free
	for i := range owner {
		owner[i] = -1
	}
	var try func(p int, visited []bool) bool
	try = func(p int, visited []bool) bool {
		for sl := range slots {
			if visited[sl] || !d.InAny(people[p], slots[sl]) {
				continue
			}
			visited[sl] = true
			if owner[sl] < 0 || try(owner[sl], visited) {
				owner[sl] = p
				return true
			}
		}
		return false
	}
	n := 0
	for p := range people {
		if try(p, make([]bool, len(slots))) {
			n++
		}
	}
	return n >= len(slots)
}

// MayDecide decides whether a person may answer a decision with option.
func (d *Directory) MayDecide(s *plan.Step, person, option string) *Refusal {
	if !contains(d.Expand(s.Decision.Ask), person) {
		return Refuse(NotAuthorised, "%s may not decide %s: only %s", person, s.ID, strings.Join(s.Decision.Ask, ", "))
	}
	if !contains(s.Decision.Options, option) {
		return Refuse(UnknownOption, "%q is not an option of %s; options: %s", option, s.ID, strings.Join(s.Decision.Options, ", "))
	}
	return nil
}

// MayMarkDone decides whether a person may mark a task done: its assignees
// may, and so may the incident's commander.
func (d *Directory) MayMarkDone(s *plan.Step, person, commander string) *Refusal {
	if contains(d.Expand(s.Task.Assign), person) || (commander != "" && person == commander) {
		return nil
	}
	return Refuse(NotAuthorised, "%s may not mark %s done: it is assigned to %s", person, s.ID, strings.Join(s.Task.Assign, ", "))
}

// MayBreakGlassOn decides whether a person may force a safety approval:
// the approval must be a safety sign-off, the policy must have a
// break_glass block, and the person must be on one of its rosters.
func (d *Directory) MayBreakGlassOn(safety *plan.Safety, s *plan.Step, person string) *Refusal {
	if s.Approval.Kind != plan.ApprovalSafety {
		return Refuse(WrongKind, "break-glass forces safety sign-offs only; %s is a %s approval", s.ID, s.Approval.Kind)
	}
	if safety == nil || safety.BreakGlass == nil {
		return Refuse(NotAuthorised, "the safety policy has no break_glass block, so nobody may break glass")
	}
	if !d.MayBreakGlass(safety, person) {
		return Refuse(NotAuthorised, "%s may not break glass: only %s", person, strings.Join(safety.BreakGlass.Rosters, ", "))
	}
	return nil
}

// MayBreakGlass reports whether a person is on a break-glass roster.
func (d *Directory) MayBreakGlass(safety *plan.Safety, person string) bool {
	return safety != nil && safety.BreakGlass != nil && d.InAny(person, safety.BreakGlass.Rosters)
}

// MayCancel decides whether a person may cancel an incident: its commander
// may, and so may the break-glass rosters; anyone may cancel an incident
// started without a commander.
func (d *Directory) MayCancel(safety *plan.Safety, person, commander, incidentID string) *Refusal {
	if commander == "" || person == commander || d.MayBreakGlass(safety, person) {
		return nil
	}
	return Refuse(NotAuthorised, "%s may not cancel incident %s: only its commander (%s) or the break-glass rosters may", person, incidentID, commander)
}

// RequireReason refuses an answer that needs a reason and has none; what
// says what is being done ("denying approval.x", "cancelling an incident").
func RequireReason(answer, reason, what string) *Refusal {
	if !NeedsReason(answer) || strings.TrimSpace(reason) != "" {
		return nil
	}
	switch answer {
	case Deny:
		return Refuse(ReasonRequired, "%s needs a reason, for the people waiting on it and the timeline", what)
	case BreakGlass:
		return Refuse(ReasonRequired, "break-glass needs a reason: it is flagged for review after the incident")
	}
	return Refuse(ReasonRequired, "%s needs a reason, for the timeline", what)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// BySlack returns the ID of the declared person whose slack attribute is
// the given Slack user ID.
func (d *Directory) BySlack(userID string) (string, bool) {
	if userID == "" {
		return "", false
	}
	for _, id := range d.order {
		if d.people[id].Slack == userID {
			return id, true
		}
	}
	return "", false
}

// WithMembers returns a copy of the directory in which each named roster
// also has the given members (a user group's snapshot), after its
// declared ones and without repeats, and which also knows the given
// people (members the directory did not declare). Rosters it does not
// declare are ignored; people it declares keep their declaration.
func (d *Directory) WithMembers(snapshot map[string][]string, people ...plan.Person) *Directory {
	out := &Directory{people: d.people, rosters: make(map[string]plan.Roster, len(d.rosters)), order: d.order, rosterOrder: d.rosterOrder}
	if len(people) > 0 {
		out.people = make(map[string]plan.Person, len(d.people)+len(people))
		for _, id := range d.order {
			out.people[id] = d.people[id]
		}
		out.order = append([]string(nil), d.order...)
		for _, p := range people {
			if _, ok := out.people[p.ID]; !ok && p.ID != "" {
				out.people[p.ID] = p
				out.order = append(out.order, p.ID)
			}
		}
	}
	for _, id := range d.rosterOrder {
		r := d.rosters[id]
		extra, ok := snapshot[id]
		if ok {
			members := append([]string(nil), r.Members...)
			for _, m := range extra {
				if !slicesContains(members, m) {
					members = append(members, m)
				}
			}
			r.Members = members
		}
		out.rosters[id] = r
	}
	return out
}

// Usergroups lists the rosters filled from a Slack user group, as roster
// ID and user group ID pairs in roster ID order.
func (d *Directory) Usergroups() [][2]string {
	var out [][2]string
	for _, id := range d.rosterOrder {
		if r := d.rosters[id]; r.SlackUsergroup != "" {
			out = append(out, [2]string{id, r.SlackUsergroup})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// RegisterNotation says, for messages, how a holding register is written.
const RegisterNotation = "a holding register in Modbus notation: 40001 to 49999 (40001 is the first, protocol offset 0), or 400001 to 465536 for all 65536 (400001 is offset 0)"

// RegisterOffset returns the Modbus protocol offset, 0 to 65535, of a
// holding register written in the five-digit (4xxxx) or six-digit (4xxxxx)
// notation, as playbooks, zones' safe_state and exercises write registers,
// or a problem (a sentence starting "register N") when n is not one.
// Any other number is refused rather than guessed at: 100 could be a raw
// offset or a typo, 40001 is never a raw offset. The problem says which
// notation is meant and, where it can, what to write.
func RegisterOffset(n float64) (offset int, problem string) {
	switch {
	case n != math.Trunc(n) || math.IsInf(n, 0):
		return 0, fmt.Sprintf("register %v is not a whole number: write %s.", n, RegisterNotation)
	case n >= FirstRegister && n <= LastShortRegister:
		return int(n) - FirstRegister, ""
	case n >= FirstLongRegister && n <= MaxRegister:
		return int(n) - FirstLongRegister, ""
	case n >= 0 && n < FirstRegister:
		fix := ""
		if n <= LastShortRegister-FirstRegister {
			fix = fmt.Sprintf(" For protocol offset %d write %d.", int(n), FirstRegister+int(n))
		} else {
			fix = fmt.Sprintf(" For protocol offset %d write %d.", int(n), FirstLongRegister+int(n))
		}
		return 0, fmt.Sprintf("register %d is not in holding-register notation, and a raw protocol offset is not accepted: write %s.%s", int(n), RegisterNotation, fix)
	case n > LastShortRegister && n < FirstLongRegister:
		fix := ""
		if n <= MaxRegister-FirstLongRegister {
			fix = fmt.Sprintf(" If %d is a protocol offset, write %d.", int(n), FirstLongRegister+int(n))
		}
		return 0, fmt.Sprintf("register %d falls between the five-digit notation (up to 49999) and the six-digit one (from 400001): write %s.%s", int(n), RegisterNotation, fix)
	}
	return 0, fmt.Sprintf("register %v is outside the Modbus address space: write %s.", n, RegisterNotation)
}
