package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
)

// journalFile is the simulation journal's name inside a data directory.
const journalFile = "simulation.jsonl"

func serverCmds() []*cobra.Command {
	return []*cobra.Command{embeddedOnly(newDevCmd()), newWorkerCmd(), newServeCmd(), newDemoCmd()}
}

func defaultDataDir() string {
	if d := os.Getenv("FIREBREAK_DATA_DIR"); d != "" {
		return d
	}
	return ".firebreak"
}

func newDevCmd() *cobra.Command {
	var dataDir, dir, httpAddr, slackName, keyFile string
	var port, uiPort int
	var noWorker, verbose, requireAttestation bool
	var pg postgresFlags
	var opf opsFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a Temporal server and a firebreak worker in this process",
		Long: `Dev starts a real Temporal server inside this process, keeping its state in a
SQLite file in the data directory, registers the "default" namespace and
firebreak's search attributes, serves the Temporal Web UI, and starts the
firebreak worker against it. Incidents survive a restart: run dev again on the
same data directory and they carry on where they were.

Other terminals then use the normal commands (run, status, approve, ...); they
reach this server at 127.0.0.1:7233 by default, like the Temporal CLI.

The worker loads and checks the playbook directory (--dir, else
$FIREBREAK_DIR, else the built-in library) before anything starts, as
'firebreak validate' does, and reads the env() variables of its integrations
once; an error stops the start. SIGHUP reloads the directory: a version that
does not load is refused and logged, and the one in force stays.

The dev worker accepts unsigned starts and answers (they are marked
unattested); --require-attestation makes it refuse them, as 'firebreak
worker' does. Every other check of the worker's configuration applies
either way.

The worker's actions run on simulated twins and are recorded in
DATA_DIR/simulation.jsonl until real integrations are configured.

When the slack integration is real (no simulate = true), dev also runs the
Slack front door as 'firebreak serve' does: Socket Mode with its app_token,
and HTTP at --http-addr. Without --key-file its answers go unsigned, which
the dev worker accepts (marked unattested).
` + devPostgresHelp,
		Example: `  firebreak dev                          # state in ./.firebreak, UI on :8233
  firebreak dev --dir ./my-playbooks     # your organisation instead of the built-in library
  firebreak dev --data-dir /var/lib/firebreak --port 7233 --ui-port 8233
  firebreak dev --ui-port 0              # no Web UI
  firebreak dev --dir ./my-playbooks --http-addr 127.0.0.1:8080   # and Slack's HTTP requests
  FIREBREAK_POSTGRES_PASSWORD=... firebreak dev --no-worker --db postgres --postgres-port 5432 --setup-schema`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			logger, err := opf.logger(cmd, verbose)
			if err != nil {
				return err
			}
			hup := catchHangup()
			defer signal.Stop(hup)
			if noWorker && httpAddr != "" {
				return usageErrorf("--http-addr runs the Slack front door beside the worker; drop --no-worker, or run 'firebreak serve' on its own")
			}
			postgres, err := pg.options(cmd)
			if err != nil {
				return err
			}
			var holder *org.Holder
			if !noWorker {
				// The organisation first: a directory that does not load
				// stops the start before the server touches anything.
				h, err := loadOrg(cmd, dir)
				if err != nil {
					return err
				}
				holder = h
			}
			op, err := opf.start(cmd)
			if err != nil {
				return err
			}
			defer op.close()
			op.configLoaded()
			startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			opts := embeddedOptions{DataDir: dataDir, Port: port, UIPort: uiPort, Logger: logger, Postgres: postgres}
			state := filepath.Join(dataDir, embeddedDBFile)
			if postgres != nil {
				opts.DataDir, state = "", postgres.String()
			}
			srv, err := startEmbedded(startCtx, opts)
			cancel()
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			defer srv.Stop()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Temporal server:  %s (namespace %s)\n", srv.Address(), srv.Namespace())
			if srv.UIAddress() != "" {
				fmt.Fprintf(out, "Temporal Web UI:  http://%s\n", srv.UIAddress())
			}
			fmt.Fprintf(out, "State:            %s\n", state)
			if noWorker && op.health != nil {
				c, err := srv.NewClient(client.Options{Logger: tlog.NewStructuredLogger(logger)})
				if err != nil {
					return &exitError{code: exitInvalid, err: err}
				}
				defer c.Close()
				op.connected(c)
			}
			if !noWorker {
				c, err := srv.NewClient(client.Options{Logger: tlog.NewStructuredLogger(logger), MetricsHandler: op.sdk()})
				if err != nil {
					return &exitError{code: exitInvalid, err: err}
				}
				defer c.Close()
				j, err := sim.OpenJournal(filepath.Join(dataDir, journalFile))
				if err != nil {
					return &exitError{code: exitInvalid, err: err}
				}
				defer j.Close()
				ws, err := runner.Start(c, runner.Options{Journal: j, Logger: logger, Org: holder, RequireAttestation: requireAttestation, Metrics: op.metrics})
				if err != nil {
					return &exitError{code: exitInvalid, err: err}
				}
				defer ws.Stop()
				op.connected(c)
				op.scan(ctx, c, logger)
				describeOrg(cmd, holder.Current())
				reloadOnHangup(ctx, cmd, hup, holder, logger)
				fmt.Fprintf(out, "Worker:           running (simulated actions journaled in %s)\n", filepath.Join(dataDir, journalFile))
				if httpAddr != "" || realSlack(holder.Current()) {
					door, inst, err := frontDoor(holder, org.Dir(dir, os.Getenv), slackName, keyFile, false)
					if err != nil {
						return err
					}
					door.Temporal = c
					door.Metrics = op.metrics
					doorDone := make(chan struct{})
					defer func() { <-doorDone }()
					go func() {
						defer close(doorDone)
						// A front door that cannot start stops dev: the
						// user asked for it.
						if err := serveDoor(ctx, cmd, door, inst, httpAddr, logger); err != nil {
							fmt.Fprintf(cmd.ErrOrStderr(), "Error: %v\n", err)
							stop()
						}
					}()
				}
			}
			if srv.Address() != temporalenv.DefaultAddress {
				fmt.Fprintf(out, "\nIn other terminals: export TEMPORAL_ADDRESS=%s\n", srv.Address())
			}
			fmt.Fprintf(out, "Press Ctrl-C to stop.\n")
			<-ctx.Done()
			fmt.Fprintf(out, "Stopping.\n")
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "where the SQLite file and the simulation journal live (also: FIREBREAK_DATA_DIR)")
	cmd.Flags().StringVar(&dir, "dir", "", dirFlagHelp)
	cmd.Flags().IntVar(&port, "port", 7233, "Temporal frontend port")
	cmd.Flags().IntVar(&uiPort, "ui-port", 8233, "Temporal Web UI port (0: no UI)")
	cmd.Flags().BoolVar(&noWorker, "no-worker", false, "run only the server; start workers separately with 'firebreak worker'")
	cmd.Flags().BoolVar(&requireAttestation, "require-attestation", false, "refuse incidents whose start, and sign-offs whose approvals, are not signed by a key the organisation declares")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log server and worker information, not only warnings")
	cmd.Flags().StringVar(&httpAddr, "http-addr", "", "also serve Slack's HTTP requests at this address (the slack integration must be real)")
	cmd.Flags().StringVar(&slackName, "slack", "", "the slack integration to serve, when there are several")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "the Slack front door's private key (also: "+envKeyFile+"); without one its answers go unsigned")
	pg.register(cmd)
	addOpsFlags(cmd, &opf)
	return cmd
}

// dialServer connects a long-running process (worker, serve) to the
// Temporal server the TEMPORAL_* environment names, giving up after 30 s,
// with the client's metrics recorded by metrics.
func dialServer(ctx context.Context, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, temporalenv.Config, error) {
	cfg, err := temporalenv.FromEnv(os.Getenv)
	if err != nil {
		return nil, cfg, &exitError{code: exitInvalid, err: err}
	}
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := temporalenv.DialMetrics(dialCtx, cfg, logger, metrics)
	if err != nil {
		return nil, cfg, &exitError{code: exitInvalid, err: err}
	}
	return c, cfg, nil
}

// realSlack reports whether any slack integration of o is real.
func realSlack(o *org.Org) bool {
	for _, in := range o.Instances {
		if in.Kind == "slack" && !in.Simulate {
			return true
		}
	}
	return false
}

func newWorkerCmd() *cobra.Command {
	var journalPath, dir string
	var verbose, acceptUnattested bool
	var opf opsFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the firebreak worker against a Temporal server",
		Long: `Worker connects to the Temporal server named by the environment and runs
incidents: the incident workflow and its activities on the task queue
"firebreak", and exercise activities (always simulated) on "firebreak-exercise".
Run as many workers as you like; Temporal spreads the work between them.

Connection settings use the Temporal CLI's variable names:
  TEMPORAL_ADDRESS                       host:port (default 127.0.0.1:7233)
  TEMPORAL_NAMESPACE                     namespace (default "default")
  TEMPORAL_API_KEY                       API key (implies TLS)
  TEMPORAL_TLS                           true/false
  TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH
  TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION

Before it connects, the worker loads and checks the playbook directory
(--dir, else $FIREBREAK_DIR, else the built-in library) as 'firebreak
validate' does: its people, rosters, safety policy, zones, conduits and
integrations are the worker's own authority on who may do what. The env()
variables of every integration not marked simulate = true are read once, now;
one that is unset stops the start, naming the variable and the block. SIGHUP
reloads the directory; a version that does not load is refused and logged,
and the one in force stays.

The worker requires attestations: it does nothing for an incident whose
start is not signed by a key the organisation declares (a person's
public_key, or a trusted front door's), and refuses a safety-critical action
unless every approval of its sign-off is signed too. --accept-unattested
turns that off (as 'firebreak dev' runs) for a trial; never in production.

Actions run on simulated twins until real integrations are configured; each
one is journaled, once per idempotency key, in the --journal file. Workers on
one machine may share that file: an effect one applied is a repeat for all.

With --metrics-addr it serves Prometheus /metrics (the Temporal SDK's and
firebreak's: incidents by state, approvals waiting, time to acknowledge and
to sign-off, refused answers, Slack 429s), /healthz and /readyz (ready once
the directory is loaded and Temporal answers). See docs/operations.md.`,
		Example: `  firebreak worker --dir /etc/firebreak/playbooks
  kill -HUP $(pidof firebreak)           # reload the directory
  TEMPORAL_ADDRESS=temporal.plant.example:7233 TEMPORAL_NAMESPACE=ir firebreak worker
  firebreak worker --journal /var/lib/firebreak/simulation.jsonl
  firebreak worker --metrics-addr 127.0.0.1:9464 --log-format json   # Prometheus, /readyz, JSON logs`,
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
			op.configLoaded()
			c, cfg, err := dialServer(ctx, logger, op.sdk())
			if err != nil {
				return err
			}
			defer c.Close()
			if dir := filepath.Dir(journalPath); dir != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return &exitError{code: exitInvalid, err: err}
				}
			}
			j, err := sim.OpenJournal(journalPath)
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			defer j.Close()
			ws, err := runner.Start(c, runner.Options{Journal: j, Logger: logger, Org: holder, RequireAttestation: !acceptUnattested, Metrics: op.metrics})
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			defer ws.Stop()
			op.connected(c)
			op.scan(ctx, c, logger)
			describeOrg(cmd, holder.Current())
			if acceptUnattested {
				fmt.Fprintln(cmd.ErrOrStderr(), "Warning: --accept-unattested: unsigned starts and sign-offs are accepted; anyone who can reach the Temporal namespace can start incidents and answer them.")
			}
			reloadOnHangup(ctx, cmd, hup, holder, logger)
			fmt.Fprintf(cmd.OutOrStdout(), "Worker running against %s (namespace %s); simulated actions journaled in %s. Ctrl-C stops it.\n", cfg.Address, cfg.Namespace, journalPath)
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&journalPath, "journal", filepath.Join(defaultDataDir(), journalFile), "the simulation journal file")
	cmd.Flags().StringVar(&dir, "dir", "", dirFlagHelp)
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log worker information, not only warnings")
	cmd.Flags().BoolVar(&acceptUnattested, "accept-unattested", false, "accept unsigned incident starts and approvals (as 'firebreak dev' does); for trials only")
	addOpsFlags(cmd, &opf)
	return cmd
}
