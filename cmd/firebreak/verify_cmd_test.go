package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/evidence"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// exportFixture writes an exported timeline of the built-in library's
// ot_ransomware_containment: carol starts it, alice (process_safety, her
// own key) and olga (ot_operations, through the Slack front door) approve,
// plant 3 is isolated; carol seals it when sealed is set. It returns the
// file and a copy of the library (changed by edit, when given) that
// declares the public keys it signed with.
func exportFixture(t *testing.T, sealed bool, edit func(string) string) (string, string) {
	t.Helper()
	signers := map[string]*attest.Signer{}
	var keys []plan.Key
	for _, id := range []string{"person.carol", "person.alice", "slack.main"} {
		s, err := attest.GenerateKey(id)
		if err != nil {
			t.Fatal(err)
		}
		signers[id] = s
		keys = append(keys, plan.Key{ID: id, Person: s.Person(), PublicKey: s.Public()})
	}

	const id, pb, ap = "INC-20261201-0002", "ot_ransomware_containment", "approval.isolate_ok"
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	doc := &evidence.Document{FormatVersion: evidence.FormatVersion, IncidentID: id, ExportedAt: at.Add(time.Hour),
		StartSHA256: attest.Digest("plan"), Keys: keys,
		Status:   workflows.Status{IncidentID: id, Playbook: pb, State: workflows.StateCompleted, Commander: "carol", StartedAt: at, Runs: 1},
		Timeline: workflows.Timeline{IncidentID: id, Playbook: pb}}
	add := func(e workflows.Event, key string, c attest.Claim) {
		at = at.Add(time.Minute)
		e.Seq, e.At = len(doc.Timeline.Events)+1, at
		if key != "" {
			c.Incident, c.Person, c.Channel, c.Step, c.Round = id, e.Person, e.Channel, e.Step, e.Round
			if c.ReasonSHA256 == "" {
				c.ReasonSHA256 = attest.Digest(e.Reason)
			}
			e.Attestation = signers[key].Sign(c, at.Add(-time.Second))
		}
		doc.Timeline.Events = append(doc.Timeline.Events, e)
	}
	add(workflows.Event{Kind: workflows.EventIncidentStarted, Person: "carol", Channel: "cli"}, "person.carol", attest.Claim{Answer: attest.Start, ReasonSHA256: doc.StartSHA256})
	doc.Timeline.Events[0].Attestation.Step = workflows.StartStep(pb)
	doc.Timeline.Events[0].Attestation = signers["person.carol"].Sign(doc.Timeline.Events[0].Attestation.Claim, at)
	add(workflows.Event{Kind: workflows.EventApproved, Step: ap, Round: 1, Person: "alice", Channel: "cli", Roster: "roster.process_safety"}, "person.alice", attest.Claim{Answer: rules.Approve})
	add(workflows.Event{Kind: workflows.EventApproved, Step: ap, Round: 1, Person: "olga", Channel: "slack", Roster: "roster.ot_operations"}, "slack.main", attest.Claim{Answer: rules.Approve})
	add(workflows.Event{Kind: workflows.EventStepStarted, Step: "step.isolate", Action: "ot.isolate_zone", Detail: "ot.isolate_zone"}, "", attest.Claim{})
	add(workflows.Event{Kind: workflows.EventAuthorised, Step: "step.isolate", Signoff: ap, Round: 1, Action: "ot.isolate_zone"}, "", attest.Claim{})
	add(workflows.Event{Kind: workflows.EventStepFinished, Step: "step.isolate", Detail: "done: cut 2 conduits"}, "", attest.Claim{})
	if sealed {
		if err := doc.SealWith(signers["person.carol"], "carol", doc.ExportedAt); err != nil {
			t.Fatal(err)
		}
	}
	b, err := evidence.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), id+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, keyedLibrary(t, keys, edit)
}

// keyedLibrary writes a copy of the built-in library whose person and
// integration blocks declare the given public keys, changed by edit.
func keyedLibrary(t *testing.T, keys []plan.Key, edit func(string) string) string {
	t.Helper()
	mod, diags := org.LoadModule("")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := map[string]string{}
	for name, src := range mod.Files {
		text := string(src)
		for _, k := range keys {
			kind, name, _ := strings.Cut(k.ID, ".")
			open := fmt.Sprintf("person %q {\n", name)
			if kind != "person" {
				open = fmt.Sprintf("integration %q %q {\n", kind, name)
			}
			text = strings.Replace(text, open, open+fmt.Sprintf("  public_key = %q\n", k.PublicKey), 1)
		}
		if edit != nil {
			text = edit(text)
		}
		files[filepath.Base(name)] = text
	}
	return writeDir(t, files)
}

func TestVerifyExitCodes(t *testing.T) {
	t.Setenv(org.EnvDir, "")
	good, dir := exportFixture(t, true, nil)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(t.TempDir(), "tampered.json")
	if err := os.WriteFile(tampered, []byte(strings.Replace(string(data), "cut 2 conduits", "cut 0 conduits", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, "verify", good, "--dir", dir)
	if code != exitOK || !strings.Contains(out, "0 failed") || !strings.Contains(out, "signed off by alice (roster.process_safety), olga (roster.ot_operations)") {
		t.Fatalf("a good export: exit %d\n%s%s", code, out, errOut)
	}
	// The built-in library declares no keys: nothing in the export is
	// signed by a key it trusts.
	code, out, errOut = runCLI(t, "verify", good)
	if code != exitInvalid || !strings.Contains(errOut, builtInNote) {
		t.Errorf("against the built-in library: exit %d, want %d and the built-in note\n%s%s", code, exitInvalid, out, errOut)
	}

	code, out, _ = runCLI(t, "verify", tampered, "--dir", dir)
	if code != exitInvalid || !strings.Contains(out, "FAIL  seal") || !strings.Contains(out, "does NOT verify") {
		t.Fatalf("a tampered export: exit %d\n%s", code, out)
	}

	code, out, _ = runCLI(t, "verify", tampered, "--format", "json", "--dir", dir)
	var rep evidence.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitInvalid || rep.OK || rep.Failed != 1 {
		t.Fatalf("--format json: exit %d, %v\n%s", code, err, out)
	}

	unsealed, udir := exportFixture(t, false, nil)
	if code, out, _ := runCLI(t, "verify", unsealed, "--dir", udir); code != exitInvalid || !strings.Contains(out, "not sealed") {
		t.Fatalf("an unsealed export: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "verify", unsealed, "--allow-unsealed", "--dir", udir); code != exitOK || !strings.Contains(out, "1 warnings") {
		t.Fatalf("an unsealed export with --allow-unsealed: exit %d\n%s", code, out)
	}

	// The configuration governs: in one where olga is not on ot_operations,
	// the same export fails its quorum.
	good, dir = exportFixture(t, true, func(src string) string {
		return strings.Replace(src, "members     = [person.dmitri, person.erin, person.olga]", "members     = [person.dmitri, person.erin]", 1)
	})
	if code, out, _ := runCLI(t, "verify", good, "--dir", dir); code != exitInvalid || !strings.Contains(out, "still needs one from roster.ot_operations") {
		t.Fatalf("an export against a configuration that no longer counts olga: exit %d\n%s", code, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify", filepath.Join(t.TempDir(), "missing.json")}, exitUsage, "reading the exported timeline"},
		{[]string{"verify"}, exitUsage, "FILE"},
		{[]string{"verify", good, "--format", "md"}, exitUsage, "md"},
		{[]string{"verify", good, "--dir", "no/such/dir"}, exitUsage, "no such file or directory"},
		{[]string{"verify", good, "--dir", writeDir(t, map[string]string{"p.hcl": brokenPlaybook})}, exitInvalid, "does not load"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q in\n%s", tc.args, code, tc.code, tc.want, errOut)
		}
	}
}

func TestVerifyHelp(t *testing.T) {
	code, out, _ := runCLI(t, "verify", "--help")
	for _, want := range []string{"--allow-unattested", "--allow-unsealed", "exclude_initiator", "Exit status: 0 every check passed, 1 a check failed", "docs/evidence.md"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("verify --help lacks %q (exit %d)", want, code)
		}
	}
}

func TestTimelineSealFlags(t *testing.T) {
	s, err := attest.GenerateKey("slack.main")
	if err != nil {
		t.Fatal(err)
	}
	pem, err := s.MarshalPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "slack.key")
	if err := os.WriteFile(key, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envAs, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"timeline", "INC-1", "--key-file", key}, "add --format json"},
		{[]string{"timeline", "INC-1", "--format", "json", "--key-file", key}, "say who exports with --as PERSON"},
		{[]string{"timeline", "INC-1", "--format", "json", "--key-file", filepath.Join(t.TempDir(), "none.key")}, "cannot be read"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q in\n%s", tc.args, code, exitUsage, tc.want, errOut)
		}
	}
}
