// Package modbus is firebreak's Modbus TCP client: it implements
// activities.PlantState by reading one holding register of a PLC, for the
// modbus.read action and the safe_state check before a zone is isolated.
//
// The client speaks the Modbus Application Protocol over TCP (MBAP
// framing) and only reads: function codes 3 (read holding registers) and 4
// (read input registers). It never writes to the plant. One Client talks
// to one server and unit, over one connection at a time, one request at a
// time. Any connection error, timeout or malformed frame drops the
// connection; the next request dials a new one, so a late answer to an
// abandoned request can never be taken for the answer to a later one.
//
// Errors that a retry cannot fix (the exceptions illegal function, illegal
// data address and illegal data value; a register that is not a holding
// register; a request for another integration) wrap activities.ErrPermanent.
// Everything else (refused connections, timeouts, a busy server, gateway
// exceptions, malformed frames) is retryable.
package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Defaults and limits of a Config.
const (
	// DefaultTimeout bounds one request (dial, send and answer) when the
	// Config says nothing.
	DefaultTimeout = 2 * time.Second
	// MaxTimeout is the longest Timeout accepted: a plant-state check that
	// needs longer is not a check a responder can wait on.
	MaxTimeout = time.Minute
	// DefaultUnitID is the unit identifier FromSettings uses when the
	// integration block sets no unit_id.
	DefaultUnitID = 1
)

// Function codes the client sends.
const (
	// FuncReadHolding reads holding registers (function code 3).
	FuncReadHolding = 0x03
	// FuncReadInput reads input registers (function code 4).
	FuncReadInput = 0x04
)

// MaxCount is the most registers one read may ask for (the protocol's
// limit for function codes 3 and 4).
const MaxCount = 125

// Frame sizes. An MBAP header is 7 bytes (transaction id, protocol id,
// length, unit id); its length field counts the unit id and the PDU, and a
// PDU is at most 253 bytes, so a length above maxLength is refused before
// anything more is read.
const (
	headerLen = 7
	maxLength = 1 + 253
	// maxStale is how many well-formed answers to other transactions are
	// skipped, within the request's deadline, before the connection is
	// given up as confused.
	maxStale = 4
)

var _ activities.PlantState = (*Client)(nil)

// Config configures a Client.
type Config struct {
	// ID is the integration this client serves ("modbus.plant3_plc"). When
	// set, ReadRegister refuses requests naming another integration, so a
	// check meant for one PLC is never answered by another. "" serves any.
	ID string
	// Address is the server's host:port, e.g. "10.30.1.21:502".
	Address string
	// UnitID is the unit identifier sent in every request, 0 to 255, as
	// given (0 is a unit identifier too; FromSettings defaults an absent
	// unit_id to DefaultUnitID).
	UnitID int
	// Timeout bounds one request, from dialing (when a new connection is
	// needed) to the last byte of the answer; 0 means DefaultTimeout. A
	// shorter deadline on the request's context wins.
	Timeout time.Duration
	// Dial opens the TCP connection; nil means a net.Dialer. Tests use it to
	// count connections.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Client reads registers from one Modbus TCP server and unit. It is safe
// for concurrent use; requests are sent one at a time.
type Client struct {
	id      string
	address string
	unit    byte
	timeout time.Duration
	dial    func(ctx context.Context, network, address string) (net.Conn, error)

	// sem holds the one request under way: a channel rather than a mutex so
	// a request waiting its turn still honours its context.
	sem  chan struct{}
	conn net.Conn
	tid  uint16
}

// New returns a Client for cfg. It does not connect: the first request
// (or Probe) does.
func New(cfg Config) (*Client, error) {
	where := "modbus"
	if cfg.ID != "" {
		where = cfg.ID
	}
	if err := checkAddress(cfg.Address); err != nil {
		return nil, fmt.Errorf("%s: address %s", where, err)
	}
	if cfg.UnitID < 0 || cfg.UnitID > 255 {
		return nil, fmt.Errorf("%s: unit_id %d is not a Modbus unit identifier: write a whole number from 0 to 255 (most devices answer on 1)", where, cfg.UnitID)
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%s: timeout %s is negative: write a duration such as \"2s\"", where, cfg.Timeout)
	case cfg.Timeout > MaxTimeout:
		return nil, fmt.Errorf("%s: timeout %s is longer than %s: a register read that slow cannot guard an isolation; write a duration such as \"2s\"", where, cfg.Timeout, MaxTimeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return &Client{
		id: cfg.ID, address: cfg.Address, unit: byte(cfg.UnitID), timeout: cfg.Timeout, dial: dial,
		sem: make(chan struct{}, 1),
	}, nil
}

// checkAddress says what is wrong with a host:port, or nil.
func checkAddress(a string) error {
	const how = "write host:port, e.g. \"10.30.1.21:502\""
	if a == "" {
		return fmt.Errorf("is not set: %s", how)
	}
	if len(a) > 262 || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f || r > '~' }) {
		return fmt.Errorf("%.40q is not a host:port (it is too long or holds spaces or control characters): %s", a, how)
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("%q is not a host:port: %s (Modbus TCP servers usually listen on port 502)", a, how)
	}
	if host == "" {
		return fmt.Errorf("%q names no host: %s", a, how)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a port number from 1 to 65535: %s", a, port, how)
	}
	return nil
}

// FromSettings builds the Config of an integration "modbus" block from its
// settings as Go values: address (a string), unit_id (a whole number,
// DefaultUnitID when absent) and timeout (a duration string such as "2s",
// or a number of seconds; DefaultTimeout when absent). value, when not
// nil, is asked for a setting the map does not hold (the worker's
// org.Instance.Value, which resolves env() settings), so a setting given
// through env() is read too, as a string. New checks the values;
// FromSettings checks their types.
func FromSettings(id string, settings map[string]any, value func(setting string) string) (Config, error) {
	env := map[string]bool{}
	get := func(name string) any {
		if v, ok := settings[name]; ok && v != nil {
			return v
		}
		if value != nil {
			if v := value(name); v != "" {
				env[name] = true
				return v
			}
		}
		return nil
	}
	cfg := Config{ID: id, UnitID: DefaultUnitID}
	switch v := get("address").(type) {
	case nil:
	case string:
		cfg.Address = v
	default:
		return Config{}, fmt.Errorf("%s: address must be a string \"host:port\", not %s", id, shown(v))
	}
	if v := get("unit_id"); v != nil {
		if s, ok := v.(string); ok && env["unit_id"] {
			// From env(): the variable holds the number as text.
			if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
				v = n
			}
		}
		n, ok := wholeNumber(v)
		if !ok {
			return Config{}, fmt.Errorf("%s: unit_id must be a whole number from 0 to 255, not %s", id, shown(v))
		}
		if n < 0 || n > 255 {
			return Config{}, fmt.Errorf("%s: unit_id %d is not a Modbus unit identifier: write a whole number from 0 to 255 (most devices answer on 1)", id, n)
		}
		cfg.UnitID = int(n)
	}
	if v := get("timeout"); v != nil {
		switch t := v.(type) {
		case time.Duration:
			cfg.Timeout = t
		case string:
			d, err := time.ParseDuration(strings.TrimSpace(t))
			if err != nil || d <= 0 {
				return Config{}, fmt.Errorf("%s: timeout %.40q is not a positive duration: write one such as \"2s\" or \"500ms\"", id, t)
			}
			cfg.Timeout = d
		default:
			n, ok := number(v)
			if !ok || n <= 0 || n > MaxTimeout.Seconds() {
				return Config{}, fmt.Errorf("%s: timeout must be a duration such as \"2s\", not %s", id, shown(v))
			}
			cfg.Timeout = time.Duration(n * float64(time.Second))
		}
	}
	return cfg, nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case float32:
		return number(float64(n))
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint8:
		return float64(n), true
	}
	return 0, false
}

func wholeNumber(v any) (int64, bool) {
	n, ok := number(v)
	if !ok || n != math.Trunc(n) || math.Abs(n) > 1<<31 {
		return 0, false
	}
	return int64(n), true
}

func shown(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("the string %.40q", s)
	}
	return fmt.Sprintf("%.40v (%T)", v, v)
}

// ID returns the integration the client serves, or "".
func (c *Client) ID() string { return c.id }

// Target says which server and unit the client reads, for people:
// "10.30.1.21:502 unit 1".
func (c *Client) Target() string { return fmt.Sprintf("%s unit %d", c.address, c.unit) }

// ReadRegister reads one holding register, written as the playbook wrote
// it (40001, or 400001 in the six-digit notation; see
// rules.RegisterOffset), and returns its 16-bit value as an unsigned
// number, 0 to 65535.
func (c *Client) ReadRegister(ctx context.Context, req activities.ReadRegisterRequest) (activities.ReadRegisterResponse, error) {
	if c.id != "" && req.Integration != c.id {
		return activities.ReadRegisterResponse{}, fmt.Errorf("modbus integration %.80q is not the one this client reads (%s at %s): %w",
			req.Integration, c.id, c.Target(), activities.ErrPermanent)
	}
	off, problem := rules.RegisterOffset(float64(req.Register))
	if problem != "" {
		return activities.ReadRegisterResponse{}, fmt.Errorf("%s: %s: %w", c.where(), problem, activities.ErrPermanent)
	}
	vs, err := c.read(ctx, FuncReadHolding, off, 1)
	if err != nil {
		return activities.ReadRegisterResponse{}, fmt.Errorf("%s: reading holding register %d (protocol offset %d): %w", c.where(), req.Register, off, err)
	}
	return activities.ReadRegisterResponse{Value: int(vs[0])}, nil
}

// ReadHolding reads count holding registers from protocol offset offset
// (0 to 65535; register 40001 is offset 0) with function code 3.
func (c *Client) ReadHolding(ctx context.Context, offset, count int) ([]uint16, error) {
	vs, err := c.read(ctx, FuncReadHolding, offset, count)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %d holding register(s) at offset %d: %w", c.where(), count, offset, err)
	}
	return vs, nil
}

// ReadInput reads count input registers from protocol offset offset (0 to
// 65535; register 30001 is offset 0) with function code 4.
func (c *Client) ReadInput(ctx context.Context, offset, count int) ([]uint16, error) {
	vs, err := c.read(ctx, FuncReadInput, offset, count)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %d input register(s) at offset %d: %w", c.where(), count, offset, err)
	}
	return vs, nil
}

// Probe checks that the server accepts a TCP connection, within the
// client's timeout (or ctx's deadline), and closes it again. It sends no
// Modbus request, so it cannot disturb the device, and it does not touch
// the connection requests use.
func (c *Client) Probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.dial(ctx, "tcp", c.address)
	if err != nil {
		return fmt.Errorf("%s: connecting: %w", c.where(), netError(err))
	}
	_ = conn.Close()
	return nil
}

// Close closes the connection, if one is open. A later request dials
// again.
func (c *Client) Close() error {
	c.sem <- struct{}{}
	defer func() { <-c.sem }()
	return c.drop()
}

func (c *Client) where() string {
	if c.id != "" {
		return fmt.Sprintf("%s (%s)", c.id, c.Target())
	}
	return "modbus " + c.Target()
}

func (c *Client) drop() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// read sends one read request and returns the registers it answered. Any
// error but an exception response drops the connection.
func (c *Client) read(ctx context.Context, fc byte, offset, count int) ([]uint16, error) {
	if count < 1 || count > MaxCount {
		return nil, fmt.Errorf("count %d is not 1 to %d: %w", count, MaxCount, activities.ErrPermanent)
	}
	if offset < 0 || offset+count > 65536 {
		return nil, fmt.Errorf("offset %d and count %d leave the 65536 registers of the address space: %w", offset, count, activities.ErrPermanent)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the request before it: %w", ctx.Err())
	}
	defer func() { <-c.sem }()

	deadline := time.Now().Add(c.timeout)
	d, fromCtx := ctx.Deadline()
	if fromCtx = fromCtx && d.Before(deadline); fromCtx {
		deadline = d
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	reused := c.conn != nil
	vs, err := c.exchange(dctx, deadline, fc, offset, count)
	if err != nil && reused && closedBeforeAnswer(err) && dctx.Err() == nil {
		// A device that closed an idle connection is seen only when the
		// next request finds it closed. A read changes nothing, so it is
		// sent once more, on a new connection, within the same deadline.
		_ = c.drop()
		vs, err = c.exchange(dctx, deadline, fc, offset, count)
	}
	if err != nil {
		var ex *ExceptionError
		if !errors.As(err, &ex) {
			// Whatever remains of the stream cannot be trusted.
			_ = c.drop()
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("%w (%w)", err, cerr)
		}
		var ne net.Error
		if fromCtx && errors.As(err, &ne) && ne.Timeout() {
			// The socket's deadline was the context's, and may pass a
			// moment before the context says so.
			return nil, fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
		}
		return nil, err
	}
	return vs, nil
}

func (c *Client) exchange(ctx context.Context, deadline time.Time, fc byte, offset, count int) ([]uint16, error) {
	if c.conn == nil {
		conn, err := c.dial(ctx, "tcp", c.address)
		if err != nil {
			return nil, fmt.Errorf("connecting: %w", netError(err))
		}
		c.conn = conn
	}
	conn := c.conn
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("setting the deadline: %w", err)
	}
	// A cancelled context wakes a blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			// The context ended as the exchange did: its past deadline may
			// land on the connection after this returns, so the next
			// request gets a new connection instead.
			_ = c.drop()
		}
	}()

	c.tid++
	tid := c.tid
	var req [12]byte
	binary.BigEndian.PutUint16(req[0:], tid)
	binary.BigEndian.PutUint16(req[2:], 0) // protocol id: Modbus
	binary.BigEndian.PutUint16(req[4:], 6) // unit id + 5 bytes of PDU
	req[6] = c.unit
	req[7] = fc
	binary.BigEndian.PutUint16(req[8:], uint16(offset))
	binary.BigEndian.PutUint16(req[10:], uint16(count))
	if _, err := conn.Write(req[:]); err != nil {
		return nil, fmt.Errorf("sending the request: %w", netError(err))
	}

	var buf [headerLen + maxLength - 1]byte
	for stale := 0; ; stale++ {
		pdu, rtid, unit, err := readFrame(conn, buf[:])
		if err != nil {
			return nil, err
		}
		if rtid != tid {
			// The answer to another transaction: never this request's. The
			// frame was read whole, so the stream is still in step.
			if stale >= maxStale {
				return nil, fmt.Errorf("malformed answer: %d answers in a row carried another transaction id (the last %d, expected %d)", stale+1, rtid, tid)
			}
			continue
		}
		if unit != c.unit {
			return nil, fmt.Errorf("malformed answer: it came from unit %d, the request was for unit %d", unit, c.unit)
		}
		return parsePDU(pdu, fc, count)
	}
}

// readFrame reads one MBAP frame into buf and returns its PDU (function
// code onwards), transaction id and unit id.
func readFrame(conn net.Conn, buf []byte) (pdu []byte, tid uint16, unit byte, err error) {
	h := buf[:headerLen]
	if n, err := io.ReadFull(conn, h); err != nil {
		if n > 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, 0, fmt.Errorf("malformed answer: the connection closed after %d of the %d header bytes", n, headerLen)
		}
		return nil, 0, 0, fmt.Errorf("waiting for the answer: %w", netError(err))
	}
	tid = binary.BigEndian.Uint16(h[0:])
	if p := binary.BigEndian.Uint16(h[2:]); p != 0 {
		return nil, 0, 0, fmt.Errorf("malformed answer: protocol id %d, not 0 (Modbus); is %s a Modbus TCP server?", p, conn.RemoteAddr())
	}
	length := int(binary.BigEndian.Uint16(h[4:]))
	if length < 3 || length > maxLength {
		// Refused before reading on: a hostile length never sizes a buffer.
		return nil, 0, 0, fmt.Errorf("malformed answer: its length field says %d bytes, outside the 3 to %d a Modbus answer can have", length, maxLength)
	}
	unit = h[6]
	pdu = buf[headerLen : headerLen+length-1]
	if n, err := io.ReadFull(conn, pdu); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, 0, 0, fmt.Errorf("malformed answer: the connection closed after %d of the %d bytes its header announced", n, length-1)
		}
		return nil, 0, 0, fmt.Errorf("reading the answer: %w", netError(err))
	}
	return pdu, tid, unit, nil
}

// parsePDU checks an answer's PDU against the request and returns its
// registers.
func parsePDU(pdu []byte, fc byte, count int) ([]uint16, error) {
	switch got := pdu[0]; {
	case got == fc|0x80:
		if len(pdu) != 2 {
			return nil, fmt.Errorf("malformed answer: an exception response of %d bytes, not 2", len(pdu))
		}
		return nil, &ExceptionError{Function: fc, Code: pdu[1]}
	case got != fc:
		return nil, fmt.Errorf("malformed answer: function code %d, the request was %d", got, fc)
	}
	want := 2 * count
	if int(pdu[1]) != want {
		return nil, fmt.Errorf("malformed answer: byte count %d, expected %d for %d register(s)", pdu[1], want, count)
	}
	if len(pdu) != 2+want {
		return nil, fmt.Errorf("malformed answer: %d bytes of registers after a byte count of %d", len(pdu)-2, want)
	}
	vs := make([]uint16, count)
	for i := range vs {
		vs[i] = binary.BigEndian.Uint16(pdu[2+2*i:])
	}
	return vs, nil
}

// netError names a timeout as one, so an operator sees "timed out" rather
// than "i/o timeout" on a socket.
// closedBeforeAnswer reports whether err says the connection was closed
// or reset before any byte of an answer came.
func closedBeforeAnswer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func netError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timed out (the server did not answer in time; is the address right, the unit id the device answers on, and the way through the firewall open?): %w", err)
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("the server closed the connection: %w", err)
	}
	return err
}
