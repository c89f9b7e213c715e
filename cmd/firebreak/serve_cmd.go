package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/slackdoor"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
)

func newServeCmd() *cobra.Command {
	var dir, httpAddr, slackName, keyFile string
	var verbose bool
	var opf opsFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Slack front door: prompts answered and incidents started in Slack",
		Long: `Serve connects firebreak to a Slack workspace. It receives responders'
button clicks, modal submissions and /firebreak slash commands, checks each
one, and hands it to the incident as the person the Slack user is, signed
with the front door's key.

Slack reaches it two ways, and it serves whichever the slack integration
block allows:
  Socket Mode   with app_token set: serve dials out to Slack over a
                websocket; no inbound port is needed (fits a plant network).
  HTTP          with --http-addr: Slack POSTs to /slack/interactions,
                /slack/commands and /slack/events, each verified with the
                app's signing_secret (refused with 401 otherwise).

Who a Slack user is comes from the person blocks of the loaded playbook
directory (slack = "U…"); a click from anyone else is refused. Every answer
and start is signed with the key in --key-file (FIREBREAK_KEY_FILE): make it
with 'firebreak keygen slack.main' and put the public_key line it prints in
the slack integration block, so workers trust what this front door signs.

The Temporal connection uses the same TEMPORAL_* variables as 'firebreak
worker'. Workers deliver the prompts; serve only receives. See docs/slack.md.`,
		Example: `  SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… firebreak serve --dir /etc/firebreak/playbooks --key-file /etc/firebreak/slack.key
  firebreak serve --http-addr :8080 --key-file slack.key    # behind your HTTPS proxy
  firebreak serve --key-file slack.key --metrics-addr 127.0.0.1:9465 --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			logger, err := opf.logger(cmd, verbose)
			if err != nil {
				return err
			}
			op, err := opf.start(cmd)
			if err != nil {
				return err
			}
			defer op.close()
			hup := catchHangup()
			defer signal.Stop(hup)
			holder, err := loadOrg(cmd, dir)
			if err != nil {
				return err
			}
			door, inst, err := frontDoor(holder, org.Dir(dir, os.Getenv), slackName, keyFile, true)
			if err != nil {
				return err
			}
			if err := slackdoor.Check(inst, httpAddr); err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			op.configLoaded()
			c, _, err := dialServer(ctx, logger, op.sdk())
			if err != nil {
				return err
			}
			defer c.Close()
			op.connected(c)
			door.Temporal = c
			door.Metrics = op.metrics
			reloadOnHangup(ctx, cmd, hup, holder, logger)
			return serveDoor(ctx, cmd, door, inst, httpAddr, logger)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", dirFlagHelp)
	cmd.Flags().StringVar(&httpAddr, "http-addr", "", "serve Slack's HTTP requests at this address, e.g. :8080 (else Socket Mode only)")
	cmd.Flags().StringVar(&slackName, "slack", "", "the slack integration to serve, e.g. slack.main (needed only when there are several)")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "the front door's private key ('firebreak keygen slack.NAME'; also: "+envKeyFile+")")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log every request, not only warnings")
	addOpsFlags(cmd, &opf)
	return cmd
}

// frontDoor builds the Slack front door for the organisation h holds. With
// requireKey, the key file is required and must be one the configuration
// trusts as a front door; without it (firebreak dev) a missing key sends
// unsigned answers, which only incidents that accept them take.
func frontDoor(h *org.Holder, dir, slackName, keyFile string, requireKey bool) (*slackdoor.Door, *org.Instance, error) {
	o := h.Current()
	inst, err := slackdoor.Instance(o, slackName)
	if err != nil {
		return nil, nil, &exitError{code: exitInvalid, err: err}
	}
	if inst.Simulate {
		return nil, nil, &exitError{code: exitInvalid, err: fmt.Errorf("integration %s (%s) says simulate = true, so it has no Slack workspace to talk to: remove simulate = true and set its bot_token, app_token and signing_secret variables (docs/slack.md)", inst.ID, inst.Source)}
	}
	signer, err := readSigner(keyFile, "")
	if err != nil {
		return nil, nil, err
	}
	switch {
	case signer == nil && requireKey:
		return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("the front door signs every answer it passes on: give its key with --key-file (or %s); 'firebreak keygen %s' makes one", envKeyFile, inst.ID)}
	case signer != nil && signer.Person() != "":
		return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("the key file is %s's own key; the front door needs a key of its own ('firebreak keygen %s')", signer.Person(), inst.ID)}
	case signer != nil:
		if err := trustedKey(o, signer); err != nil {
			return nil, nil, &exitError{code: exitInvalid, err: err}
		}
	}
	return slackdoor.New(nil, h, dir, signer), inst, nil
}

// trustedKey refuses a front-door key the configuration does not declare:
// every incident would refuse what it signs.
func trustedKey(o *org.Org, s *attest.Signer) error {
	for _, k := range o.Config.Keys() {
		if k.ID == s.ID {
			if k.PublicKey != s.Public() {
				return fmt.Errorf("the key file's key %s is not the public_key the configuration declares for %s; put this line in that block instead: public_key = %q", s.ID, s.ID, s.Public())
			}
			return nil
		}
	}
	return fmt.Errorf("no block declares the public key of %s, so incidents would refuse every answer it signs; add to the integration block: public_key = %q", s.ID, s.Public())
}

// serveDoor runs the front door until ctx ends, saying where it listens.
func serveDoor(ctx context.Context, cmd *cobra.Command, door *slackdoor.Door, inst *org.Instance, httpAddr string, logger *slog.Logger) error {
	out := cmd.OutOrStdout()
	mode := "unsigned answers (accepted only by incidents started unattested)"
	if door.Signer != nil {
		mode = "answers signed as " + door.Signer.ID
	}
	transports := "Socket Mode"
	switch {
	case httpAddr != "" && slackdoor.Setting(inst, slackdoor.SettingAppToken) != "":
		transports = "Socket Mode and HTTP"
	case httpAddr != "":
		transports = "HTTP"
	}
	fmt.Fprintf(out, "Slack front door: %s over %s, %s. Ctrl-C stops it.\n", inst.ID, transports, mode)
	err := slackdoor.Serve(ctx, slackdoor.ServeOptions{
		Instance: inst, Door: door, HTTPAddr: httpAddr, Logger: logger,
		Listening: func(addr string) {
			fmt.Fprintf(out, "Slack HTTP:       http://%s/slack/{interactions,commands,events}\n", addr)
		},
	})
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	return nil
}
