// Package pagerduty is the PagerDuty Events API v2 adapter: it implements
// activities.Pager by enqueueing trigger, acknowledge and resolve events.
//
// One Client serves every real pagerduty integration of the worker: it
// holds each instance's routing key and Events API URL by integration ID
// ("pagerduty.default"), and a request is routed by its Integration field.
// Events are idempotent by dedup_key (PagerDuty de-duplicates on it), so a
// retried event is harmless. A 429 is retried after its Retry-After (capped
// at MaxRetryAfter), 5xx and network errors after a jittered backoff;
// redirects are never followed. Routing keys never appear in a log line or
// an error.
package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/internal/retry"
)

// DefaultURL is the Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// MaxSummary is the longest summary PagerDuty accepts, in characters.
const MaxSummary = 1024

// DefaultMaxRetryAfter caps how long a 429's Retry-After is honoured.
const DefaultMaxRetryAfter = time.Minute

// Source is the payload source of every event.
const Source = "firebreak"

// Event actions.
const (
	ActionTrigger     = "trigger"
	ActionAcknowledge = "acknowledge"
	ActionResolve     = "resolve"
)

var _ activities.Pager = (*Client)(nil)

// Instance is one pagerduty integration.
type Instance struct {
	// RoutingKey is the Events API v2 integration key (a secret).
	RoutingKey string
	// URL is the Events API URL; "" means DefaultURL.
	URL string
}

// Config configures a Client.
type Config struct {
	// Instances maps integration IDs ("pagerduty.default") to their settings.
	Instances map[string]Instance
	// HTTPClient sends the events; nil means a client with a 10 s timeout.
	// Its redirect policy is replaced: redirects are never followed.
	HTTPClient *http.Client
	// Logger receives the adapter's logs; nil means slog.Default().
	Logger *slog.Logger
	// Sleep waits between retries; nil means a timer that honours ctx.
	// Tests inject one that does not wait.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock Retry-After dates are read against; nil means
	// time.Now.
	Now func() time.Time
	// MaxRetryAfter caps how long a 429's Retry-After is honoured; 0 means
	// DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
}

// Client sends events to PagerDuty.
type Client struct {
	instances map[string]Instance
	http      *http.Client
	log       *slog.Logger
	sleep     func(ctx context.Context, d time.Duration) error
	now       func() time.Time
	maxAfter  time.Duration
	// twins back the instances marked simulate = true beside real ones.
	twins map[string]activities.Pager
}

// New returns a Client; every instance needs a routing key.
func New(cfg Config) (*Client, error) {
	if len(cfg.Instances) == 0 {
		return nil, errors.New("no pagerduty instance to serve")
	}
	c := &Client{instances: map[string]Instance{}, http: cfg.HTTPClient, log: cfg.Logger, sleep: cfg.Sleep,
		now: cfg.Now, maxAfter: cfg.MaxRetryAfter}
	for _, id := range slices.Sorted(maps.Keys(cfg.Instances)) {
		in := cfg.Instances[id]
		if in.RoutingKey == "" {
			return nil, fmt.Errorf("%s: no routing_key is set (set its env() variable)", id)
		}
		if in.URL == "" {
			in.URL = DefaultURL
		}
		c.instances[id] = in
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	if c.http != nil {
		copied := *c.http
		hc = &copied
	}
	// A redirect is never followed: a 302 turns the POST into a GET whose
	// 200 would count as an accepted event, and a 307 re-sends the routing
	// key to wherever Location points.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = hc
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.sleep == nil {
		c.sleep = retry.Sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.maxAfter <= 0 {
		c.maxAfter = DefaultMaxRetryAfter
	}
	return c, nil
}

// Join returns a Client that serves the instances of c and other (other's
// settings win for an ID both hold), with c's HTTP client, logger, sleep,
// clock and Retry-After cap.
func (c *Client) Join(other *Client) *Client {
	m := maps.Clone(c.instances)
	maps.Copy(m, other.instances)
	t := maps.Clone(c.twins)
	if t == nil {
		t = map[string]activities.Pager{}
	}
	maps.Copy(t, other.twins)
	return &Client{instances: m, http: c.http, log: c.log, sleep: c.sleep, now: c.now, maxAfter: c.maxAfter, twins: t}
}

// WithTwin returns a Client that hands requests for integration id to twin
// (the simulated twin of an instance marked simulate = true) instead of
// sending them to PagerDuty, so simulated and real instances can sit side
// by side in one worker.
func (c *Client) WithTwin(id string, twin activities.Pager) *Client {
	n := c.Join(&Client{})
	delete(n.instances, id)
	n.twins[id] = twin
	return n
}

// IDs lists the integration IDs the Client serves, sorted.
func (c *Client) IDs() []string { return slices.Sorted(maps.Keys(c.instances)) }

// Trigger opens (or, for a repeated dedup key, updates) an alert whose
// dedup key is the request's idempotency key.
func (c *Client) Trigger(ctx context.Context, req activities.TriggerRequest) (activities.TriggerResponse, error) {
	if t, ok := c.twins[req.Integration]; ok {
		return t.Trigger(ctx, req)
	}
	if req.Key == "" {
		return activities.TriggerResponse{}, fmt.Errorf("trigger through %s: no idempotency key to use as the dedup key: %w", req.Integration, activities.ErrPermanent)
	}
	sev := req.Severity
	if sev == "" {
		sev = "critical"
	}
	ev := event{
		EventAction: ActionTrigger,
		DedupKey:    req.Key,
		Payload: &payload{
			Summary:       Summary(req.Summary),
			Source:        Source,
			Severity:      sev,
			CustomDetails: req.Details,
		},
	}
	if _, err := c.send(ctx, req.Integration, ev); err != nil {
		return activities.TriggerResponse{}, err
	}
	// The alert is the one firebreak named: PagerDuty answers with the
	// dedup key it was sent. The answer's own is never taken, since a
	// lookalike endpoint (it sees the routing key in every event) could
	// put the key, or anything, into the step's output.
	return activities.TriggerResponse{DedupKey: req.Key}, nil
}

// Resolve resolves the alert with the request's dedup key.
func (c *Client) Resolve(ctx context.Context, req activities.ResolveRequest) (activities.ResolveResponse, error) {
	if t, ok := c.twins[req.Integration]; ok {
		return t.Resolve(ctx, req)
	}
	if req.DedupKey == "" {
		return activities.ResolveResponse{}, fmt.Errorf("resolve through %s: no dedup key: %w", req.Integration, activities.ErrPermanent)
	}
	_, err := c.send(ctx, req.Integration, event{EventAction: ActionResolve, DedupKey: req.DedupKey})
	return activities.ResolveResponse{}, err
}

// Acknowledge acknowledges the alert with the request's dedup key, which
// stops its escalation.
func (c *Client) Acknowledge(ctx context.Context, req activities.AcknowledgeRequest) (activities.AcknowledgeResponse, error) {
	if t, ok := c.twins[req.Integration]; ok {
		return t.Acknowledge(ctx, req)
	}
	if req.DedupKey == "" {
		return activities.AcknowledgeResponse{}, fmt.Errorf("acknowledge through %s: no dedup key: %w", req.Integration, activities.ErrPermanent)
	}
	_, err := c.send(ctx, req.Integration, event{EventAction: ActionAcknowledge, DedupKey: req.DedupKey})
	return activities.AcknowledgeResponse{}, err
}

// Summary makes s a summary PagerDuty accepts: control characters become
// spaces, invalid UTF-8 is replaced, and it is cut to MaxSummary characters.
func Summary(s string) string {
	rs := []rune(strings.ToValidUTF8(s, "\uFFFD"))
	if len(rs) > MaxSummary {
		rs = append(rs[:MaxSummary-1], '…')
	}
	for i, r := range rs {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			rs[i] = ' '
		}
	}
	return string(rs)
}

type event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key,omitempty"`
	Payload     *payload `json:"payload,omitempty"`
}

type payload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

type response struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key"`
	Errors   []string `json:"errors"`
}

// Backoff bounds.
const (
	baseDelay = 250 * time.Millisecond
	maxDelay  = 30 * time.Second
)

// send posts ev to the instance, retrying 429 (after its Retry-After, when
// it has one), 5xx and network errors with capped jittered backoff until
// ctx ends.
func (c *Client) send(ctx context.Context, id string, ev event) (response, error) {
	in, ok := c.instances[id]
	if !ok {
		return response{}, fmt.Errorf("pagerduty integration %q is not a real instance of this worker (it serves %s): %w",
			id, strings.Join(c.IDs(), ", "), activities.ErrPermanent)
	}
	ev.RoutingKey = in.RoutingKey
	body, err := json.Marshal(ev)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: encoding the event: %w", ev.EventAction, id, activities.ErrPermanent)
	}
	var last error
	for attempt := 0; ; attempt++ {
		r, again, wait, err := c.post(ctx, in, body)
		if err == nil {
			c.log.Info("pagerduty event accepted", "integration", id, "action", ev.EventAction, "dedup_key", ev.DedupKey, "attempts", attempt+1)
			return r, nil
		}
		err = scrub(err, in.RoutingKey)
		if !again {
			return response{}, fmt.Errorf("%s through %s: %w", ev.EventAction, id, err)
		}
		last = err
		d := retry.Backoff(attempt+1, baseDelay, maxDelay)
		if wait > 0 {
			d = wait
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return response{}, fmt.Errorf("%s through %s: gave up after %d attempts because the next wait (%s) would pass the deadline; last error: %w", ev.EventAction, id, attempt+1, d.Round(time.Millisecond), last)
		}
		c.log.Warn("pagerduty event not accepted; retrying", "integration", id, "action", ev.EventAction, "dedup_key", ev.DedupKey, "attempt", attempt+1, "in", d, "error", err.Error())
		if serr := c.sleep(ctx, d); serr != nil {
			return response{}, fmt.Errorf("%s through %s: gave up after %d attempts because %v; last error: %w", ev.EventAction, id, attempt+1, serr, last)
		}
	}
}

// post makes one attempt; again says whether another may succeed, and
// wait is the (capped) Retry-After of a 429 to honour before it.
func (c *Client) post(ctx context.Context, in Instance, body []byte) (r response, again bool, wait time.Duration, err error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL, bytes.NewReader(body))
	if err != nil {
		return response{}, false, 0, fmt.Errorf("the Events API URL is not usable: %w", activities.ErrPermanent)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(hr)
	if err != nil {
		return response{}, true, 0, fmt.Errorf("sending the event: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &r)
	msg := r.Message
	if len(r.Errors) > 0 {
		msg += " (" + strings.Join(r.Errors, "; ") + ")"
	}
	msg = Summary(msg)
	switch {
	case (resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK) && r.Status != "success":
		// A proxy or captive portal answering 200 raised no alert.
		return r, true, 0, fmt.Errorf("the Events API URL answered %d without \"status\": \"success\", so no alert was raised (a proxy or captive portal in the way?); check api_url", resp.StatusCode)
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK:
		return r, false, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests:
		if d, ok := retry.After(resp.Header.Get("Retry-After"), c.now()); ok {
			return r, true, min(max(d, time.Millisecond), c.maxAfter), fmt.Errorf("PagerDuty is rate limiting (429, retry after %s)", d)
		}
		return r, true, 0, fmt.Errorf("PagerDuty is rate limiting (429)")
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return r, false, 0, fmt.Errorf("PagerDuty answered %d, a redirect, which is not followed (it would send the routing key elsewhere, or count a page that raised no alert); set api_url to the address that answers: %w",
			resp.StatusCode, activities.ErrPermanent)
	case resp.StatusCode >= 500:
		return r, true, 0, fmt.Errorf("PagerDuty answered %d %s", resp.StatusCode, msg)
	case resp.StatusCode == http.StatusBadRequest:
		return r, false, 0, fmt.Errorf("PagerDuty refused the event as invalid (400 %s); check the routing key and the payload: %w", msg, activities.ErrPermanent)
	default:
		return r, false, 0, fmt.Errorf("PagerDuty answered %d %s: %w", resp.StatusCode, msg, activities.ErrPermanent)
	}
}

// scrub keeps the routing key out of an error's text (a URL error or a
// server echo could carry it); the error's chain stays for errors.Is.
func scrub(err error, key string) error {
	if key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	return scrubbed{msg: strings.ReplaceAll(err.Error(), key, "[routing key]"), err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s scrubbed) Error() string { return s.msg }

// Is keeps ErrPermanent visible through the scrubbed error without
// exposing the original text through Unwrap.
func (s scrubbed) Is(target error) bool { return errors.Is(s.err, target) }
