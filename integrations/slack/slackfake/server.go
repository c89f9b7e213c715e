// Package slackfake is a local Slack for tests and benchmarks: an HTTP
// server that speaks the Web API methods firebreak uses, the Socket Mode
// websocket protocol, and a player that acts as a Slack user, sending
// clicks, modal submissions and slash commands in the shapes Slack sends
// them, signed with the fake's signing secret.
//
// slack-go's own client and socketmode code work against it unchanged:
// point slackapi.OptionAPIURL at URL().
//
// Nothing in it sleeps to synchronise: Wait blocks until a condition over
// the workspace holds, re-checking on every change.
package slackfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Fixed identities of the fake workspace and its app.
const (
	TeamID     = "T0FAKE001"
	TeamDomain = "firebreak-fake"
	AppID      = "A0FAKE001"
	BotID      = "B0FAKE001"
	BotUserID  = "U0FAKEBOT"
	BotName    = "firebreak"
)

// Message is a message stored in a channel.
type Message struct {
	Channel  string
	TS       string
	User     string // the poster: BotUserID for the app's posts
	Text     string
	Blocks   json.RawMessage // the blocks as posted, nil when none
	Metadata *Metadata       // nil when none
	Edits    int             // how many times chat.update changed it
}

// Metadata is a message's metadata as chat.postMessage takes it.
type Metadata struct {
	EventType    string          `json:"event_type"`
	EventPayload json.RawMessage `json:"event_payload"`
}

// Ephemeral is a message only one user sees.
type Ephemeral struct {
	Channel string
	User    string
	TS      string
	Text    string
	Blocks  json.RawMessage
}

// Channel is a conversation of the workspace: a channel or a DM.
type Channel struct {
	ID      string
	Name    string // "" for a DM
	Private bool
	IM      bool
	Topic   string
	Members []string
}

// Pin is a pinned message.
type Pin struct {
	Channel string
	TS      string
	By      string
	created int64
}

// View is a modal opened with views.open.
type View struct {
	ID              string
	User            string // the user whose trigger opened it
	CallbackID      string
	PrivateMetadata string
	JSON            json.RawMessage // the view as Slack returned it
	Submitted       bool
}

// Call is one Web API call the fake answered.
type Call struct {
	Method string
	Params map[string]string // the request's parameters, without the token
	Status int               // the HTTP status answered (0 for a dropped connection)
	Error  string            // the Slack error code, "" when ok
}

// Response is one message posted to a response_url.
type Response struct {
	URL             string
	Channel         string
	MessageTS       string
	User            string
	Text            string
	Blocks          json.RawMessage
	ResponseType    string
	ReplaceOriginal bool
	DeleteOriginal  bool
}

// Ack is a Socket Mode acknowledgement the fake received.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried none
}

type user struct {
	id, name string
}

type channel struct {
	Channel
	created int64
	msgs    []*Message
	pins    []Pin
}

type trigger struct {
	user   string
	issued time.Time
	used   bool
}

type respURL struct {
	channel, ts, user string
	uses              int
}

// Option configures a Fake.
type Option func(*Fake)

// WithTokens sets the bot token and the app-level token the fake accepts.
func WithTokens(bot, app string) Option {
	return func(f *Fake) { f.BotToken, f.AppToken = bot, app }
}

// WithSigningSecret sets the secret the player signs requests with.
func WithSigningSecret(secret string) Option {
	return func(f *Fake) { f.SigningSecret = secret }
}

// WithPostRate sets how many chat.postMessage calls per second each
// channel accepts before answering 429 (default 1, as Slack allows). A
// 429's Retry-After is whole seconds, at least 1, as Slack sends it.
func WithPostRate(perSecond float64) Option {
	return func(f *Fake) {
		if perSecond > 0 {
			f.postEvery = time.Duration(float64(time.Second) / perSecond)
		}
	}
}

// WithClock sets the clock the rate limit and trigger expiry use
// (default time.Now). Request signatures always use the wall clock, as
// the receiver checks them against it.
func WithClock(now func() time.Time) Option {
	return func(f *Fake) { f.now = now }
}

// WithPingInterval sets how often the fake pings Socket Mode connections
// (default 5 s; slack-go reconnects when pings stop for 30 s).
func WithPingInterval(d time.Duration) Option {
	return func(f *Fake) {
		if d > 0 {
			f.pingEvery = d
		}
	}
}

// Fake is a running fake Slack. Its exported fields are read-only after
// New.
type Fake struct {
	BotToken      string // the bot token (default "xoxb-fake")
	AppToken      string // the app-level token for Socket Mode (default "xapp-fake")
	SigningSecret string // the request signing secret (default random)

	srv       *httptest.Server
	now       func() time.Time
	postEvery time.Duration
	pingEvery time.Duration

	mu      sync.Mutex
	changed chan struct{}
	closed  bool
	seq     int // message timestamps
	ids     int // channel, view and other IDs

	users      map[string]*user
	groups     map[string][]string
	channels   map[string]*channel
	chanOrder  []string
	dms        map[string]string // user set to DM ID
	ephemerals []Ephemeral
	views      map[string]*View
	viewOrder  []string
	triggers   map[string]*trigger
	respURLs   map[string]*respURL
	responses  []Response
	calls      []Call
	limited    int
	lastPost   map[string]time.Time
	faults     map[string][]Fault
	openFails  int

	sock sockets
}

// New starts a fake Slack. Close it when done.
func New(opts ...Option) *Fake {
	f := &Fake{
		BotToken:  "xoxb-fake",
		AppToken:  "xapp-fake",
		now:       time.Now,
		postEvery: time.Second,
		pingEvery: 5 * time.Second,
		changed:   make(chan struct{}),
		users:     map[string]*user{},
		groups:    map[string][]string{},
		channels:  map[string]*channel{},
		dms:       map[string]string{},
		views:     map[string]*View{},
		triggers:  map[string]*trigger{},
		respURLs:  map[string]*respURL{},
		lastPost:  map[string]time.Time{},
		faults:    map[string][]Fault{},
	}
	f.SigningSecret = randHex(16)
	for _, o := range opts {
		o(f)
	}
	f.sock.init()
	f.users[BotUserID] = &user{id: BotUserID, name: BotName}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", f.serveAPI)
	mux.HandleFunc("/respond/", f.serveResponseURL)
	mux.HandleFunc("/socket", f.serveSocket)
	f.srv = httptest.NewServer(mux)
	return f
}

// URL is the Web API base URL, ending in "/api/", for slackapi.OptionAPIURL.
func (f *Fake) URL() string { return f.srv.URL + "/api/" }

// Close disconnects every Socket Mode connection and stops the server.
func (f *Fake) Close() {
	f.mu.Lock()
	f.closed = true
	conns := f.sock.all()
	f.touch()
	f.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	f.srv.CloseClientConnections()
	f.srv.Close()
}

// AddUser adds a user to the workspace.
func (f *Fake) AddUser(id, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[id] = &user{id: id, name: name}
	f.touch()
}

// SetUsergroup sets the members of a user group, creating it.
func (f *Fake) SetUsergroup(id string, userIDs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[id] = append([]string(nil), userIDs...)
	f.touch()
}

// AddChannel creates a channel as if someone had made it before, with the
// app as a member, and returns its ID.
func (f *Fake) AddChannel(name string, private bool, members ...string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := f.newChannel(name, private, false, BotUserID)
	for _, m := range members {
		if !ch.member(m) {
			ch.Members = append(ch.Members, m)
		}
	}
	f.touch()
	return ch.ID
}

// touch wakes every Wait; the caller holds f.mu.
func (f *Fake) touch() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *Fake) nextID(prefix string) string {
	f.ids++
	return fmt.Sprintf("%s%08d", prefix, f.ids)
}

// nextTS is a message timestamp, unique and increasing.
func (f *Fake) nextTS() string {
	f.seq++
	micros := int64(f.seq) * 100
	return fmt.Sprintf("%d.%06d", 1733058000+micros/1e6, micros%1e6)
}

func (f *Fake) newChannel(name string, private, im bool, creator string) *channel {
	prefix := "C"
	if im {
		prefix = "D"
	}
	ch := &channel{Channel: Channel{ID: f.nextID(prefix), Name: name, Private: private, IM: im, Members: []string{creator}}, created: f.now().Unix()}
	f.channels[ch.ID] = ch
	f.chanOrder = append(f.chanOrder, ch.ID)
	return ch
}

// channel finds a conversation by ID, by name or by "#name".
func (f *Fake) channel(ref string) *channel {
	if ch, ok := f.channels[ref]; ok {
		return ch
	}
	name := strings.TrimPrefix(ref, "#")
	for _, id := range f.chanOrder {
		if ch := f.channels[id]; !ch.IM && ch.Name == name && name != "" {
			return ch
		}
	}
	return nil
}

func (c *channel) member(u string) bool { return slices.Contains(c.Members, u) }

func (c *channel) message(ts string) *Message {
	if i := slices.IndexFunc(c.msgs, func(m *Message) bool { return m.TS == ts }); i >= 0 {
		return c.msgs[i]
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Snapshot is a consistent view of the workspace, valid only inside the
// function given to Wait. Its methods return copies.
type Snapshot struct{ f *Fake }

// Wait blocks until cond holds or ctx ends, calling cond again after every
// change to the workspace. cond runs with the fake locked: it must not call
// the Fake's own methods, only the Snapshot's.
func (f *Fake) Wait(ctx context.Context, cond func(*Snapshot) bool) error {
	for {
		f.mu.Lock()
		ok := cond(&Snapshot{f})
		ch, closed := f.changed, f.closed
		f.mu.Unlock()
		if ok {
			return nil
		}
		if closed {
			return fmt.Errorf("the fake Slack is closed and the condition never held")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the fake Slack: %w", ctx.Err())
		}
	}
}

func read[T any](f *Fake, fn func(*Snapshot) T) T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fn(&Snapshot{f})
}

func copyMsg(m *Message) Message {
	c := *m
	if m.Metadata != nil {
		md := *m.Metadata
		c.Metadata = &md
	}
	return c
}

// Channel is the conversation with this ID or name, or ok false.
func (s *Snapshot) Channel(ref string) (c Channel, ok bool) {
	if ch := s.f.channel(ref); ch != nil {
		c, ok = ch.Channel, true
		c.Members = slices.Clone(ch.Members)
	}
	return c, ok
}

// Messages are a channel's messages, oldest first.
func (s *Snapshot) Messages(ref string) []Message {
	var out []Message
	if ch := s.f.channel(ref); ch != nil {
		for _, m := range ch.msgs {
			out = append(out, copyMsg(m))
		}
	}
	return out
}

// WithButton are a channel's messages that show a button with actionID,
// oldest first: the prompts a player can click.
func (s *Snapshot) WithButton(ref, actionID string) []Message {
	var out []Message
	for _, m := range s.Messages(ref) {
		if slices.ContainsFunc(buttons(m.Blocks), func(b element) bool { return b.el["action_id"] == actionID }) {
			out = append(out, m)
		}
	}
	return out
}

// Message is one message of a channel, or ok false.
func (s *Snapshot) Message(ref, ts string) (Message, bool) {
	if ch := s.f.channel(ref); ch != nil && ch.message(ts) != nil {
		return copyMsg(ch.message(ts)), true
	}
	return Message{}, false
}

// Ephemerals are the ephemeral messages a user was sent, oldest first.
func (s *Snapshot) Ephemerals(userID string) []Ephemeral {
	var out []Ephemeral
	for _, e := range s.f.ephemerals {
		if e.User == userID {
			out = append(out, e)
		}
	}
	return out
}

// Views are the modals opened, oldest first.
func (s *Snapshot) Views() []View {
	var out []View
	for _, id := range s.f.viewOrder {
		out = append(out, *s.f.views[id])
	}
	return out
}

// Pins are a channel's pinned messages, oldest first.
func (s *Snapshot) Pins(ref string) []Pin {
	if ch := s.f.channel(ref); ch != nil {
		return slices.Clone(ch.pins)
	}
	return nil
}

// Calls are the calls of a Web API method answered so far ("" for all).
func (s *Snapshot) Calls(method string) []Call {
	var out []Call
	for _, c := range s.f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// RateLimited counts the 429 answers given, by the rate limit or a fault.
func (s *Snapshot) RateLimited() int { return s.f.limited }

// Responses are the messages posted to response URLs, oldest first.
func (s *Snapshot) Responses() []Response { return slices.Clone(s.f.responses) }

// Acks are the Socket Mode acknowledgements received, oldest first.
func (s *Snapshot) Acks() []Ack { return slices.Clone(s.f.sock.acks) }

// SocketConnections counts the open Socket Mode connections.
func (s *Snapshot) SocketConnections() int { return len(s.f.sock.conns) }

// Channel is Snapshot.Channel of the workspace now.
func (f *Fake) Channel(ref string) (Channel, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return (&Snapshot{f}).Channel(ref)
}

// Messages is Snapshot.Messages of the workspace now.
func (f *Fake) Messages(ref string) []Message {
	return read(f, func(s *Snapshot) []Message { return s.Messages(ref) })
}

// Message is Snapshot.Message of the workspace now.
func (f *Fake) Message(ref, ts string) (Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return (&Snapshot{f}).Message(ref, ts)
}

// Ephemerals is Snapshot.Ephemerals of the workspace now.
func (f *Fake) Ephemerals(userID string) []Ephemeral {
	return read(f, func(s *Snapshot) []Ephemeral { return s.Ephemerals(userID) })
}

// Views is Snapshot.Views of the workspace now.
func (f *Fake) Views() []View { return read(f, (*Snapshot).Views) }

// Pins is Snapshot.Pins of the workspace now.
func (f *Fake) Pins(ref string) []Pin { return read(f, func(s *Snapshot) []Pin { return s.Pins(ref) }) }

// Calls is Snapshot.Calls of the workspace now.
func (f *Fake) Calls(method string) []Call {
	return read(f, func(s *Snapshot) []Call { return s.Calls(method) })
}

// RateLimited is Snapshot.RateLimited now.
func (f *Fake) RateLimited() int { return read(f, (*Snapshot).RateLimited) }

// Responses is Snapshot.Responses now.
func (f *Fake) Responses() []Response { return read(f, (*Snapshot).Responses) }

// Acks is Snapshot.Acks now.
func (f *Fake) Acks() []Ack { return read(f, (*Snapshot).Acks) }
