package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/demo"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/evidence"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

// signedLibrary writes a copy of the shipped library in which ines (the
// commander) has her own key and a Slack front door signs for everyone
// else, and returns the directory and both signers.
func signedLibrary(t *testing.T) (dir string, ines, gateway *attest.Signer) {
	t.Helper()
	var err error
	if ines, err = attest.GenerateKey("person.ines"); err != nil {
		t.Fatal(err)
	}
	if gateway, err = attest.GenerateKey("slack.main"); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	files, err := filepath.Glob(filepath.Join(libraryDir, "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the library's files: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(src), "person \"ines\" {\n", fmt.Sprintf("person \"ines\" {\n  public_key = %q\n", ines.Public()), 1)
		text = strings.Replace(text, "integration \"slack\" \"main\" {\n", fmt.Sprintf("integration \"slack\" \"main\" {\n  public_key = %q\n", gateway.Public()), 1)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ines, gateway
}

// TestSignedIncidentVerifies runs the demo's incident fully signed on a
// worker that requires attestations: ines starts it with her own key,
// responders answer through the Slack front door's key. Plant 3 is
// isolated; the timeline exported and sealed by ines verifies offline
// against the organisation's keys, and fails once one byte of it changes.
func TestSignedIncidentVerifies(t *testing.T) {
	dir, ines, gateway := signedLibrary(t)
	o, _, diags := org.Load(dir, org.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	srv := startServer(t, devserver.Options{Ephemeral: true})
	c := newClient(t, srv)
	j := sim.NewJournal()
	ws, err := runner.Start(c, runner.Options{Journal: j, Org: org.NewHolder(o, org.Options{}), RequireAttestation: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)

	const id = "E2E-SIGNED"
	prep, err := incident.Prepare(incident.StartRequest{Dir: dir, Playbook: "ot_ransomware_containment", Commander: "ines", IncidentID: id,
		Inputs: []string{"zone=plant3_dmz", `hosts=["ws-eng-07"]`}, Signer: ines})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Input.AcceptUnattested {
		t.Fatal("a signed start accepts unattested answers")
	}
	ctx := testContext(t, startTimeout)
	if _, err := incident.StartPrepared(ctx, c, prep); err != nil {
		t.Fatal(err)
	}
	// An unsigned answer, as before this worker required signatures, is
	// refused without a trace.
	waitStep(t, c, id, "page.ot_engineer", workflows.StepWaiting, 0)
	if _, err := incident.Answer(ctx, c, workflows.UpdateAck, id, workflows.Answer{Step: "page.ot_engineer", Person: "dmitri", Channel: workflows.ChannelCLI}); err == nil || !strings.Contains(err.Error(), "signed answers only") {
		t.Fatalf("an unsigned ack: %v, want it refused for want of a signature", err)
	}
	refusals, err := incident.PlayScriptSigned(ctx, c, id, demo.Script(), 0, gateway)
	if err != nil {
		t.Fatal(err)
	}
	if len(refusals) != 1 {
		t.Errorf("refusals %v, want hiro's only", refusals)
	}
	st := waitState(t, c, id, workflows.StateCompleted)
	if s := stepOf(st, "step.isolate"); s.State != workflows.StepDone {
		t.Fatalf("step.isolate %+v", s)
	}
	if len(incidentEffects(j.Effects(), id, sim.OpCut)) == 0 {
		t.Fatal("plant 3 was not isolated")
	}

	doc, err := incident.Export(ctx, c, id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.SealWith(ines, "ines", time.Now()); err != nil {
		t.Fatal(err)
	}
	data, err := evidence.Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	trust := evidence.Trust{Keys: o.Config.Keys(), Directory: o.Config.Directory(), Safety: o.Config.PlanSafety(), Actions: actions.Builtin()}
	rep := evidence.Verify(data, trust, evidence.Options{})
	if !rep.OK {
		var out bytes.Buffer
		_ = rep.WriteText(&out, id+".json")
		t.Fatalf("the signed incident's export does not verify:\n%s", out.String())
	}
	// One byte changed anywhere fails it: a few places that matter.
	for _, what := range []string{`"person": "alice"`, `"kind": "approved"`, `"signature": "`, `"detail": "`} {
		i := bytes.Index(data, []byte(what))
		if i < 0 {
			t.Fatalf("the export has no %s", what)
		}
		bad := bytes.Clone(data)
		at := i + len(what) - 2
		bad[at] ^= 0x01
		if evidence.Verify(bad, trust, evidence.Options{}).OK {
			t.Errorf("an export with byte %d (in %s) changed still verifies", at, what)
		}
	}
}
