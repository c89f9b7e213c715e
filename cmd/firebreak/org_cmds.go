package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/internal/adapters"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/render"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
)

// dirFlagHelp is the help of every --dir flag that picks the organisation.
const dirFlagHelp = "the playbook directory: people, rosters, zones, integrations, playbooks (default $FIREBREAK_DIR, else the built-in library)"

// loadOrg loads and checks the organisation a worker works for, printing
// its diagnostics. An error stops the start; nothing is half loaded.
func loadOrg(cmd *cobra.Command, flagDir string) (*org.Holder, error) {
	dir := org.Dir(flagDir, os.Getenv)
	opts := org.Options{Getenv: os.Getenv}
	o, m, diags := org.Load(dir, opts)
	if err := printDiags(cmd, m, diags); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s did not load (see above); nothing was started. Fix it and start again; 'firebreak validate --dir DIR' checks it without starting", org.Describe(dir))}
	}
	return org.NewHolder(o, opts), nil
}

// describeOrg prints what was loaded and how each integration is backed.
func describeOrg(cmd *cobra.Command, o *org.Org) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Organisation:     %s\n", safetext.Line(o.Summary()))
	real, sim := 0, 0
	for _, r := range adapters.Resolve(o) {
		if r.Mode == adapters.Real {
			real++
		} else {
			sim++
		}
	}
	fmt.Fprintf(out, "Integrations:     %d real, %d simulated ('firebreak integrations' lists them)\n", real, sim)
}

// catchHangup takes over SIGHUP at once, before anything starts, so that
// one sent while the worker starts is a reload (handled by reloadOnHangup
// when it is ready) rather than the signal's default, which ends the
// process.
func catchHangup() chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch
}

// reloadOnHangup reloads the organisation on every SIGHUP caught on ch
// until ctx ends. A version that does not load is refused, logged with its
// diagnostics, and the one in force stays.
func reloadOnHangup(ctx context.Context, cmd *cobra.Command, ch chan os.Signal, h *org.Holder, logger *slog.Logger) {
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
			}
			before := h.Current()
			o, m, diags := h.Reload()
			if o == before {
				var b strings.Builder
				_ = render.Diagnostics(&b, diags, m.Files, render.TextOptions{})
				logger.Error("reload refused: the new version of the playbook directory does not load; the version loaded before stays in force",
					"dir", org.Describe(before.Dir), "diagnostics", b.String())
				fmt.Fprintf(cmd.ErrOrStderr(), "Reload refused; still running %s loaded at %s.\n%s", org.Describe(before.Dir), before.LoadedAt.Format(time.RFC3339), b.String())
				continue
			}
			logger.Warn("reloaded the playbook directory", "summary", o.Summary())
			fmt.Fprintf(cmd.ErrOrStderr(), "Reloaded: %s\n", o.Summary())
		}
	}()
}

// integrationRow is one line of `firebreak integrations`.
type integrationRow struct {
	ID     string            `json:"id"`
	Kind   string            `json:"kind"`
	Mode   adapters.Mode     `json:"mode"`
	Why    string            `json:"why,omitempty"`
	Target string            `json:"reaches"`
	Source string            `json:"source"`
	Env    []integrationEnv  `json:"env,omitempty"`
	Probe  *integrationProbe `json:"probe,omitempty"`
}

type integrationEnv struct {
	Setting  string `json:"setting"`
	Variable string `json:"variable"`
	// Set is whether the variable has a value in this environment; the
	// value itself is never shown.
	Set bool `json:"set"`
	// Needed is false for a simulate = true instance, which reads none.
	Needed bool `json:"needed"`
}

type integrationProbe struct {
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

func newIntegrationsCmd() *cobra.Command {
	var (
		dir, format string
		probeAll    bool
		timeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "integrations [--dir DIR] [--probe] [--format text|json]",
		Short: "List the integration instances and whether each is real or simulated",
		Long: `Integrations lists every integration instance of the playbook directory:
its kind, whether a worker runs it for real or on its simulated twin (and why),
which real system it names, and whether each env() variable it reads is set in
this environment (never the value).

An instance is real when its kind has an adapter in this build and its block
does not say simulate = true. This build has no real adapters yet, so every
instance runs on its simulated twin. Exercises always run on twins.

Real instances get a harmless reachability probe where the kind has one: the
network namespace exists (nftables), a TCP connection opens and closes
(modbus, webhook, pagerduty). --probe runs it for simulated instances too,
to check the way to a system before making it real.

Exit status: 0, or 1 when the directory does not load or a probed instance is
unreachable.`,
		Example: `  firebreak integrations                         # the built-in library
  firebreak integrations --dir /etc/firebreak/playbooks --probe
  firebreak integrations --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			d := org.Dir(dir, os.Getenv)
			o, m, diags := org.Load(d, org.Options{Getenv: os.Getenv, Lenient: true})
			if err := printDiags(cmd, m, diags); err != nil {
				return err
			}
			if o == nil {
				return &exitError{code: exitInvalid}
			}
			var rows []integrationRow
			unreachable := 0
			for _, r := range adapters.Resolve(o) {
				in := r.Instance
				row := integrationRow{ID: in.ID, Kind: in.Kind, Mode: r.Mode, Why: r.Why, Target: r.Target, Source: in.Source}
				for _, s := range slices.Sorted(maps.Keys(in.Env)) {
					v := in.Env[s]
					row.Env = append(row.Env, integrationEnv{Setting: s, Variable: v, Set: strings.TrimSpace(os.Getenv(v)) != "", Needed: !in.Simulate})
				}
				if r.Mode == adapters.Real || probeAll {
					res, err := adapters.Probe(cmd.Context(), in, timeout)
					if res != "" {
						row.Probe = &integrationProbe{Result: res}
						if err != nil {
							row.Probe.Error = err.Error()
							unreachable++
						}
					}
				}
				rows = append(rows, row)
			}
			out := cmd.OutOrStdout()
			if format == formatJSON {
				b, err := json.MarshalIndent(map[string]any{"dir": org.Describe(d), "integrations": rows}, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s\n", b)
			} else {
				writeIntegrations(out, o, rows)
			}
			if unreachable > 0 {
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", dirFlagHelp)
	cmd.Flags().BoolVar(&probeAll, "probe", false, "probe simulated instances too (a TCP connect or a namespace check; nothing is sent)")
	cmd.Flags().StringVar(&format, "format", formatText, "text or json")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long each probe may take")
	return cmd
}

func writeIntegrations(w interface{ Write([]byte) (int, error) }, o *org.Org, rows []integrationRow) {
	fmt.Fprintf(w, "%s\n\n", safetext.Line(o.Summary()))
	if len(rows) == 0 {
		fmt.Fprintln(w, "No integration blocks.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tMODE\tREACHES\tNOTE")
	for _, r := range rows {
		var notes []string
		if r.Why != "" {
			notes = append(notes, r.Why)
		}
		for _, e := range r.Env {
			state := "set"
			if !e.Set {
				state = "unset"
			}
			if !e.Needed {
				state += ", not read while simulated"
			}
			notes = append(notes, fmt.Sprintf("$%s %s", e.Variable, state))
		}
		if p := r.Probe; p != nil {
			n := p.Result
			if p.Error != "" {
				n += ": " + p.Error
			}
			notes = append(notes, n)
		}
		// Names and addresses come from playbook files: shown neutralised.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", safetext.Line(r.ID), r.Mode, safetext.Line(r.Target), safetext.Line(strings.Join(notes, "; ")))
	}
	tw.Flush()
}
