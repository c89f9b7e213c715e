package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firebreak-ir/firebreak/internal/bench/offline"
	"github.com/firebreak-ir/firebreak/internal/devserver"
)

// Figure summarises repeated measurements of one thing.
type Figure struct {
	Median time.Duration `json:"median"`
	Min    time.Duration `json:"min"`
	Max    time.Duration `json:"max"`
	// N is the number of repeats.
	N int `json:"n"`
}

// FigureOf summarises s.
func FigureOf(s Samples) Figure {
	return Figure{Median: s.Median(), Min: s.Min(), Max: s.Max(), N: len(s)}
}

// Row is one line of the bench table: a figure and, measured in the same
// run, the anchor it is read against.
type Row struct {
	// Name says what was measured.
	Name   string `json:"name"`
	Figure Figure `json:"figure"`
	// Anchor names the yardstick measured beside it; empty when the
	// target is absolute.
	Anchor       string  `json:"anchor,omitempty"`
	AnchorFigure *Figure `json:"anchor_figure,omitempty"`
	// Ratio is the figure's median over the anchor's (0 without one).
	Ratio float64 `json:"ratio,omitempty"`
	// Target is what the figure should be, in words.
	Target string `json:"target"`
	// Met says whether the target was met, when it can be judged.
	Met *bool `json:"met,omitempty"`
	// Note adds what a reader needs to read the row.
	Note string `json:"note,omitempty"`
}

// Machine is where a bench ran.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15 minute load
	// averages when the run began and ended ("" where there is none).
	LoadStart string `json:"load_start,omitempty"`
	LoadEnd   string `json:"load_end,omitempty"`
	// MemTotal is /proc/meminfo's MemTotal ("" where there is none).
	MemTotal string `json:"mem_total,omitempty"`
}

// Report is the result of RunSuite.
type Report struct {
	Quick   bool          `json:"quick"`
	Started time.Time     `json:"started"`
	Took    time.Duration `json:"took"`
	Machine Machine       `json:"machine"`
	Rows    []Row         `json:"rows"`
}

// SuiteOptions configure RunSuite.
type SuiteOptions struct {
	// Quick runs fewer repeats and a faster Slack pace, to finish in
	// under two minutes on a 2-core machine.
	Quick bool
	// Progress, when set, is told what is being measured as it begins.
	Progress func(format string, args ...any)
}

// repeats is how many times each measurement runs.
type repeats struct {
	approval, slack, steps, sixHour, monteCarlo, compile int
	// burstRate is the Slack pace, in messages a second per channel.
	burstRate float64
}

var (
	quickRepeats = repeats{approval: 7, slack: 5, steps: 3, sixHour: 10, monteCarlo: 1, compile: 10, burstRate: 20}
	fullRepeats  = repeats{approval: 20, slack: 20, steps: 10, sixHour: 30, monteCarlo: 3, compile: 30, burstRate: 1}
)

// RunSuite measures, on embedded servers it starts and stops, every
// figure of the bench table beside its anchor: approval to isolation and a
// signed Slack click to isolation against a bare Update round trip on the
// same server, a 50-step plan through the interpreter against a
// hand-written workflow, a six-hour exercise and a 1,000-run Monte Carlo
// against their absolute targets, compiling a 500-step playbook against a
// bare HCL parse of it, and a 200-message Slack burst against the floor its
// pace allows. Each measurement is warmed up once, untimed, first.
func RunSuite(ctx context.Context, opts SuiteOptions) (*Report, error) {
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	rep := fullRepeats
	if opts.Quick {
		rep = quickRepeats
	}
	r := &Report{Quick: opts.Quick, Started: time.Now().UTC(), Machine: machine()}
	t0 := time.Now()
	step := func(format string, args ...any) {
		progress("[%5.1fs] "+format, append([]any{time.Since(t0).Seconds()}, args...)...)
	}
	logf := func(format string, args ...any) { progress("  "+format, args...) }

	prep, err := PrepareRansomware("", nil)
	if err != nil {
		return nil, err
	}
	for _, st := range []struct{ name, dir string }{{"in memory", ""}, {"SQLite file", "file"}} {
		step("approval to isolation, %s: starting an embedded server", st.name)
		opts := devserver.Options{Ephemeral: true}
		if st.dir != "" {
			dir, err := os.MkdirTemp("", "firebreak-bench-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			opts = devserver.Options{DataDir: dir}
		}
		row, err := func() (Row, error) {
			e, err := StartEnv(ctx, EnvOptions{Server: opts, Logf: logf})
			if err != nil {
				return Row{}, err
			}
			defer e.Close()
			if _, err := ApprovalToIsolation(ctx, e, prep, 1); err != nil {
				return Row{}, err
			}
			step("approval to isolation, %s: %d incidents", st.name, rep.approval)
			s, err := ApprovalToIsolation(ctx, e, prep, rep.approval)
			if err != nil {
				return Row{}, err
			}
			earlier := map[string]string{"in memory": "1.21x", "SQLite file": "1.28x"}[st.name]
			return paired("approval to isolation, "+st.name, s.ToCut, "bare Update round trip, same server", s.Echo,
				"none; earlier "+earlier, 0,
				"final sign-off sent until the isolation activity starts cutting"), nil
		}()
		if err != nil {
			return nil, fmt.Errorf("approval to isolation, %s: %w", st.name, err)
		}
		r.Rows = append(r.Rows, row)
	}

	step("signed Slack click to isolation: starting a server, a fake Slack and the front door")
	row, err := func() (Row, error) {
		s, err := StartSlack(ctx, logf)
		if err != nil {
			return Row{}, err
		}
		defer s.Close()
		if _, err := SlackClickToIsolation(ctx, s, 1); err != nil {
			return Row{}, err
		}
		step("signed Slack click to isolation: %d incidents", rep.slack)
		c, err := SlackClickToIsolation(ctx, s, rep.slack)
		if err != nil {
			return Row{}, err
		}
		return paired("signed Slack click to isolation", c.Click, "bare Update round trip, same server", c.Echo, "at most 1.3x", 1.3,
			"click over HTTP to the front door, signed answer, guard three, first cut"), nil
	}()
	if err != nil {
		return nil, fmt.Errorf("signed Slack click to isolation: %w", err)
	}
	r.Rows = append(r.Rows, row)

	step("50-step chain: starting an embedded server")
	row, err = func() (Row, error) {
		e, err := StartEnv(ctx, EnvOptions{Server: devserver.Options{Ephemeral: true}, Logf: logf})
		if err != nil {
			return Row{}, err
		}
		defer e.Close()
		p, err := CompileGenerated(FiftySteps, true)
		if err != nil {
			return Row{}, err
		}
		if _, err := Steps(ctx, e, p, false, 1); err != nil {
			return Row{}, err
		}
		step("50-step chain: %d runs through the interpreter and %d hand-written", rep.steps, rep.steps)
		s, err := Steps(ctx, e, p, false, rep.steps)
		if err != nil {
			return Row{}, err
		}
		return paired("50-step chain through the interpreter", s.Interpreter, "hand-written workflow, same activities", s.HandWritten, "at most 1.05x", 1.05,
			"start to result, each step needing the one before"), nil
	}()
	if err != nil {
		return nil, fmt.Errorf("50-step chain: %w", err)
	}
	r.Rows = append(r.Rows, row)

	step("six-hour exercise: %d runs", rep.sixHour)
	o, err := offline.SixHourOrg()
	if err != nil {
		return nil, err
	}
	if _, err := offline.SixHour(o, 1); err != nil {
		return nil, err
	}
	six, err := offline.SixHour(o, rep.sixHour)
	if err != nil {
		return nil, fmt.Errorf("six-hour exercise: %w", err)
	}
	r.Rows = append(r.Rows, absolute("six-hour exercise, one automated run", six, offline.SixHourTarget, "wall time of a drill over six hours on the exercise clock"))

	par := runtime.NumCPU()
	step("Monte Carlo: %d of %d runs on %d workers", rep.monteCarlo, offline.MonteCarloRuns, par)
	mc, err := offline.MonteCarlo(offline.MonteCarloRuns, par, rep.monteCarlo)
	if err != nil {
		return nil, fmt.Errorf("monte carlo: %w", err)
	}
	r.Rows = append(r.Rows, absolute(fmt.Sprintf("Monte Carlo of %d runs", offline.MonteCarloRuns), mc, offline.MonteCarloTarget,
		fmt.Sprintf("the library's exercise, %d runs at once", par)))

	step("compiling a %d-step playbook: %d times", offline.BigPlaybookSteps, rep.compile)
	if _, err := offline.Compile(offline.BigPlaybookSteps, 1); err != nil {
		return nil, err
	}
	cs, err := offline.Compile(offline.BigPlaybookSteps, rep.compile)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	row = paired(fmt.Sprintf("compiling a %d-step playbook", offline.BigPlaybookSteps), cs.Compile,
		fmt.Sprintf("bare HCL parse of its %d KB file", cs.SourceBytes/1024), cs.Parse, "compile at most 50 ms", 0, "already loaded; the parse is hclsyntax alone")
	met := cs.Compile.Median() <= 50*time.Millisecond
	row.Met = &met
	r.Rows = append(r.Rows, row)

	floor := time.Duration(float64(offline.BurstMessages) / rep.burstRate * float64(time.Second))
	step("Slack burst: %d messages to one channel at %g a second (at least %v)", offline.BurstMessages, rep.burstRate, floor)
	b, err := offline.Burst(ctx, offline.BurstMessages, rep.burstRate)
	if err != nil {
		return nil, fmt.Errorf("slack burst: %w", err)
	}
	pace := "1/s, Slack's own"
	if rep.burstRate != 1 {
		pace = fmt.Sprintf("%g/s, faster than Slack's 1/s so --quick stays short", rep.burstRate)
	}
	ratio := float64(b.Wall) / float64(floor)
	burstMet := ratio <= 1.05 && b.Limited == 0
	r.Rows = append(r.Rows, Row{
		Name: fmt.Sprintf("%d-message Slack burst at %g/s", offline.BurstMessages, rep.burstRate), Figure: FigureOf(Samples{b.Wall}),
		Anchor: fmt.Sprintf("floor at the pace: %d / %g per second", offline.BurstMessages, rep.burstRate), AnchorFigure: &Figure{Median: floor, Min: floor, Max: floor, N: 1},
		Ratio: ratio, Target: "at most 1.05x the floor, no 429s", Met: &burstMet,
		Note: fmt.Sprintf("paced at %s; %d 429s; each message arrived exactly once; the floor counts 200 intervals, the burst needs 199", pace, b.Limited),
	})
	r.Took = time.Since(t0)
	r.Machine.LoadEnd = loadavg()
	step("done")
	return r, nil
}

// paired is a row read against an anchor; a positive maxRatio judges it.
func paired(name string, s Samples, anchor string, a Samples, target string, maxRatio float64, note string) Row {
	af := FigureOf(a)
	row := Row{Name: name, Figure: FigureOf(s), Anchor: anchor, AnchorFigure: &af, Target: target, Note: note}
	if af.Median > 0 {
		row.Ratio = float64(row.Figure.Median) / float64(af.Median)
	}
	if maxRatio > 0 && row.Ratio > 0 {
		met := row.Ratio <= maxRatio
		row.Met = &met
	}
	return row
}

// absolute is a row read against an absolute target for its median.
func absolute(name string, s Samples, target time.Duration, note string) Row {
	row := Row{Name: name, Figure: FigureOf(s), Target: "at most " + Duration(target), Note: note}
	met := row.Figure.Median <= target
	row.Met = &met
	return row
}

// machine describes this machine, as far as it can be read.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, LoadStart: loadavg()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(v)
			}
		}
	}
	return m
}

// loadavg is /proc/loadavg's three load averages, or "".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// Duration formats d for the table: µs below a millisecond, ms below ten
// seconds, s above.
func Duration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
}

// String is "median (min to max, n=N)".
func (f Figure) String() string {
	if f.N == 1 {
		return fmt.Sprintf("%s (n=1)", Duration(f.Median))
	}
	return fmt.Sprintf("%s (%s to %s, n=%d)", Duration(f.Median), Duration(f.Min), Duration(f.Max), f.N)
}

// WriteText writes the report as a table, then what each row measured.
func (r *Report) WriteText(w io.Writer) error {
	mode := "full"
	if r.Quick {
		mode = "--quick"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "firebreak bench (%s), %s, took %s\n", mode, r.Started.Format("2006-01-02 15:04 UTC"), Duration(r.Took))
	fmt.Fprintf(&b, "machine: %d CPUs, %s, %s, Go %s; load average %s at the start, %s at the end\n",
		r.Machine.CPUs, orDash(r.Machine.MemTotal), r.Machine.OS, r.Machine.GoVersion, orDash(r.Machine.LoadStart), orDash(r.Machine.LoadEnd))
	b.WriteString("Figures are medians (min to max) over n repeats; the anchor was measured in the same run.\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tfigure\tanchor\tanchor figure\tratio\ttarget\tmet")
	for _, row := range r.Rows {
		anchor, af, ratio := "-", "-", "-"
		if row.Anchor != "" {
			anchor, af = row.Anchor, row.AnchorFigure.String()
			ratio = fmt.Sprintf("%.2fx", row.Ratio)
		}
		met := "-"
		if row.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*row.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Name, row.Figure, anchor, af, ratio, row.Target, met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\n")
	for _, row := range r.Rows {
		if row.Note != "" {
			fmt.Fprintf(&b, "%s: %s.\n", row.Name, row.Note)
		}
	}
	if r.Quick {
		b.WriteString("\n--quick: fewer repeats, and the Slack burst paced faster than Slack's 1/s; `firebreak bench` runs the full set (about 5 minutes).\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one JSON document; durations are in
// nanoseconds.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
