package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/internal/slackdoor"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/library"
	"github.com/firebreak-ir/firebreak/workflows"
)

// SlackEnv is an Env whose worker talks to a fake Slack through the real
// Slack adapter and requires attestations, with the Slack front door
// (`firebreak serve`) in front of it, on a copy of the built-in library
// whose slack integration points at the fake.
type SlackEnv struct {
	*Env
	// Fake is the fake Slack; the library's people are its users.
	Fake *slackfake.Fake
	// Prep is the ransomware playbook prepared from the copy, its start
	// attested by the front door's key.
	Prep *incident.Prepared
	base string
	stop func()
	dir  string
}

// slackUsers are the library's people, each a user U01<NAME> of the fake.
var slackUsers = []string{"alice", "bob", "noah", "carol", "dmitri", "erin", "olga", "farid", "grace", "maria", "hiro", "ines", "jamal", "kate"}

// StartSlack starts a SlackEnv on an in-memory server. Close stops it all.
func StartSlack(ctx context.Context, logf func(string, ...any)) (_ *SlackEnv, err error) {
	s := &SlackEnv{Fake: slackfake.New()}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	for _, name := range slackUsers {
		s.Fake.AddUser("U01"+strings.ToUpper(name), name)
	}
	gateway, err := s.library()
	if err != nil {
		return nil, err
	}
	env := map[string]string{"SLACK_BOT_TOKEN": s.Fake.BotToken, "SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": s.Fake.SigningSecret}
	opts := org.Options{Getenv: func(k string) string { return env[k] }, Lenient: true}
	o, _, diags := org.Load(s.dir, opts)
	if o == nil || diags.HasErrors() {
		return nil, fmt.Errorf("loading the library pointed at the fake Slack: %s", diags.Error())
	}
	holder := org.NewHolder(o, opts)
	chat, err := runner.SlackChat(holder, nil)
	if err != nil || chat == nil {
		return nil, fmt.Errorf("the Slack adapter: %v", err)
	}
	if s.Env, err = StartEnv(ctx, EnvOptions{Server: devserver.Options{Ephemeral: true}, Authority: org.NewAuthority(holder, true), Chat: chat, Logf: logf}); err != nil {
		return nil, err
	}
	inst, err := slackdoor.Instance(o, "")
	if err != nil {
		return nil, err
	}
	door := slackdoor.New(s.Client, holder, s.dir, gateway)
	dctx, stop := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- slackdoor.Serve(dctx, slackdoor.ServeOptions{Instance: inst, Door: door, HTTPAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), Listening: func(a string) { listening <- a }})
	}()
	s.stop = func() { stop(); <-served }
	select {
	case a := <-listening:
		s.base = "http://" + a
	case err := <-served:
		s.stop = func() {}
		return nil, fmt.Errorf("the front door did not start: %w", err)
	}
	if s.Prep, err = PrepareRansomware(s.dir, gateway); err != nil {
		return nil, err
	}
	return s, nil
}

// library writes the built-in library into a temporary directory with its
// slack integration real and pointed at the fake, and a front door key; it
// returns the front door's signer.
func (s *SlackEnv) library() (*attest.Signer, error) {
	dir, err := os.MkdirTemp("", "firebreak-bench-slack-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	gateway, err := attest.GenerateKey("slack.main")
	if err != nil {
		return nil, err
	}
	files, err := library.WriteTo(dir, false)
	if err != nil {
		return nil, err
	}
	const simulated = "integration \"slack\" \"main\" {\n  simulate       = true\n"
	found := false
	for _, f := range files {
		if filepath.Ext(f) != ".hcl" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		text := string(data)
		if strings.Contains(text, simulated) {
			found = true
			text = strings.Replace(text, simulated, fmt.Sprintf("integration \"slack\" \"main\" {\n  api_url    = %q\n  public_key = %q\n", s.Fake.URL(), gateway.Public()), 1)
		}
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, fmt.Errorf("no simulated slack integration in the built-in library to point at the fake")
	}
	return gateway, nil
}

// Close stops the front door, the worker, the server and the fake, and
// removes the library copy.
func (s *SlackEnv) Close() error {
	var err error
	if s.stop != nil {
		s.stop()
	}
	if s.Env != nil {
		err = s.Env.Close()
	}
	s.Fake.Close()
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
	return err
}

// prompt waits for the newest message in user's DM with an action button
// and returns its channel and timestamp.
func (s *SlackEnv) prompt(ctx context.Context, user, action string) (string, string, error) {
	var ch, ts string
	wctx, cancel := context.WithTimeout(ctx, WaitLimit)
	defer cancel()
	err := s.Fake.Wait(wctx, func(snap *slackfake.Snapshot) bool {
		im, ok := snap.IM(user)
		if !ok {
			return false
		}
		m := snap.WithButton(im, action)
		if len(m) == 0 {
			return false
		}
		ch, ts = im, m[len(m)-1].TS
		return true
	})
	if err != nil {
		return "", "", fmt.Errorf("%s's %s button: %w", user, action, err)
	}
	return ch, ts, nil
}

// click sends the fake's signed block_actions request for user's button to
// the front door over HTTP.
func (s *SlackEnv) click(ctx context.Context, user, ch, ts, action string) error {
	in, err := s.Fake.Click(user, ch, ts, action)
	if err != nil {
		return err
	}
	code, body, err := s.Fake.DeliverHTTP(ctx, s.base+slack.PathInteractions, in)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s's click: the front door answered %d %s", user, code, body)
	}
	return nil
}

// ClickSamples are repeated signed Slack clicks to isolation, each next to
// a bare Update.
type ClickSamples struct {
	// Click is from sending the final sign-off's click until the first
	// cut starts.
	Click Samples
	// Echo is a bare Update round trip sent just before each click.
	Echo Samples
}

// SlackClickToIsolation runs n incidents of the ransomware playbook, every
// answer a click in the fake Slack: olga acknowledges, alice approves, a
// bare Echo Update, then, timed, dmitri's Approve click until the
// isolation starts. The front door verifies and acks each click, maps the
// Slack user to a person, signs the answer with its key and sends the
// Update; the workflow verifies it, and guard three again.
func SlackClickToIsolation(ctx context.Context, s *SlackEnv, n int) (ClickSamples, error) {
	var out ClickSamples
	echo, err := StartEcho(ctx, s.Client)
	if err != nil {
		return out, err
	}
	for i := range n {
		p := *s.Prep
		p.Input.IncidentID = fmt.Sprintf("SLACK-%d-%d", time.Now().UnixNano(), i)
		started, err := incident.StartPrepared(ctx, s.Client, &p)
		if err != nil {
			return out, err
		}
		id := started.IncidentID
		ch, ts, err := s.prompt(ctx, "U01OLGA", slack.ActionAck)
		if err != nil {
			return out, err
		}
		if err := s.click(ctx, "U01OLGA", ch, ts, slack.ActionAck); err != nil {
			return out, err
		}
		ach, ats, err := s.prompt(ctx, "U01ALICE", slack.ActionApprove)
		if err != nil {
			return out, err
		}
		dch, dts, err := s.prompt(ctx, "U01DMITRI", slack.ActionApprove)
		if err != nil {
			return out, err
		}
		if err := s.click(ctx, "U01ALICE", ach, ats, slack.ActionApprove); err != nil {
			return out, err
		}
		if _, err := WaitFor(ctx, s.Client, id, "alice's approval", func(st workflows.Status) bool {
			for _, s := range st.Steps {
				if s.ID == "approval.isolate_ok" && len(s.Approvals) == 1 {
					return true
				}
			}
			return false
		}); err != nil {
			return out, err
		}
		d, err := echo.Update(ctx)
		if err != nil {
			return out, err
		}
		out.Echo = append(out.Echo, d)

		t0 := time.Now()
		if err := s.click(ctx, "U01DMITRI", dch, dts, slack.ActionApprove); err != nil {
			return out, err
		}
		cut, err := s.WaitCut(ctx, id)
		if err != nil {
			return out, err
		}
		out.Click = append(out.Click, cut.At.Sub(t0))
		if err := terminate(ctx, s.Client, started); err != nil {
			return out, err
		}
	}
	return out, echo.Finish(ctx)
}
