package exercise

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/workflows"
)

// MaxRuns bounds the runs of one Monte Carlo: a million runs of a small
// exercise already take hours.
const MaxRuns = 1_000_000

// MonteCarloOptions configure a Monte Carlo of an exercise.
type MonteCarloOptions struct {
	// Runs is how many runs to play (at least one).
	Runs int
	// Seed is the Monte Carlo's seed; run i plays with RunSeed(Seed, i).
	Seed uint64
	// Parallel is how many runs play at once (default the number of CPUs,
	// at most Runs). It changes how long the Monte Carlo takes, never its
	// figures.
	Parallel int
	// Horizon and WallTimeout are each run's (see Options).
	Horizon     time.Duration
	WallTimeout time.Duration
	// Sensitivity adds, for each responder with a random delay, the runs
	// again with that responder's delays fixed at their medians.
	Sensitivity bool
	// Progress, when set, is told after each run how many of all the runs
	// (the sensitivity runs included) are done. It is called from one
	// goroutine at a time.
	Progress func(done, total int)
}

// Summary is what a Monte Carlo found.
type Summary struct {
	Exercise string `json:"exercise"`
	Playbook string `json:"playbook"`
	Runs     int    `json:"runs"`
	Seed     uint64 `json:"seed"`
	// Objectives are in the order the exercise declares them.
	Objectives []ObjectiveSummary `json:"objectives"`
}

// ObjectiveSummary is one objective over all the runs.
type ObjectiveSummary struct {
	Name   string   `json:"name"`
	Of     string   `json:"of"`
	Within Duration `json:"within"`
	// Met is how many runs met the objective; PMet is Met over the runs.
	Met  int     `json:"met"`
	PMet float64 `json:"p_met"`
	// P50, P90 and P99 are percentiles (nearest rank) of the time the
	// objective was met, over the runs that met it; nil when none did.
	P50 *Duration `json:"p50"`
	P90 *Duration `json:"p90"`
	P99 *Duration `json:"p99"`
	// Times are the times the objective was met, sorted, over the runs
	// that met it (the after-action report draws their histogram).
	Times []Duration `json:"-"`
	// Sensitivity is set when the sensitivity runs were asked for and
	// fixing some responder's delays lowers the miss rate.
	Sensitivity *Sensitivity `json:"sensitivity,omitempty"`
	// Bottleneck is the step that contributes most to the misses, when
	// some runs missed the objective.
	Bottleneck *StepContribution `json:"bottleneck,omitempty"`
}

// StepContribution says how much longer a step took in the runs that
// missed an objective than in those that met it: the step that contributes
// most to the misses is the one whose time grew most.
type StepContribution struct {
	Step string `json:"step"`
	// Missed is the step's mean time (from its start to its end, or to the
	// end of the run when it never ended) over the runs that missed the
	// objective; Met over those that met it (0 when none did).
	Missed Duration `json:"missed"`
	Met    Duration `json:"met"`
}

// Sensitivity names the responder whose delays, fixed at their medians,
// lower an objective's miss rate most.
type Sensitivity struct {
	Responder string `json:"responder"`
	// MissRate is the objective's miss rate over the ordinary runs;
	// FixedMissRate over the same seeds with Responder's delays fixed.
	MissRate      float64 `json:"miss_rate"`
	FixedMissRate float64 `json:"fixed_miss_rate"`
}

// RunSeed is the seed of run i of a Monte Carlo seeded with seed: the two
// mixed by SplitMix64, so neighbouring runs and neighbouring seeds draw
// unrelated delays.
func RunSeed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// MonteCarlo plays the exercise name of o opts.Runs times over responder
// delays and summarises its objectives. The summary depends only on the
// exercise, the runs and the seed, never on opts.Parallel. A run that
// cannot play is an error naming its seed.
func MonteCarlo(o *org.Org, name string, opts MonteCarloOptions) (*Summary, error) {
	if opts.Runs < 1 || opts.Runs > MaxRuns {
		return nil, fmt.Errorf("a Monte Carlo needs at least one run and at most %d, not %d", MaxRuns, opts.Runs)
	}
	sc, err := o.Module.Scenario(name)
	if err != nil {
		return nil, err
	}
	var random []string
	if opts.Sensitivity {
		for _, rs := range sc.Responders {
			if rs.Unavailable {
				continue
			}
			r := rs.Acknowledges != nil && Random(*rs.Acknowledges)
			for _, a := range rs.Answers {
				r = r || Random(a.After)
			}
			if r {
				random = append(random, rs.Person)
			}
		}
	}
	// Batch 0 is the ordinary runs; batch 1+k fixes random[k].
	batches := 1 + len(random)
	total := opts.Runs * batches
	met := make([][]*Duration, total)          // per job, per objective: when met
	took := make([][]time.Duration, opts.Runs) // per ordinary run, per step: how long
	var stepIDs []string                       // the plan's steps, as every run lists them
	par := opts.Parallel
	if par <= 0 {
		par = runtime.NumCPU()
	}
	par = min(par, total)

	var (
		mu   sync.Mutex
		done int
		fail error
		next int
		wg   sync.WaitGroup
	)
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= total || fail != nil {
					mu.Unlock()
					return
				}
				job := next
				next++
				mu.Unlock()
				b, i := job/opts.Runs, job%opts.Runs
				ro := Options{Seed: RunSeed(opts.Seed, i), Horizon: opts.Horizon, WallTimeout: opts.WallTimeout}
				if b > 0 {
					ro.Fixed = map[string]bool{random[b-1]: true}
				}
				res, err := Run(o, name, ro)
				mu.Lock()
				if err != nil {
					if fail == nil {
						fail = fmt.Errorf("run %d (seed %d): %w", i, ro.Seed, err)
					}
				} else {
					at := make([]*Duration, len(res.Objectives))
					for k, or := range res.Objectives {
						if or.Met {
							at[k] = or.At
						}
					}
					met[job] = at
					if b == 0 {
						if stepIDs == nil {
							for _, s := range res.Steps {
								stepIDs = append(stepIDs, s.ID)
							}
						}
						took[i] = stepTimes(stepIDs, res)
					}
					done++
					if opts.Progress != nil {
						opts.Progress(done, total)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fail != nil {
		return nil, fail
	}

	sum := &Summary{Exercise: sc.Name, Playbook: sc.Playbook, Runs: opts.Runs, Seed: opts.Seed, Objectives: []ObjectiveSummary{}}
	missRate := func(b, k int) float64 {
		miss := 0
		for i := range opts.Runs {
			if met[b*opts.Runs+i][k] == nil {
				miss++
			}
		}
		return float64(miss) / float64(opts.Runs)
	}
	for k, ob := range sc.Objectives {
		osum := ObjectiveSummary{Name: ob.Name, Of: ob.Of, Within: Duration(ob.Within)}
		var times []time.Duration
		for i := range opts.Runs {
			if at := met[i][k]; at != nil {
				times = append(times, time.Duration(*at))
			}
		}
		slices.Sort(times)
		osum.Met = len(times)
		osum.PMet = float64(len(times)) / float64(opts.Runs)
		osum.P50, osum.P90, osum.P99 = percentile(times, 50), percentile(times, 90), percentile(times, 99)
		for _, t := range times {
			osum.Times = append(osum.Times, Duration(t))
		}
		osum.Bottleneck = bottleneck(stepIDs, took, func(i int) bool { return met[i][k] != nil })
		base := missRate(0, k)
		for b := 1; b < batches; b++ {
			fixed := missRate(b, k)
			if fixed < base && (osum.Sensitivity == nil || fixed < osum.Sensitivity.FixedMissRate) {
				osum.Sensitivity = &Sensitivity{Responder: random[b-1], MissRate: base, FixedMissRate: fixed}
			}
		}
		sum.Objectives = append(sum.Objectives, osum)
	}
	return sum, nil
}

// stepTimes is how long each step (in ids order) took in a run: from its
// first step_started to its end, or to the end of the run when it never
// ended; 0 for a step that never started.
func stepTimes(ids []string, res *Result) []time.Duration {
	started := map[string]time.Duration{}
	for _, e := range res.Timeline {
		if _, seen := started[e.Step]; !seen && e.Event == workflows.EventStepStarted {
			started[e.Step] = time.Duration(e.At)
		}
	}
	ended := map[string]time.Duration{}
	for _, s := range res.Steps {
		if s.At != nil {
			ended[s.ID] = time.Duration(*s.At)
		}
	}
	out := make([]time.Duration, len(ids))
	for j, id := range ids {
		start, ok := started[id]
		if !ok {
			continue
		}
		end, ok := ended[id]
		if !ok {
			end = time.Duration(res.Duration)
		}
		if end > start {
			out[j] = end - start
		}
	}
	return out
}

// bottleneck is the step whose mean time grew most from the runs that met
// an objective to those that missed it (the mean over missed runs alone
// when none met it); nil when no run missed or no step took longer.
func bottleneck(ids []string, took [][]time.Duration, met func(run int) bool) *StepContribution {
	var best *StepContribution
	var bestExcess time.Duration
	for j, id := range ids {
		var sumMiss, sumMet time.Duration
		nMiss, nMet := 0, 0
		for i, t := range took {
			if t == nil {
				continue
			}
			if met(i) {
				sumMet += t[j]
				nMet++
			} else {
				sumMiss += t[j]
				nMiss++
			}
		}
		if nMiss == 0 {
			return nil
		}
		missMean := sumMiss / time.Duration(nMiss)
		var metMean time.Duration
		if nMet > 0 {
			metMean = sumMet / time.Duration(nMet)
		}
		if excess := missMean - metMean; excess > bestExcess {
			bestExcess = excess
			best = &StepContribution{Step: id, Missed: Duration(missMean), Met: Duration(metMean)}
		}
	}
	return best
}

// percentile is the nearest-rank p-th percentile of sorted, nil when empty.
func percentile(sorted []time.Duration, p int) *Duration {
	if len(sorted) == 0 {
		return nil
	}
	rank := int(math.Ceil(float64(p) / 100 * float64(len(sorted))))
	d := Duration(sorted[max(rank, 1)-1])
	return &d
}

// WriteSummaryText writes a Monte Carlo for people: a line per objective.
func WriteSummaryText(w io.Writer, s *Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Exercise %s: playbook %s, %d runs, seed %d (automated, simulated twins only)\n\n",
		safetext.Line(s.Exercise), safetext.Line(s.Playbook), s.Runs, s.Seed)
	if len(s.Objectives) == 0 {
		b.WriteString("No objectives declared.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECTIVE\tOF\tWITHIN\tP_MET\tP50\tP90\tP99\tMOST SENSITIVE TO\tSLOWEST IN MISSES")
	for _, o := range s.Objectives {
		sens := "-"
		if o.Sensitivity != nil {
			sens = fmt.Sprintf("%s (miss rate %.3f -> %.3f fixed at median)", safetext.Line(o.Sensitivity.Responder), o.Sensitivity.MissRate, o.Sensitivity.FixedMissRate)
		}
		slow := "-"
		if bn := o.Bottleneck; bn != nil {
			slow = fmt.Sprintf("%s (%s in misses, %s when met)", safetext.Line(bn.Step), time.Duration(bn.Missed).Round(time.Second), time.Duration(bn.Met).Round(time.Second))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\n", cell(o.Name), cell(o.Of), time.Duration(o.Within),
			o.PMet, clockOrNever(o.P50), clockOrNever(o.P90), clockOrNever(o.P99), sens, slow)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func clockOrNever(d *Duration) string {
	if d == nil {
		return "never"
	}
	return Clock(time.Duration(*d))
}

// WriteSummaryJSON writes a Monte Carlo as one JSON document (durations as
// Go duration strings, percentiles null when the objective was never met).
func WriteSummaryJSON(w io.Writer, s *Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
