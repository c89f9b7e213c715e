package slack

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Backoff of the delivery loop after a 5xx or a lost connection.
const (
	backoffBase = 500 * time.Millisecond
	backoffCap  = 30 * time.Second
	// sweepAt is how many idle lanes the queue keeps before forgetting the
	// ones whose pacing no longer matters.
	sweepAt = 512
)

// queue keeps one FIFO lane per channel: messages to a channel go out one
// at a time, in the order they were queued, no faster than every, so a
// burst does not earn 429s. Calls that post nothing (updates, lookups) use
// the same retry loop without a lane.
type queue struct {
	every time.Duration
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	token string

	mu    sync.Mutex
	lanes map[string]*lane
	// onQueued, when set (tests), is told each time a job joins a lane.
	onQueued func(channel string)
	// onLimited, when set, is told the method of every 429.
	onLimited func(method string)
}

// lane is one channel's FIFO. Its fields are guarded by queue.mu.
type lane struct {
	tail chan struct{} // closed when the last job queued is finished
	jobs int           // jobs queued or running
	next time.Time     // earliest time the next post may go out
}

// op is one Slack call for the retry loop.
type op struct {
	method string // the Slack method, for errors
	what   string // what is being done, for people: "posting to C123"
	// do makes the call once.
	do func(ctx context.Context) error
	// landed, when set, says whether an earlier attempt that may have been
	// carried out (a 5xx, a lost connection) was after all; the loop asks
	// it before sending again, so a call is never carried out twice.
	landed func(ctx context.Context) (bool, error)
	// check asks landed before the first attempt too (an earlier activity
	// attempt may have posted).
	check bool
	// already, when set, is asked once the call's turn comes: true means
	// another job carried it out meanwhile (the same key queued twice).
	already func() bool
}

func newQueue(every time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error, token string) *queue {
	return &queue{every: every, now: now, sleep: sleep, token: token, lanes: map[string]*lane{}}
}

// join queues a job on channel's lane and waits for its turn. The caller
// must call the release function it returns once done.
func (q *queue) join(ctx context.Context, channel string) (*lane, func(), error) {
	q.mu.Lock()
	l := q.lanes[channel]
	if l == nil {
		if len(q.lanes) >= sweepAt {
			q.sweep()
		}
		done := make(chan struct{})
		close(done)
		l = &lane{tail: done}
		q.lanes[channel] = l
	}
	prev, mine := l.tail, make(chan struct{})
	l.tail = mine
	l.jobs++
	hook := q.onQueued
	q.mu.Unlock()
	if hook != nil {
		hook(channel)
	}
	release := func() {
		q.mu.Lock()
		l.jobs--
		q.mu.Unlock()
		close(mine)
	}
	select {
	case <-prev:
		return l, release, nil
	case <-ctx.Done():
		// Keep the lane's order: the jobs behind this one still wait for
		// the ones ahead of it.
		go func() { <-prev; release() }()
		return nil, nil, ctx.Err()
	}
}

// sweep forgets idle lanes whose pacing has passed; the caller holds q.mu.
func (q *queue) sweep() {
	now := q.now()
	for ch, l := range q.lanes {
		if l.jobs == 0 && !now.Before(l.next) {
			delete(q.lanes, ch)
		}
	}
}

// post runs o in channel's lane at the lane's pace.
func (q *queue) post(ctx context.Context, channel string, o op) error {
	l, release, err := q.join(ctx, channel)
	if err != nil {
		return fmt.Errorf("%s: gave up while waiting for earlier messages to the channel: %w", o.what, err)
	}
	defer release()
	return q.run(ctx, o, l)
}

// call runs o without pacing, retrying as post does.
func (q *queue) call(ctx context.Context, o op) error { return q.run(ctx, o, nil) }

// run is the retry loop: a 429 waits Retry-After and sends the same call
// again (so a lane keeps its order), a 5xx or a lost connection backs off
// (capped, jittered) and sends again once landed says the earlier attempt
// did not take effect, and the loop gives up when ctx ends (the activity's
// deadline), saying so: a ctx without a deadline waits as long as Slack
// is down. Any other failure is returned at once.
func (q *queue) run(ctx context.Context, o op, l *lane) error {
	if o.already != nil && o.already() {
		return nil
	}
	unsure := o.check
	var last *apiError
	for attempt := 1; ; attempt++ {
		if l != nil {
			q.mu.Lock()
			wait := l.next.Sub(q.now())
			q.mu.Unlock()
			if wait > 0 {
				if err := q.sleep(ctx, wait); err != nil {
					return giveUp(o, attempt-1, last, err)
				}
			}
		}
		var err error
		if unsure && o.landed != nil {
			var ok bool
			if ok, err = o.landed(ctx); err == nil && ok {
				return nil
			}
			if err == nil {
				unsure = false
			}
		}
		if err == nil {
			err = o.do(ctx)
			if l != nil {
				q.mu.Lock()
				l.next = q.now().Add(q.every)
				q.mu.Unlock()
			}
			if err == nil {
				return nil
			}
		}
		e := classify(o.method, q.token, err)
		if ctx.Err() != nil {
			return giveUp(o, attempt, e, ctx.Err())
		}
		var wait time.Duration
		switch e.kind {
		case kindLimited:
			if q.onLimited != nil {
				q.onLimited(o.method)
			}
			wait = max(e.retryAfter, q.every, time.Second/10)
			if l != nil {
				q.mu.Lock()
				l.next = q.now().Add(wait)
				q.mu.Unlock()
				wait = 0 // the lane's pacing waits
			}
		case kindTransient:
			unsure = unsure || e.maybeApplied
			wait = backoff(attempt)
		case kindPermanent, kindOther:
			var inner *apiError
			if errors.As(err, &inner) {
				return fmt.Errorf("%s: %w", o.what, err) // already says what it was doing
			}
			return fmt.Errorf("%s: %w", o.what, e)
		}
		last = e
		if wait > 0 {
			if err := q.sleep(ctx, wait); err != nil {
				return giveUp(o, attempt, last, err)
			}
		}
	}
}

// giveUp is the error of a call whose caller stopped waiting.
func giveUp(o op, attempts int, last *apiError, cause error) error {
	why := "the activity's time ran out"
	if errors.Is(cause, context.Canceled) {
		why = "the activity was cancelled"
	}
	if last == nil {
		return fmt.Errorf("%s: gave up after %d attempt(s): %s (%w)", o.what, attempts, why, cause)
	}
	return fmt.Errorf("%s: gave up after %d attempt(s): %s; last error: %w", o.what, attempts, why, last)
}

// backoff is the wait before attempt+1 after a transient failure: doubling
// from backoffBase up to backoffCap, with the upper half jittered.
func backoff(attempt int) time.Duration {
	d := backoffBase
	for i := 1; i < attempt && d < backoffCap; i++ {
		d *= 2
	}
	d = min(d, backoffCap)
	return d/2 + rand.N(d/2+1)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
