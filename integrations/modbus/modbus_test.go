package modbus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
)

const id = "modbus.plant3_plc"

func newClient(t *testing.T, addr string, timeout time.Duration) *Client {
	t.Helper()
	c, err := New(Config{ID: id, Address: addr, UnitID: 1, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func read(c *Client, register int) (int, error) {
	resp, err := c.ReadRegister(context.Background(), activities.ReadRegisterRequest{Key: "k", Integration: id, Register: register})
	return resp.Value, err
}

func TestReadRegisterMapsTheNotationToTheOffset(t *testing.T) {
	f := newFake(t)
	f.hold(0, 1, 9, 4242, 65535, 7, 2, 65535)
	c := newClient(t, f.addr(), 0)
	for _, tc := range []struct{ register, want int }{
		{40001, 1}, {40010, 4242}, {400001, 1}, {400010, 4242}, {465536, 7}, {40003, 65535},
	} {
		got, err := read(c, tc.register)
		if err != nil || got != tc.want {
			t.Errorf("register %d = %d, %v; want %d", tc.register, got, err, tc.want)
		}
	}
	log := f.log()
	wantOffsets := []uint16{0, 9, 0, 9, 65535, 2}
	for i, r := range log {
		if r.fc != FuncReadHolding || r.count != 1 || r.unit != 1 || r.offset != wantOffsets[i] {
			t.Errorf("request %d = %+v; want function 3, count 1, unit 1, offset %d", i, r, wantOffsets[i])
		}
		if i > 0 && r.tid == log[i-1].tid {
			t.Errorf("request %d reused transaction id %d", i, r.tid)
		}
	}
	if n := f.connections(); n != 1 {
		t.Errorf("%d connections for %d reads; want one, kept open", n, len(log))
	}
}

func TestReadRegisterRefusesWhatIsNotAHoldingRegister(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f.addr(), 0)
	for _, r := range []int{0, 1, 30001, 49999 + 1, 465537, -1} {
		_, err := read(c, r)
		if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "register") {
			t.Errorf("register %d: %v; want a permanent error about the register", r, err)
		}
	}
	if len(f.log()) != 0 {
		t.Errorf("the refused registers were sent: %+v", f.log())
	}
}

func TestReadRegisterRefusesAnotherIntegration(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f.addr(), 0)
	_, err := c.ReadRegister(context.Background(), activities.ReadRegisterRequest{Integration: "modbus.cs7_ucs", Register: 40001})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "modbus.cs7_ucs") {
		t.Fatalf("got %v; want a permanent error naming the integration", err)
	}
	if len(f.log()) != 0 {
		t.Errorf("a request for another integration reached this client's server")
	}
}

func TestReadHoldingAndInput(t *testing.T) {
	f := newFake(t)
	f.hold(100, 10, 101, 11, 102, 0xBEEF)
	f.in(5, 70, 6, 71)
	c := newClient(t, f.addr(), 0)
	hs, err := c.ReadHolding(context.Background(), 100, 3)
	if err != nil || fmt.Sprint(hs) != "[10 11 48879]" {
		t.Errorf("ReadHolding = %v, %v", hs, err)
	}
	is, err := c.ReadInput(context.Background(), 5, 2)
	if err != nil || fmt.Sprint(is) != "[70 71]" {
		t.Errorf("ReadInput = %v, %v", is, err)
	}
	log := f.log()
	if len(log) != 2 || log[0].fc != 3 || log[1].fc != 4 || log[1].count != 2 {
		t.Errorf("requests %+v", log)
	}
	for _, tc := range []struct{ off, n int }{{0, 0}, {0, 126}, {-1, 1}, {65535, 2}, {65536, 1}} {
		if _, err := c.ReadHolding(context.Background(), tc.off, tc.n); !errors.Is(err, activities.ErrPermanent) {
			t.Errorf("ReadHolding(%d, %d): %v; want a permanent error", tc.off, tc.n, err)
		}
	}
	if _, err := c.ReadInput(context.Background(), 65535-124, 125); err != nil {
		t.Errorf("the largest read at the end of the address space: %v", err)
	}
}

func TestExceptionsAreNamedAndClassed(t *testing.T) {
	for _, tc := range []struct {
		code      byte
		name      string
		permanent bool
	}{
		{ExIllegalFunction, "illegal function", true},
		{ExIllegalDataAddress, "illegal data address", true},
		{ExIllegalDataValue, "illegal data value", true},
		{ExServerDeviceFailure, "server device failure", false},
		{ExAcknowledge, "acknowledge", false},
		{ExServerDeviceBusy, "server device busy", false},
		{ExMemoryParityError, "memory parity error", false},
		{ExGatewayPathUnavail, "gateway path unavailable", false},
		{ExGatewayTargetNoReply, "gateway target device failed to respond", false},
		{0x42, "a code Modbus does not define", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.hold(0, 1)
			c := newClient(t, f.addr(), 0)
			f.then(step{fault: exception, code: tc.code})
			_, err := read(c, 40001)
			var ex *ExceptionError
			if !errors.As(err, &ex) || ex.Code != tc.code || ex.Function != FuncReadHolding {
				t.Fatalf("got %v; want exception %d", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), "40001") || !strings.Contains(err.Error(), id) {
				t.Errorf("error %q does not name %q, the register and the integration", err, tc.name)
			}
			if got := errors.Is(err, activities.ErrPermanent); got != tc.permanent {
				t.Errorf("permanent = %v, want %v", got, tc.permanent)
			}
			// An exception is a well-formed answer: the connection stays.
			if v, err := read(c, 40001); err != nil || v != 1 {
				t.Errorf("the read after the exception = %d, %v", v, err)
			}
			if n := f.connections(); n != 1 {
				t.Errorf("%d connections; an exception must not drop the connection", n)
			}
		})
	}
}

// Every fault but an exception drops the connection; the next read dials
// again and succeeds.
func TestFaultsDropTheConnectionAndTheNextReadReconnects(t *testing.T) {
	for _, tc := range []struct {
		fault string
		want  string // in the error
	}{
		{shortHeader, "closed after 3 of the 7 header bytes"},
		{shortBody, "closed after 2 of the 4 bytes"},
		{closeConn, "closed the connection"},
		{hugeLength, "length field says 65535"},
		{tinyLength, "length field says 1"},
		{wrongUnit, "came from unit 2"},
		{wrongFunction, "function code 4, the request was 3"},
		{wrongCount, "byte count 3, expected 2"},
		{wrongProtocol, "protocol id 1"},
		{shortPDU, "1 bytes of registers after a byte count of 2"},
		{otherTIDs, "another transaction id"},
		{silence, "timed out"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			f := newFake(t)
			f.hold(0, 1)
			// A timeout short enough for the silent fault; the others answer
			// (or fail) at once and never reach it.
			c := newClient(t, f.addr(), 300*time.Millisecond)
			if v, err := read(c, 40001); err != nil || v != 1 {
				t.Fatalf("first read = %d, %v", v, err)
			}
			f.then(step{fault: tc.fault})
			wantConns := 2
			if tc.fault == closeConn {
				// A connection found closed is dialled once more within
				// the request (see TestAClosedIdleConnectionIsDialledAgain):
				// closing that one too is the fault.
				f.then(step{fault: tc.fault})
				wantConns = 3
			}
			_, err := read(c, 40001)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want an error containing %q", err, tc.want)
			}
			if errors.Is(err, activities.ErrPermanent) {
				t.Errorf("%v is permanent; a retry on a new connection may succeed", err)
			}
			if tc.fault == silence && !isTimeout(err) {
				t.Errorf("a silent server: %v is not a timeout", err)
			}
			if v, err := read(c, 40001); err != nil || v != 1 {
				t.Fatalf("read after the fault = %d, %v", v, err)
			}
			if n := f.connections(); n != wantConns {
				t.Errorf("%d connections; want %d: each one the fault closed dropped, and a new one dialled", n, wantConns)
			}
		})
	}
}

// A device that closed the connection while it was idle is seen only when
// the next request finds it closed: that read is sent once more on a new
// connection and succeeds, so a safe_state check does not wait for a retry.
func TestAClosedIdleConnectionIsDialledAgain(t *testing.T) {
	f := newFake(t)
	f.hold(0, 7)
	c := newClient(t, f.addr(), 0)
	if v, err := read(c, 40001); err != nil || v != 7 {
		t.Fatalf("first read = %d, %v", v, err)
	}
	f.then(step{fault: closeConn})
	if v, err := read(c, 40001); err != nil || v != 7 {
		t.Fatalf("read on a connection the device closed = %d, %v; want it sent again on a new one", v, err)
	}
	if n := f.connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// An answer to another transaction, such as one an earlier request
// abandoned, is skipped: the value read is the current request's.
func TestAnAnswerToAnotherTransactionIsNeverTaken(t *testing.T) {
	f := newFake(t)
	f.hold(0, 1)
	c := newClient(t, f.addr(), 0)
	f.then(step{fault: staleThenOK})
	v, err := read(c, 40001)
	if err != nil || v != 1 {
		t.Fatalf("read = %d, %v; want 1 (the stale answer reads 0)", v, err)
	}
	if n := f.connections(); n != 1 {
		t.Errorf("%d connections; a whole stale frame keeps the stream in step", n)
	}
}

// After a request times out, its late answer cannot reach the next
// request: the connection it would come on is gone.
func TestATimedOutRequestsConnectionIsNotReused(t *testing.T) {
	f := newFake(t)
	f.hold(0, 1)
	c := newClient(t, f.addr(), 200*time.Millisecond)
	f.then(step{fault: silence}, step{fault: staleThenOK})
	if _, err := read(c, 40001); !isTimeout(err) {
		t.Fatalf("got %v; want a timeout", err)
	}
	v, err := read(c, 40001)
	if err != nil || v != 1 {
		t.Fatalf("read after the timeout = %d, %v; want 1", v, err)
	}
	log := f.log()
	if len(log) != 2 || log[0].conn == log[1].conn || log[1].tid == log[0].tid {
		t.Errorf("requests %+v; want the second on a new connection with a new transaction id", log)
	}
}

func TestContextCancellationInterruptsARead(t *testing.T) {
	f := newFake(t)
	f.received = make(chan request, 1)
	c := newClient(t, f.addr(), MaxTimeout)
	f.then(step{fault: silence})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-f.received
		cancel()
	}()
	_, err := c.ReadRegister(ctx, activities.ReadRegisterRequest{Integration: id, Register: 40001})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
	f.mu.Lock()
	f.received = nil
	f.mu.Unlock()
	f.hold(0, 3)
	if v, err := read(c, 40001); err != nil || v != 3 {
		t.Fatalf("read after cancellation = %d, %v", v, err)
	}
}

func TestAContextDeadlineShorterThanTheTimeoutWins(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f.addr(), MaxTimeout)
	f.then(step{fault: silence})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.ReadRegister(ctx, activities.ReadRegisterRequest{Integration: id, Register: 40001})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want the context's deadline", err)
	}
}

func TestARefusedConnectionIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := newClient(t, addr, 0)
	_, err = read(c, 40001)
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "connecting") {
		t.Fatalf("got %v; want a retryable connection error", err)
	}
	if err := c.Probe(context.Background()); err == nil {
		t.Error("Probe of a closed port succeeded")
	}
}

func TestProbeConnectsAndSendsNothing(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f.addr(), 0)
	if err := c.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := read(c, 40001); err != nil {
		t.Fatal(err)
	}
	if n, reqs := f.connections(), len(f.log()); n != 2 || reqs != 1 {
		t.Errorf("%d connections and %d requests; want the probe's own connection with no request, then the read's", n, reqs)
	}
}

// Concurrent reads go one at a time over one connection and each gets its
// own register.
func TestConcurrentReadsEachGetTheirOwnAnswer(t *testing.T) {
	f := newFake(t)
	for i := range uint16(64) {
		f.hold(i, 1000+i)
	}
	c := newClient(t, f.addr(), 0)
	var wg sync.WaitGroup
	errs := make(chan error, 64*4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 16 {
				off := g*16 + i
				v, err := read(c, 40001+off)
				if err != nil || v != 1000+off {
					errs <- fmt.Errorf("register %d = %d, %v", 40001+off, v, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.connections(); n != 1 {
		t.Errorf("%d connections; want one", n)
	}
}

func TestNewChecksItsConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "address is not set"},
		{Config{Address: "10.30.1.21"}, "not a host:port"},
		{Config{Address: ":502"}, "names no host"},
		{Config{Address: "plc:0"}, "port \"0\""},
		{Config{Address: "plc:70000"}, "port \"70000\""},
		{Config{Address: "plc:modbus"}, "port \"modbus\""},
		{Config{Address: "plc:502\n"}, "control characters"},
		{Config{Address: strings.Repeat("a", 1<<20) + ":502"}, "too long"},
		{Config{Address: "plc:502", UnitID: 256}, "unit_id 256"},
		{Config{Address: "plc:502", UnitID: -1}, "unit_id -1"},
		{Config{Address: "plc:502", Timeout: -time.Second}, "negative"},
		{Config{Address: "plc:502", Timeout: time.Hour}, "longer than"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%.60v): %v; want an error containing %q", tc.cfg, err, tc.want)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("error of %d bytes: hostile input must not be echoed whole", len(err.Error()))
		}
	}
	c, err := New(Config{Address: "[::1]:502", UnitID: 0})
	if err != nil || c.Target() != "[::1]:502 unit 0" || c.timeout != DefaultTimeout {
		t.Errorf("New with unit 0 = %v, %v", c, err)
	}
}

func TestFromSettings(t *testing.T) {
	cfg, err := FromSettings(id, map[string]any{"address": "10.30.1.21:502"}, nil)
	if err != nil || cfg.ID != id || cfg.Address != "10.30.1.21:502" || cfg.UnitID != DefaultUnitID || cfg.Timeout != 0 {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = FromSettings(id, map[string]any{"address": "a:1", "unit_id": float64(0), "timeout": "500ms"}, nil)
	if err != nil || cfg.UnitID != 0 || cfg.Timeout != 500*time.Millisecond {
		t.Errorf("unit 0 and 500ms: %+v, %v", cfg, err)
	}
	cfg, err = FromSettings(id, map[string]any{"unit_id": 7, "timeout": 3}, func(s string) string {
		if s == "address" {
			return "plc.example:1502"
		}
		return ""
	})
	if err != nil || cfg.Address != "plc.example:1502" || cfg.UnitID != 7 || cfg.Timeout != 3*time.Second {
		t.Errorf("env address and numeric timeout: %+v, %v", cfg, err)
	}
	// Every setting given through env() arrives as a string.
	env := map[string]string{"address": "plc:502", "unit_id": " 0 ", "timeout": "750ms"}
	cfg, err = FromSettings(id, map[string]any{}, func(s string) string { return env[s] })
	if err != nil || cfg.Address != "plc:502" || cfg.UnitID != 0 || cfg.Timeout != 750*time.Millisecond {
		t.Errorf("settings from env(): %+v, %v", cfg, err)
	}
	env["unit_id"] = "one"
	if _, err := FromSettings(id, map[string]any{}, func(s string) string { return env[s] }); err == nil || !strings.Contains(err.Error(), "unit_id") {
		t.Errorf("unit_id \"one\" from env(): %v", err)
	}
	if cfg, err = FromSettings(id, map[string]any{"address": "a:1", "timeout": 2 * time.Second}, nil); err != nil || cfg.Timeout != 2*time.Second {
		t.Errorf("a time.Duration timeout: %+v, %v", cfg, err)
	}
	for _, s := range []map[string]any{
		{"address": 502},
		{"address": "a:1", "unit_id": "1"},
		{"address": "a:1", "unit_id": 1.5},
		{"address": "a:1", "unit_id": float64(300)},
		{"address": "a:1", "timeout": "soon"},
		{"address": "a:1", "timeout": "-2s"},
		{"address": "a:1", "timeout": true},
		{"address": "a:1", "timeout": float64(1e12)},
	} {
		if _, err := FromSettings(id, s, nil); err == nil || !strings.Contains(err.Error(), id) {
			t.Errorf("FromSettings(%v): %v; want an error naming the integration", s, err)
		}
	}
}

// Dialing is bounded by the timeout too: a server that never completes
// the handshake is a retryable timeout.
func TestDialingIsBoundedByTheTimeout(t *testing.T) {
	c, err := New(Config{Address: "plc:502", Timeout: 100 * time.Millisecond, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("dialled without a deadline")
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ReadHolding(context.Background(), 0, 1)
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "connecting: timed out") {
		t.Fatalf("got %v; want a retryable timeout while connecting", err)
	}
	if err := c.Probe(context.Background()); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("Probe: %v; want a timeout", err)
	}
}
