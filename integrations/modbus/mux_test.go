package modbus

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
)

func clientFor(t *testing.T, integration string, f *fake) *Client {
	t.Helper()
	c, err := New(Config{ID: integration, Address: f.addr(), UnitID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestJoinRoutesEachIntegrationToItsOwnServer(t *testing.T) {
	plc, ucs := newFake(t), newFake(t)
	plc.hold(0, 1)
	ucs.hold(0, 2)
	twin := sim.New(nil)
	twin.SetRegister("modbus.simulated", 40001, 3)

	m, err := Join(twin, clientFor(t, "modbus.plant3_plc", plc))
	if err != nil {
		t.Fatal(err)
	}
	if m, err = Join(m, clientFor(t, "modbus.cs7_ucs", ucs)); err != nil {
		t.Fatal(err)
	}
	for integration, want := range map[string]int{"modbus.plant3_plc": 1, "modbus.cs7_ucs": 2, "modbus.simulated": 3} {
		resp, err := m.ReadRegister(context.Background(), activities.ReadRegisterRequest{Integration: integration, Register: 40001})
		if err != nil || resp.Value != want {
			t.Errorf("%s: %+v, %v; want %d", integration, resp, err, want)
		}
	}
	if len(plc.log()) != 1 || len(ucs.log()) != 1 {
		t.Errorf("requests: plant3_plc %d, cs7_ucs %d; want one each", len(plc.log()), len(ucs.log()))
	}
	if got := strings.Join(m.IDs(), ","); got != "modbus.cs7_ucs,modbus.plant3_plc" {
		t.Errorf("IDs %q", got)
	}
}

func TestJoinWithoutAFallbackRefusesOtherIntegrations(t *testing.T) {
	f := newFake(t)
	one, two := clientFor(t, "modbus.one", f), clientFor(t, "modbus.two", f)
	m, err := Join(one, two)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.ReadRegister(context.Background(), activities.ReadRegisterRequest{Integration: "modbus.three", Register: 40001})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "modbus.one, modbus.two") {
		t.Errorf("got %v; want a permanent error listing what the worker reads", err)
	}
	if len(f.log()) != 0 {
		t.Errorf("a request for an integration no client serves reached a server")
	}
	anon, err := New(Config{Address: f.addr()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Join(nil, anon); err == nil {
		t.Error("joined a client without an ID")
	}
	if _, err := Join(anon, one); err == nil {
		t.Error("joined onto a client without an ID")
	}
}
