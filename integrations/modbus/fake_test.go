package modbus

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Faults the fake server can answer a request with.
const (
	ok            = "ok"             // the registers asked for
	exception     = "exception"      // exception response with step.code
	shortHeader   = "short header"   // 3 bytes of a header, then close
	shortBody     = "short body"     // a header announcing more than follows, then close
	staleThenOK   = "stale then ok"  // an answer to the previous transaction id (value 0), then the right one
	otherTIDs     = "other tids"     // only answers to other transactions, more than the client skips
	silence       = "silence"        // no answer; the connection stays open until the client closes it
	closeConn     = "close"          // close the connection without answering
	hugeLength    = "huge length"    // a header whose length field is 65535, then nothing more
	tinyLength    = "tiny length"    // a header whose length field is 1
	wrongUnit     = "wrong unit"     // the answer names another unit
	wrongFunction = "wrong function" // the answer carries another function code
	wrongCount    = "wrong count"    // the byte count disagrees with the request
	wrongProtocol = "wrong protocol" // protocol id 1
	shortPDU      = "short pdu"      // byte count right, but one register byte missing (length says so)
)

type step struct {
	fault string
	code  byte
}

type request struct {
	conn   int
	tid    uint16
	unit   byte
	fc     byte
	offset uint16
	count  uint16
}

// fake is a Modbus TCP server on loopback that answers function codes 3
// and 4 from its tables, or with the fault its plan names for the next
// request (ok once the plan runs out).
type fake struct {
	t       *testing.T
	ln      net.Listener
	unit    byte
	holding map[uint16]uint16
	input   map[uint16]uint16

	mu       sync.Mutex
	plan     []step
	requests []request
	accepted int
	open     map[net.Conn]bool
	// received gets every request as it arrives, when not nil.
	received chan request
	wg       sync.WaitGroup
}

func newFake(t *testing.T) *fake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{t: t, ln: ln, unit: 1, holding: map[uint16]uint16{}, input: map[uint16]uint16{}, open: map[net.Conn]bool{}}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(f.stop)
	return f
}

func (f *fake) addr() string { return f.ln.Addr().String() }

func (f *fake) stop() {
	_ = f.ln.Close()
	f.mu.Lock()
	for c := range f.open {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// then queues the faults of the next requests.
func (f *fake) then(steps ...step) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plan = append(f.plan, steps...)
}

// hold sets holding registers: offset, value, offset, value...
func (f *fake) hold(kv ...uint16) { f.set(f.holding, kv) }

// in sets input registers: offset, value, offset, value...
func (f *fake) in(kv ...uint16) { f.set(f.input, kv) }

func (f *fake) set(table map[uint16]uint16, kv []uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i+1 < len(kv); i += 2 {
		table[kv[i]] = kv[i+1]
	}
}

func (f *fake) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accepted
}

func (f *fake) log() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

func (f *fake) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.accepted++
		n := f.accepted
		f.open[c] = true
		f.mu.Unlock()
		f.wg.Add(1)
		go f.handle(c, n)
	}
}

func (f *fake) handle(c net.Conn, n int) {
	defer f.wg.Done()
	defer func() {
		_ = c.Close()
		f.mu.Lock()
		delete(f.open, c)
		f.mu.Unlock()
	}()
	for {
		var h [12]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			return
		}
		r := request{conn: n, tid: binary.BigEndian.Uint16(h[0:]), unit: h[6], fc: h[7],
			offset: binary.BigEndian.Uint16(h[8:]), count: binary.BigEndian.Uint16(h[10:])}
		if p, l := binary.BigEndian.Uint16(h[2:]), binary.BigEndian.Uint16(h[4:]); p != 0 || l != 6 {
			f.t.Errorf("request with protocol id %d and length %d, want 0 and 6", p, l)
			return
		}
		f.mu.Lock()
		f.requests = append(f.requests, r)
		s := step{fault: ok}
		if len(f.plan) > 0 {
			s, f.plan = f.plan[0], f.plan[1:]
		}
		ch := f.received
		f.mu.Unlock()
		if ch != nil {
			ch <- r
		}
		if !f.answer(c, r, s) {
			return
		}
	}
}

// answer writes the answer s says; false closes the connection.
func (f *fake) answer(c net.Conn, r request, s step) bool {
	write := func(b []byte) bool {
		_, err := c.Write(b)
		return err == nil
	}
	switch s.fault {
	case ok:
		return write(f.frame(r, r.tid, f.unit, r.fc, f.values(r)))
	case exception:
		return write(mbap(r.tid, 0, f.unit, []byte{r.fc | 0x80, s.code}))
	case shortHeader:
		write([]byte{byte(r.tid >> 8), byte(r.tid), 0})
		return false
	case shortBody:
		b := mbap(r.tid, 0, f.unit, []byte{r.fc, 2, 0, 1})
		write(b[:len(b)-2])
		return false
	case staleThenOK:
		stale := make([]uint16, r.count)
		return write(f.frame(r, r.tid-1, f.unit, r.fc, stale)) && write(f.frame(r, r.tid, f.unit, r.fc, f.values(r)))
	case otherTIDs:
		for i := range uint16(maxStale + 1) {
			if !write(f.frame(r, r.tid+100+i, f.unit, r.fc, f.values(r))) {
				return false
			}
		}
		return waitClose(c)
	case silence:
		return waitClose(c)
	case closeConn:
		return false
	case hugeLength:
		h := mbap(r.tid, 0, f.unit, nil)
		binary.BigEndian.PutUint16(h[4:], 0xFFFF)
		return write(h) && waitClose(c)
	case tinyLength:
		h := mbap(r.tid, 0, f.unit, nil)
		binary.BigEndian.PutUint16(h[4:], 1)
		return write(h) && waitClose(c)
	case wrongUnit:
		return write(f.frame(r, r.tid, f.unit+1, r.fc, f.values(r)))
	case wrongFunction:
		return write(f.frame(r, r.tid, f.unit, r.fc^0x07, f.values(r)))
	case wrongCount:
		vs := f.values(r)
		b := f.frame(r, r.tid, f.unit, r.fc, vs)
		b[8]++ // byte count
		return write(b)
	case wrongProtocol:
		b := f.frame(r, r.tid, f.unit, r.fc, f.values(r))
		b[3] = 1
		return write(b)
	case shortPDU:
		vs := f.values(r)
		pdu := append([]byte{r.fc, byte(2 * len(vs))}, regs(vs)...)
		return write(mbap(r.tid, 0, f.unit, pdu[:len(pdu)-1]))
	}
	f.t.Errorf("fake: unknown fault %q", s.fault)
	return false
}

// waitClose blocks until the client closes the connection (or the fake
// stops), then closes it.
func waitClose(c net.Conn) bool {
	var b [256]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			return false
		}
	}
}

func (f *fake) values(r request) []uint16 {
	table := f.holding
	if r.fc == FuncReadInput {
		table = f.input
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := make([]uint16, r.count)
	for i := range vs {
		vs[i] = table[r.offset+uint16(i)]
	}
	return vs
}

func (f *fake) frame(_ request, tid uint16, unit, fc byte, vs []uint16) []byte {
	return mbap(tid, 0, unit, append([]byte{fc, byte(2 * len(vs))}, regs(vs)...))
}

func regs(vs []uint16) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	return b
}

func mbap(tid, protocol uint16, unit byte, pdu []byte) []byte {
	b := make([]byte, 7, 7+len(pdu))
	binary.BigEndian.PutUint16(b[0:], tid)
	binary.BigEndian.PutUint16(b[2:], protocol)
	binary.BigEndian.PutUint16(b[4:], uint16(1+len(pdu)))
	b[6] = unit
	return append(b, pdu...)
}

// isTimeout says whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
