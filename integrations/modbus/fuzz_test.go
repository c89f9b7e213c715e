package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
)

// FuzzAnswer feeds arbitrary bytes to the client as the server's answer
// (with the request's transaction id written over the first two when
// matchTID is set, to reach past the id check): it must never panic, and
// whatever it accepts must be the registers of a well-formed answer.
func FuzzAnswer(f *testing.F) {
	ok := mbap(1, 0, 1, []byte{3, 2, 0x12, 0x34})
	f.Add(ok, true, uint8(1))
	f.Add(mbap(1, 0, 1, []byte{0x83, 2}), true, uint8(1))
	f.Add(append(mbap(9, 0, 1, []byte{3, 2, 0, 0}), ok...), false, uint8(1))
	f.Add(mbap(1, 0, 1, []byte{3, 4, 0, 1, 0, 2}), true, uint8(2))
	f.Add([]byte{0, 1, 0, 0, 0xff, 0xff, 1}, true, uint8(1))
	f.Fuzz(func(t *testing.T, answer []byte, matchTID bool, count uint8) {
		n := int(count%4) + 1
		c, err := New(Config{Address: "plc:502", UnitID: 1, Timeout: time.Second, Dial: func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			go func() {
				defer server.Close()
				var req [12]byte
				if _, err := io.ReadFull(server, req[:]); err != nil {
					return
				}
				b := append([]byte(nil), answer...)
				if matchTID && len(b) >= 2 {
					copy(b, req[:2])
				}
				_, _ = server.Write(b)
			}()
			return client, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		vs, err := c.ReadHolding(context.Background(), 0, n)
		if err != nil {
			var ex *ExceptionError
			if errors.As(err, &ex) && errors.Is(err, activities.ErrPermanent) != ex.Permanent() {
				t.Fatalf("exception %d classed wrongly: %v", ex.Code, err)
			}
			return
		}
		if len(vs) != n {
			t.Fatalf("%d registers for a read of %d", len(vs), n)
		}
		// An accepted answer is a frame of the request's id, protocol 0,
		// unit 1, function 3 and the right byte count, somewhere in what was
		// sent.
		found := false
		for i := 0; i+9+2*n <= len(answer) && !found; i++ {
			a := answer[i:]
			found = binary.BigEndian.Uint16(a[2:]) == 0 && int(binary.BigEndian.Uint16(a[4:])) == 3+2*n &&
				a[6] == 1 && a[7] == 3 && int(a[8]) == 2*n && binary.BigEndian.Uint16(a[9+2*(n-1):]) == vs[n-1]
		}
		if !found {
			t.Fatalf("accepted %v from %x, which holds no well-formed answer", vs, answer)
		}
	})
}
