package exercise_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/playbooks"
)

func parse(t *testing.T, s string) playbooks.Delay {
	t.Helper()
	d, err := playbooks.ParseDelay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFixedDelay(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"3m", 3 * time.Minute}, {"0s", 0}, {"1h30m", 90 * time.Minute}, {"90s", 90 * time.Second}} {
		if got := exercise.Sample(parse(t, c.in), r); got != c.want {
			t.Errorf("%s: %s", c.in, got)
		}
	}
}

// TestDistributionMedians draws many delays from each distribution with a
// fixed seed and compares the sample median and bounds with the
// distribution's: uniform(a,b) (a+b)/2, lognormal(m,s) m, exponential(mean)
// mean*ln 2.
func TestDistributionMedians(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 42))
	for _, c := range []struct {
		in       string
		median   time.Duration
		min, max time.Duration
	}{
		{"uniform(1m,8m)", 270 * time.Second, time.Minute, 8 * time.Minute},
		{"lognormal(4m,0.5)", 4 * time.Minute, 0, 24 * time.Hour},
		{"exponential(5m)", 208 * time.Second, 0, 24 * time.Hour}, // 300s ln 2
	} {
		d := parse(t, c.in)
		draws := make([]time.Duration, 20001)
		for i := range draws {
			draws[i] = exercise.Sample(d, r)
			if draws[i] < c.min || draws[i] > c.max {
				t.Fatalf("%s drew %s, outside [%s, %s]", c.in, draws[i], c.min, c.max)
			}
		}
		slices.Sort(draws)
		med := draws[len(draws)/2]
		if lo, hi := c.median*95/100, c.median*105/100; med < lo || med > hi {
			t.Errorf("%s: sample median %s, want %s within 5%%", c.in, med, c.median)
		}
		if draws[0] == draws[len(draws)-1] {
			t.Errorf("%s: every draw is %s", c.in, draws[0])
		}
	}
}

// TestSamplerKeys: a draw depends on the seed and on its key only.
func TestSamplerKeys(t *testing.T) {
	d := parse(t, "uniform(1m,8m)")
	a := exercise.NewSampler(1)
	first := a.Draw(d, "ack|olga|page.ot_engineer|0")
	if again := exercise.NewSampler(1).Draw(d, "ack|olga|page.ot_engineer|0"); again != first {
		t.Errorf("same seed and key: %s then %s", first, again)
	}
	var differ bool
	for seed := uint64(2); seed < 10; seed++ {
		if exercise.NewSampler(seed).Draw(d, "ack|olga|page.ot_engineer|0") != first {
			differ = true
		}
	}
	if !differ {
		t.Errorf("seeds 2 to 9 all drew %s", first)
	}
}
