package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/internal/slackdoor"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
	"go.temporal.io/sdk/client"
)

// slackPlaybook is the incident the Slack end-to-end test runs: a room, a
// page, the plant 3 safety sign-off, the isolation, a notice.
const slackPlaybook = `playbook "slack_e2e" {
  title    = "Slack end to end <!channel>"
  severity = "sev1"

  step "open_room" {
    action = "slack.open_channel"
    with = {
      name   = incident.id
      invite = [roster.soc_oncall, roster.ot_oncall, roster.process_safety]
      topic  = "Slack end-to-end test"
    }
  }

  page "ot_engineer" {
    escalation = escalation.ot_engineering
    message    = "SEV1: please acknowledge <https://evil.example|here>"
    needs      = [step.open_room]
  }

  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.plant3_control]
    prompt = "Isolate the plant 3 control network?"
    needs  = [page.ot_engineer]
  }

  step "isolate" {
    action = "ot.isolate_zone"
    with = {
      zone   = zone.plant3_control
      reason = "Slack end-to-end test"
    }
    needs = [approval.isolate_ok]
  }

  notify "isolated" {
    message = "Plant 3 isolated."
    needs   = [step.isolate]
  }
}
`

// slackWorld is a workspace on the fake Slack, a copy of the library whose
// slack integration is real and points at the fake, a worker that
// delivers through it and requires attestations, and the front door
// serving HTTP and Socket Mode.
type slackWorld struct {
	t       *testing.T
	ctx     context.Context
	fake    *slackfake.Fake
	dir     string
	gateway *attest.Signer
	journal *sim.Journal
	c       client.Client
	http    string // the front door's base URL
	general string // a channel people type commands in
}

// slackUsers are the library's people with their Slack IDs.
var slackUsers = map[string]string{
	"U01ALICE": "alice", "U01BOB": "bob", "U01NOAH": "noah", "U01CAROL": "carol", "U01DMITRI": "dmitri",
	"U01ERIN": "erin", "U01OLGA": "olga", "U01FARID": "farid", "U01GRACE": "grace", "U01MARIA": "maria",
	"U01HIRO": "hiro", "U01INES": "ines", "U01JAMAL": "jamal", "U01KATE": "kate",
}

func newSlackWorld(t *testing.T) *slackWorld {
	t.Helper()
	w := &slackWorld{t: t, ctx: testContext(t, 3*time.Minute), fake: slackfake.New(), journal: sim.NewJournal()}
	t.Cleanup(w.fake.Close)
	for id, name := range slackUsers {
		w.fake.AddUser(id, name)
	}
	w.fake.AddUser("U0STRANGER", "stranger")
	w.general = w.fake.AddChannel("general", false, "U01INES", "U01HIRO", "U0STRANGER")

	var err error
	if w.gateway, err = attest.GenerateKey("slack.main"); err != nil {
		t.Fatal(err)
	}
	w.dir = t.TempDir()
	files, err := filepath.Glob(filepath.Join(libraryDir, "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the library's files: %v", err)
	}
	const simulated = "integration \"slack\" \"main\" {\n  simulate       = true\n"
	replaced := false
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(src)
		if strings.Contains(text, simulated) {
			replaced = true
			text = strings.Replace(text, simulated, fmt.Sprintf("integration \"slack\" \"main\" {\n  api_url    = %q\n  public_key = %q\n", w.fake.URL(), w.gateway.Public()), 1)
		}
		if err := os.WriteFile(filepath.Join(w.dir, filepath.Base(f)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !replaced {
		t.Fatal("the library's slack integration block is not where the test expects it")
	}
	if err := os.WriteFile(filepath.Join(w.dir, "slack_e2e.hcl"), []byte(slackPlaybook), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLACK_BOT_TOKEN": w.fake.BotToken, "SLACK_APP_TOKEN": w.fake.AppToken, "SLACK_SIGNING_SECRET": w.fake.SigningSecret}
	opts := org.Options{Getenv: func(k string) string { return env[k] }, Lenient: true}
	o, _, diags := org.Load(w.dir, opts)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	holder := org.NewHolder(o, opts)

	srv := startServer(t, devserver.Options{Ephemeral: true})
	c := newClient(t, srv)
	w.c = c
	ws, err := runner.Start(c, runner.Options{Journal: w.journal, Org: holder, RequireAttestation: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)

	inst, err := slackdoor.Instance(o, "")
	if err != nil {
		t.Fatal(err)
	}
	door := slackdoor.New(c, holder, w.dir, w.gateway)
	dctx, stop := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- slackdoor.Serve(dctx, slackdoor.ServeOptions{Instance: inst, Door: door, HTTPAddr: "127.0.0.1:0", Listening: func(a string) { listening <- a }})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("the front door: %v", err)
		}
	})
	select {
	case a := <-listening:
		w.http = "http://" + a
	case err := <-served:
		t.Fatalf("the front door did not start: %v", err)
	}
	// Socket Mode is up once the fake has a connection.
	w.wait("the front door's Socket Mode connection", func(s *slackfake.Snapshot) bool { return s.SocketConnections() > 0 })
	return w
}

// wait blocks until cond holds in the fake workspace.
func (w *slackWorld) wait(what string, cond func(*slackfake.Snapshot) bool) {
	w.t.Helper()
	if err := w.fake.Wait(w.ctx, cond); err != nil {
		w.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// prompt waits for a message with actionID in the user's direct messages
// (or in channel, when given) and returns its channel and timestamp.
func (w *slackWorld) prompt(user, channel, actionID string) (string, string) {
	w.t.Helper()
	var ch, ts string
	w.wait(fmt.Sprintf("a %s button for %s", actionID, user), func(s *slackfake.Snapshot) bool {
		ch = channel
		if ch == "" {
			var ok bool
			if ch, ok = s.IM(user); !ok {
				return false
			}
		}
		if m := s.WithButton(ch, actionID); len(m) > 0 {
			ts = m[len(m)-1].TS
			return true
		}
		return false
	})
	return ch, ts
}

// click clicks a button and delivers the click over Socket Mode when
// socket is set, else over signed HTTP.
func (w *slackWorld) click(socket bool, user, ch, ts, actionID string) {
	w.t.Helper()
	if !socket {
		w.clickHTTP(user, ch, ts, actionID)
		return
	}
	in, err := w.fake.Click(user, ch, ts, actionID)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.fake.DeliverSocket(w.ctx, in); err != nil {
		w.t.Fatal(err)
	}
}

// clickHTTP clicks a button and delivers the click over signed HTTP.
func (w *slackWorld) clickHTTP(user, ch, ts, actionID string, opts ...slackfake.DeliverOption) int {
	w.t.Helper()
	in, err := w.fake.Click(user, ch, ts, actionID)
	if err != nil {
		w.t.Fatal(err)
	}
	code, body, err := w.fake.DeliverHTTP(w.ctx, w.http+slack.PathInteractions, in, opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	if code != http.StatusOK && len(opts) == 0 {
		w.t.Fatalf("click by %s answered %d: %s", user, code, body)
	}
	return code
}

// TestSlackSignoffEndToEnd runs a safety sign-off in Slack on the embedded
// Temporal server: the incident is started with /firebreak run, the page
// acknowledged with a click, an unauthorised click and a forged request
// refused, the sign-off given by two authorised people; every click goes
// over signed HTTP in one run and over Socket Mode in the other (the
// forged request is HTTP's). The isolation runs exactly once, and every
// prompt and the pinned status end in their final state.
func TestSlackSignoffEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		socket bool
	}{{"http", false}, {"socket_mode", true}} {
		t.Run(tc.name, func(t *testing.T) { slackSignoff(t, tc.socket) })
	}
}

func slackSignoff(t *testing.T, socket bool) {
	w := newSlackWorld(t)

	// /firebreak run, over HTTP.
	cmd, err := w.fake.Command("U01INES", w.general, slack.SlashCommand, "run slack_e2e")
	if err != nil {
		t.Fatal(err)
	}
	if code, body, err := w.fake.DeliverHTTP(w.ctx, w.http+slack.PathCommands, cmd); err != nil || code != http.StatusOK {
		t.Fatalf("slash command: %d %s %v", code, body, err)
	}
	started := regexp.MustCompile(`Started incident (INC-[0-9A-F-]+)`)
	var id string
	w.wait("the slash command's reply", func(s *slackfake.Snapshot) bool {
		for _, r := range s.Responses() {
			if m := started.FindStringSubmatch(r.Text); m != nil {
				id = m[1]
				return true
			}
		}
		return false
	})
	room := "inc-" + strings.ToLower(strings.TrimPrefix(id, "INC-"))

	// The page reaches olga (ot_oncall) directly; she acknowledges.
	ch, ts := w.prompt("U01OLGA", "", slack.ActionAck)
	w.click(socket, "U01OLGA", ch, ts, slack.ActionAck)

	// The sign-off: a forged request and an unauthorised click change
	// nothing; alice (process safety) and dmitri (OT operations) approve.
	ach, ats := w.prompt("U01ALICE", "", slack.ActionApprove)
	if code := w.clickHTTP("U01ALICE", ach, ats, slack.ActionApprove, slackfake.Forged()); code != http.StatusUnauthorized {
		t.Errorf("a forged click answered %d; want 401", code)
	}
	rch, rts := w.prompt("", room, slack.ActionApprove)
	w.click(socket, "U01HIRO", rch, rts, slack.ActionApprove)
	w.wait("hiro's refusal", func(s *slackfake.Snapshot) bool {
		for _, e := range s.Ephemerals("U01HIRO") {
			if strings.Contains(e.Text, "refused") {
				return true
			}
		}
		return false
	})
	w.click(socket, "U01ALICE", ach, ats, slack.ActionApprove)
	dch, dts := w.prompt("U01DMITRI", "", slack.ActionApprove)
	w.click(socket, "U01DMITRI", dch, dts, slack.ActionApprove)

	waitState(t, w.c, id, workflows.StateCompleted)

	// The isolation ran once: one cut per conduit into plant 3 control
	// that is not kept open, each journaled once.
	cuts := map[string]int{}
	for _, e := range w.journal.Attempts() {
		if e.Op == sim.OpCut && e.Effect {
			cuts[e.Key]++
		}
	}
	if len(cuts) != 2 {
		t.Errorf("cuts %v; want the two conduits into plant 3 control, once each", cuts)
	}
	for k, n := range cuts {
		if n != 1 {
			t.Errorf("conduit %s cut %d times", k, n)
		}
	}

	// Every prompt of the sign-off and the page is settled: no buttons
	// anywhere, and the pinned status says the incident completed.
	w.wait("every prompt settled and the status final", func(s *slackfake.Snapshot) bool {
		chans := []string{room}
		for u := range slackUsers {
			if im, ok := s.IM(u); ok {
				chans = append(chans, im)
			}
		}
		for _, ch := range chans {
			for _, a := range []string{slack.ActionAck, slack.ActionApprove, slack.ActionDeny} {
				if len(s.WithButton(ch, a)) > 0 {
					return false
				}
			}
		}
		pins := s.Pins(room)
		if len(pins) != 1 {
			return false
		}
		m, ok := s.Message(room, pins[0].TS)
		return ok && strings.Contains(strings.ToLower(string(m.Blocks)+m.Text), "completed")
	})
	// The record says who answered through which Slack account, signed by
	// the front door.
	tl, err := timeline(w.c, id)
	if err != nil {
		t.Fatal(err)
	}
	approved := map[string]bool{}
	for _, e := range tl.Events {
		if e.Kind != workflows.EventApproved {
			continue
		}
		approved[e.Person] = true
		want := "slack:" + map[string]string{"alice": "U01ALICE", "dmitri": "U01DMITRI"}[e.Person]
		if e.Channel != want || e.Attestation == nil || e.Attestation.Signer != "slack.main" {
			t.Errorf("approval by %s came through %q signed by %+v; want %s signed by slack.main", e.Person, e.Channel, e.Attestation, want)
		}
	}
	if !approved["alice"] || !approved["dmitri"] || len(approved) != 2 {
		t.Errorf("approvals on record: %v; want alice and dmitri", approved)
	}
	// /firebreak status and list answer in Slack too.
	for _, c := range []struct{ text, want string }{
		{"status " + id, id + ": "},
		{"list", "slack_e2e"},
	} {
		in, err := w.fake.Command("U01INES", w.general, slack.SlashCommand, c.text)
		if err != nil {
			t.Fatal(err)
		}
		if socket {
			_, err = w.fake.DeliverSocket(w.ctx, in)
		} else {
			_, _, err = w.fake.DeliverHTTP(w.ctx, w.http+slack.PathCommands, in)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.wait("the reply to /firebreak "+c.text, func(s *slackfake.Snapshot) bool {
			for _, r := range s.Responses() {
				if strings.Contains(r.Text, c.want) && (c.text == "list" || strings.Contains(r.Text, "completed")) {
					return true
				}
			}
			return false
		})
	}
	// Hostile text from the playbook never became a mention or a link.
	for _, m := range w.fake.Messages(room) {
		if strings.Contains(m.Text, "<!channel>") || strings.Contains(string(m.Blocks), "<!channel>") ||
			strings.Contains(string(m.Blocks), "<https://evil.example") {
			t.Errorf("message %s carries live markup: %s", m.TS, m.Blocks)
		}
	}
}
