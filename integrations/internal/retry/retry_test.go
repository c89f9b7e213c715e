package retry

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"99999999999", maxRetryAfter * time.Second, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
	} {
		got, ok := After(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("After(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	base, top := 500*time.Millisecond, 15*time.Second
	for n := 1; n < 40; n++ {
		want := min(base<<min(n-1, 15), top)
		if n >= 16 {
			want = top
		}
		for range 20 {
			if d := Backoff(n, base, top); d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %s; want between %s and %s", n, d, want/2, want)
			}
		}
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on an ended context: %v", err)
	}
	if err := Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0): %v", err)
	}
}
