package evidence_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/evidence"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

const (
	incidentID = "INC-20261201-0001"
	playbook   = "ot_ransomware_containment"
	approval   = "approval.isolate_ok"
	isolate    = "step.isolate_plant3"
)

// fixture is an organisation (people, rosters, safety policy, keys) and an
// incident timeline whose answers are signed with its keys.
type fixture struct {
	t       testing.TB
	signers map[string]*attest.Signer
	trust   evidence.Trust
	doc     *evidence.Document
	clock   time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, signers: map[string]*attest.Signer{}, clock: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	people := []string{"alice", "sam", "olga", "carol", "bob"}
	var keys []plan.Key
	var ps []plan.Person
	for _, p := range people {
		s, err := attest.GenerateKey("person." + p)
		if err != nil {
			t.Fatal(err)
		}
		f.signers[s.ID] = s
		keys = append(keys, plan.Key{ID: s.ID, Person: p, PublicKey: s.Public()})
		ps = append(ps, plan.Person{ID: p})
	}
	slack, err := attest.GenerateKey("slack.main")
	if err != nil {
		t.Fatal(err)
	}
	f.signers[slack.ID] = slack
	keys = append(keys, plan.Key{ID: slack.ID, PublicKey: slack.Public()})
	f.trust = evidence.Trust{
		Keys: keys,
		Directory: rules.NewDirectory(ps, []plan.Roster{
			{ID: "soc_oncall", Members: []string{"alice", "bob"}},
			{ID: "process_safety", Members: []string{"sam"}},
			{ID: "ot_operations", Members: []string{"olga", "alice"}},
			{ID: "plant_manager", Members: []string{"carol"}},
		}),
		Safety: &plan.Safety{
			Signoff: plan.Quorum{Rule: plan.QuorumOneFromEach, Count: 2, Groups: []string{"roster.process_safety", "roster.ot_operations"},
				ExcludeInitiator: true, ValidFor: plan.Duration(30 * time.Minute)},
			BreakGlass: &plan.BreakGlass{Rosters: []string{"roster.plant_manager"}, RequireReason: true},
		},
	}
	f.doc = &evidence.Document{
		FormatVersion: evidence.FormatVersion,
		IncidentID:    incidentID,
		ExportedAt:    f.clock.Add(2 * time.Hour),
		StartSHA256:   attest.Digest("the plan"),
		Keys:          keys,
		Status: workflows.Status{IncidentID: incidentID, Playbook: playbook, State: workflows.StateCompleted, Commander: "alice",
			StartedAt: f.clock, Runs: 1, Steps: []workflows.StepStatus{
				{ID: approval, Kind: plan.KindApproval, State: workflows.StepDone, Round: 1},
				{ID: isolate, Kind: plan.KindStep, State: workflows.StepDone},
			}},
		Timeline: workflows.Timeline{IncidentID: incidentID, Playbook: playbook},
	}
	start := f.event(workflows.Event{Kind: workflows.EventIncidentStarted, Person: "alice", Channel: workflows.ChannelCLI, Detail: "started by alice"})
	start.Attestation = f.signers["person.alice"].Sign(attest.Claim{
		Incident: incidentID, Step: workflows.StartStep(playbook), Person: "alice", Answer: attest.Start,
		ReasonSHA256: f.doc.StartSHA256, Channel: workflows.ChannelCLI,
	}, start.At.Add(-time.Second))
	f.event(workflows.Event{Kind: workflows.EventStepStarted, Step: approval})
	f.answer(workflows.EventApproved, approval, 1, "sam", "slack.main", workflows.ChannelSlack, "").Roster = "roster.process_safety"
	f.answer(workflows.EventApproved, approval, 1, "olga", "person.olga", workflows.ChannelCLI, "").Roster = "roster.ot_operations"
	f.event(workflows.Event{Kind: workflows.EventStepFinished, Step: approval, Detail: "done: approved by sam, olga"})
	f.event(workflows.Event{Kind: workflows.EventStepStarted, Step: isolate, Action: "ot.isolate_zone", Detail: "ot.isolate_zone"})
	f.event(workflows.Event{Kind: workflows.EventAuthorised, Step: isolate, Signoff: approval, Round: 1, Action: "ot.isolate_zone",
		Detail: "approval.isolate_ok round 1 signed off by sam (roster.process_safety), olga (roster.ot_operations)"})
	f.event(workflows.Event{Kind: workflows.EventStepFinished, Step: isolate, Detail: "done: cut 3 conduits"})
	rf := f.answer(workflows.EventRefused, approval, 1, "bob", "person.bob", workflows.ChannelCLI, "")
	rf.Detail = "approve refused: incident finished"
	rf.Code = string(rules.IncidentFinished)
	f.doc.Timeline.Refusals = []workflows.RefusalCount{{Person: "bob", Code: rf.Code, Count: 1, First: rf.At, Last: rf.At}}
	f.event(workflows.Event{Kind: workflows.EventIncidentFinished, Detail: workflows.StateCompleted})
	return f
}

// event appends an event a minute after the previous one.
func (f *fixture) event(e workflows.Event) *workflows.Event {
	evs := &f.doc.Timeline.Events
	f.clock = f.clock.Add(time.Minute)
	e.Seq = len(*evs) + 1
	e.At = f.clock
	*evs = append(*evs, e)
	return &(*evs)[len(*evs)-1]
}

// answer appends an answer event signed by key, as the incident records it.
func (f *fixture) answer(kind, step string, round int, person, key, channel, reason string) *workflows.Event {
	e := f.event(workflows.Event{Kind: kind, Step: step, Round: round, Person: person, Channel: channel, Reason: reason, Detail: reason})
	answer := map[string]string{
		workflows.EventApproved: rules.Approve, workflows.EventBreakGlass: rules.BreakGlass,
		workflows.EventRefused: rules.Approve, workflows.EventDenied: rules.Deny,
	}[kind]
	e.Attestation = f.sign(key, attest.Claim{Incident: incidentID, Step: step, Round: round, Person: person, Answer: answer,
		ReasonSHA256: attest.Digest(reason), Channel: channel}, e.At.Add(-10*time.Second))
	return e
}

func (f *fixture) sign(key string, c attest.Claim, at time.Time) *attest.Attestation {
	s := f.signers[key]
	if s == nil {
		f.t.Fatalf("no key %s", key)
	}
	c.SignedAt = at
	return s.Sign(c, at)
}

// find returns the event of a kind by a person.
func (f *fixture) find(kind, person string) *workflows.Event {
	for i := range f.doc.Timeline.Events {
		e := &f.doc.Timeline.Events[i]
		if e.Kind == kind && e.Person == person {
			return e
		}
	}
	f.t.Fatalf("no %s event by %q", kind, person)
	return nil
}

// sealed returns the document sealed by alice and encoded.
func (f *fixture) sealed() []byte {
	f.t.Helper()
	if err := f.doc.SealWith(f.signers["person.alice"], "alice", f.doc.ExportedAt); err != nil {
		f.t.Fatal(err)
	}
	return f.encode()
}

func (f *fixture) encode() []byte {
	f.t.Helper()
	b, err := evidence.Encode(f.doc)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func report(r *evidence.Report) string {
	var b bytes.Buffer
	_ = r.WriteText(&b, "timeline.json")
	return b.String()
}

// failed returns the failed checks of a kind.
func failed(r *evidence.Report, check string) []evidence.Check {
	var out []evidence.Check
	for _, c := range r.Checks {
		if c.Result == evidence.Fail && c.Check == check {
			out = append(out, c)
		}
	}
	return out
}

func TestExportedTimelineVerifies(t *testing.T) {
	f := newFixture(t)
	r := evidence.Verify(f.sealed(), f.trust, evidence.Options{})
	if !r.OK || r.Failed != 0 || r.Warnings != 0 {
		t.Fatalf("a sealed, fully signed timeline does not verify:\n%s", report(r))
	}
	// One check each for format, seal, record and keys, one per answer
	// (start, two approvals, the attested refusal), one for the action.
	if r.Passed != 9 {
		t.Errorf("passed %d checks, want 9:\n%s", r.Passed, report(r))
	}
	out := report(r)
	for _, want := range []string{"PASS  seal", "sealed by person.alice", "signed by slack.main for sam", "ot.isolate_zone preceded by approval.isolate_ok round 1, signed off by sam (roster.process_safety), olga (roster.ot_operations)", "0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

func TestEncodingRoundTrips(t *testing.T) {
	f := newFixture(t)
	b := f.sealed()
	d, err := evidence.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := evidence.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Fatal("decoding and encoding again changed the bytes")
	}
}

// TestOneByteChangedFails flips bytes of a sealed export: named places
// first (a detail, a person, a signature, white space), then every byte.
func TestOneByteChangedFails(t *testing.T) {
	f := newFixture(t)
	good := f.sealed()
	at := func(needle string, skip int) int {
		i := bytes.Index(good, []byte(needle))
		if i < 0 {
			t.Fatalf("%q is not in the export", needle)
		}
		return i + skip
	}
	named := map[string]int{
		"a detail":      at(`"detail": "done: cut 3`, len(`"detail": "done: cut `)),
		"a person":      at(`"person": "olga"`, len(`"person": "o`)),
		"a signature":   at(`"signature": "`, len(`"signature": "`)+5),
		"white space":   at("\n  \"incident_id\"", 1),
		"a round":       at(`"round": 1`, len(`"round": `)),
		"a time":        at(`"signed_at": "2026`, len(`"signed_at": "20`)),
		"the seal's ID": at(`"seal": {`, len(`"seal": {`)+20),
	}
	for name, i := range named {
		for _, to := range []byte{' ', '\t', 'x', '4', '0'} {
			if good[i] == to {
				continue
			}
			bad := bytes.Clone(good)
			bad[i] = to
			if r := evidence.Verify(bad, f.trust, evidence.Options{}); r.OK {
				t.Errorf("changing %s (byte %d, %q to %q) still verifies:\n%s", name, i, good[i], to, report(r))
			}
		}
	}
	step := 1
	if testing.Short() {
		step = 13
	}
	for i := 0; i < len(good); i += step {
		bad := bytes.Clone(good)
		bad[i] ^= 0x01
		if r := evidence.Verify(bad, f.trust, evidence.Options{}); r.OK {
			t.Fatalf("flipping byte %d (%q) still verifies", i, good[i])
		}
	}
	// Removing the trailing newline or adding anything after the document.
	for _, bad := range [][]byte{good[:len(good)-1], append(bytes.Clone(good), '\n'), append(bytes.Clone(good), "{}"...)} {
		if r := evidence.Verify(bad, f.trust, evidence.Options{}); r.OK || len(failed(r, evidence.CheckFormat)) != 1 {
			t.Errorf("a document with its end changed passes the format check:\n%s", report(r))
		}
	}
}

func TestUnknownFieldFails(t *testing.T) {
	f := newFixture(t)
	good := f.sealed()
	bad := bytes.Replace(good, []byte(`"format_version": 1,`), []byte(`"format_version": 1, "extra": true,`), 1)
	r := evidence.Verify(bad, f.trust, evidence.Options{})
	if c := failed(r, evidence.CheckFormat); len(c) != 1 || !strings.Contains(c[0].Message, "extra") {
		t.Fatalf("an unknown field is not refused by name:\n%s", report(r))
	}
}

// TestAnswerChecks tampers with the record and encodes it afresh, unsealed,
// so that each answer check is seen failing on its own.
func TestAnswerChecks(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *fixture)
		code   rules.Code
	}{
		{"reason edited", func(f *fixture) { f.find(workflows.EventApproved, "olga").Reason = "looks fine" }, rules.Tampered},
		{"person edited", func(f *fixture) { f.find(workflows.EventApproved, "sam").Person = "carol" }, rules.Replayed},
		{"round edited", func(f *fixture) { f.find(workflows.EventApproved, "sam").Round = 2 }, rules.Replayed},
		{"step edited", func(f *fixture) { f.find(workflows.EventApproved, "olga").Step = "approval.other" }, rules.Replayed},
		{"another's key", func(f *fixture) {
			e := f.find(workflows.EventApproved, "olga")
			e.Attestation = f.sign("person.bob", e.Attestation.Claim, e.Attestation.SignedAt)
		}, rules.UntrustedKey},
		{"untrusted key", func(f *fixture) {
			rogue, err := attest.GenerateKey("slack.rogue")
			if err != nil {
				t.Fatal(err)
			}
			e := f.find(workflows.EventApproved, "sam")
			e.Attestation = rogue.Sign(e.Attestation.Claim, e.Attestation.SignedAt)
		}, rules.UntrustedKey},
		{"signature edited", func(f *fixture) {
			e := f.find(workflows.EventApproved, "sam")
			sig := []byte(e.Attestation.Signature)
			sig[3] ^= 0x02
			e.Attestation.Signature = string(sig)
		}, rules.Tampered},
		{"signed after it was recorded", func(f *fixture) {
			e := f.find(workflows.EventApproved, "olga")
			e.Attestation = f.sign("person.olga", e.Attestation.Claim, e.At.Add(10*time.Minute))
		}, rules.Expired},
		{"start of another plan", func(f *fixture) { f.doc.StartSHA256 = attest.Digest("another plan") }, rules.Tampered},
		{"refused answer's kind edited", func(f *fixture) { f.find(workflows.EventRefused, "bob").Detail = "deny refused: incident finished" }, rules.Replayed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.change(f)
			r := evidence.Verify(f.encode(), f.trust, evidence.Options{AllowUnsealed: true})
			c := failed(r, evidence.CheckAnswer)
			if r.OK || len(c) != 1 || c[0].Code != string(tc.code) {
				t.Fatalf("want one answer check failing with %s:\n%s", tc.code, report(r))
			}
		})
	}
}

func TestUnattestedAnswers(t *testing.T) {
	f := newFixture(t)
	e := f.find(workflows.EventApproved, "olga")
	e.Attestation, e.Unattested = nil, true
	b := f.encode()
	r := evidence.Verify(b, f.trust, evidence.Options{AllowUnsealed: true})
	if a, s := failed(r, evidence.CheckAnswer), failed(r, evidence.CheckSafety); len(a) != 1 || a[0].Code != string(rules.NotAttested) ||
		!strings.Contains(a[0].Message, "unattested") || len(s) != 1 {
		t.Fatalf("an unattested approval must fail, and so must the quorum resting on it:\n%s", report(r))
	}
	r = evidence.Verify(b, f.trust, evidence.Options{AllowUnsealed: true, AllowUnattested: true})
	if !r.OK || r.Warnings != 2 {
		t.Fatalf("--allow-unattested makes it a warning and lets it count:\n%s", report(r))
	}
}

func TestQuorumChecks(t *testing.T) {
	drop := func(f *fixture, kind, person string) {
		evs := f.doc.Timeline.Events[:0]
		for _, e := range f.doc.Timeline.Events {
			if e.Kind != kind || e.Person != person {
				evs = append(evs, e)
			}
		}
		f.doc.Timeline.Events = evs
	}
	cases := []struct {
		name   string
		change func(f *fixture)
		want   string
	}{
		{"short", func(f *fixture) { drop(f, workflows.EventApproved, "olga") }, "still needs one from roster.ot_operations"},
		{"the initiator approves", func(f *fixture) {
			e := f.find(workflows.EventApproved, "olga")
			e.Person = "alice"
			e.Attestation = f.sign("person.alice", attest.Claim{Incident: incidentID, Step: approval, Round: 1, Person: "alice",
				Answer: rules.Approve, ReasonSHA256: attest.Digest(""), Channel: e.Channel}, e.At.Add(-time.Second))
		}, "exclude_initiator"},
		{"one person twice", func(f *fixture) {
			e := f.find(workflows.EventApproved, "olga")
			e.Person, e.Channel = "sam", workflows.ChannelSlack
			e.Attestation = f.sign("slack.main", attest.Claim{Incident: incidentID, Step: approval, Round: 1, Person: "sam",
				Answer: rules.Approve, ReasonSHA256: attest.Digest(""), Channel: e.Channel}, e.At.Add(-time.Second))
		}, "already approved"},
		{"off the rosters", func(f *fixture) {
			e := f.find(workflows.EventApproved, "olga")
			e.Person = "bob"
			e.Attestation = f.sign("person.bob", attest.Claim{Incident: incidentID, Step: approval, Round: 1, Person: "bob",
				Answer: rules.Approve, ReasonSHA256: attest.Digest(""), Channel: e.Channel}, e.At.Add(-time.Second))
		}, "in none of the sign-off's rosters"},
		{"another round", func(f *fixture) {
			for i := range f.doc.Timeline.Events {
				if e := &f.doc.Timeline.Events[i]; e.Kind == workflows.EventAuthorised {
					e.Round = 2
				}
			}
		}, "round 2"},
		{"not attested", func(f *fixture) {
			e := f.find(workflows.EventApproved, "sam")
			e.Attestation = f.sign("person.olga", e.Attestation.Claim, e.Attestation.SignedAt)
		}, "not validly attested"},
		{"stale", func(f *fixture) {
			for i := range f.doc.Timeline.Events {
				if e := &f.doc.Timeline.Events[i]; e.Kind == workflows.EventAuthorised {
					e.At = e.At.Add(time.Hour)
				}
			}
		}, "valid_for"},
		{"no policy", func(f *fixture) { f.trust.Safety = nil }, "no safety sign-off policy"},
		{"no authorised event", func(f *fixture) { drop(f, workflows.EventAuthorised, "") }, "ran with no authorised sign-off"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.change(f)
			r := evidence.Verify(f.encode(), f.trust, evidence.Options{AllowUnsealed: true})
			c := failed(r, evidence.CheckSafety)
			if r.OK || len(c) != 1 || !strings.Contains(c[0].Message, tc.want) {
				t.Fatalf("want the safety check failing with %q:\n%s", tc.want, report(r))
			}
		})
	}
}

func TestBreakGlass(t *testing.T) {
	for _, tc := range []struct {
		person, reason string
		ok             bool
		want           string
	}{
		{"carol", "plant 3 is encrypting", true, "forced by break-glass on approval.isolate_ok by carol"},
		{"bob", "plant 3 is encrypting", false, "not on a break-glass roster: only roster.plant_manager"},
		{"carol", "", false, "without the reason"},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.person, tc.ok), func(t *testing.T) {
			f := newFixture(t)
			evs := f.doc.Timeline.Events
			// Replace the sign-off by a break-glass: the approvals go, a
			// break_glass answer comes before the forced action.
			var out []workflows.Event
			for _, e := range evs {
				switch e.Kind {
				case workflows.EventApproved:
					continue
				case workflows.EventAuthorised:
					e.BreakGlass = true
				}
				out = append(out, e)
			}
			rest := append([]workflows.Event(nil), out[2:]...)
			f.doc.Timeline.Events = append([]workflows.Event(nil), out[:2]...)
			bg := f.answer(workflows.EventBreakGlass, approval, 1, tc.person, "person."+tc.person, workflows.ChannelCLI, tc.reason)
			bg.BreakGlass = true
			for _, e := range rest {
				e.Seq = len(f.doc.Timeline.Events) + 1
				f.doc.Timeline.Events = append(f.doc.Timeline.Events, e)
			}
			r := evidence.Verify(f.encode(), f.trust, evidence.Options{AllowUnsealed: true})
			out2 := report(r)
			if r.OK != tc.ok || !strings.Contains(out2, tc.want) {
				t.Fatalf("want ok=%v and %q:\n%s", tc.ok, tc.want, out2)
			}
		})
	}
}

func TestSealChecks(t *testing.T) {
	f := newFixture(t)
	r := evidence.Verify(f.encode(), f.trust, evidence.Options{})
	if c := failed(r, evidence.CheckSeal); r.OK || len(c) != 1 || !strings.Contains(c[0].Message, "not sealed") {
		t.Fatalf("an unsealed document must fail unless allowed:\n%s", report(r))
	}
	if r := evidence.Verify(f.encode(), f.trust, evidence.Options{AllowUnsealed: true}); !r.OK || r.Warnings != 1 {
		t.Fatalf("--allow-unsealed makes it a warning:\n%s", report(r))
	}

	// Sealed with a key the configuration does not trust.
	rogue, err := attest.GenerateKey("person.mallory")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.doc.SealWith(rogue, "mallory", f.doc.ExportedAt); err != nil {
		t.Fatal(err)
	}
	r = evidence.Verify(f.encode(), f.trust, evidence.Options{})
	if c := failed(r, evidence.CheckSeal); len(c) != 1 || c[0].Code != string(rules.UntrustedKey) {
		t.Fatalf("a seal by an untrusted key must fail:\n%s", report(r))
	}

	// A valid seal of another document.
	f.sealed()
	f.doc.Timeline.Events[4].Detail = "done: approved by nobody"
	r = evidence.Verify(f.encode(), f.trust, evidence.Options{})
	if c := failed(r, evidence.CheckSeal); len(c) != 1 || c[0].Code != string(rules.Tampered) || len(r.Checks) < 5 {
		t.Fatalf("a document changed after sealing must fail the seal:\n%s", report(r))
	}

	// A person's key seals only for that person.
	if err := f.doc.SealWith(f.signers["person.alice"], "bob", f.doc.ExportedAt); err == nil {
		t.Fatal("alice's key sealed an export for bob")
	}
}

func TestPlanKeysTheConfigurationLacks(t *testing.T) {
	f := newFixture(t)
	f.doc.Keys = append(f.doc.Keys, plan.Key{ID: "slack.rogue", PublicKey: "ed25519:AAAA"})
	r := evidence.Verify(f.sealed(), f.trust, evidence.Options{})
	if !r.OK || r.Warnings != 1 || !strings.Contains(report(r), "slack.rogue") {
		t.Fatalf("a plan key the configuration lacks is a warning:\n%s", report(r))
	}
}

// TestHostileTextInTheReport: whatever a document holds, the text report
// passes no control characters to the terminal.
func TestHostileTextInTheReport(t *testing.T) {
	f := newFixture(t)
	e := f.find(workflows.EventApproved, "olga")
	e.Person = "olga\x1b[2J\u202e"
	e.Attestation.Signer = "person.\x1b]0;owned\x07"
	r := evidence.Verify(f.encode(), f.trust, evidence.Options{AllowUnsealed: true})
	out := report(r)
	if r.OK || strings.ContainsAny(out, "\x1b\x07\u202e") {
		t.Fatalf("hostile text reaches the terminal raw, or verifies:\n%q", out)
	}
}

// FuzzVerify: no input makes Verify panic, and the only input that
// verifies is the exported document itself.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	good := fx.sealed()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if r := evidence.Verify(data, fx.trust, evidence.Options{}); r.OK && !bytes.Equal(data, good) {
			t.Fatalf("a document other than the export verifies:\n%s", report(r))
		}
	})
}

func TestNewTakesThePlansKeysAndDigest(t *testing.T) {
	f := newFixture(t)
	p := &plan.Plan{Playbook: playbook, Keys: f.trust.Keys[:2], Steps: []plan.Step{}}
	tl, st := f.doc.Timeline, f.doc.Status
	d, err := evidence.New(tl, st, &workflows.IncidentInput{Plan: p, IncidentID: incidentID}, f.clock.In(time.FixedZone("CET", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := plan.StartDigest(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.StartSHA256 != want || len(d.Keys) != 2 || d.Keys[0] != p.Keys[0] || d.IncidentID != incidentID ||
		d.FormatVersion != evidence.FormatVersion || d.ExportedAt.Location() != time.UTC || d.Seal != nil {
		t.Fatalf("New: %+v", d)
	}
	// Without the start input the document still encodes, and says no
	// plan: the start's signature cannot be checked.
	d, err = evidence.New(tl, st, nil, f.clock)
	if err != nil || d.StartSHA256 != "" || d.Keys == nil {
		t.Fatalf("New without a start input: %+v, %v", d, err)
	}
	b, err := evidence.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	r := evidence.Verify(b, f.trust, evidence.Options{AllowUnsealed: true})
	if c := failed(r, evidence.CheckAnswer); len(c) != 1 || !strings.Contains(c[0].Message, "start_sha256 is empty") {
		t.Fatalf("a document without the plan's digest:\n%s", report(r))
	}
}
