//go:build !noembedded

package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/internal/demo"
	"github.com/firebreak-ir/firebreak/internal/org"
)

func newDemoCmd() *cobra.Command {
	var opts demo.Options
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the ransomware playbook end to end with scripted responders",
		Long: `Demo shows the whole product on a fresh machine with no setup. It starts a
real Temporal server and a worker in this process on a temporary data
directory, starts the shipped ot_ransomware_containment playbook, and lets
scripted responders answer through the same updates people use from Slack or
the CLI:

  - the OT on-call engineer acknowledges the page,
  - a SOC analyst tries to approve the plant isolation and is refused (not on
    a sign-off roster; the refusal is in the timeline),
  - one process-safety engineer and one OT operations engineer sign off, and
    only then is plant 3 isolated (on simulated twins),
  - the shift supervisor confirms islanded operation, OT decides to
    reconnect, a fresh two-person sign-off allows the restore, and
    compliance reports to the regulator.

The live timeline prints as it happens. Exit status 0 means the incident
completed.`,
		Example: `  firebreak demo
  firebreak demo --pace 0          # as fast as it goes
  firebreak demo --data-dir ./demo-state   # keep the state to look at later`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			opts.Dir = org.Dir(opts.Dir, os.Getenv)
			opts.Out = cmd.OutOrStdout()
			opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelError}))
			res, err := demo.Run(ctx, opts)
			if err != nil && ctx.Err() != nil && cmd.Context().Err() == nil {
				return &exitError{code: exitInterrupted, err: fmt.Errorf("demo stopped: %w", err)}
			}
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nDemo incident %s %s; %d unauthorized answer(s) refused.\n", res.IncidentID, res.State, len(res.Refusals))
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "a copy of the library to run (default: $"+org.EnvDir+", else the built-in library)")
	cmd.Flags().StringVar(&opts.DataDir, "data-dir", "", "keep the server's state here (kept afterwards) instead of a temporary directory")
	cmd.Flags().IntVar(&opts.UIPort, "ui-port", 8233, "Web UI port, or another free one if it is taken (0: no UI)")
	cmd.Flags().DurationVar(&opts.Pace, "pace", 300*time.Millisecond, "pause between scripted answers")
	return cmd
}
