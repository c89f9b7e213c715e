package exercise_test

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
)

// lognormalOrg: ann acknowledges the page after lognormal(4m, 0.5), so the
// objective "ack" (the page done within 5m) is met exactly when her draw
// is at most 5 minutes.
const lognormalOrg = `
person "ann" { slack = "U01ANN" }
person "cat" { slack = "U01CAT" }
roster "tier1" { members = [person.ann] }
escalation "one" {
  tier {
    notify     = [roster.tier1]
    ack_within = "2h"
  }
}
playbook "p" {
  may_start = [person.cat]
  page "oncall" {
    escalation = escalation.one
    message    = "help"
  }
}
exercise "x" {
  playbook = playbook.p
  objective "ack" {
    within = "5m"
    of     = page.oncall
  }
  responder "ann" { acknowledges_after = "lognormal(4m,0.5)" }
}
`

// TestMonteCarloClosedForm: p_met over 2,000 runs is within three
// standard errors of Φ((ln t − ln median)/σ).
func TestMonteCarloClosedForm(t *testing.T) {
	o := loadDir(t, map[string]string{"x.hcl": lognormalOrg})
	const runs = 2000
	s, err := exercise.MonteCarlo(o, "x", exercise.MonteCarloOptions{Runs: runs, Seed: 11, Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Objectives) != 1 {
		t.Fatalf("objectives %+v", s.Objectives)
	}
	// Draws are rounded to the second: met when the draw is below 300.5 s.
	z := (math.Log(300.5) - math.Log(240)) / 0.5
	p := 0.5 * (1 + math.Erf(z/math.Sqrt2))
	se := math.Sqrt(p * (1 - p) / runs)
	got := s.Objectives[0].PMet
	if math.Abs(got-p) > 3*se {
		t.Errorf("p_met %.4f, closed form %.4f (3 standard errors %.4f)", got, p, 3*se)
	}
	t.Logf("p_met %.4f, closed form %.4f, standard error %.4f", got, p, se)
	ob := s.Objectives[0]
	if ob.P50 == nil || ob.P99 == nil || time.Duration(*ob.P99) > 5*time.Minute || *ob.P50 > *ob.P90 || *ob.P90 > *ob.P99 {
		t.Errorf("percentiles %v %v %v", ob.P50, ob.P90, ob.P99)
	}
}

// TestMonteCarloSameSeed: the same seed gives the same JSON, byte for
// byte, whatever the parallelism; another seed other figures.
func TestMonteCarloSameSeed(t *testing.T) {
	o := library(t)
	doc := func(seed uint64, par int) []byte {
		s, err := exercise.MonteCarlo(o, libraryExercise, exercise.MonteCarloOptions{Runs: 40, Seed: seed, Parallel: par, Sensitivity: true})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := exercise.WriteSummaryJSON(&b, s); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	one, two := doc(5, 1), doc(5, 2)
	if !bytes.Equal(one, two) {
		t.Fatalf("seed 5 with --parallel 1 and 2 differ:\n%s\n---\n%s", one, two)
	}
	if other := doc(6, 2); bytes.Equal(bytes.Replace(other, []byte(`"seed": 6`), []byte(`"seed": 5`), 1), one) {
		t.Errorf("seeds 5 and 6 give the same figures")
	}
	for _, want := range []string{`"runs": 40`, `"seed": 5`, `"name": "contain"`, `"within": "30m0s"`, `"p_met": `, `"p50": "`, `"p90": "`, `"p99": "`} {
		if !strings.Contains(string(one), want) {
			t.Errorf("JSON lacks %s:\n%s", want, one)
		}
	}
}

// TestMonteCarloSensitivity: of two responders who must both acknowledge
// within the limit, the slower, wider one is the one whose fixing lowers
// the miss rate most.
func TestMonteCarloSensitivity(t *testing.T) {
	src := strings.NewReplacer(
		`responder "ann" { acknowledges_after = "lognormal(4m,0.5)" }`,
		`responder "ann" { acknowledges_after = "lognormal(4m,0.5)" }
  responder "ben" { acknowledges_after = "uniform(0s,6m)" }`,
		`person "cat"`, `person "ben" { slack = "U01BEN" }
person "cat"`,
		`page "oncall" {`, `page "second" {
    escalation = escalation.two
    message    = "help too"
  }
  page "oncall" {`,
		`escalation "one" {`, `escalation "two" {
  tier {
    notify     = [roster.tier2]
    ack_within = "2h"
  }
}
escalation "one" {`,
		`roster "tier1"`, `roster "tier2" { members = [person.ben] }
roster "tier1"`,
		`of     = page.oncall`, `of     = page.oncall
  }
  objective "both" {
    within = "5m"
    of     = page.second`,
	).Replace(lognormalOrg)
	o := loadDir(t, map[string]string{"x.hcl": src})
	calls, last := 0, 0
	s, err := exercise.MonteCarlo(o, "x", exercise.MonteCarloOptions{Runs: 200, Seed: 3, Sensitivity: true,
		Progress: func(done, total int) { calls, last = calls+1, total }})
	if err != nil {
		t.Fatal(err)
	}
	// The ordinary runs, then 200 more for each of ann and ben.
	if calls != 600 || last != 600 {
		t.Errorf("progress told %d times of %d runs, want 600 of 600", calls, last)
	}
	// "ack" misses only through ann, "both" (ben's page) only through ben.
	want := map[string]string{"ack": "ann", "both": "ben"}
	for _, ob := range s.Objectives {
		if ob.Sensitivity == nil || ob.Sensitivity.Responder != want[ob.Name] || ob.Sensitivity.FixedMissRate != 0 || ob.Sensitivity.MissRate == 0 {
			t.Errorf("objective %s: sensitivity %+v, want %s fixed to a zero miss rate", ob.Name, ob.Sensitivity, want[ob.Name])
		}
	}
}

func TestMonteCarloErrors(t *testing.T) {
	o := library(t)
	if _, err := exercise.MonteCarlo(o, libraryExercise, exercise.MonteCarloOptions{Runs: 0}); err == nil || !strings.Contains(err.Error(), "at least one run") {
		t.Errorf("no runs: %v", err)
	}
	if _, err := exercise.MonteCarlo(o, "nope", exercise.MonteCarloOptions{Runs: 2}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown exercise: %v", err)
	}
}

// TestMonteCarloBottleneck: the objective's page waits on an earlier page
// whose acknowledgement is random while its own is fixed, so the step
// that contributes most to the misses is the earlier one.
func TestMonteCarloBottleneck(t *testing.T) {
	src := strings.NewReplacer(
		`responder "ann" { acknowledges_after = "lognormal(4m,0.5)" }`,
		`responder "ann" { acknowledges_after = "1m" }
  responder "ben" { acknowledges_after = "uniform(0s,6m)" }`,
		`person "cat"`, `person "ben" { slack = "U01BEN" }
person "cat"`,
		`page "oncall" {`, `page "first" {
    escalation = escalation.two
    message    = "first"
  }
  page "oncall" {
    needs      = [page.first]`,
		`escalation "one" {`, `escalation "two" {
  tier {
    notify     = [roster.tier2]
    ack_within = "2h"
  }
}
escalation "one" {`,
		`roster "tier1"`, `roster "tier2" { members = [person.ben] }
roster "tier1"`,
		`within = "5m"`, `within = "4m"`,
	).Replace(lognormalOrg)
	o := loadDir(t, map[string]string{"x.hcl": src})
	s, err := exercise.MonteCarlo(o, "x", exercise.MonteCarloOptions{Runs: 200, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	ob := s.Objectives[0]
	if ob.Met == 0 || ob.Met == s.Runs {
		t.Fatalf("met in %d of %d runs; the test needs some of each", ob.Met, s.Runs)
	}
	bn := ob.Bottleneck
	if bn == nil || bn.Step != "page.first" || bn.Missed <= bn.Met {
		t.Fatalf("bottleneck %+v; want page.first, slower in the misses", bn)
	}
	var out bytes.Buffer
	if err := exercise.WriteSummaryText(&out, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "page.first (") {
		t.Errorf("the summary does not name the bottleneck:\n%s", out.String())
	}
}
