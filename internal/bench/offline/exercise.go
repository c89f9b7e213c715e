package offline

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/org"
)

//go:embed drills/sixhour.hcl
var drills embed.FS

// SixHourExercise is the exercise of the six-hour drill (SixHourOrg).
const SixHourExercise = "six_hour_drill"

// LibraryExercise is the built-in library's tabletop exercise, the one the
// Monte Carlo measurement plays.
const LibraryExercise = "plant3_ransomware_ttx"

// MonteCarloRuns is the size of the Monte Carlo measurement.
const MonteCarloRuns = 1000

// Targets of the exercise measurements, from the exercise issue.
const (
	// SixHourTarget is the most one automated run of the six-hour drill
	// may take.
	SixHourTarget = 100 * time.Millisecond
	// MonteCarloTarget is the most a 1,000-run Monte Carlo may take.
	MonteCarloTarget = 15 * time.Second
)

// SixHourOrg loads the six-hour drill: an organisation whose exercise
// SixHourExercise spans more than six hours on the exercise clock whatever
// the seed, climbing an escalation ladder, escalating a sign-off and
// applying a decision's default on the way.
func SixHourOrg() (*org.Org, error) {
	src, err := drills.ReadFile("drills/sixhour.hcl")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "firebreak-sixhour-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "drill.hcl"), src, 0o600); err != nil {
		return nil, err
	}
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if o == nil || diags.HasErrors() {
		return nil, fmt.Errorf("loading the six-hour drill: %s", diags.Error())
	}
	return o, nil
}

// SixHour measures n automated runs of the six-hour drill of o (from
// SixHourOrg), seeds 1 to n, each checked to span at least six hours of
// exercise time.
func SixHour(o *org.Org, n int) (Samples, error) {
	var out Samples
	for i := range n {
		seed := uint64(i + 1)
		if err := timed(&out, func() error {
			res, err := exercise.Run(o, SixHourExercise, exercise.Options{Seed: seed})
			if err != nil {
				return err
			}
			if time.Duration(res.Duration) < 6*time.Hour {
				return fmt.Errorf("seed %d: the drill ended at %s, under six hours", seed, time.Duration(res.Duration))
			}
			return nil
		}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// MonteCarlo measures n Monte Carlos of runs runs each of the library's
// exercise, parallel runs at a time (0: one per CPU), with seeds 1 to n.
func MonteCarlo(runs, parallel, n int) (Samples, error) {
	o, _, diags := org.Load("", org.Options{Lenient: true})
	if o == nil || diags.HasErrors() {
		return nil, fmt.Errorf("loading the built-in library: %s", diags.Error())
	}
	var out Samples
	for i := range n {
		if err := timed(&out, func() error {
			s, err := exercise.MonteCarlo(o, LibraryExercise, exercise.MonteCarloOptions{Runs: runs, Seed: uint64(i + 1), Parallel: parallel})
			if err != nil {
				return err
			}
			if s.Runs != runs {
				return fmt.Errorf("the Monte Carlo played %d runs, want %d", s.Runs, runs)
			}
			return nil
		}); err != nil {
			return out, err
		}
	}
	return out, nil
}
