package evidence

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Trust is what Verify checks a document against: the organisation's own
// configuration, never the document.
type Trust struct {
	// Keys are the public keys the configuration declares.
	Keys []plan.Key
	// Directory says who belongs to which roster.
	Directory *rules.Directory
	// Safety is the configuration's safety policy; nil when it declares
	// none (then no safety-critical action can have been authorised).
	Safety *plan.Safety
	// Actions tells which actions are safety-critical; nil means
	// actions.Builtin().
	Actions actions.Registry
}

// Options relax Verify for exports of practice incidents.
type Options struct {
	// AllowUnattested reports unsigned answers and starts (firebreak dev and
	// demo incidents) as warnings instead of failures, and lets unsigned
	// approvals count towards a quorum.
	AllowUnattested bool
	// AllowUnsealed reports a document without a seal as a warning instead
	// of a failure.
	AllowUnsealed bool
}

// Results of a check.
const (
	Pass = "pass"
	Fail = "fail"
	// Warn is a finding that does not fail the document: an unattested
	// answer allowed by Options, a plan key the configuration does not
	// declare.
	Warn = "warn"
)

// Check names.
const (
	CheckFormat = "format"
	CheckSeal   = "seal"
	CheckRecord = "record"
	CheckKeys   = "keys"
	CheckAnswer = "answer"
	CheckSafety = "safety"
)

// Check is the outcome of one check.
type Check struct {
	// Check is what was checked: format, seal, record, keys, answer or
	// safety.
	Check string `json:"check"`
	// Result is pass, fail or warn.
	Result string `json:"result"`
	// Seq is the timeline event checked (answer and safety checks).
	Seq int `json:"seq,omitempty"`
	// Subject names the event or thing checked.
	Subject string `json:"subject,omitempty"`
	// Code is the rule-book code of a failed attestation check.
	Code string `json:"code,omitempty"`
	// Message says what was found.
	Message string `json:"message"`
}

// Report is the outcome of Verify.
type Report struct {
	// IncidentID is the incident the document exports ("" when it did not
	// parse).
	IncidentID string  `json:"incident_id,omitempty"`
	Checks     []Check `json:"checks"`
	Passed     int     `json:"passed"`
	Failed     int     `json:"failed"`
	Warnings   int     `json:"warnings"`
	// OK is true when no check failed.
	OK bool `json:"ok"`
}

func (r *Report) add(c Check) {
	r.Checks = append(r.Checks, c)
	switch c.Result {
	case Pass:
		r.Passed++
	case Fail:
		r.Failed++
	case Warn:
		r.Warnings++
	}
	r.OK = r.Failed == 0
}

// answerKinds maps the event kinds that record an answer to the answer an
// attestation of it names.
var answerKinds = map[string]string{
	workflows.EventAcknowledged: rules.Ack,
	workflows.EventApproved:     rules.Approve,
	workflows.EventDenied:       rules.Deny,
	workflows.EventDecided:      rules.Decide,
	workflows.EventTaskDone:     rules.Done,
	workflows.EventBreakGlass:   rules.BreakGlass,
	workflows.EventCancelled:    rules.Cancel,
}

// Verify checks an exported timeline: that its bytes are exactly the
// canonical encoding of what it holds; that its seal is a valid
// attestation, by a key the configuration trusts, of this document; that
// every answer and the start carry a valid attestation, by a key that may
// sign for the person, saying exactly what the event records; and that
// every safety-critical action was preceded by a sign-off the
// configuration's safety policy accepts, or by a break-glass from someone
// on its break-glass rosters.
func Verify(data []byte, trust Trust, opts Options) *Report {
	rep := &Report{Checks: []Check{}, OK: true}
	d, err := Decode(data)
	if err != nil {
		msg := err.Error()
		var fe *FormatError
		if errors.As(err, &fe) {
			msg = fe.Error()
		}
		rep.add(Check{Check: CheckFormat, Result: Fail, Message: msg})
		return rep
	}
	rep.IncidentID = d.IncidentID
	rep.add(Check{Check: CheckFormat, Result: Pass, Message: "the file is the canonical encoding of an exported timeline (format version 1)"})
	keys, errs := attest.NewKeyring(trust.Keys)
	for _, err := range errs {
		rep.add(Check{Check: CheckKeys, Result: Warn, Message: "a key of the configuration is not usable: " + err.Error()})
	}
	v := &verifier{d: d, trust: trust, opts: opts, keys: keys, rep: rep}
	if v.trust.Actions == nil {
		v.trust.Actions = actions.Builtin()
	}
	if v.trust.Directory == nil {
		v.trust.Directory = rules.NewDirectory(nil, nil)
	}
	v.seal()
	v.record()
	v.planKeys()
	v.answers()
	v.safety()
	return rep
}

type verifier struct {
	d     *Document
	trust Trust
	opts  Options
	keys  *attest.Keyring
	rep   *Report
	// counts[i] tells whether event i's answer may count: validly
	// attested, or unattested and allowed.
	counts []bool
	// initiator is the person who started the incident.
	initiator string
}

func (v *verifier) seal() {
	s := v.d.Seal
	if s == nil {
		res := Fail
		if v.opts.AllowUnsealed {
			res = Warn
		}
		v.rep.add(Check{Check: CheckSeal, Result: res, Message: "the document is not sealed: export it with --key-file to have it signed"})
		return
	}
	digest, err := SealDigest(v.d)
	if err != nil {
		v.rep.add(Check{Check: CheckSeal, Result: Fail, Message: "the document cannot be digested: " + err.Error()})
		return
	}
	subject := signerOf(s)
	fail := func(code rules.Code, format string, args ...any) {
		v.rep.add(Check{Check: CheckSeal, Result: Fail, Subject: subject, Code: string(code), Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case s.Answer != attest.Export:
		fail(rules.Replayed, "the seal is an attestation of %q, not of an export: it was taken from another record", s.Answer)
		return
	case s.Incident != v.d.IncidentID:
		fail(rules.Replayed, "the seal was made for incident %q, not %q", s.Incident, v.d.IncidentID)
		return
	}
	// The key first: whether a trusted key made the seal at all.
	if rf := v.keys.Verify(s); rf != nil {
		fail(rf.Code, "%s", rf.Message)
		return
	}
	if s.ReasonSHA256 != digest {
		fail(rules.Tampered, "the document was changed after %s sealed it: its digest is %s, the seal signs %s", subject, digest[:16]+"...", clip(s.ReasonSHA256, 16))
		return
	}
	v.rep.add(Check{Check: CheckSeal, Result: Pass, Subject: subject,
		Message: fmt.Sprintf("sealed by %s at %s over the document's digest", subject, stamp(s.SignedAt))})
}

// record checks that the parts of the document speak of one incident.
func (v *verifier) record() {
	d := v.d
	var bad []string
	if d.Timeline.IncidentID != d.IncidentID {
		bad = append(bad, fmt.Sprintf("the timeline is of incident %q", d.Timeline.IncidentID))
	}
	if d.Status.IncidentID != d.IncidentID {
		bad = append(bad, fmt.Sprintf("the status is of incident %q", d.Status.IncidentID))
	}
	if d.Status.Playbook != d.Timeline.Playbook {
		bad = append(bad, fmt.Sprintf("the status names playbook %q and the timeline %q", d.Status.Playbook, d.Timeline.Playbook))
	}
	last := 0
	for _, e := range d.Timeline.Events {
		if e.Seq <= last {
			bad = append(bad, fmt.Sprintf("event %d follows event %d: events are numbered in order", e.Seq, last))
			break
		}
		last = e.Seq
	}
	if len(bad) > 0 {
		v.rep.add(Check{Check: CheckRecord, Result: Fail, Message: strings.Join(bad, "; ")})
		return
	}
	v.rep.add(Check{Check: CheckRecord, Result: Pass, Message: fmt.Sprintf("incident %s, playbook %s, %d events in order", d.IncidentID, d.Timeline.Playbook, len(d.Timeline.Events))})
}

// planKeys compares the keys the incident's plan trusted with the
// configuration's. A difference does not fail the document (keys are
// rotated), but a signature by a key only the plan trusted does.
func (v *verifier) planKeys() {
	var other []string
	for _, k := range v.d.Keys {
		if !v.trusts(k) {
			other = append(other, k.ID)
		}
	}
	if len(other) > 0 {
		v.rep.add(Check{Check: CheckKeys, Result: Warn, Message: fmt.Sprintf("the incident's plan trusted %s, which the configuration does not declare with the same public key; answers signed with them do not verify here", strings.Join(other, ", "))})
		return
	}
	v.rep.add(Check{Check: CheckKeys, Result: Pass, Message: fmt.Sprintf("the incident's plan trusted %d key(s), all declared by the configuration", len(v.d.Keys))})
}

func (v *verifier) trusts(k plan.Key) bool {
	for _, c := range v.trust.Keys {
		if c.ID == k.ID && c.Person == k.Person && strings.TrimSpace(c.PublicKey) == strings.TrimSpace(k.PublicKey) {
			return true
		}
	}
	return false
}

// isAnswer reports whether an event records an answer or the start, and
// which answer its attestation must name.
func isAnswer(e workflows.Event) (string, bool) {
	switch e.Kind {
	case workflows.EventIncidentStarted:
		return attest.Start, true
	case workflows.EventRefused:
		// A refusal the incident recorded itself carries the refused
		// answer's attestation, and its detail starts with the answer.
		if e.Attestation == nil && !e.Unattested {
			return "", false
		}
		update, _, ok := strings.Cut(e.Detail, " refused: ")
		if !ok {
			return "", true
		}
		return update, true
	case workflows.EventCancelled:
		// A step cancelled by the cancel is not an answer; the cancel is.
		if e.Person == "" && e.Attestation == nil && !e.Unattested {
			return "", false
		}
	}
	a, ok := answerKinds[e.Kind]
	return a, ok
}

func (v *verifier) answers() {
	tl := v.d.Timeline
	v.counts = make([]bool, len(tl.Events))
	for i, e := range tl.Events {
		if e.Kind == workflows.EventIncidentStarted && v.initiator == "" {
			v.initiator = e.Person
		}
		answer, ok := isAnswer(e)
		if !ok {
			continue
		}
		subject := eventSubject(e)
		if e.Attestation == nil {
			res := Fail
			msg := "unattested: the " + what(e) + " carries no signature"
			if v.opts.AllowUnattested {
				res = Warn
				v.counts[i] = true
				msg += " (allowed by --allow-unattested)"
			}
			v.rep.add(Check{Check: CheckAnswer, Result: res, Seq: e.Seq, Subject: subject, Code: string(rules.NotAttested), Message: msg})
			continue
		}
		want := attest.Want{
			Incident: v.d.IncidentID, Step: e.Step, Round: e.Round, Person: e.Person, Answer: answer,
			Option: e.Option, Reason: e.Reason, Channel: e.Channel,
		}
		if e.Kind == workflows.EventRefused && e.Attestation.Answer == attest.Refused {
			// A front door's own refusal: it signs the refused update as
			// the option and the refusal message as the reason, and
			// nothing of the refused answer's option or reason.
			update, message, _ := strings.Cut(e.Detail, " refused: ")
			if person, ok := v.keys.Trusted(e.Attestation.Signer); ok && person != "" {
				v.rep.add(Check{Check: CheckAnswer, Result: Fail, Seq: e.Seq, Subject: subject, Code: string(rules.UntrustedKey),
					Message: fmt.Sprintf("the refusal is signed with %s's own key; only a front door signs a refusal it made itself", person)})
				continue
			}
			if e.Option != "" || e.Reason != "" {
				v.rep.add(Check{Check: CheckAnswer, Result: Fail, Seq: e.Seq, Subject: subject, Code: string(rules.Tampered),
					Message: "the refusal records an option or reason that the front door's signature does not cover"})
				continue
			}
			want.Answer, want.Option, want.Reason = attest.Refused, update, message
		}
		if e.Kind == workflows.EventIncidentStarted {
			want.Step = workflows.StartStep(tl.Playbook)
			want.Option = ""
			if tl.Exercise {
				want.Option = workflows.ExerciseOption
			}
			want.ReasonSHA256 = v.d.StartSHA256
			if want.ReasonSHA256 == "" {
				v.rep.add(Check{Check: CheckAnswer, Result: Fail, Seq: e.Seq, Subject: subject, Code: string(rules.Tampered), Message: "the document does not say which plan the incident ran (start_sha256 is empty), so the start's signature of it cannot be checked"})
				continue
			}
		}
		// The record's own time is the verifier's clock: an answer signed
		// after it was recorded, or too long before, is refused as the
		// incident itself would have refused it.
		if rf := v.keys.Check(e.Attestation, want, attest.Times{Now: e.At, MaxAge: attest.Window}); rf != nil {
			v.rep.add(Check{Check: CheckAnswer, Result: Fail, Seq: e.Seq, Subject: subject, Code: string(rf.Code), Message: rf.Message})
			continue
		}
		v.counts[i] = true
		v.rep.add(Check{Check: CheckAnswer, Result: Pass, Seq: e.Seq, Subject: subject,
			Message: fmt.Sprintf("signed by %s at %s", signerOf(e.Attestation), stamp(e.Attestation.SignedAt))})
	}
}

// safety checks every safety-critical action: each authorised event
// against the configuration's policy, and each safety-critical step that
// ran for an authorised event before it.
func (v *verifier) safety() {
	evs := v.d.Timeline.Events
	checked := 0
	for i, e := range evs {
		switch e.Kind {
		case workflows.EventAuthorised:
			checked++
			v.authorised(i)
		case workflows.EventStepFinished, workflows.EventIterationFinished:
			started := v.startedAt(i)
			if started < 0 {
				continue
			}
			if e.Kind == workflows.EventStepFinished && !strings.HasPrefix(e.Detail, workflows.StepDone) {
				continue
			}
			if strings.HasSuffix(evs[started].Detail, " for 0 item(s)") {
				continue
			}
			action := actionOf(evs[started])
			if spec, ok := v.trust.Actions.Lookup(action); !ok || !spec.SafetyCritical {
				continue
			}
			checked++
			if !v.authorisedBefore(started, i, e) {
				v.rep.add(Check{Check: CheckSafety, Result: Fail, Seq: e.Seq, Subject: eventSubject(e),
					Message: fmt.Sprintf("the safety-critical action %s ran with no authorised sign-off recorded before it", action)})
			}
		}
	}
	if checked == 0 {
		v.rep.add(Check{Check: CheckSafety, Result: Pass, Message: "no safety-critical action ran in this incident"})
	}
}

// startedAt finds the step_started event of the step event i finished.
func (v *verifier) startedAt(i int) int {
	evs := v.d.Timeline.Events
	for j := i - 1; j >= 0; j-- {
		if evs[j].Kind == workflows.EventStepStarted && evs[j].Step == evs[i].Step {
			return j
		}
	}
	return -1
}

// authorisedBefore reports whether an authorised event for the finished
// step (and for the same iteration, when an iteration finished) lies
// between the step's start and its finish.
func (v *verifier) authorisedBefore(started, finished int, e workflows.Event) bool {
	for _, a := range v.d.Timeline.Events[started+1 : finished] {
		if a.Kind == workflows.EventAuthorised && a.Step == e.Step &&
			(e.Kind == workflows.EventStepFinished || a.Iteration == e.Iteration) {
			return true
		}
	}
	return false
}

// actionOf is the registry action a step_started event names: its Action,
// or for a record made before interpreter v6 the first word of its detail.
func actionOf(e workflows.Event) string {
	if e.Action != "" {
		return e.Action
	}
	a, _, _ := strings.Cut(e.Detail, " ")
	return a
}

// authorised checks the sign-off an authorised event names.
func (v *verifier) authorised(i int) {
	evs := v.d.Timeline.Events
	e := evs[i]
	subject := eventSubject(e)
	fail := func(format string, args ...any) {
		v.rep.add(Check{Check: CheckSafety, Result: Fail, Seq: e.Seq, Subject: subject, Message: fmt.Sprintf(format, args...)})
	}
	safety := v.trust.Safety
	if e.BreakGlass {
		v.breakGlass(i, fail)
		return
	}
	if safety == nil {
		fail("%s was authorised by %s round %d, but the configuration declares no safety sign-off policy, so no sign-off can authorise it", e.Action, e.Signoff, e.Round)
		return
	}
	q := safety.Signoff
	var people []string
	var at []time.Time
	var dropped []string
	for j, a := range evs[:i] {
		if a.Kind != workflows.EventApproved || a.Step != e.Signoff || a.Round != e.Round {
			continue
		}
		switch {
		case !v.counts[j]:
			dropped = append(dropped, fmt.Sprintf("%s (event %d is not validly attested)", a.Person, a.Seq))
		case slices.Contains(people, a.Person):
			dropped = append(dropped, fmt.Sprintf("%s (event %d: already approved)", a.Person, a.Seq))
		case q.ExcludeInitiator && a.Person == v.initiator:
			dropped = append(dropped, fmt.Sprintf("%s (event %d: started the incident, and exclude_initiator is set)", a.Person, a.Seq))
		default:
			people = append(people, a.Person)
			at = append(at, a.At)
		}
	}
	dir := v.trust.Directory
	n, groups := dir.QuorumMatch(q, people)
	need := rules.Required(q)
	var who []string
	var granted time.Time
	for k, p := range people {
		if groups[k] == "" {
			dropped = append(dropped, p+" (in none of the sign-off's rosters)")
			continue
		}
		who = append(who, p+" ("+groups[k]+")")
		if at[k].After(granted) {
			granted = at[k]
		}
	}
	note := ""
	if len(dropped) > 0 {
		note = "; not counted: " + strings.Join(dropped, ", ")
	}
	if n < need {
		fail("%s was authorised by %s round %d, and the approvals before it do not meet the safety policy (%s): %s%s",
			e.Action, e.Signoff, e.Round, strings.Join(q.Groups, " and "), dir.QuorumNeed(q, people), note)
		return
	}
	if vf := q.ValidFor.Std(); vf > 0 && e.At.Sub(granted) > vf {
		fail("%s ran at %s on a sign-off complete at %s, older than the policy's valid_for (%s)", e.Action, stamp(e.At), stamp(granted), vf)
		return
	}
	v.rep.add(Check{Check: CheckSafety, Result: Pass, Seq: e.Seq, Subject: subject,
		Message: fmt.Sprintf("%s preceded by %s round %d, signed off by %s%s", e.Action, e.Signoff, e.Round, strings.Join(who, ", "), note)})
}

// breakGlass checks an authorised event forced by break-glass.
func (v *verifier) breakGlass(i int, fail func(string, ...any)) {
	evs := v.d.Timeline.Events
	e := evs[i]
	j := -1
	for k := i - 1; k >= 0; k-- {
		if evs[k].Kind == workflows.EventBreakGlass && evs[k].Step == e.Signoff {
			j = k
			break
		}
	}
	if j < 0 {
		fail("%s was forced by break-glass on %s, and no break-glass answer on %s is recorded before it", e.Action, e.Signoff, e.Signoff)
		return
	}
	bg := evs[j]
	safety := v.trust.Safety
	switch {
	case !v.counts[j]:
		fail("%s was forced by break-glass (event %d, %s), which is not validly attested", e.Action, bg.Seq, bg.Person)
	case !v.trust.Directory.MayBreakGlass(safety, bg.Person):
		rosters := "nobody (the configuration has no break_glass block)"
		if safety != nil && safety.BreakGlass != nil {
			rosters = strings.Join(safety.BreakGlass.Rosters, ", ")
		}
		fail("%s was forced by break-glass by %s (event %d), who is not on a break-glass roster: only %s may", e.Action, bg.Person, bg.Seq, rosters)
	case safety.BreakGlass.RequireReason && strings.TrimSpace(bg.Reason) == "":
		fail("%s was forced by break-glass by %s (event %d) without the reason the policy requires", e.Action, bg.Person, bg.Seq)
	default:
		v.rep.add(Check{Check: CheckSafety, Result: Pass, Seq: e.Seq, Subject: eventSubject(e),
			Message: fmt.Sprintf("%s forced by break-glass on %s by %s (event %d), on a break-glass roster", e.Action, e.Signoff, bg.Person, bg.Seq)})
	}
}

func what(e workflows.Event) string {
	if e.Kind == workflows.EventIncidentStarted {
		return "start"
	}
	return "answer"
}

// eventSubject names an event: "approved approval.isolate_ok (ines)".
func eventSubject(e workflows.Event) string {
	s := e.Kind
	if e.Step != "" {
		s += " " + e.Step
		if e.Iteration != "" {
			s += "[" + e.Iteration + "]"
		}
	}
	if e.Round > 0 {
		s += fmt.Sprintf(" round %d", e.Round)
	}
	if e.Person != "" {
		s += " (" + e.Person + ")"
	}
	return s
}

// signerOf names an attestation's signer compactly: "person.alice", or
// "slack.main for ines" for a front door.
func signerOf(a *attest.Attestation) string {
	if a.Signer == "person."+a.Person {
		return a.Signer
	}
	return a.Signer + " for " + a.Person
}

// SignerOf names an attestation's signer compactly, as reports show it:
// "person.alice" for a person's own key, "slack.main for ines" for a front
// door's.
func SignerOf(a *attest.Attestation) string { return signerOf(a) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
