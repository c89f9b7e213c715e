package attest

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// signer returns a signer with a fixed key, different for each seed byte.
func signer(t *testing.T, id string, seed byte) *Signer {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	sg, err := NewSigner(id, ed25519.NewKeyFromSeed(s))
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

var (
	opened = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	signed = opened.Add(30 * time.Second)
)

func claim() Claim {
	return Claim{Incident: "INC-1", Step: "approval.isolate_ok", Round: 2, Person: "alice", Answer: rules.Approve,
		ReasonSHA256: Digest("plant is safe"), Channel: "cli"}
}

func want() Want {
	return Want{Incident: "INC-1", Step: "approval.isolate_ok", Round: 2, Person: "alice", Answer: rules.Approve,
		Reason: "plant is safe", Channel: "cli"}
}

func times() Times { return Times{Now: signed.Add(time.Minute), NotBefore: opened, MaxAge: Window} }

// fixture is a keyring trusting alice's own key and a front door.
func fixture(t *testing.T) (ring *Keyring, alice, door *Signer) {
	t.Helper()
	alice, door = signer(t, "person.alice", 1), signer(t, "slack.main", 2)
	ring, errs := NewKeyring([]plan.Key{
		{ID: alice.ID, Person: "alice", PublicKey: alice.Public()},
		{ID: door.ID, PublicKey: door.Public()},
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	return ring, alice, door
}

func TestSignAndCheckRoundTrip(t *testing.T) {
	ring, alice, door := fixture(t)
	a := alice.Sign(claim(), signed)
	if a.Signer != "person.alice" || !a.SignedAt.Equal(signed) || a.SignedAt.Location() != time.UTC {
		t.Fatalf("attestation %+v", a)
	}
	if r := ring.Check(a, want(), times()); r != nil {
		t.Fatalf("a valid attestation is refused: %v", r)
	}
	if r := ring.Verify(a); r != nil {
		t.Fatalf("Verify: %v", r)
	}
	// A front door signs for whoever it identified.
	c := claim()
	c.Person, c.Channel = "bob", "slack"
	w := want()
	w.Person, w.Channel = "bob", "slack"
	if r := ring.Check(door.Sign(c, signed), w, times()); r != nil {
		t.Fatalf("the front door may sign for bob: %v", r)
	}
	// A zero Now skips the timing rules.
	old := alice.Sign(claim(), opened.Add(-48*time.Hour))
	if r := ring.Check(old, want(), Times{}); r != nil {
		t.Fatalf("no clock, no timing rules: %v", r)
	}
	// SignedAt set by the caller is kept (in UTC).
	c = claim()
	c.SignedAt = signed.In(time.FixedZone("X", 3600))
	if got := alice.Sign(c, opened).SignedAt; !got.Equal(signed) || got.Location() != time.UTC {
		t.Fatalf("SignedAt %v", got)
	}
	if person, ok := ring.Trusted("person.alice"); !ok || person != "alice" {
		t.Errorf("Trusted(person.alice) = %q, %v", person, ok)
	}
	if _, ok := ring.Trusted("person.mallory"); ok {
		t.Error("an unknown key is trusted")
	}
	if alice.Person() != "alice" || door.Person() != "" {
		t.Errorf("Person: %q, %q", alice.Person(), door.Person())
	}
}

func TestCheckRefusals(t *testing.T) {
	ring, alice, _ := fixture(t)
	mallory := signer(t, "person.bob", 9) // bob's key ID, another key
	stranger := signer(t, "person.zoe", 3)
	mustSign := func(s *Signer, mod func(*Claim)) *Attestation {
		c := claim()
		if mod != nil {
			mod(&c)
		}
		return s.Sign(c, signed)
	}
	flip := func(a *Attestation) *Attestation {
		sig, _ := base64.StdEncoding.DecodeString(a.Signature)
		sig[0] ^= 1
		a.Signature = base64.StdEncoding.EncodeToString(sig)
		return a
	}
	wantBob := want()
	wantBob.Person = "bob"
	for _, c := range []struct {
		name  string
		a     *Attestation
		want  Want
		times Times
		code  rules.Code
		msg   string
	}{
		{"missing", nil, want(), times(), rules.NotAttested, "carries no attestation"},
		{"untrusted key", mustSign(stranger, nil), want(), times(), rules.UntrustedKey, "does not trust"},
		{"another key under a trusted ID", mustSign(mallory, func(c *Claim) { c.Person = "bob" }), wantBob, times(), rules.UntrustedKey, "does not trust"},
		{"person key for someone else", mustSign(alice, func(c *Claim) { c.Person = "bob" }), wantBob, times(), rules.UntrustedKey, "signs only for that person"},
		{"replayed incident", mustSign(alice, func(c *Claim) { c.Incident = "INC-0" }), want(), times(), rules.Replayed, `incident "INC-0"`},
		{"replayed step", mustSign(alice, func(c *Claim) { c.Step = "approval.reconnect_ok" }), want(), times(), rules.Replayed, "step"},
		{"replayed round", mustSign(alice, func(c *Claim) { c.Round = 1 }), want(), times(), rules.Replayed, `round "1", not "2"`},
		{"replayed answer", mustSign(alice, func(c *Claim) { c.Answer = rules.Deny }), want(), times(), rules.Replayed, "answer"},
		{"replayed channel", mustSign(alice, func(c *Claim) { c.Channel = "slack" }), want(), times(), rules.Replayed, "channel"},
		{"tampered reason", mustSign(alice, nil), func() Want { w := want(); w.Reason = "plant is NOT safe"; return w }(), times(), rules.Tampered, "reason is not the one"},
		{"tampered signature", flip(mustSign(alice, nil)), want(), times(), rules.Tampered, "does not verify"},
		{"signature not base64", func() *Attestation { a := mustSign(alice, nil); a.Signature = "!!"; return a }(), want(), times(), rules.Tampered, "does not verify"},
		{"claim altered after signing", func() *Attestation {
			a := mustSign(alice, nil)
			a.Round = 3
			return a
		}(), func() Want { w := want(); w.Round = 3; return w }(), times(), rules.Tampered, "does not verify"},
		{"date altered after signing", func() *Attestation {
			a := mustSign(alice, nil)
			a.SignedAt = a.SignedAt.Add(time.Second)
			return a
		}(), want(), times(), rules.Tampered, "does not verify"},
		{"expired by window", mustSign(alice, nil), want(), Times{Now: signed.Add(Window + time.Second), MaxAge: Window}, rules.Expired, "more than 1h0m0s ago"},
		{"signed before round opened", mustSign(alice, nil), want(), Times{Now: signed, NotBefore: signed.Add(MaxSkew + time.Second), MaxAge: Window}, rules.Expired, "before the round it answers opened"},
		{"future-dated", mustSign(alice, nil), want(), Times{Now: signed.Add(-MaxSkew - time.Second), MaxAge: Window}, rules.Expired, "ahead of the incident's clock"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ring.Check(c.a, c.want, c.times)
			if r == nil {
				t.Fatalf("accepted, want %s", c.code)
			}
			if r.Code != c.code || !strings.Contains(r.Message, c.msg) {
				t.Fatalf("refusal %s %q, want %s containing %q", r.Code, r.Message, c.code, c.msg)
			}
		})
	}
	// Within the skew allowances the same attestation counts.
	a := mustSign(alice, nil)
	for name, tm := range map[string]Times{
		"window edge":       {Now: signed.Add(Window), MaxAge: Window},
		"early within skew": {Now: signed, NotBefore: signed.Add(MaxSkew), MaxAge: Window},
		"ahead within skew": {Now: signed.Add(-MaxSkew), MaxAge: Window},
	} {
		if r := ring.Check(a, want(), tm); r != nil {
			t.Errorf("%s: %v", name, r)
		}
	}
	// No keys trusted at all.
	empty, _ := NewKeyring(nil)
	if r := empty.Check(a, want(), times()); r == nil || r.Code != rules.UntrustedKey {
		t.Errorf("empty keyring: %v", r)
	}
	var none *Keyring
	if r := none.Check(a, want(), times()); r == nil || r.Code != rules.UntrustedKey || none.Len() != 0 || none.IDs() != nil {
		t.Errorf("nil keyring: %v", r)
	}
}

func TestCheckOptions(t *testing.T) {
	ring, alice, door := fixture(t)
	// A start signs the plan's digest instead of a reason.
	c := Claim{Incident: "INC-1", Step: "playbook.p", Person: "alice", Answer: Start, Option: "exercise", ReasonSHA256: "abc123", Channel: "cli"}
	a := alice.Sign(c, signed)
	w := Want{Incident: "INC-1", Step: "playbook.p", Person: "alice", Answer: Start, Option: "exercise", ReasonSHA256: "abc123", Channel: "cli"}
	if r := ring.Check(a, w, times()); r != nil {
		t.Fatalf("start: %v", r)
	}
	w.ReasonSHA256 = "def456"
	if r := ring.Check(a, w, times()); r == nil || r.Code != rules.Tampered {
		t.Fatalf("start with another plan: %v", r)
	}
	// Guard three is handed neither reason nor channel.
	b := door.Sign(claim(), signed)
	if r := ring.Check(b, Want{Incident: "INC-1", Step: "approval.isolate_ok", Round: 2, Person: "alice", Answer: rules.Approve, AnyReason: true, AnyChannel: true}, Times{}); r != nil {
		t.Fatalf("any reason, any channel: %v", r)
	}
	// A bad key in a plan is reported and left out; the rest still work.
	r2, errs := NewKeyring([]plan.Key{{ID: "person.x", Person: "x", PublicKey: "ed25519:AAAA"}, {ID: alice.ID, Person: "alice", PublicKey: alice.Public()}})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "key person.x") || r2.Len() != 1 || strings.Join(r2.IDs(), ",") != "person.alice" {
		t.Fatalf("bad key: %v, %v", errs, r2.IDs())
	}
}

func TestMessageIsUnambiguous(t *testing.T) {
	// Moving bytes between fields changes the message.
	a := &Attestation{Claim: Claim{Incident: "a\n1:b", Step: "c"}, Signer: "person.x"}
	b := &Attestation{Claim: Claim{Incident: "a", Step: "b\n1:c"}, Signer: "person.x"}
	if string(a.Message()) == string(b.Message()) {
		t.Fatal("two claims share a message")
	}
}

func TestParsePublicKey(t *testing.T) {
	s := signer(t, "person.alice", 1)
	k, err := ParsePublicKey(" " + s.Public() + "\n")
	if err != nil || FormatPublicKey(k) != s.Public() {
		t.Fatalf("round trip: %v", err)
	}
	for in, msg := range map[string]string{
		"AAAA":                              `written "ed25519:"`,
		"ed25519:%%%":                       "not valid base64",
		"ed25519:" + strings.Repeat("A", 8): "is 6 bytes long",
	} {
		if _, err := ParsePublicKey(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParsePublicKey(%q) = %v, want %q", in, err, msg)
		}
	}
}

func TestKeyIDs(t *testing.T) {
	for _, id := range []string{"", "alice", ".alice", "person.", strings.Repeat("x", rules.MaxID) + ".y"} {
		if _, err := GenerateKey(id); err == nil {
			t.Errorf("key ID %q accepted", id)
		}
	}
	if _, err := NewSigner("person.alice", ed25519.PrivateKey("short")); err == nil {
		t.Error("a short private key is accepted")
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	s, err := GenerateKey("person.alice")
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := s.MarshalPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(pemBytes), "-----BEGIN PRIVATE KEY-----\nFirebreak-Signer: person.alice\n") {
		t.Fatalf("key file:\n%s", pemBytes)
	}
	for _, id := range []string{"", "person.alice"} {
		back, err := ParsePrivateKey(pemBytes, id)
		if err != nil {
			t.Fatalf("ParsePrivateKey(%q): %v", id, err)
		}
		if back.ID != "person.alice" || back.Public() != s.Public() {
			t.Fatalf("read back %s %s, want %s %s", back.ID, back.Public(), s.ID, s.Public())
		}
		ring, _ := NewKeyring([]plan.Key{{ID: s.ID, Person: "alice", PublicKey: s.Public()}})
		if r := ring.Check(back.Sign(claim(), signed), want(), times()); r != nil {
			t.Fatalf("a key read back does not sign: %v", r)
		}
	}
	// The header names the key: used for someone else it is refused.
	if _, err := ParsePrivateKey(pemBytes, "person.bob"); err == nil || !strings.Contains(err.Error(), "the key of person.alice, not person.bob") {
		t.Fatalf("header mismatch: %v", err)
	}
	// A key without the header (openssl genpkey) needs its ID said.
	block, _ := pem.Decode(pemBytes)
	bare := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: block.Bytes})
	if _, err := ParsePrivateKey(bare, ""); err == nil || !strings.Contains(err.Error(), "does not say whose key") {
		t.Fatalf("no header, no ID: %v", err)
	}
	if back, err := ParsePrivateKey(bare, "slack.main"); err != nil || back.ID != "slack.main" {
		t.Fatalf("no header, ID given: %v", err)
	}
	for name, c := range map[string]struct {
		data []byte
		msg  string
	}{
		"not PEM":       {[]byte("hello"), "no PEM block"},
		"wrong type":    {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: block.Bytes}), `"PUBLIC KEY"`},
		"two blocks":    {append(append([]byte{}, pemBytes...), pemBytes...), "more than one PEM block"},
		"garbage bytes": {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}), "does not parse"},
	} {
		if _, err := ParsePrivateKey(c.data, ""); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", name, err, c.msg)
		}
	}
}

// TestMemoGivesTheSameAnswers: with the memo of verified signatures (made
// small here, so it is cleared on the way), a keyring refuses exactly what
// it should, before and after the good signature is remembered.
func TestMemoGivesTheSameAnswers(t *testing.T) {
	s, err := GenerateKey("slack.main")
	if err != nil {
		t.Fatal(err)
	}
	plain, errs := NewKeyring([]plan.Key{{ID: s.ID, PublicKey: s.Public()}})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	saved := verified
	verified = &memo{max: 2, seen: map[[32]byte]struct{}{}}
	t.Cleanup(func() { verified = saved })
	memo := plain
	want := Want{Incident: "INC-1", Step: "approval.x", Round: 1, Person: "alice", Answer: "approve", Channel: "slack"}
	good := s.Sign(Claim{Incident: "INC-1", Step: "approval.x", Round: 1, Person: "alice", Answer: "approve", ReasonSHA256: Digest(""), Channel: "slack"}, time.Now())
	bad := *good
	bad.Signature = s.Sign(Claim{Incident: "INC-2", Step: "approval.x", Round: 1, Person: "alice", Answer: "approve", ReasonSHA256: Digest(""), Channel: "slack"}, time.Now()).Signature
	for round := range 3 { // the third passes through a cleared memo
		for _, k := range []*Keyring{plain, memo} {
			if r := k.Check(good, want, Times{}); r != nil {
				t.Errorf("round %d: the good attestation is refused: %v", round, r)
			}
			if r := k.Check(&bad, want, Times{}); r == nil || r.Code != "Tampered" {
				t.Errorf("round %d: another incident's signature on this claim: %v, want Tampered", round, r)
			}
		}
		other := s.Sign(good.Claim, time.Now().Add(time.Duration(round+1)*time.Second))
		if r := memo.Check(other, want, Times{}); r != nil {
			t.Errorf("round %d: a fresh signature: %v", round, r)
		}
	}
}

// BenchmarkCheck measures one attestation check: a signature verified
// afresh (memo cleared every time) and one already verified.
func BenchmarkCheck(b *testing.B) {
	s, err := GenerateKey("slack.main")
	if err != nil {
		b.Fatal(err)
	}
	ring, _ := NewKeyring([]plan.Key{{ID: s.ID, PublicKey: s.Public()}})
	want := Want{Incident: "INC-1", Step: "approval.x", Round: 1, Person: "alice", Answer: "approve", Channel: "slack"}
	a := s.Sign(Claim{Incident: "INC-1", Step: "approval.x", Round: 1, Person: "alice", Answer: "approve", ReasonSHA256: Digest(""), Channel: "slack"}, time.Now())
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			verified.mu.Lock()
			clear(verified.seen)
			verified.mu.Unlock()
			if r := ring.Check(a, want, Times{}); r != nil {
				b.Fatal(r)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		for b.Loop() {
			if r := ring.Check(a, want, Times{}); r != nil {
				b.Fatal(r)
			}
		}
	})
}
