// Package webhook is the signed-webhook adapter: it implements
// activities.Webhook (webhook.post) and activities.EDR (edr.contain_host)
// by POSTing JSON to the URL of a webhook integration.
//
// Every request is signed with HMAC-SHA256 under the instance's secret over
// its timestamp, idempotency key, mode and body, so a receiver can refuse
// forgeries and replays; docs/webhooks.md gives receivers the scheme. A
// request is retried within the activity (429 with Retry-After, 5xx,
// network errors) with a fresh timestamp and the same idempotency key, for
// a bounded time; then the error is returned for Temporal to retry. Redirects
// are never followed. Secrets, and the URL when it came from env(), never
// appear in an error or a log line.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/internal/retry"
)

// Header names of a signed request.
const (
	// HeaderTimestamp carries the Unix time, in seconds, the request was signed.
	HeaderTimestamp = "X-Firebreak-Timestamp"
	// HeaderSignature carries "v1=" and the hex HMAC-SHA256 signature.
	HeaderSignature = "X-Firebreak-Signature"
	// HeaderIdempotencyKey carries IdempotencyKey of the request's key; it is
	// the same on every retry of one step.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderExercise is "true" on a request from an exercise run (which the
	// worker's exercise guard normally stops before it is sent).
	HeaderExercise = "X-Firebreak-Exercise"
)

// UserAgent is the User-Agent of every request.
const UserAgent = "firebreak-webhook/1"

// Limits.
const (
	// MaxRequestBody is the largest request body sent, in bytes.
	MaxRequestBody = 1 << 20
	// MaxResponseBody is how much of a response body is read and returned,
	// in bytes; the rest is cut.
	MaxResponseBody = 64 << 10
	// MaxHost is the longest host name or ID edr.contain_host sends, in bytes.
	MaxHost = 255
	// MinSecret is the shortest secret accepted, in bytes.
	MinSecret = 16
	// DefaultTimeout bounds one attempt when the integration sets no timeout.
	DefaultTimeout = 10 * time.Second
	// MaxTimeout is the longest timeout an integration may set.
	MaxTimeout = 5 * time.Minute
	// DefaultRetryFor bounds the time spent retrying within one activity attempt.
	DefaultRetryFor = time.Minute
	// DefaultMaxRetryAfter caps how long a Retry-After is honoured.
	DefaultMaxRetryAfter = time.Minute
)

// Backoff bounds.
const (
	baseDelay   = 500 * time.Millisecond
	maxDelay    = 15 * time.Second
	maxAttempts = 8
)

var (
	_ activities.Webhook = (*Client)(nil)
	_ activities.EDR     = (*Client)(nil)
)

// Config configures one webhook integration instance.
type Config struct {
	// ID is the integration ID, e.g. "webhook.edr"; requests name it.
	ID string
	// URL is where requests go: https, or http to a loopback address only.
	// It may be a secret read through env().
	URL string
	// URLFromEnv is the env() variable URL was read from, or "". When set,
	// errors and logs never say the URL's host, only "the URL in $VAR".
	URLFromEnv string
	// Secret is the HMAC-SHA256 key (at least MinSecret bytes).
	Secret string
	// Timeout bounds one attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// RetryFor bounds the time spent on retries within one call; 0 means
	// DefaultRetryFor. The call also ends with its context.
	RetryFor time.Duration
	// MaxRetryAfter caps how long the Retry-After of a 429, 408 or 5xx is
	// honoured; 0 means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// HTTPClient sends the requests; nil means a client of its own. Its
	// redirect policy is replaced: redirects are never followed.
	HTTPClient *http.Client
	// Logger receives the adapter's logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for timestamps, Retry-After dates and the retry
	// budget; nil means time.Now.
	Now func() time.Time
	// Sleep waits between retries; nil means a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client posts signed webhooks for one or more instances (see Join),
// routing each request by its Integration field.
type Client struct {
	targets map[string]*target
}

type target struct {
	id       string
	url      string
	where    string // the URL for people: host:port, or "the URL in $VAR"
	secret   []byte
	scrub    []string // strings no error may show
	timeout  time.Duration
	retryFor time.Duration
	maxAfter time.Duration
	http     *http.Client
	log      *slog.Logger
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
}

// New returns a Client for one instance. It refuses a URL that is not
// https (or http to a loopback address), a missing or short secret and a
// timeout outside (0, MaxTimeout].
func New(cfg Config) (*Client, error) {
	if cfg.ID == "" {
		return nil, errors.New("webhook: no integration ID")
	}
	t := &target{id: cfg.ID, secret: []byte(cfg.Secret), timeout: cfg.Timeout, retryFor: cfg.RetryFor,
		maxAfter: cfg.MaxRetryAfter, log: cfg.Logger, now: cfg.Now, sleep: cfg.Sleep}
	if err := t.setURL(cfg.URL, cfg.URLFromEnv); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.ID, err)
	}
	switch {
	case cfg.Secret == "":
		return nil, fmt.Errorf("%s: no secret is set: firebreak signs every webhook, so set secret = env(\"...\") to a random value of at least %d bytes shared with the receiver", cfg.ID, MinSecret)
	case len(cfg.Secret) < MinSecret:
		return nil, fmt.Errorf("%s: the secret is %d bytes; use a random value of at least %d", cfg.ID, len(cfg.Secret), MinSecret)
	}
	t.scrub = append(t.scrub, cfg.Secret)
	switch {
	case t.timeout < 0 || t.timeout > MaxTimeout:
		return nil, fmt.Errorf("%s: timeout %s is out of range: give one above 0 and at most %s", cfg.ID, t.timeout, MaxTimeout)
	case t.timeout == 0:
		t.timeout = DefaultTimeout
	}
	if t.retryFor <= 0 {
		t.retryFor = DefaultRetryFor
	}
	if t.maxAfter <= 0 {
		t.maxAfter = DefaultMaxRetryAfter
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.http = hc
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.sleep == nil {
		t.sleep = retry.Sleep
	}
	return &Client{targets: map[string]*target{cfg.ID: t}}, nil
}

// ParseTimeout reads an integration's timeout setting ("10s", "1m30s");
// "" means DefaultTimeout.
func ParseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > MaxTimeout {
		return 0, fmt.Errorf("timeout %q is not a duration above 0 and at most %s (write it like \"10s\")", printable(s, 40), MaxTimeout)
	}
	return d, nil
}

// setURL checks raw and sets the target's URL, its description and the
// parts of it no error may show.
func (t *target) setURL(raw, env string) error {
	name := "url"
	if env != "" {
		name = "the URL in $" + env
	}
	if raw == "" {
		return fmt.Errorf("%s is empty", name)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		// Never echo the value: it may be a secret.
		return fmt.Errorf("%s is not an absolute http(s) URL", name)
	}
	port := u.Port()
	switch u.Scheme {
	case "https":
		if port == "" {
			port = "443"
		}
	case "http":
		if !loopback(u.Hostname()) {
			return fmt.Errorf("%s is http:// to a host that is not loopback: use https:// (a signed body still travels in clear and can be read on the way)", name)
		}
		if port == "" {
			port = "80"
		}
	default:
		return fmt.Errorf("%s is not an http(s) URL", name)
	}
	if u.Fragment != "" {
		return fmt.Errorf("%s has a #fragment, which is never sent; remove it", name)
	}
	t.url = raw
	t.scrub = append(t.scrub, raw)
	if u.User != nil {
		t.scrub = append(t.scrub, u.User.String())
		if p, ok := u.User.Password(); ok {
			t.scrub = append(t.scrub, p)
		}
	}
	if u.RawQuery != "" {
		t.scrub = append(t.scrub, u.RawQuery)
		if q, err := url.QueryUnescape(u.RawQuery); err == nil {
			t.scrub = append(t.scrub, q)
		}
	}
	if env != "" {
		t.where = "the URL in $" + env
		t.scrub = append(t.scrub, u.Host, u.Hostname())
		// Many webhook URLs carry their credential in the path. A
		// receiver may echo it whole or JSON-escaped ("\/"), so each
		// segment long enough to be a token is scrubbed on its own.
		t.scrub = append(t.scrub, u.EscapedPath(), u.Path)
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= minPathToken {
				t.scrub = append(t.scrub, seg)
			}
		}
	} else {
		t.where = net.JoinHostPort(u.Hostname(), port)
	}
	return nil
}

// minPathToken is the shortest segment of a secret URL's path that is
// scrubbed on its own: shorter ones ("api", "v1", "hooks") are words, not
// tokens, and scrubbing them would garble answers.
const minPathToken = 12

// loopback says whether host is "localhost" or a loopback IP address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Join returns a Client that serves the instances of c and other (other's
// settings win for an ID both hold).
func (c *Client) Join(other *Client) *Client {
	m := maps.Clone(c.targets)
	maps.Copy(m, other.targets)
	return &Client{targets: m}
}

// IDs lists the integration IDs the Client serves, sorted.
func (c *Client) IDs() []string { return slices.Sorted(maps.Keys(c.targets)) }

// Send posts req.Body (nil sends {}) and returns the 2xx response.
func (c *Client) Send(ctx context.Context, req activities.WebhookRequest) (activities.WebhookResponse, error) {
	t, err := c.target(req.Integration)
	if err != nil {
		return activities.WebhookResponse{}, err
	}
	body := req.Body
	if body == nil {
		body = map[string]any{}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return activities.WebhookResponse{}, fmt.Errorf("post to %s: the body cannot be sent as JSON (%s): %w", t.id, printable(err.Error(), 200), activities.ErrPermanent)
	}
	status, resp, err := t.post(ctx, "post", req.Key, req.Exercise, raw)
	if err != nil {
		return activities.WebhookResponse{}, err
	}
	return activities.WebhookResponse{Status: status, Body: resp}, nil
}

// ContainAction is the action of every edr.contain_host request.
const ContainAction = "contain"

// containBody is the JSON body of a containment request (docs/webhooks.md).
type containBody struct {
	Action   string `json:"action"`
	Host     string `json:"host"`
	Incident string `json:"incident,omitempty"`
	Step     string `json:"step,omitempty"`
	Key      string `json:"key"`
	Exercise bool   `json:"exercise,omitempty"`
}

// containAnswer is what a containment response may confirm with.
type containAnswer struct {
	Contained *bool  `json:"contained"`
	Status    string `json:"status"`
}

// Contain asks the EDR to contain req.Host. Contained is true only when
// the EDR answers 2xx with a JSON object whose "contained" is true, or whose
// "status" is "contained" and "contained" is not false.
func (c *Client) Contain(ctx context.Context, req activities.ContainRequest) (activities.ContainResponse, error) {
	t, err := c.target(req.Integration)
	if err != nil {
		return activities.ContainResponse{}, err
	}
	if msg := checkHost(req.Host); msg != "" {
		return activities.ContainResponse{}, fmt.Errorf("contain through %s: host %s: %w", t.id, msg, activities.ErrPermanent)
	}
	raw, err := json.Marshal(containBody{Action: ContainAction, Host: req.Host, Incident: req.IncidentID,
		Step: req.Step, Key: IdempotencyKey(req.Key), Exercise: req.Exercise})
	if err != nil {
		return activities.ContainResponse{}, fmt.Errorf("contain through %s: encoding the request: %w", t.id, activities.ErrPermanent)
	}
	_, resp, err := t.post(ctx, "contain", req.Key, req.Exercise, raw)
	if err != nil {
		return activities.ContainResponse{}, err
	}
	return activities.ContainResponse{Contained: Confirmed(resp)}, nil
}

// Confirmed says whether a 2xx containment response body confirms
// containment: a JSON object with "contained": true, or with "status":
// "contained" (any case) and no "contained": false.
func Confirmed(body string) bool {
	var a containAnswer
	if json.Unmarshal([]byte(body), &a) != nil {
		return false
	}
	if a.Contained != nil {
		return *a.Contained
	}
	return strings.EqualFold(a.Status, "contained")
}

// checkHost returns why host cannot be sent, or "".
func checkHost(host string) string {
	switch {
	case host == "":
		return "is empty"
	case len(host) > MaxHost:
		return fmt.Sprintf("is %d bytes, longer than %d", len(host), MaxHost)
	case !utf8.ValidString(host):
		return "is not valid UTF-8"
	case strings.IndexFunc(host, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return fmt.Sprintf("%q has spaces or control characters", host)
	}
	return ""
}

func (c *Client) target(id string) (*target, error) {
	t, ok := c.targets[id]
	if !ok {
		return nil, fmt.Errorf("webhook integration %q is not a real instance of this worker (it serves %s): %w",
			printable(id, 80), strings.Join(c.IDs(), ", "), activities.ErrPermanent)
	}
	return t, nil
}

// IdempotencyKey is the Idempotency-Key header for a request key: "fb1-"
// and the first 128 bits of its SHA-256 in hex. It is stable across retries
// and secret rotation, and does not show incident IDs or step names.
func IdempotencyKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "fb1-" + hex.EncodeToString(sum[:16])
}

// Mode is the mode word of the signed string: "exercise" or "live".
func Mode(exercise bool) string {
	if exercise {
		return "exercise"
	}
	return "live"
}

// Sign returns the X-Firebreak-Signature value: "v1=" and the hex
// HMAC-SHA256, under secret, of
// "v1:" + timestamp + ":" + idempotencyKey + ":" + mode + ":" + body.
func Sign(secret []byte, timestamp, idempotencyKey, mode string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "v1:%s:%s:%s:", timestamp, idempotencyKey, mode)
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// post sends body, retrying what may succeed later, and returns the 2xx
// status and the (cut) response body.
func (t *target) post(ctx context.Context, what, key string, exercise bool, body []byte) (int, string, error) {
	if len(body) > MaxRequestBody {
		return 0, "", fmt.Errorf("%s through %s: the body is %d bytes, more than %d: %w", what, t.id, len(body), MaxRequestBody, activities.ErrPermanent)
	}
	idem := IdempotencyKey(key)
	start := t.now()
	for attempt := 1; ; attempt++ {
		status, resp, wait, err := t.attempt(ctx, idem, exercise, body)
		if err == nil {
			t.log.Info("webhook accepted", "integration", t.id, "action", what, "idempotency_key", idem, "status", status, "attempts", attempt)
			// A receiver may echo what it was sent, URL token included;
			// the answer goes into the incident's history.
			return status, t.scrubText(resp), nil
		}
		err = t.scrubbed(err)
		if errors.Is(err, activities.ErrPermanent) {
			return 0, "", fmt.Errorf("%s through %s (%s): %w", what, t.id, t.where, err)
		}
		d := retry.Backoff(attempt, baseDelay, maxDelay)
		if wait > 0 {
			d = wait
		}
		why := ""
		switch {
		case ctx.Err() != nil:
			why = ctx.Err().Error()
		case attempt >= maxAttempts:
			why = "the attempt limit"
		case t.now().Add(d).Sub(start) > t.retryFor:
			why = fmt.Sprintf("the next wait (%s) would pass the %s retry budget", d.Round(time.Millisecond), t.retryFor)
		case deadlineWithin(ctx, d):
			why = "the next wait would pass the activity's deadline"
		}
		if why == "" {
			t.log.Warn("webhook not accepted; retrying", "integration", t.id, "action", what, "idempotency_key", idem, "attempt", attempt, "in", d, "error", err.Error())
			if serr := t.sleep(ctx, d); serr != nil {
				why = serr.Error()
			}
		}
		if why != "" {
			return 0, "", fmt.Errorf("%s through %s (%s): gave up after %d attempts (%s); last error: %w", what, t.id, t.where, attempt, why, err)
		}
	}
}

// deadlineWithin says whether ctx ends within d (deadlines are wall-clock
// times, so this reads the real clock).
func deadlineWithin(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

// attempt makes one signed attempt. wait is the Retry-After to honour
// before another; a returned error wraps ErrPermanent when no retry can
// help.
func (t *target) attempt(ctx context.Context, idem string, exercise bool, body []byte) (status int, resp string, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", 0, fmt.Errorf("the URL is not usable: %w", activities.ErrPermanent)
	}
	ts := strconv.FormatInt(t.now().Unix(), 10)
	mode := Mode(exercise)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", UserAgent)
	hr.Header.Set(HeaderIdempotencyKey, idem)
	hr.Header.Set(HeaderTimestamp, ts)
	hr.Header.Set(HeaderSignature, Sign(t.secret, ts, idem, mode, body))
	if exercise {
		hr.Header.Set(HeaderExercise, "true")
	}
	r, err := t.http.Do(hr)
	if err != nil {
		return 0, "", 0, t.netError(ctx, err)
	}
	defer r.Body.Close()
	raw, rerr := io.ReadAll(io.LimitReader(r.Body, MaxResponseBody+1))
	text := cut(raw, MaxResponseBody)
	code := r.StatusCode
	switch {
	case code >= 200 && code < 300:
		if rerr != nil && len(raw) <= MaxResponseBody {
			// The receiver accepted; only the answer was lost. The
			// retry is harmless (same idempotency key).
			return 0, "", 0, fmt.Errorf("answered %d but the body could not be read: %v", code, t.netError(ctx, rerr))
		}
		return code, text, 0, nil
	case code >= 300 && code < 400:
		return 0, "", 0, fmt.Errorf("answered %d, a redirect; firebreak does not follow redirects (they would carry the signed request elsewhere): set url to the address that answers: %w", code, activities.ErrPermanent)
	case code == http.StatusTooManyRequests:
		d, ok := retry.After(r.Header.Get("Retry-After"), t.now())
		if !ok {
			return 0, "", 0, fmt.Errorf("answered 429 (rate limited)%s", snippet(raw))
		}
		return 0, "", min(d, t.maxAfter), fmt.Errorf("answered 429 (rate limited), asking to wait %s%s", d, snippet(raw))
	case code >= 500 || code == http.StatusRequestTimeout:
		// A 503 often says when to come back; honour it as for a 429.
		d, _ := retry.After(r.Header.Get("Retry-After"), t.now())
		return 0, "", min(d, t.maxAfter), fmt.Errorf("answered %d%s", code, snippet(raw))
	default:
		return 0, "", 0, fmt.Errorf("answered %d, refusing the request%s; a retry will not help: check the integration's url and secret and what the step sends: %w", code, snippet(raw), activities.ErrPermanent)
	}
}

// netError says why a request failed without the URL (url.Error carries
// it) and, when the URL is a secret, without the address.
func (t *target) netError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within the %s timeout", t.timeout)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("the request was cancelled")
	}
	var oe *net.OpError
	if strings.HasPrefix(t.where, "the URL in $") && errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	return fmt.Errorf("sending the request: %v", err)
}

// scrubbed keeps the secret and the URL's secret parts out of err's text;
// ErrPermanent stays visible to errors.Is.
func (t *target) scrubbed(err error) error {
	msg := err.Error()
	clean := t.scrubText(msg)
	if clean == msg {
		return err
	}
	return scrubbedError{msg: clean, permanent: errors.Is(err, activities.ErrPermanent)}
}

// scrubText replaces the secret and the URL's secret parts in s.
func (t *target) scrubText(s string) string {
	for _, x := range t.scrub {
		if len(x) >= 3 && strings.Contains(s, x) {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

type scrubbedError struct {
	msg       string
	permanent bool
}

func (s scrubbedError) Error() string { return s.msg }

// Is keeps ErrPermanent visible without exposing the original text.
func (s scrubbedError) Is(target error) bool { return s.permanent && target == activities.ErrPermanent }

// cut returns at most n bytes of raw as valid UTF-8, cut at a rune boundary.
func cut(raw []byte, n int) string {
	if len(raw) > n {
		raw = raw[:n]
		for i := 0; i < utf8.UTFMax && len(raw) > 0; i++ {
			r, size := utf8.DecodeLastRune(raw)
			if r != utf8.RuneError || size != 1 {
				break
			}
			raw = raw[:len(raw)-1]
		}
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD")
}

// snippet is up to 200 printable characters of a response body for an
// error message, or "".
func snippet(raw []byte) string {
	s := strings.TrimSpace(printable(cut(raw, 4096), 200))
	if s == "" {
		return ""
	}
	return ": " + s
}

// printable replaces control characters with spaces and cuts s to n runes.
func printable(s string, n int) string {
	rs := []rune(strings.ToValidUTF8(s, "\uFFFD"))
	if len(rs) > n {
		rs = append(rs[:n-1], '…')
	}
	for i, r := range rs {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			rs[i] = ' '
		}
	}
	return string(rs)
}
