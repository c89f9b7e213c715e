package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

// BenchmarkSignedApprovalToIsolation measures what signing costs on the
// path PRODUCT.md cares most about: the final safety sign-off of the
// shipped ransomware playbook until the isolation starts cutting, signed
// (every answer and the start attested by a front door's key, the
// workflow verifying each, the worker requiring attestations: the start
// checked on every activity and each approval verified again by guard
// three against the worker's keys) and unsigned (the same path on the
// same worker accepting unattested answers). Each iteration runs one
// incident of each, one after the other and in alternating order, so load
// and drift hit both.
//
//	signed-p50-ns    final approval sent -> isolation starts, signed (median)
//	unsigned-p50-ns  the same, unsigned (median)
//	x-unsigned       signed-p50-ns over unsigned-p50-ns (target: at most 1.1)
func BenchmarkSignedApprovalToIsolation(b *testing.B) {
	dir, gateway := signedLibrary(b)
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	holder := org.NewHolder(o, org.Options{Lenient: true})
	auth := &modalAuthority{
		require: org.NewAuthority(holder, true),
		accept:  org.NewAuthority(holder, false),
	}
	req := incident.StartRequest{Dir: dir, Playbook: "ot_ransomware_containment", Inputs: RansomwareInputs, Commander: "ines", IncidentID: "BENCH-0"}
	unsigned, err := incident.Prepare(req)
	if err != nil {
		b.Fatal(err)
	}
	req.Signer = gateway
	signed, err := incident.Prepare(req)
	if err != nil {
		b.Fatal(err)
	}
	e := startBenchEnvWith(b, devserver.Options{Ephemeral: true}, auth)
	var tSigned, tUnsigned Samples
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		// Alternate which goes first, so neither always follows the
		// other's clean-up.
		for k := range 2 {
			if (i+k)%2 == 0 {
				auth.signed.Store(false)
				tUnsigned = append(tUnsigned, approvalToCut(b, e, unsigned, nil, i))
			} else {
				auth.signed.Store(true)
				tSigned = append(tSigned, approvalToCut(b, e, signed, gateway, i))
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	// Medians: one stalled incident (the machine is shared) should not
	// decide the ratio.
	ms, mu := tSigned.Median(), tUnsigned.Median()
	b.ReportMetric(float64(ms.Nanoseconds()), "signed-p50-ns")
	b.ReportMetric(float64(mu.Nanoseconds()), "unsigned-p50-ns")
	b.ReportMetric(float64(ms)/float64(mu), "x-unsigned")
	b.ReportMetric(0, "ns/op")
}

// modalAuthority is the worker's authority, requiring attestations while a
// signed incident is measured and accepting unattested ones otherwise.
// Iterations run one incident at a time, so each sees its own mode.
type modalAuthority struct {
	signed          atomic.Bool
	require, accept activities.Authority
}

// Policy returns the policy of the mode in force.
func (m *modalAuthority) Policy() *activities.Policy {
	if m.signed.Load() {
		return m.require.Policy()
	}
	return m.accept.Policy()
}

// approvalToCut runs one incident to its last sign-off and returns the time
// from sending that sign-off to the first cut. With a signer, every answer
// is signed by it.
func approvalToCut(b *testing.B, e *Env, prep *incident.Prepared, signer *attest.Signer, i int) time.Duration {
	ctx := context.Background()
	p := *prep
	p.Input.IncidentID = fmt.Sprintf("SIGNED-%v-%d-%d", signer != nil, time.Now().UnixNano(), i)
	started, err := incident.StartPrepared(ctx, e.Client, &p)
	must(b, err)
	id := started.IncidentID
	sign := func(update string, a workflows.Answer) workflows.Answer {
		a.Channel = workflows.ChannelScript
		if signer != nil {
			a, err = incident.SignAnswer(signer, update, id, a, time.Now())
			must(b, err)
		}
		return a
	}
	_, err = WaitFor(ctx, e.Client, id, "page waiting", StepIs("page.ot_engineer", workflows.StepWaiting))
	must(b, err)
	must(b, answer(ctx, e.Client, workflows.UpdateAck, id, sign(workflows.UpdateAck, workflows.Answer{Step: "page.ot_engineer", Person: "dmitri"})))
	_, err = WaitFor(ctx, e.Client, id, "sign-off waiting", StepIs("approval.isolate_ok", workflows.StepWaiting))
	must(b, err)
	must(b, answer(ctx, e.Client, workflows.UpdateApprove, id, sign(workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 1})))
	final := sign(workflows.UpdateApprove, workflows.Answer{Step: "approval.isolate_ok", Person: "olga", Round: 1})
	t0 := time.Now()
	must(b, answer(ctx, e.Client, workflows.UpdateApprove, id, final))
	cut, err := e.WaitCut(ctx, id)
	must(b, err)
	must(b, terminate(ctx, e.Client, started))
	return cut.At.Sub(t0)
}

// signedLibrary copies the shipped library into a temporary directory and
// adds a front door whose key signs every answer, as the Slack gateway
// will; it returns the directory and the front door's signer.
func signedLibrary(b *testing.B) (string, *attest.Signer) {
	dir := b.TempDir()
	files, err := filepath.Glob(filepath.Join(libraryDir, "*.hcl"))
	if err != nil || len(files) == 0 {
		b.Fatalf("the library's files: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	gateway, err := attest.GenerateKey("slack.bench_gateway")
	if err != nil {
		b.Fatal(err)
	}
	door := fmt.Sprintf("integration \"slack\" \"bench_gateway\" {\n  simulate   = true\n  public_key = %q\n}\n", gateway.Public())
	if err := os.WriteFile(filepath.Join(dir, "bench_gateway.hcl"), []byte(door), 0o644); err != nil {
		b.Fatal(err)
	}
	return dir, gateway
}
