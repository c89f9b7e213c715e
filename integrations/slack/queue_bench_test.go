package slack

import (
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
)

// BenchmarkBurst posts 200 messages to one channel of a fake Slack that
// rate-limits posts per channel, on the wall clock. It reports the
// messages per second, the 429s the fake answered, and the wall time
// against the floor of count/rate. FIREBREAK_BENCH_SLACK_RATE sets the
// rate (default 20 a second so it finishes quickly; 1 is Slack's).
func BenchmarkBurst(b *testing.B) {
	const count = 200
	rate := 20.0
	if v := os.Getenv("FIREBREAK_BENCH_SLACK_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			b.Fatalf("FIREBREAK_BENCH_SLACK_RATE=%q: want a positive number of messages per second", v)
		}
		rate = r
	}
	var wall time.Duration
	var limited int
	for b.Loop() {
		f := slackfake.New(slackfake.WithPostRate(rate))
		room := f.AddChannel("inc-bench", true)
		c, err := New(Config{Token: f.BotToken, APIURL: f.URL(), Rate: rate, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		texts := burst(b, c, room, count)
		wall += time.Since(start)
		msgs := f.Messages(room)
		if len(msgs) != count {
			b.Fatalf("%d messages arrived, want %d", len(msgs), count)
		}
		for i, m := range msgs {
			if m.Text != texts[i] {
				b.Fatalf("message %d is %q, want %q", i, m.Text, texts[i])
			}
		}
		limited += f.RateLimited()
		f.Close()
	}
	n := float64(b.N)
	floor := time.Duration(float64(count) / rate * float64(time.Second))
	b.ReportMetric(float64(count)*n/wall.Seconds(), "msgs/s")
	b.ReportMetric(float64(limited)/n, "429s/op")
	b.ReportMetric(wall.Seconds()/n/floor.Seconds(), "wall/floor")
}
