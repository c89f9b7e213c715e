package slack

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Receiver is what the gateway hands verified requests to. It is
// implemented outside this package: it maps the Slack user to a person of
// the worker's configuration, signs the answer with the gateway's key, and
// sends it to the incident.
type Receiver interface {
	// Answer gives an answer to an incident's step.
	Answer(ctx context.Context, a Answer) (AnswerReply, error)
	// Command runs a slash command other than help.
	Command(ctx context.Context, c Command) (CommandReply, error)
}

// Transports an Answer can arrive by.
const (
	// TransportHTTP is Slack's signed HTTP requests.
	TransportHTTP = "http"
	// TransportSocket is Socket Mode.
	TransportSocket = "socket"
)

// Answer is a verified click or modal submission: the Slack user who made
// it and what the button (or the modal it opened) claims to answer.
type Answer struct {
	// Update is the rule book's answer name: "ack", "approve", "deny",
	// "decide", "done" or "break_glass" (AnswerOf of the action ID).
	Update string
	// Ref is the incident, step, round and option the button carried.
	Ref Ref
	// Reason is the text of the modal's reason input (deny, break_glass).
	Reason string
	// UserID, UserName and TeamID are the Slack user as Slack names them.
	UserID, UserName, TeamID string
	// Transport is TransportHTTP or TransportSocket.
	Transport string
}

// AnswerReply is what the receiver says about an accepted answer.
type AnswerReply struct {
	// Person is the configuration's person the Slack user mapped to, and
	// Name how that person is shown.
	Person, Name string
	// Message, when not empty, is shown to the person who answered.
	Message string
	// StepOpen says the step still takes answers (a quorum not yet met).
	StepOpen bool
}

// Refused is a refusal the receiver returns. Code is the rule book's code
// ("NotAuthorised", "StaleRound", "Duplicate", "IncidentFinished",
// "UnknownUser" ...); Message is shown to the person.
type Refused struct {
	Code, Message string
}

// Error is the refusal as one line.
func (r *Refused) Error() string {
	return r.Code + ": " + r.Message
}

// Command is a verified slash command.
type Command struct {
	// Name is "run", "status" or "list".
	Name string
	// Args are the positional arguments: the playbook for run, the
	// incident (if any) for status.
	Args []string
	// Params are run's key=value inputs.
	Params map[string]string
	// UserID, UserName, TeamID and ChannelID say who asked, and where.
	UserID, UserName, TeamID, ChannelID string
	// Transport is TransportHTTP or TransportSocket.
	Transport string
}

// CommandReply is the answer to a slash command.
type CommandReply struct {
	// Text is shown as mrkdwn, neutralised like any other text.
	Text string
	// InChannel shows the reply to the whole channel instead of only to
	// the person who asked.
	InChannel bool
}

// GatewayConfig is what a Gateway is made of.
type GatewayConfig struct {
	// API is the Web API client (bot token) for chat.update,
	// chat.postEphemeral, views.open and conversations.history. Required.
	API *slackapi.Client
	// APIURL is the base URL API was given with slackapi.OptionAPIURL, if
	// any. Response URLs on its host are posted to besides hooks.slack.com.
	APIURL string
	// Receiver gets the verified answers and commands. Required.
	Receiver Receiver
	// SigningSecret is the Slack app's signing secret. Required.
	SigningSecret string
	// Logger receives the gateway's logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient posts to response URLs; nil means a client with a 10 s
	// timeout. It never follows redirects.
	HTTPClient *http.Client
	// WorkTimeout bounds the work done after an ack; zero means 30 s.
	WorkTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the wait before Socket Mode
	// connects again after Slack refused it; zero means 2 s and 5 min.
	ReconnectMin, ReconnectMax time.Duration
}

// Gateway receives Slack's clicks, modal submissions and slash commands
// over signed HTTP and Socket Mode, checks them, and hands them to a
// Receiver.
type Gateway struct {
	api       *slackapi.Client
	recv      Receiver
	secret    string
	log       *slog.Logger
	now       func() time.Time
	http      *http.Client
	apiHost   *url.URL
	timeout   time.Duration
	reconnMin time.Duration
	reconnMax time.Duration

	seen   *expiring[struct{}]
	modals *expiring[modalOrigin]
	work   sync.WaitGroup
	dedup  sync.Mutex // makes a check and its record one step
}

// NewGateway checks cfg and makes a Gateway.
func NewGateway(cfg GatewayConfig) (*Gateway, error) {
	if strings.TrimSpace(cfg.SigningSecret) == "" {
		return nil, errors.New("the Slack signing secret is empty: set it to the signing secret of the Slack app (Basic Information, App Credentials) so requests from Slack can be verified")
	}
	if cfg.API == nil {
		return nil, errors.New("the Slack gateway needs a Web API client")
	}
	if cfg.Receiver == nil {
		return nil, errors.New("the Slack gateway needs a receiver for answers and commands")
	}
	g := &Gateway{
		api: cfg.API, recv: cfg.Receiver, secret: cfg.SigningSecret, log: cfg.Logger, now: cfg.Now,
		timeout: cfg.WorkTimeout, reconnMin: cfg.ReconnectMin, reconnMax: cfg.ReconnectMax,
	}
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("the Slack API URL %q is not an absolute URL", cfg.APIURL)
		}
		g.apiHost = u
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.timeout <= 0 {
		g.timeout = 30 * time.Second
	}
	if g.reconnMin <= 0 {
		g.reconnMin = 2 * time.Second
	}
	if g.reconnMax <= 0 {
		g.reconnMax = 5 * time.Minute
	}
	g.reconnMax = max(g.reconnMax, g.reconnMin)
	hc := &http.Client{Timeout: 10 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	g.http = hc
	g.seen = newExpiring[struct{}](dedupEntries, dedupTTL, g.now)
	g.modals = newExpiring[modalOrigin](modalEntries, modalTTL, g.now)
	return g, nil
}

// Wait blocks until the work started by the requests received so far
// (answers, message updates, command replies) has finished. A server calls
// it when shutting down.
func (g *Gateway) Wait() { g.work.Wait() }

// later runs f after the ack, with its own deadline.
func (g *Gateway) later(f func(ctx context.Context)) {
	g.work.Add(1)
	go func() {
		defer g.work.Done()
		ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				g.log.Error("slack: work after an ack failed", "panic", fmt.Sprint(p))
			}
		}()
		f(ctx)
	}()
}

// Bounds of the caches.
const (
	dedupEntries = 20000
	dedupTTL     = 15 * time.Minute
	modalEntries = 2000
	modalTTL     = 2 * time.Hour
)

// firstTime records key and says whether it was new; a repeated delivery
// of something already handled is false. An empty key is always new.
// Keys are stored hashed, so a long ID costs no more memory than a short
// one.
func (g *Gateway) firstTime(keys ...string) bool {
	g.dedup.Lock()
	defer g.dedup.Unlock()
	hashed := make([]string, 0, len(keys))
	for _, k := range keys {
		if k == "" {
			continue
		}
		sum := sha256.Sum256([]byte(k))
		hashed = append(hashed, string(sum[:16]))
	}
	for _, k := range hashed {
		if g.seen.has(k) {
			return false
		}
	}
	for _, k := range hashed {
		g.seen.put(k, struct{}{})
	}
	return true
}

// expiring is a bounded map whose entries expire a fixed time after they
// were put. Entries expire in insertion order, so a FIFO finds them.
type expiring[V any] struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	items map[string]expEntry[V]
	order []expKey
}

type expEntry[V any] struct {
	v   V
	exp time.Time
}

type expKey struct {
	k   string
	exp time.Time
}

func newExpiring[V any](max int, ttl time.Duration, now func() time.Time) *expiring[V] {
	return &expiring[V]{max: max, ttl: ttl, now: now, items: map[string]expEntry[V]{}}
}

func (e *expiring[V]) get(k string) (V, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	it, ok := e.items[k]
	if !ok || !e.now().Before(it.exp) {
		var zero V
		return zero, false
	}
	return it.v, true
}

func (e *expiring[V]) has(k string) bool {
	_, ok := e.get(k)
	return ok
}

func (e *expiring[V]) put(k string, v V) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for len(e.order) > 0 && (len(e.items) >= e.max || !now.Before(e.order[0].exp) || len(e.order) >= 2*e.max) {
		old := e.order[0]
		e.order = e.order[1:]
		if it, ok := e.items[old.k]; ok && it.exp.Equal(old.exp) {
			delete(e.items, old.k)
		}
	}
	exp := now.Add(e.ttl)
	e.items[k] = expEntry[V]{v: v, exp: exp}
	e.order = append(e.order, expKey{k: k, exp: exp})
}

func (e *expiring[V]) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.items)
}
