package offline

import (
	"slices"
	"time"
)

// Samples are the durations of repeated measurements of one thing.
type Samples []time.Duration

// Median is the middle sample (the mean of the two middle ones for an even
// count); 0 without samples.
func (s Samples) Median() time.Duration {
	c := slices.Clone(s)
	slices.Sort(c)
	n := len(c)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// Min is the shortest sample; 0 without samples.
func (s Samples) Min() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return slices.Min(s)
}

// Max is the longest sample; 0 without samples.
func (s Samples) Max() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return slices.Max(s)
}

// Mean is the average sample; 0 without samples.
func (s Samples) Mean() time.Duration {
	if len(s) == 0 {
		return 0
	}
	var t time.Duration
	for _, d := range s {
		t += d
	}
	return t / time.Duration(len(s))
}

// timed runs f and appends how long it took to s.
func timed(s *Samples, f func() error) error {
	t0 := time.Now()
	if err := f(); err != nil {
		return err
	}
	*s = append(*s, time.Since(t0))
	return nil
}
