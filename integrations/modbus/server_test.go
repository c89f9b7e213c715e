package modbus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/modbus/modbustest"
)

// startNodeServer runs testdata/server.js (modbus-serial's ServerTCP); see
// modbustest.Start.
func startNodeServer(t *testing.T) string { return modbustest.Start(t) }

func TestAgainstModbusSerialServer(t *testing.T) {
	addr := startNodeServer(t)
	c := newClient(t, addr, 0)
	ctx := context.Background()

	// Holding registers set by testdata/server.js.
	for _, tc := range []struct{ register, want int }{{40001, 1}, {40002, 0}, {40003, 65535}, {40010, 4242}, {400010, 4242}} {
		got, err := read(c, tc.register)
		if err != nil || got != tc.want {
			t.Errorf("register %d = %d, %v; want %d", tc.register, got, err, tc.want)
		}
	}
	hs, err := c.ReadHolding(ctx, 0, 10)
	if err != nil || len(hs) != 10 || hs[0] != 1 || hs[2] != 65535 || hs[9] != 4242 {
		t.Errorf("ReadHolding(0, 10) = %v, %v", hs, err)
	}
	is, err := c.ReadInput(ctx, 0, 2)
	if err != nil || len(is) != 2 || is[0] != 7 || is[1] != 513 {
		t.Errorf("ReadInput(0, 2) = %v, %v; want [7 513]", is, err)
	}

	// Offsets from 100 up answer illegal data address: permanent.
	_, err = read(c, 40101)
	var ex *ExceptionError
	if !errors.As(err, &ex) || ex.Code != ExIllegalDataAddress || !errors.Is(err, activities.ErrPermanent) {
		t.Errorf("register 40101: %v; want a permanent illegal data address exception", err)
	}
	if _, err := c.ReadInput(ctx, 100, 1); !errors.As(err, &ex) || ex.Code != ExIllegalDataAddress || ex.Function != FuncReadInput {
		t.Errorf("input offset 100: %v; want illegal data address to function code 4", err)
	}
	// The connection is still good after the exceptions.
	if v, err := read(c, 40010); err != nil || v != 4242 {
		t.Errorf("read after the exceptions = %d, %v", v, err)
	}
	if err := c.Probe(ctx); err != nil {
		t.Errorf("Probe: %v", err)
	}

	// The server answers unit 1 only: a request for another unit gets no
	// answer, and times out.
	other, err := New(Config{Address: addr, UnitID: 2, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ReadHolding(ctx, 0, 1); !isTimeout(err) {
		t.Errorf("unit 2: %v; want a timeout", err)
	}
}
