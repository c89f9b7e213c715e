// Package attest makes and checks attestations: Ed25519 signatures
// (RFC 8032, Go's crypto/ed25519) over what a person said to an incident.
// Every answer (ack, approve, deny, decide, done, break_glass, cancel) and
// every incident start carries one, made either by a front door the
// organisation trusts (the Slack gateway, once it has checked Slack's own
// request signature) or by the person's own key (the CLI acting for them).
//
// The signed message is a canonical encoding of a Claim: incident, step,
// round, person, answer, option, the SHA-256 digest of the reason, channel
// and time, and the signer's key ID. Everything here is deterministic and
// depends on the standard library and the plan types only, so the workflow
// interpreter verifies attestations in its update validator, and the
// worker's guard three, `firebreak verify` and the front doors use the same
// code.
package attest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// What a claim is about, besides the answer names of the rule book
// (rules.Ack, rules.Approve, ...).
const (
	// Start is the answer of a claim that starts an incident. Its Step is
	// "playbook.NAME", its Option "exercise" for an exercise run, and its
	// reason digest is the digest of the plan and the run's inputs
	// (plan.StartDigest).
	Start = "start"
	// Refused is the answer of a claim a front door makes when it refused
	// an answer itself (an unknown Slack user, say): Step and Person are
	// the refused answer's, Option the refused answer's name, and the
	// reason digest that of the refusal message.
	Refused = "refused"
	// Export is the answer of the claim that seals an exported timeline:
	// Incident is the incident, Person who exported it, and the reason
	// digest that of the timeline's canonical JSON.
	Export = "export"
)

// Timing rules, documented in docs/architecture.md ("Signed answers").
const (
	// Window is how long after it was signed an answer is still accepted.
	// It outlasts a worker restart: an answer the server holds while no
	// worker runs still counts when one comes back within the hour.
	Window = time.Hour
	// MaxSkew is how far the signer's clock may run ahead of the
	// incident's, and how long before its round opened an answer may have
	// been signed (the front door saw the prompt a little earlier than
	// the workflow recorded it).
	MaxSkew = 2 * time.Minute
)

// KeyPrefix starts every public key as the playbook language writes it:
// public_key = "ed25519:BASE64".
const KeyPrefix = "ed25519:"

// Claim is what a signer vouches for.
type Claim struct {
	// Incident is the incident ID (not the workflow ID).
	Incident string `json:"incident"`
	// Step is the step answered ("approval.isolate_ok"); "" for a cancel;
	// "playbook.NAME" for a start.
	Step string `json:"step,omitempty"`
	// Round is the prompt round answered: the step's round for approvals,
	// decisions and tasks (from 1), 0 for pages, cancels and starts.
	Round int `json:"round"`
	// Person is who answers (or starts).
	Person string `json:"person"`
	// Answer is the answer name (rules.Approve, ...), Start, Refused or Export.
	Answer string `json:"answer"`
	// Option is a decision's option (for a start, "exercise" or "").
	Option string `json:"option,omitempty"`
	// ReasonSHA256 is the hex SHA-256 digest of the reason ("" has a
	// digest too), so the reason itself need not be repeated here.
	ReasonSHA256 string `json:"reason_sha256"`
	// Channel is where the answer came from: cli, slack, script.
	Channel string `json:"channel"`
	// SignedAt is when the signer made the attestation (UTC).
	SignedAt time.Time `json:"signed_at"`
}

// Attestation is a signed Claim.
type Attestation struct {
	Claim
	// Signer is the ID of the key that signed: "person.alice" for a
	// person's own key, the integration ID ("slack.main") for a front door.
	Signer string `json:"signer"`
	// Signature is the Ed25519 signature of Message(), base64 (standard).
	Signature string `json:"signature"`
}

// Digest is the hex SHA-256 digest of a text, as ReasonSHA256 holds it.
func Digest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// message is the canonical encoding that is signed: a version line, then
// each field as its byte length, a colon and its bytes, one per line, in a
// fixed order. Lengths make the encoding unambiguous whatever the fields
// hold (newlines, colons, anything).
func message(signer string, c Claim) []byte {
	var b strings.Builder
	b.WriteString("firebreak-attestation/1\n")
	for _, f := range []string{
		signer, c.Incident, c.Step, strconv.Itoa(c.Round), c.Person, c.Answer,
		c.Option, c.ReasonSHA256, c.Channel, c.SignedAt.UTC().Format(time.RFC3339Nano),
	} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// Message returns the bytes the signature is made over.
func (a *Attestation) Message() []byte { return message(a.Signer, a.Claim) }

// Signer signs claims with one private key.
type Signer struct {
	// ID is the key ID the attestations name: "person.NAME" or the front
	// door's integration ID.
	ID  string
	key ed25519.PrivateKey
}

// NewSigner returns a signer for a private key under a key ID.
func NewSigner(id string, key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("not an Ed25519 private key (%d bytes, want %d)", len(key), ed25519.PrivateKeySize)
	}
	if err := checkKeyID(id); err != nil {
		return nil, err
	}
	return &Signer{ID: id, key: key}, nil
}

// Public returns the signer's public key as the playbook language writes it.
func (s *Signer) Public() string { return FormatPublicKey(s.key.Public().(ed25519.PublicKey)) }

// Person returns the person a person's key belongs to ("" for a front door).
func (s *Signer) Person() string {
	if k, n, ok := strings.Cut(s.ID, "."); ok && k == "person" {
		return n
	}
	return ""
}

// Sign attests a claim. SignedAt is set to now (UTC) when zero.
func (s *Signer) Sign(c Claim, now time.Time) *Attestation {
	if c.SignedAt.IsZero() {
		c.SignedAt = now
	}
	c.SignedAt = c.SignedAt.UTC()
	a := &Attestation{Claim: c, Signer: s.ID}
	a.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, a.Message()))
	return a
}

// checkKeyID refuses a key ID that is not "person.NAME" or "KIND.NAME".
func checkKeyID(id string) error {
	k, n, ok := strings.Cut(id, ".")
	if !ok || k == "" || n == "" || len(id) > rules.MaxID {
		return fmt.Errorf("key ID %q is not person.NAME or an integration ID such as slack.main", id)
	}
	return nil
}

// FormatPublicKey writes a public key as "ed25519:BASE64".
func FormatPublicKey(k ed25519.PublicKey) string {
	return KeyPrefix + base64.StdEncoding.EncodeToString(k)
}

// ParsePublicKey reads a public key written as "ed25519:BASE64".
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), KeyPrefix)
	if !ok {
		return nil, fmt.Errorf("a public key is written %q followed by the base64 of 32 bytes (as `firebreak keygen` prints it)", KeyPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("the public key is not valid base64: %v", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("the public key is %d bytes long; an Ed25519 public key is %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// Keyring is the set of keys an incident, a worker or `firebreak verify`
// trusts.
type Keyring struct {
	keys map[string]trusted
	ids  []string // sorted
}

// verified remembers, for the whole process, signatures already verified:
// the digest of (public key, signature, message) of each. The same worker
// verifies the same signature more than once — the update validator, then
// guard three for every approver, and the signed start on every activity
// of an incident — and an Ed25519 verification costs tens of microseconds.
// A check gives the same result with or without it: it caches a pure
// function, so the workflow may use it too.
var verified = &memo{max: 8192, seen: map[[sha256.Size]byte]struct{}{}}

// memo is a bounded set of verified (key, signature, message) digests;
// it is cleared when full.
type memo struct {
	mu   sync.Mutex
	max  int
	seen map[[sha256.Size]byte]struct{}
}

// verify checks sig over msg with the public key, through the memo of
// signatures already verified.
func (r *Keyring) verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	h := sha256.New()
	for _, part := range [][]byte{pub, sig, msg} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":"))
		h.Write(part)
	}
	var k [sha256.Size]byte
	copy(k[:], h.Sum(nil))
	m := verified
	m.mu.Lock()
	_, ok := m.seen[k]
	m.mu.Unlock()
	if ok {
		return true
	}
	if !ed25519.Verify(pub, msg, sig) {
		return false
	}
	m.mu.Lock()
	if len(m.seen) >= m.max {
		clear(m.seen)
	}
	m.seen[k] = struct{}{}
	m.mu.Unlock()
	return true
}

type trusted struct {
	key    plan.Key
	public ed25519.PublicKey
}

// NewKeyring builds a keyring of keys as a plan carries them. A key that
// does not parse is left out and reported; the rest still work.
func NewKeyring(keys []plan.Key) (*Keyring, []error) {
	r := &Keyring{keys: map[string]trusted{}}
	var errs []error
	for _, k := range keys {
		pub, err := ParsePublicKey(k.PublicKey)
		if err != nil {
			errs = append(errs, fmt.Errorf("key %s: %w", k.ID, err))
			continue
		}
		if _, dup := r.keys[k.ID]; !dup {
			r.ids = append(r.ids, k.ID)
		}
		r.keys[k.ID] = trusted{key: k, public: pub}
	}
	slices.Sort(r.ids)
	return r, errs
}

// IDs lists the trusted key IDs, sorted.
func (r *Keyring) IDs() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.ids)
}

// Len is the number of trusted keys.
func (r *Keyring) Len() int {
	if r == nil {
		return 0
	}
	return len(r.keys)
}

// Want is what an attestation must say to count for an answer: the claim
// the verifier rebuilds from the answer itself and the incident's state.
type Want struct {
	Incident string
	Step     string
	Round    int
	Person   string
	Answer   string
	Option   string
	Reason   string
	Channel  string
	// ReasonSHA256, when set, is compared with the attestation's reason
	// digest instead of Digest(Reason): a start signs the plan's digest.
	ReasonSHA256 string
	// AnyReason skips the reason digest (guard three checking an approval
	// whose reason it was not handed).
	AnyReason bool
	// AnyChannel skips the channel (guard three accepts a sign-off from
	// any front door the keys allow).
	AnyChannel bool
}

// Times are the timing rules a check applies. A zero Now skips them all.
type Times struct {
	// Now is the verifier's clock (workflow.Now in the workflow).
	Now time.Time
	// NotBefore is when the round answered opened; an attestation signed
	// more than MaxSkew before it is refused. Zero skips the rule.
	NotBefore time.Time
	// MaxAge is how old an attestation may be (Window for answers; zero
	// skips the rule, as guard three does, whose freshness rule is the
	// sign-off's valid_for).
	MaxAge time.Duration
}

// Check verifies that a carries a valid signature by a key in r, that the
// key may sign for the person, that it says exactly what want says, and
// that it keeps the timing rules. A refusal's code tells which rule failed
// (rules.NotAttested, UntrustedKey, Replayed, Tampered, Expired).
func (r *Keyring) Check(a *Attestation, want Want, t Times) *rules.Refusal {
	return r.check(a, want, t, true)
}

func (r *Keyring) check(a *Attestation, want Want, t Times, reason bool) *rules.Refusal {
	if a == nil {
		return rules.Refuse(rules.NotAttested, "the answer carries no attestation; answers to this incident must be signed (give the CLI your key with --key-file, or answer through a front door the organisation trusts)")
	}
	if r == nil || len(r.keys) == 0 {
		return rules.Refuse(rules.UntrustedKey, "the answer is signed by %s, and no key is trusted here: declare public_key on the person or the front door's integration block", clip(a.Signer))
	}
	k, ok := r.keys[a.Signer]
	if !ok {
		return rules.Refuse(rules.UntrustedKey, "the answer is signed by %s, a key the organisation does not trust (trusted: %s)", clip(a.Signer), strings.Join(r.IDs(), ", "))
	}
	if k.key.Person != "" && k.key.Person != want.Person {
		return rules.Refuse(rules.UntrustedKey, "the answer for %s is signed with %s's own key; a person's key signs only for that person", clip(want.Person), k.key.Person)
	}
	for _, f := range []struct {
		name      string
		got, want string
	}{
		{"incident", a.Incident, want.Incident},
		{"step", a.Step, want.Step},
		{"round", strconv.Itoa(a.Round), strconv.Itoa(want.Round)},
		{"person", a.Person, want.Person},
		{"answer", a.Answer, want.Answer},
		{"option", a.Option, want.Option},
		{"channel", a.Channel, want.Channel},
	} {
		if f.name == "channel" && want.AnyChannel {
			continue
		}
		if f.got != f.want {
			return rules.Refuse(rules.Replayed, "the attestation was made for %s %q, not %q: it belongs to another answer and cannot be replayed here", f.name, clip(f.got), clip(f.want))
		}
	}
	digest := want.ReasonSHA256
	if digest == "" {
		digest = Digest(want.Reason)
	}
	if reason && !want.AnyReason && a.ReasonSHA256 != digest {
		return rules.Refuse(rules.Tampered, "the reason is not the one %s signed", a.Signer)
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize || !r.verify(k.public, a.Message(), sig) {
		return rules.Refuse(rules.Tampered, "the signature by %s does not verify: the attestation was altered or made with another key", a.Signer)
	}
	if t.Now.IsZero() {
		return nil
	}
	at := a.SignedAt
	switch {
	case at.After(t.Now.Add(MaxSkew)):
		return rules.Refuse(rules.Expired, "the attestation is dated %s, ahead of the incident's clock (%s) by more than %s; check the signer's clock", stamp(at), stamp(t.Now), MaxSkew)
	case t.MaxAge > 0 && t.Now.Sub(at) > t.MaxAge:
		return rules.Refuse(rules.Expired, "the attestation was signed at %s, more than %s ago; answer again", stamp(at), t.MaxAge)
	case !t.NotBefore.IsZero() && at.Before(t.NotBefore.Add(-MaxSkew)):
		return rules.Refuse(rules.Expired, "the attestation was signed at %s, before the round it answers opened (%s); answer the round being asked now", stamp(at), stamp(t.NotBefore))
	}
	return nil
}

// Verify checks only the signature and the key of an attestation: that a
// key in r made it and may sign for the person it names. `firebreak
// verify` uses it, then compares the claim (and the reason digest) with the
// record itself.
func (r *Keyring) Verify(a *Attestation) *rules.Refusal {
	if a == nil {
		return rules.Refuse(rules.NotAttested, "no attestation")
	}
	return r.check(a, Want{
		Incident: a.Incident, Step: a.Step, Round: a.Round, Person: a.Person, Answer: a.Answer,
		Option: a.Option, Channel: a.Channel,
	}, Times{}, false)
}

// Trusted reports whether a key ID is in the keyring and, for a person's
// key, which person it signs for.
func (r *Keyring) Trusted(id string) (person string, ok bool) {
	if r == nil {
		return "", false
	}
	k, ok := r.keys[id]
	return k.key.Person, ok
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func clip(s string) string { return rules.Clip(s, 80) }
