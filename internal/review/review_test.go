package review_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/review"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const libraryExercise = "plant3_ransomware_ttx"

// reportDate is the date every test report carries, so goldens are stable.
var reportDate = time.Date(2026, time.January, 6, 12, 0, 0, 0, time.UTC)

func library(t testing.TB) *org.Org {
	t.Helper()
	o, m, diags := org.Load("", org.Options{Lenient: true})
	if o == nil {
		t.Fatalf("loading the library: %s (%d files)", diags.Error(), len(m.Files))
	}
	return o
}

// libraryReview runs the library exercise with seed and builds its report.
func libraryReview(t testing.TB, seed uint64, sum *exercise.Summary) (*review.Review, *exercise.Result) {
	t.Helper()
	o := library(t)
	res, err := exercise.Run(o, libraryExercise, exercise.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := o.Module.Scenario(libraryExercise)
	if err != nil {
		t.Fatal(err)
	}
	p, diags := o.Plan(sc.Playbook)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return review.FromExercise(res, review.ExerciseOptions{Date: reportDate, Scenario: sc, Plan: p, Summary: sum}), res
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/review -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the report (go test ./internal/review -update rewrites it); got:\n%s", path, got)
	}
}

// TestLibraryReportMarkdown renders the after-action report of the library
// exercise, seed 1, against its golden file, and checks what the report
// must say whatever the golden holds.
func TestLibraryReportMarkdown(t *testing.T) {
	rv, res := libraryReview(t, 1, nil)
	var b bytes.Buffer
	if err := review.WriteMarkdown(&b, rv); err != nil {
		t.Fatal(err)
	}
	golden(t, libraryExercise+".seed1.md", b.Bytes())

	got := b.String()
	for _, o := range res.Objectives {
		if !strings.Contains(got, "| "+o.Name+" |") {
			t.Errorf("objective %s missing from the report", o.Name)
		}
	}
	for _, want := range []string{
		"| Plan digest | " + rv.PlanDigest + " |",
		"| contain | Plant 3 control network isolated within 30 minutes of first alert | step.isolate | 30m | T+00:07:01 | **P**",
		"| Time to isolation | step.isolate | T+00:07:01 |",
		"waited 6m on roster.process_safety",
		"| carol | unavailable: never answers | decision.reconnect | - |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if len(rv.PlanDigest) != 64 {
		t.Errorf("plan digest %q is not a SHA-256 in hex", rv.PlanDigest)
	}
}

func TestRate(t *testing.T) {
	d := func(m int) *review.Duration { v := review.Duration(time.Duration(m) * time.Minute); return &v }
	for _, c := range []struct {
		at   *review.Duration
		want string
	}{
		{d(0), review.RatingP}, {d(20), review.RatingP}, {d(21), review.RatingS}, {d(27), review.RatingS},
		{d(28), review.RatingM}, {d(30), review.RatingM}, {d(31), review.RatingU}, {nil, review.RatingU},
	} {
		if got := review.Rate(c.at, review.Duration(30*time.Minute)); got != c.want {
			t.Errorf("Rate(%v, 30m) = %s, want %s", c.at, got, c.want)
		}
	}
}

// BenchmarkLibraryReport renders the library exercise's report, seed 1,
// to Markdown and HTML (the run itself is outside the timing).
func BenchmarkLibraryReport(b *testing.B) {
	rv, _ := libraryReview(b, 1, nil)
	var out bytes.Buffer
	for b.Loop() {
		out.Reset()
		if err := review.WriteMarkdown(&out, rv); err != nil {
			b.Fatal(err)
		}
		if err := review.WriteHTML(&out, rv); err != nil {
			b.Fatal(err)
		}
	}
}
