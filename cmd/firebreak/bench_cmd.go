//go:build !noembedded

package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/internal/bench"
)

func newBenchCmd() *cobra.Command {
	var (
		quick  bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "bench [--quick] [--format text|json]",
		Short: "Measure firebreak on this machine, each figure beside its anchor",
		Long: `Bench measures firebreak on this machine on embedded Temporal servers it
starts and stops itself (in memory, and one on a SQLite file in a temporary
directory); it needs no server, no configuration and no network beyond
loopback, and leaves nothing behind.

Each figure is printed beside its anchor, measured in the same run, so a
loaded machine slows both alike:

  approval to isolation        the final safety sign-off of the built-in
                               ransomware playbook until the isolation starts
                               cutting, against a bare Temporal Update round
                               trip on the same server (in memory, SQLite)
  signed Slack click           the same sign-off as a signed Slack click
                               through the front door, against a bare Update
  50-step chain                a plan of 50 steps through the interpreter,
                               against a hand-written workflow calling the
                               same activities
  six-hour exercise            the wall time of one automated run (at most
                               100 ms) and of a 1,000-run Monte Carlo (15 s)
  compiling                    a 500-step playbook, against a bare HCL parse
                               of the same file
  Slack burst                  200 messages to one channel, against the floor
                               the pace allows

Figures are medians over repeats with the min and max. --quick runs fewer
repeats and paces the Slack burst at 20 messages a second instead of
Slack's 1 (the table says so); it takes under two minutes on two cores,
the full run about five. Progress goes to stderr, the table to stdout.
On a shared machine the figures are noisy: the table gives the load
average at the start and the end. docs/performance.md records a run.`,
		Example: `  firebreak bench --quick
  firebreak bench --format json > bench.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			errW := cmd.ErrOrStderr()
			// SIGTERM too (a service manager, timeout(1)): the servers
			// stop and the temporary directories go, as on Ctrl-C.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := bench.RunSuite(ctx, bench.SuiteOptions{Quick: quick, Progress: func(f string, args ...any) {
				fmt.Fprintf(errW, "bench: "+f+"\n", args...)
			}})
			if err != nil {
				if ctx.Err() != nil {
					return &exitError{code: exitInterrupted, err: fmt.Errorf("bench interrupted: %w", err)}
				}
				return &exitError{code: exitInvalid, err: fmt.Errorf("bench: %w", err)}
			}
			if format == formatJSON {
				return rep.WriteJSON(cmd.OutOrStdout())
			}
			return rep.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&quick, "quick", false, "fewer repeats and a faster Slack pace: under two minutes")
	cmd.Flags().StringVar(&format, "format", formatText, "output format: text or json")
	return cmd
}
