package exercise

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks"
)

// Sampler draws responder delays for one run. Each draw is keyed (who,
// what, which round), so a run's delays depend on its seed and on what
// happens, never on the order activities happen to start in.
type Sampler struct {
	seed uint64
}

// NewSampler returns the sampler of a seed.
func NewSampler(seed uint64) *Sampler { return &Sampler{seed: seed} }

// Draw returns the delay d takes for the draw named key.
func (s *Sampler) Draw(d playbooks.Delay, key string) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return Sample(d, rand.New(rand.NewPCG(s.seed, h.Sum64())))
}

// Median returns the median of d, rounded as Sample rounds: fixed A;
// uniform (A+B)/2; log-normal A; exponential A·ln 2.
func Median(d playbooks.Delay) time.Duration {
	var sec float64
	switch d.Dist {
	case "uniform":
		sec = (d.A + d.B) / 2
	case "exponential":
		sec = d.A * math.Ln2
	default:
		sec = d.A
	}
	return clamp(sec)
}

// Random reports whether d is drawn from a distribution rather than fixed.
func Random(d playbooks.Delay) bool {
	switch d.Dist {
	case "uniform":
		return d.B != d.A
	case "lognormal":
		return d.B != 0
	case "exponential":
		return true
	}
	return false
}

// Sample draws one delay from d with r: fixed A; uniform between A and B;
// log-normal with median A and sigma B; exponential with mean A (A and B
// in seconds, as playbooks.ParseDelay gives them). The result is rounded
// to the second and never negative.
func Sample(d playbooks.Delay, r *rand.Rand) time.Duration {
	var sec float64
	switch d.Dist {
	case "uniform":
		sec = d.A + r.Float64()*(d.B-d.A)
	case "lognormal":
		sec = d.A * math.Exp(d.B*r.NormFloat64())
	case "exponential":
		sec = d.A * r.ExpFloat64()
	default:
		sec = d.A
	}
	return clamp(sec)
}

// clamp rounds sec to the second, within zero and a day.
func clamp(sec float64) time.Duration {
	if sec < 0 || math.IsNaN(sec) {
		sec = 0
	}
	// A day bounds every draw: a log-normal tail longer than that says
	// "never" in any tabletop exercise, and keeps the duration finite.
	if sec > 24*3600 {
		sec = 24 * 3600
	}
	return time.Duration(math.Round(sec)) * time.Second
}
