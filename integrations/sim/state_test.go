package sim_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
)

// TestTwinContainment: the EDR confirms every containment until told
// otherwise, per host or for every host.
func TestTwinContainment(t *testing.T) {
	tw := sim.New(nil)
	ctx := context.Background()
	n := 0
	contain := func(host string) bool {
		t.Helper()
		n++
		res, err := tw.Contain(ctx, activities.ContainRequest{Key: "k" + strings.Repeat("x", n), Host: host, Integration: "webhook.edr"})
		if err != nil || !res.Simulated {
			t.Fatalf("contain %s: %+v %v", host, res, err)
		}
		return res.Contained
	}
	if !contain("a") || !contain("b") {
		t.Fatal("the default is not confirmed")
	}
	tw.SetContained("a", false)
	if contain("a") || !contain("b") {
		t.Fatal("SetContained(a, false) did not set a alone")
	}
	tw.SetContainedAll(false)
	if contain("a") || contain("b") {
		t.Fatal("SetContainedAll(false) did not set every host")
	}
	tw.SetContained("b", true)
	if contain("a") || !contain("b") {
		t.Fatal("SetContained(b, true) after SetContainedAll(false)")
	}
	tw.SetContainedAll(true)
	if !contain("a") || !contain("b") {
		t.Fatal("SetContainedAll(true) did not replace what single hosts were set to")
	}
}

// TestTwinDeliveryFailure: people made unreachable are named in Failed
// and get no message; the others are reached; a chat that is down
// reaches nobody, not even the incident channel; RestoreDelivery undoes
// both.
func TestTwinDeliveryFailure(t *testing.T) {
	tw := sim.New(nil)
	ctx := context.Background()
	to := []activities.Recipient{{Person: "olga", Slack: "U01OLGA"}, {Person: "dmitri", Slack: "U01DMITRI"}}
	room := &activities.Room{ChannelID: "CSIM00000001"}
	n := 0
	deliver := func(purpose string) activities.DeliverResponse {
		t.Helper()
		n++
		res, err := tw.Deliver(ctx, activities.DeliverRequest{Key: "k" + strings.Repeat("x", n), Purpose: purpose, Step: "page.p", To: to, Room: room, Text: "help"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := deliver(activities.PurposePage); res.Delivered != 2 || len(res.Failed) != 0 || len(res.Messages) != 3 {
		t.Fatalf("default: %+v", res)
	}
	tw.FailDeliveryTo("olga")
	if tw.Reachable("olga") || !tw.Reachable("dmitri") {
		t.Fatal("Reachable disagrees with FailDeliveryTo")
	}
	res := deliver(activities.PurposePrompt)
	if res.Delivered != 1 || !reflect.DeepEqual(res.Failed, []string{"person.olga: not delivered (simulated delivery failure)"}) || len(res.Messages) != 2 {
		t.Fatalf("olga unreachable: %+v", res)
	}
	tw.FailAllDelivery()
	res = deliver(activities.PurposePage)
	if res.Delivered != 0 || len(res.Failed) != 3 || len(res.Messages) != 0 || tw.Reachable("dmitri") {
		t.Fatalf("chat down: %+v", res)
	}
	tw.RestoreDelivery()
	if res := deliver(activities.PurposeNotify); res.Delivered != 2 || len(res.Failed) != 0 || !tw.Reachable("olga") {
		t.Fatalf("restored: %+v", res)
	}
}

// TestTwinRegisterDefault: a register reads DefaultRegisterValue until
// SetRegister, whether the integration is named "modbus.NAME" or "NAME".
func TestTwinRegisterDefault(t *testing.T) {
	tw := sim.New(nil)
	ctx := context.Background()
	read := func(key string) int {
		t.Helper()
		res, err := tw.ReadRegister(ctx, activities.ReadRegisterRequest{Key: key, Integration: "modbus.plc", Register: 40001})
		if err != nil {
			t.Fatal(err)
		}
		return res.Value
	}
	if v := read("a"); v != sim.DefaultRegisterValue {
		t.Fatalf("default %d", v)
	}
	tw.SetRegister("plc", 40001, 0)
	if v := read("a"); v != 0 {
		t.Fatalf("after SetRegister: %d (reads observe the current value, also on a repeated key)", v)
	}
}
