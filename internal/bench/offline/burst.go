package offline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
)

// BurstMessages is the size of the Slack burst measurement.
const BurstMessages = 200

// BurstRun is one burst: its wall time, the floor the pace allows and the
// 429s the fake Slack answered.
type BurstRun struct {
	Wall  time.Duration
	Floor time.Duration
	// Limited counts the fake's 429 answers (the adapter retries them).
	Limited int
}

// Burst posts count messages at once to one channel, through the real Slack
// adapter paced at rate messages a second, to a fake Slack that enforces
// the same rate per channel, and waits until every post returns. It checks
// that each message arrived exactly once. The floor is count/rate: no
// pacing can beat it. Slack's own rate is about one message a second.
func Burst(ctx context.Context, count int, rate float64) (BurstRun, error) {
	if count < 1 || rate <= 0 {
		return BurstRun{}, fmt.Errorf("a burst needs at least one message and a positive rate, not %d at %g/s", count, rate)
	}
	f := slackfake.New(slackfake.WithPostRate(rate))
	defer f.Close()
	room := f.AddChannel("inc-bench", true)
	c, err := slack.New(slack.Config{Token: f.BotToken, APIURL: f.URL(), Rate: rate, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return BurstRun{}, err
	}
	texts := make([]string, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range count {
		texts[i] = fmt.Sprintf("message %03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.PostMessage(ctx, activities.PostMessageRequest{Key: fmt.Sprintf("burst/%d", i), IncidentID: "INC-B", Channel: room, Text: texts[i]})
		}()
	}
	wg.Wait()
	run := BurstRun{Wall: time.Since(start), Floor: time.Duration(float64(count) / rate * float64(time.Second)), Limited: f.RateLimited()}
	for i, err := range errs {
		if err != nil {
			return run, fmt.Errorf("message %d: %w", i, err)
		}
	}
	seen := map[string]int{}
	for _, m := range f.Messages(room) {
		seen[m.Text]++
	}
	for _, t := range texts {
		if seen[t] != 1 {
			return run, fmt.Errorf("%q arrived %d times, want once", t, seen[t])
		}
	}
	if got := len(f.Messages(room)); got != count {
		return run, fmt.Errorf("%d messages arrived, want %d", got, count)
	}
	return run, nil
}
