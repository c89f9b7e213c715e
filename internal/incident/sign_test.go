package incident

import (
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

func genKey(t *testing.T, id string) *attest.Signer {
	t.Helper()
	s, err := attest.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ring(t *testing.T, signers ...*attest.Signer) *attest.Keyring {
	t.Helper()
	var keys []plan.Key
	for _, s := range signers {
		keys = append(keys, plan.Key{ID: s.ID, Person: s.Person(), PublicKey: s.Public()})
	}
	r, errs := attest.NewKeyring(keys)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return r
}

func TestSignAnswer(t *testing.T) {
	alice, door := genKey(t, "person.alice"), genKey(t, "slack.main")
	r := ring(t, alice, door)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := workflows.Answer{Step: "decision.scope", Person: "alice", Round: 3, Option: "level 2", Reason: "because", Channel: workflows.ChannelCLI}
	signed, err := SignAnswer(alice, workflows.UpdateDecide, "INC-1", a, now)
	if err != nil {
		t.Fatal(err)
	}
	w := attest.Want{Incident: "INC-1", Step: "decision.scope", Round: 3, Person: "alice", Answer: rules.Decide, Option: "level 2", Reason: "because", Channel: "cli"}
	if rf := r.Check(signed.Attestation, w, attest.Times{Now: now, MaxAge: attest.Window}); rf != nil {
		t.Fatalf("the CLI's signature does not check: %v", rf)
	}
	if signed.Round != 3 || a.Attestation != nil {
		t.Fatalf("signed %+v; the original changed: %+v", signed, a)
	}
	// alice's own key never signs for bob; the front door's may.
	bob := a
	bob.Person = "bob"
	_, err = SignAnswer(alice, workflows.UpdateDecide, "INC-1", bob, now)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "signs only for alice") || !strings.Contains(err.Error(), "--as alice") {
		t.Fatalf("alice's key for bob: %v", err)
	}
	if _, err := SignAnswer(door, workflows.UpdateDecide, "INC-1", bob, now); err != nil {
		t.Fatalf("front door for bob: %v", err)
	}
	if CheckSigner(nil, "anyone") != nil || CheckSigner(door, "anyone") != nil || CheckSigner(alice, "alice") != nil {
		t.Fatal("CheckSigner refuses a signer that may sign")
	}
}

func TestSigningRound(t *testing.T) {
	for _, c := range []struct {
		name   string
		update string
		r      Resolved
		want   int
	}{
		{"approval, round from status", workflows.UpdateApprove, Resolved{Answer: workflows.Answer{Round: 2}, Kind: plan.KindApproval}, 2},
		{"no worker, --round given", workflows.UpdateApprove, Resolved{Answer: workflows.Answer{Round: 4}, Kind: plan.KindApproval, NoWorker: true}, 4},
		{"no worker, no --round", workflows.UpdateDone, Resolved{Kind: plan.KindTask, NoWorker: true}, 1},
		{"decision in round 0 of an old worker", workflows.UpdateDecide, Resolved{Kind: plan.KindDecision}, 1},
		{"page", workflows.UpdateAck, Resolved{Answer: workflows.Answer{Round: 0}, Kind: plan.KindPage}, 0},
		{"page with a round", workflows.UpdateAck, Resolved{Answer: workflows.Answer{Round: 2}, Kind: plan.KindPage}, 0},
		{"cancel", workflows.UpdateCancel, Resolved{}, 0},
	} {
		if got := SigningRound(c.update, c.r); got != c.want {
			t.Errorf("%s: round %d, want %d", c.name, got, c.want)
		}
	}
}

func TestLoadSigner(t *testing.T) {
	dir := t.TempDir()
	alice := genKey(t, "person.alice")
	data, err := alice.MarshalPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("alice.key", data, 0o600)
	s, err := LoadSigner(good, "bob")
	if err != nil || s.ID != "person.alice" || s.Public() != alice.Public() {
		t.Fatalf("LoadSigner: %v, %v", s, err)
	}
	// The header wins over --as; CheckSigner then refuses the mismatch.
	if err := CheckSigner(s, "bob"); err == nil {
		t.Fatal("alice's key signs for bob")
	}
	// A key without the header is the answering person's own.
	block, _ := pem.Decode(data)
	bare := write("bare.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: block.Bytes}), 0o600)
	if s, err := LoadSigner(bare, "carol"); err != nil || s.ID != "person.carol" {
		t.Fatalf("headerless key: %v, %v", s, err)
	}
	for name, c := range map[string]struct {
		path string
		msg  string
	}{
		"readable by others": {write("open.key", data, 0o644), "chmod 600"},
		"missing":            {filepath.Join(dir, "nope.key"), "cannot be read: no such file or directory"},
		"not a key":          {write("junk.key", []byte("junk"), 0o600), "no PEM block"},
	} {
		_, err := LoadSigner(c.path, "alice")
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want an *InputError with %q", name, err, c.msg)
		}
	}
}

// mayStartDir is a module whose playbook only roster.starters may start.
func mayStartDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := `person "alice" {}
person "bob" {}
roster "starters" {
  members = [person.alice]
}
playbook "p" {
  may_start = [roster.starters]
  wait "w" {
    duration = "1m"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPrepareStartRules(t *testing.T) {
	dir := mayStartDir(t)
	for _, c := range []struct {
		name string
		req  StartRequest
		msg  string
	}{
		{"no commander", StartRequest{Dir: dir, Playbook: "p"}, "Say who starts the incident"},
		{"not allowed to start", StartRequest{Dir: dir, Playbook: "p", Commander: "bob"}, "bob may not start playbook p (NotAllowedToStart): its may_start allows roster.starters (alice)"},
		{"another person's key", StartRequest{Dir: dir, Playbook: "p", Commander: "alice", Signer: genKey(t, "person.bob")}, "signs only for bob"},
	} {
		_, err := Prepare(c.req)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want an *InputError with %q", c.name, err, c.msg)
		}
	}
	p, err := Prepare(StartRequest{Dir: dir, Playbook: "p", Commander: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Input.AcceptUnattested || p.Input.Start != nil {
		t.Fatalf("an unsigned start: %+v", p.Input)
	}
	door := genKey(t, "slack.main")
	p, err = Prepare(StartRequest{Dir: dir, Playbook: "p", Commander: "alice", Signer: door})
	if err != nil {
		t.Fatal(err)
	}
	if p.Input.AcceptUnattested {
		t.Fatal("a signed start accepts unattested answers")
	}
}

func TestSignStart(t *testing.T) {
	dir := mayStartDir(t)
	alice := genKey(t, "person.alice")
	p, err := Prepare(StartRequest{Dir: dir, Playbook: "p", Commander: "alice", Signer: alice, Exercise: true, IncidentID: "INC-7"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a, err := SignStart(alice, p.Input, now)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := plan.StartDigest(p.Plan, p.Input.Inputs)
	w := attest.Want{Incident: "INC-7", Step: "playbook.p", Person: "alice", Answer: attest.Start, Option: "exercise", ReasonSHA256: digest, Channel: "cli"}
	if rf := ring(t, alice).Check(a, w, attest.Times{Now: now, MaxAge: attest.Window}); rf != nil {
		t.Fatalf("start attestation: %v", rf)
	}
	// Another plan, or a real run, is not what was signed.
	other := *p.Plan
	other.Title = "edited"
	od, _ := plan.Digest(&other)
	w2 := w
	w2.ReasonSHA256 = od
	if rf := ring(t, alice).Check(a, w2, attest.Times{}); rf == nil || rf.Code != rules.Tampered {
		t.Fatalf("edited plan: %v", rf)
	}
	w3 := w
	w3.Option = ""
	if rf := ring(t, alice).Check(a, w3, attest.Times{}); rf == nil || rf.Code != rules.Replayed {
		t.Fatalf("exercise start as a real one: %v", rf)
	}
	in := p.Input
	in.Commander = "bob"
	if _, err := SignStart(alice, in, now); err == nil {
		t.Fatal("alice's key signs bob's start")
	}
}
