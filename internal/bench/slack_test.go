package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/internal/slackdoor"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

// BenchmarkSlackClickToIsolation times the final safety sign-off of the
// shipped ransomware playbook given as a click in Slack: the fake Slack's
// player sends the signed block_actions request of dmitri's Approve
// button to the front door over HTTP; the gateway verifies and acks it,
// the door maps the Slack user to a person, signs the answer with the
// front door's key and sends the Update; the workflow verifies it, and
// the isolation starts after guard three (worker requiring
// attestations). Every message of the incident goes through the real
// Slack adapter to the fake. Next to each click, untimed, a bare Update
// round trip (Echo) on the same server.
//
//	click-p50-ns  click sent -> isolation starts (median)
//	echo-p50-ns   a bare Update round trip (median)
//	x-update      click-p50-ns over echo-p50-ns (target: at most 1.3)
func BenchmarkSlackClickToIsolation(b *testing.B) {
	fake := slackfake.New()
	b.Cleanup(fake.Close)
	for _, name := range []string{"alice", "bob", "noah", "carol", "dmitri", "erin", "olga", "farid", "grace", "maria", "hiro", "ines", "jamal", "kate"} {
		fake.AddUser("U01"+strings.ToUpper(name), name)
	}
	dir, gateway := slackLibrary(b, fake)
	env := map[string]string{"SLACK_BOT_TOKEN": fake.BotToken, "SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": fake.SigningSecret}
	opts := org.Options{Getenv: func(k string) string { return env[k] }, Lenient: true}
	o, _, diags := org.Load(dir, opts)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	holder := org.NewHolder(o, opts)

	e := &benchEnv{env: startServer(b, devserver.Options{Ephemeral: true})}
	acts := sim.New(sim.NewJournal()).Activities()
	acts.Authority = org.NewAuthority(holder, true)
	chat, err := runner.SlackChat(holder, nil)
	if err != nil || chat == nil {
		b.Fatalf("the Slack adapter: %v", err)
	}
	acts.Chat = chat
	e.cuts = NewNotifyingIsolator(acts.Isolator, 1024)
	acts.Isolator = e.cuts
	w := worker.New(e.c, activities.TaskQueue, worker.Options{})
	runner.Register(w, acts)
	w.RegisterWorkflowWithOptions(Echo, workflow.RegisterOptions{Name: EchoName})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)

	inst, err := slackdoor.Instance(o, "")
	if err != nil {
		b.Fatal(err)
	}
	door := slackdoor.New(e.c, holder, dir, gateway)
	dctx, stop := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- slackdoor.Serve(dctx, slackdoor.ServeOptions{Instance: inst, Door: door, HTTPAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), Listening: func(a string) { listening <- a }})
	}()
	b.Cleanup(func() { stop(); <-served })
	var base string
	select {
	case a := <-listening:
		base = "http://" + a
	case err := <-served:
		b.Fatalf("the front door did not start: %v", err)
	}
	prep, err := incident.Prepare(incident.StartRequest{Dir: dir, Playbook: "ot_ransomware_containment", Inputs: ransomwareInputs, Commander: "ines", IncidentID: "BENCH-0", Signer: gateway})
	if err != nil {
		b.Fatal(err)
	}
	ctx := e.ctx
	prompt := func(user, action string) (string, string) {
		var ch, ts string
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := fake.Wait(wctx, func(s *slackfake.Snapshot) bool {
			im, ok := s.IM(user)
			if !ok {
				return false
			}
			m := s.WithButton(im, action)
			if len(m) == 0 {
				return false
			}
			ch, ts = im, m[len(m)-1].TS
			return true
		}); err != nil {
			b.Fatalf("%s's %s button: %v", user, action, err)
		}
		return ch, ts
	}
	click := func(user, ch, ts, action string) {
		in, err := fake.Click(user, ch, ts, action)
		if err != nil {
			b.Fatal(err)
		}
		if code, body, err := fake.DeliverHTTP(ctx, base+slack.PathInteractions, in); err != nil || code != http.StatusOK {
			b.Fatalf("click: %d %s %v", code, body, err)
		}
	}
	echo := startEcho(b, e)
	var tClick, tEcho []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		p := *prep
		p.Input.IncidentID = fmt.Sprintf("SLACK-%d-%d", time.Now().UnixNano(), i)
		started, err := incident.StartPrepared(ctx, e.c, &p)
		if err != nil {
			b.Fatal(err)
		}
		id := started.IncidentID
		ch, ts := prompt("U01OLGA", slack.ActionAck)
		click("U01OLGA", ch, ts, slack.ActionAck)
		ach, ats := prompt("U01ALICE", slack.ActionApprove)
		dch, dts := prompt("U01DMITRI", slack.ActionApprove)
		click("U01ALICE", ach, ats, slack.ActionApprove)
		waitFor(b, ctx, e.c, id, "alice's approval", func(st workflows.Status) bool {
			for _, s := range st.Steps {
				if s.ID == "approval.isolate_ok" && len(s.Approvals) == 1 {
					return true
				}
			}
			return false
		})
		tEcho = append(tEcho, echo.update(b))
		b.StartTimer()

		t0 := time.Now()
		click("U01DMITRI", dch, dts, slack.ActionApprove)
		cut := e.waitCut(b, id)
		tClick = append(tClick, cut.At.Sub(t0))

		b.StopTimer()
		if err := e.c.TerminateWorkflow(ctx, started.WorkflowID, started.RunID, "benchmark iteration done"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	echo.finish(b)
	mc, me := median(tClick), median(tEcho)
	b.ReportMetric(float64(mc.Nanoseconds()), "click-p50-ns")
	b.ReportMetric(float64(me.Nanoseconds()), "echo-p50-ns")
	b.ReportMetric(float64(mc)/float64(me), "x-update")
	b.ReportMetric(0, "ns/op")
}

// slackLibrary copies the shipped library into a temporary directory with
// its slack integration real and pointed at the fake, and a front door
// key; it returns the directory and the front door's signer.
func slackLibrary(b *testing.B, fake *slackfake.Fake) (string, *attest.Signer) {
	dir := b.TempDir()
	gateway, err := attest.GenerateKey("slack.main")
	if err != nil {
		b.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(libraryDir, "*.hcl"))
	if err != nil || len(files) == 0 {
		b.Fatalf("the library's files: %v", err)
	}
	const simulated = "integration \"slack\" \"main\" {\n  simulate       = true\n"
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		text := strings.Replace(string(data), simulated, fmt.Sprintf("integration \"slack\" \"main\" {\n  api_url    = %q\n  public_key = %q\n", fake.URL(), gateway.Public()), 1)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir, gateway
}
