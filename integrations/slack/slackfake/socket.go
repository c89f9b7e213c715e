package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode envelope types, as Slack names them.
const (
	EnvelopeInteractive   = "interactive"
	EnvelopeSlashCommands = "slash_commands"
	EnvelopeEventsAPI     = "events_api"
)

type envelope struct {
	id, typ         string
	payload         json.RawMessage
	acceptsResponse bool
	attempt         int
	reason          string
	conn            *sockConn // where it was last sent
	acked           bool
}

func (e *envelope) json() []byte {
	b, _ := json.Marshal(map[string]any{"envelope_id": e.id, "type": e.typ, "payload": e.payload,
		"accepts_response_payload": e.acceptsResponse, "retry_attempt": e.attempt, "retry_reason": e.reason})
	return b
}

type sockets struct {
	tickets map[string]bool
	conns   []*sockConn
	envs    map[string]*envelope
	order   []string
	acks    []Ack
	n       int
}

func (s *sockets) init() {
	s.tickets = map[string]bool{}
	s.envs = map[string]*envelope{}
}

func (s *sockets) all() []*sockConn { return append([]*sockConn(nil), s.conns...) }

// newest is the connection envelopes go to: the newest one still open.
func (s *sockets) newest() *sockConn {
	for i := len(s.conns) - 1; i >= 0; i-- {
		if !s.conns[i].closed() {
			return s.conns[i]
		}
	}
	return nil
}

// sockConn is one Socket Mode websocket; a single writer goroutine owns
// the writes, as gorilla/websocket requires.
type sockConn struct {
	ws   *websocket.Conn
	out  chan []byte // nil entry: send a close frame and close
	done chan struct{}
	once sync.Once
}

func (c *sockConn) closed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *sockConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

// send queues a frame without blocking; a connection that cannot keep up
// is closed, as Slack drops slow clients.
func (c *sockConn) send(b []byte) {
	if c.closed() {
		return
	}
	select {
	case c.out <- b:
	default:
		c.close()
	}
}

func (c *sockConn) writer(ping time.Duration) {
	t := time.NewTicker(ping)
	defer t.Stop()
	pingNow := func() bool {
		return c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)) == nil
	}
	if !pingNow() {
		c.close()
		return
	}
	for {
		select {
		case b := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if b == nil {
				_ = c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
				c.close()
				return
			}
			if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
				c.close()
				return
			}
		case <-t.C:
			if !pingNow() {
				c.close()
				return
			}
		case <-c.done:
			return
		}
	}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (f *Fake) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	f.mu.Lock()
	ok := f.sock.tickets[ticket] && !f.closed
	delete(f.sock.tickets, ticket)
	f.mu.Unlock()
	if !ok {
		http.Error(w, "unknown or used Socket Mode ticket: call apps.connections.open for a new URL", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 20)
	c := &sockConn{ws: ws, out: make(chan []byte, 1024), done: make(chan struct{})}
	go c.writer(f.pingEvery)

	f.mu.Lock()
	f.sock.conns = append(f.sock.conns, c)
	hello, _ := json.Marshal(map[string]any{"type": "hello", "num_connections": len(f.sock.conns),
		"debug_info":      map[string]any{"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID}})
	c.send(hello)
	for _, id := range f.sock.order {
		e := f.sock.envs[id]
		if e.acked || e.conn != nil && !e.conn.closed() {
			continue
		}
		if e.conn != nil {
			e.attempt++
			e.reason = "timeout"
		}
		e.conn = c
		c.send(e.json())
	}
	f.touch()
	f.mu.Unlock()

	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		var a struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &a) != nil || a.EnvelopeID == "" {
			continue
		}
		f.mu.Lock()
		f.sock.acks = append(f.sock.acks, Ack{EnvelopeID: a.EnvelopeID, Payload: a.Payload})
		if e := f.sock.envs[a.EnvelopeID]; e != nil {
			e.acked = true
		}
		f.touch()
		f.mu.Unlock()
	}
	c.close()
	f.mu.Lock()
	for i, x := range f.sock.conns {
		if x == c {
			f.sock.conns = append(f.sock.conns[:i], f.sock.conns[i+1:]...)
			break
		}
	}
	f.touch()
	f.mu.Unlock()
}

// Push sends a Socket Mode envelope of a type (EnvelopeInteractive,
// EnvelopeSlashCommands, EnvelopeEventsAPI) to the newest connection, or
// queues it until one connects, and returns its envelope ID. An envelope
// stays pending until acknowledged.
func (f *Fake) Push(typ string, payload json.RawMessage, acceptsResponse bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sock.n++
	id := fmt.Sprintf("%08x-fa4e-4000-8000-%012x", f.sock.n, f.sock.n)
	e := &envelope{id: id, typ: typ, payload: payload, acceptsResponse: acceptsResponse}
	f.sock.envs[id] = e
	f.sock.order = append(f.sock.order, id)
	if c := f.sock.newest(); c != nil {
		e.conn = c
		c.send(e.json())
	}
	f.touch()
	return id
}

// WaitAck waits for the acknowledgement of an envelope and returns its
// payload (nil when the ack carried none).
func (f *Fake) WaitAck(ctx context.Context, envelopeID string) (json.RawMessage, error) {
	var payload json.RawMessage
	err := f.Wait(ctx, func(s *Snapshot) bool {
		for _, a := range s.f.sock.acks {
			if a.EnvelopeID == envelopeID {
				payload = a.Payload
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("envelope %s was not acknowledged: %w", envelopeID, err)
	}
	return payload, nil
}

// Redeliver sends every unacknowledged envelope again, with retry_attempt
// one higher and retry_reason "timeout", as Slack does when an ack is late.
func (f *Fake) Redeliver() {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.sock.newest()
	for _, id := range f.sock.order {
		if e := f.sock.envs[id]; !e.acked && e.conn != nil {
			e.attempt++
			e.reason = "timeout"
			if c != nil {
				e.conn = c
				c.send(e.json())
			}
		}
	}
	f.touch()
}

// Disconnect asks every Socket Mode connection to reconnect, sending
// {"type":"disconnect","reason":reason} ("refresh_requested", "warning",
// "link_disabled"), and closes it.
func (f *Fake) Disconnect(reason string) {
	msg, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "applink-fake"}})
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.sock.conns {
		c.send(msg)
		c.send(nil)
	}
}

// DropSockets closes every Socket Mode connection without a word, as a
// network failure would.
func (f *Fake) DropSockets() {
	f.mu.Lock()
	conns := f.sock.all()
	f.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Unacked counts the envelopes not yet acknowledged.
func (s *Snapshot) Unacked() int {
	n := 0
	for _, e := range s.f.sock.envs {
		if !e.acked {
			n++
		}
	}
	return n
}
