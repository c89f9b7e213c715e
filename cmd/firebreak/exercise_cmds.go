package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/internal/review"
)

func newExerciseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exercise",
		Short: "Run tabletop exercises of the playbooks on simulated twins",
		Long: `Exercise runs the exercise blocks of a playbook directory: tabletop scenarios
that rehearse a playbook with scripted responders, timed injects and
objectives. An automated run plays the real incident workflow with time
skipped, so a scenario of hours finishes in well under a second, and every
action runs on a simulated twin: nothing reaches a real system, and no
Temporal server is needed. A live run (exercise run --live) plays the
exercise on a Temporal server instead, with real people answering in Slack
or with the CLI, still on simulated twins only.

See docs/exercises.md for how responders, delays and objectives play out
and what each simulated twin answers.`,
		Example: `  firebreak exercise list
  firebreak exercise run plant3_ransomware_ttx
  firebreak exercise run plant3_ransomware_ttx --seed 7 --format json
  firebreak exercise run plant3_ransomware_ttx --live --time-scale 10`,
	}
	cmd.AddCommand(newExerciseRunCmd(), newExerciseListCmd())
	return cmd
}

// loadExerciseOrg loads the organisation an exercise runs in. Its env()
// secrets are not needed (every action runs on a twin), so unset ones do
// not stop the run.
func loadExerciseOrg(cmd *cobra.Command, flagDir string) (*org.Org, error) {
	dir := org.Dir(flagDir, os.Getenv)
	o, m, diags := org.Load(dir, org.Options{Getenv: os.Getenv, Lenient: true})
	if err := printDiags(cmd, m, diags); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s did not load (see above); fix it ('firebreak validate' checks it) and run the exercise again", org.Describe(dir))}
	}
	return o, nil
}

func newExerciseRunCmd() *cobra.Command {
	var (
		dir, format string
		report      string
		htmlFile    string
		seed        uint64
		horizon     time.Duration
		runs, par   int
		sensitivity bool
		live        bool
		timeScale   float64
		keyFile     string
	)
	cmd := &cobra.Command{
		Use:   "run NAME [--dir DIR] [--seed S] [--runs N [--parallel K] [--sensitivity]] [--horizon D] [--live [--time-scale X] [--key-file FILE]] [--report FILE.md] [--html FILE.html] [--format text|json]",
		Short: "Play one exercise automatically and print its timeline and objectives",
		Long: `Run plays the exercise NAME once in automated mode: the commander named by
the exercise (or the first person the playbook's may_start names) starts
the incident, marked as an exercise; the real incident workflow runs with
time skipped; every action runs on a simulated twin.

Responders act as their responder blocks say. A page or prompt that reaches
a person starts their clock: they acknowledge after acknowledges_after and
answer after the answers block's after. A delay is fixed ("3m") or drawn
from a distribution ("uniform(1m,8m)", "lognormal(4m,0.5)",
"exponential(5m)"); --seed picks the draws, and the same seed always gives
the same run, byte for byte. A person without a responder block, or with
unavailable = true, never answers, so escalations and timeouts play out.
An incident still running at --horizon on the exercise clock (a step
waiting, with no timeout, for an answer nobody gives) is cancelled by its
commander, and the output says so.

The output is the timeline on the exercise clock (T+HH:MM:SS, with the
injects at their times), each objective (met when its step finished done
within its limit of the start, with the time it did) and the final state
of the incident and of every step. --format json prints the same as one
document; durations are Go duration strings ("7m1s").

Monte Carlo: --runs N plays the exercise N times, run i with a seed mixed
from --seed and i, on --parallel K workers at once (default the number of
CPUs). The figures depend only on the seed and N, never on K. For each
objective it prints p_met (the fraction of runs that met it) and the p50,
p90 and p99 of the time it was met, over the runs that met it ("never"
when none did). --sensitivity plays the N runs again for each responder
with a random delay, that responder's delays fixed at their medians, and
names the responder whose fixing lowers the objective's miss rate most.
--format json prints runs, seed and, per objective, name, of, within,
met, p_met, p50, p90, p99 (null when never met) and sensitivity. A
progress bar is drawn on stderr when it is a terminal.

After-action report: --report FILE.md writes the run's after-action report
(HSEEP AAR/IP shape: overview with the plan's digest and the participants,
objectives rated P, S, M or U, key times, timeline, strengths, areas for
improvement and an improvement plan) in Markdown, and --html FILE.html as a
self-contained HTML page with an SVG timeline. With --runs the report is of
the run of --seed, plus the Monte Carlo figures and a histogram of the time
met per objective. docs/exercises.md gives the rules of the ratings and
findings.

Live runs: --live plays the exercise on the Temporal server of the
environment (TEMPORAL_ADDRESS and the rest, as for firebreak run) with real
people: the commander of the exercise starts its playbook as an exercise
incident with its inputs (on the exercise task queue: every action on a
simulated twin, every message marked [EXERCISE]), signed with --key-file
(default $FIREBREAK_KEY_FILE; the commander's own key or a front door's) or
unattested without one, which only a worker that accepts unattested starts
(firebreak dev) runs. --time-scale X (default 1, at most 3600) runs the
exercise clock X times faster than the wall clock: every duration of the
plan (timeouts, ack_within, waits, valid_for, retry backoffs) is divided by
X before the start. The injects are printed at their times on the exercise
clock, and the incident's events as they happen, one line each. Responder
blocks are ignored: people answer in Slack or with firebreak ack, approve,
decide and done (the output shows how, with the incident ID). An inject
that sets simulated state (set_register, edr_contains, fail_delivery) is
refused before anything starts: only an automated run can set it. When the
incident ends, each objective is printed met or not, with its time on the
exercise clock, and --report and --html are written. Ctrl-C stops
following (exit status 130): the incident keeps running, and the
objectives and reports are as of then.

Exit status: 0 when the run completes, whatever the objectives; 1 when the
directory does not load, the exercise cannot run or a report cannot be
written; 2 for a wrong command line; 130 when a live run was stopped with
Ctrl-C.`,
		Example: `  firebreak exercise run plant3_ransomware_ttx
  firebreak exercise run plant3_ransomware_ttx --seed 42
  firebreak exercise run drill --dir ./org --format json | jq '.objectives'
  firebreak exercise run plant3_ransomware_ttx --runs 1000 --seed 7 --sensitivity
  firebreak exercise run plant3_ransomware_ttx --report aar.md --html aar.html
  firebreak exercise run plant3_ransomware_ttx --live --time-scale 10 --report aar.md`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name one exercise to run ('firebreak exercise list' shows them)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			if !live && (cmd.Flags().Changed("time-scale") || cmd.Flags().Changed("key-file")) {
				return usageErrorf("--time-scale and --key-file are for live runs: add --live")
			}
			if live {
				for _, f := range []string{"runs", "parallel", "sensitivity", "seed", "horizon"} {
					if cmd.Flags().Changed(f) {
						return &exitError{code: exitUsage, err: errLiveFlags}
					}
				}
				if format != formatText {
					return &exitError{code: exitUsage, err: errLiveFlags}
				}
				if err := exercise.CheckTimeScale(timeScale); err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			o, err := loadExerciseOrg(cmd, dir)
			if err != nil {
				return err
			}
			if live {
				return runExerciseLive(cmd, o, liveRun{name: args[0], dir: dir, keyFile: keyFile, scale: timeScale, report: report, htmlFile: htmlFile})
			}
			if cmd.Flags().Changed("runs") || cmd.Flags().Changed("parallel") || sensitivity {
				if runs < 1 || runs > exercise.MaxRuns {
					return usageErrorf("--runs must be between 1 and %d, not %d (--parallel and --sensitivity need --runs)", exercise.MaxRuns, runs)
				}
				if par < 0 {
					return usageErrorf("--parallel must be at least 1, not %d (0: the number of CPUs)", par)
				}
				mo := exercise.MonteCarloOptions{Runs: runs, Seed: seed, Parallel: par, Horizon: horizon, Sensitivity: sensitivity}
				if errW := cmd.ErrOrStderr(); isTerminal(errW) {
					shown := -1
					mo.Progress = func(done, total int) {
						// Redraw only when the bar or its percentage moves.
						if pc := 100 * done / total; pc != shown || done == total {
							shown = pc
							progressBar(errW, done, total)
						}
					}
				}
				sum, err := exercise.MonteCarlo(o, args[0], mo)
				if err != nil {
					return &exitError{code: exitInvalid, err: err}
				}
				if report != "" || htmlFile != "" {
					// The report's timeline is the run of the seed itself.
					res, err := exercise.Run(o, args[0], exercise.Options{Seed: seed, Horizon: horizon})
					if err != nil {
						return &exitError{code: exitInvalid, err: err}
					}
					if err := writeExerciseReports(o, args[0], res, sum, report, htmlFile); err != nil {
						return err
					}
				}
				if format == formatJSON {
					return exercise.WriteSummaryJSON(cmd.OutOrStdout(), sum)
				}
				return exercise.WriteSummaryText(cmd.OutOrStdout(), sum)
			}
			res, err := exercise.Run(o, args[0], exercise.Options{Seed: seed, Horizon: horizon})
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			if err := writeExerciseReports(o, args[0], res, nil, report, htmlFile); err != nil {
				return err
			}
			if format == formatJSON {
				return exercise.WriteJSON(cmd.OutOrStdout(), res)
			}
			return exercise.WriteText(cmd.OutOrStdout(), res)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", dirFlagHelp)
	cmd.Flags().Uint64Var(&seed, "seed", exercise.DefaultSeed, "the seed of the responders' delays; the same seed gives the same run")
	cmd.Flags().DurationVar(&horizon, "horizon", exercise.DefaultHorizon, "how long the incident may run on the exercise clock before the run cancels it")
	cmd.Flags().IntVar(&runs, "runs", 0, "play the exercise N times over the responders' delays (Monte Carlo)")
	cmd.Flags().IntVar(&par, "parallel", 0, "with --runs: how many runs play at once (default the number of CPUs)")
	cmd.Flags().BoolVar(&sensitivity, "sensitivity", false, "with --runs: find the responder whose delays, fixed at their medians, lower each objective's miss rate most")
	cmd.Flags().StringVar(&format, "format", formatText, "output format: text or json")
	cmd.Flags().StringVar(&report, "report", "", "also write the after-action report, in Markdown, to this file")
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the after-action report as a self-contained HTML page to this file")
	cmd.Flags().BoolVar(&live, "live", false, "run on the Temporal server with real people answering, as it happens")
	cmd.Flags().Float64Var(&timeScale, "time-scale", 1, "with --live: run the exercise clock this many times faster than the wall clock (at most 3600)")
	addKeyFile(cmd, &keyFile)
	return cmd
}

// writeExerciseReports writes the after-action report of res (with the
// Monte Carlo sum, when given) to the Markdown and HTML files asked for.
func writeExerciseReports(o *org.Org, name string, res *exercise.Result, sum *exercise.Summary, mdFile, htmlFile string) error {
	if mdFile == "" && htmlFile == "" {
		return nil
	}
	sc, err := o.Module.Scenario(name)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	p, _ := o.Plan(sc.Playbook)
	rv := review.FromExercise(res, review.ExerciseOptions{Date: time.Now(), Scenario: sc, Plan: p, Summary: sum})
	return writeReviewFiles(rv, mdFile, htmlFile)
}

// writeReviewFiles writes a review to the Markdown and HTML files asked
// for ("" for neither).
func writeReviewFiles(rv *review.Review, mdFile, htmlFile string) error {
	write := func(file string, render func(io.Writer, *review.Review) error) error {
		if file == "" {
			return nil
		}
		var b bytes.Buffer
		if err := render(&b, rv); err != nil {
			return &exitError{code: exitInvalid, err: fmt.Errorf("rendering the report for %s: %v", file, err)}
		}
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			return &exitError{code: exitInvalid, err: fmt.Errorf("writing the report: %v (check the directory exists and is writable)", err)}
		}
		return nil
	}
	if err := write(mdFile, review.WriteMarkdown); err != nil {
		return err
	}
	return write(htmlFile, review.WriteHTML)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// progressBar redraws a bar of done out of total on w, ending the line
// when all are done.
func progressBar(w io.Writer, done, total int) {
	const width = 40
	filled := width * done / total
	fmt.Fprintf(w, "\r[%s%s] %d/%d runs", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), done, total)
	if done == total {
		fmt.Fprintln(w)
	}
}

// exerciseRow is one line of `firebreak exercise list`.
type exerciseRow struct {
	Name        string `json:"name"`
	Playbook    string `json:"playbook"`
	Commander   string `json:"commander,omitempty"`
	Description string `json:"description,omitempty"`
	Objectives  int    `json:"objectives"`
	Injects     int    `json:"injects"`
	Responders  int    `json:"responders"`
	// Error says why the exercise cannot run, when it cannot.
	Error string `json:"error,omitempty"`
}

func newExerciseListCmd() *cobra.Command {
	var dir, format string
	cmd := &cobra.Command{
		Use:   "list [--dir DIR] [--format text|json]",
		Short: "List the exercises of the playbook directory",
		Long: `List shows every exercise the playbook directory declares: the playbook it
rehearses, who commands it, and how many objectives, injects and responders
it has. 'firebreak exercise run NAME' plays one.`,
		Example: `  firebreak exercise list
  firebreak exercise list --dir ./org --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			o, err := loadExerciseOrg(cmd, dir)
			if err != nil {
				return err
			}
			rows := []exerciseRow{}
			for _, name := range exercise.Names(o) {
				row := exerciseRow{Name: name}
				sc, err := o.Module.Scenario(name)
				if err != nil {
					row.Error = err.Error()
				} else {
					row.Playbook, row.Commander, row.Description = sc.Playbook, sc.Commander, sc.Description
					row.Objectives, row.Injects, row.Responders = len(sc.Objectives), len(sc.Injects), len(sc.Responders)
				}
				rows = append(rows, row)
			}
			out := cmd.OutOrStdout()
			if format == formatJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintf(out, "%s declares no exercise; docs/language.md (Exercises) shows how to write one.\n", safetext.Line(org.Describe(o.Dir)))
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "EXERCISE\tPLAYBOOK\tCOMMANDER\tOBJECTIVES\tINJECTS\tRESPONDERS")
			for _, r := range rows {
				if r.Error != "" {
					fmt.Fprintf(tw, "%s\tcannot run: %s\t\t\t\t\n", safetext.Line(r.Name), safetext.Line(r.Error))
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\n", safetext.Line(r.Name), safetext.Line(r.Playbook), safetext.Line(r.Commander), r.Objectives, r.Injects, r.Responders)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", dirFlagHelp)
	cmd.Flags().StringVar(&format, "format", formatText, "output format: text or json")
	return cmd
}
