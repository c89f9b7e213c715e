package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
)

func TestActivitiesWiresEveryIntegration(t *testing.T) {
	a := sim.Activities(nil)
	if a.Chat == nil || a.Pager == nil || a.Isolator == nil || a.Webhook == nil || a.PlantState == nil || a.EDR == nil {
		t.Fatalf("unwired integration: %+v", a)
	}
}

func TestTwinFailNext(t *testing.T) {
	tw := sim.New(nil)
	ctx := context.Background()
	req := activities.WebhookRequest{Key: "inc-1/step.fw", Integration: "webhook.fw"}
	tw.FailNext(sim.OpWebhook, 2)
	for i := 0; i < 2; i++ {
		if _, err := tw.Send(ctx, req); err == nil || errors.Is(err, activities.ErrPermanent) {
			t.Fatalf("attempt %d: %v, want a retryable injected failure", i+1, err)
		}
	}
	res, err := tw.Send(ctx, req)
	if err != nil || res.Status != 200 || !res.Simulated {
		t.Fatalf("third attempt: %+v %v", res, err)
	}
	// Other operations were never affected.
	if _, err := tw.Contain(ctx, activities.ContainRequest{Key: "x", Host: "h"}); err != nil {
		t.Fatal(err)
	}
	tw.FailNext(sim.OpContain, 5)
	tw.FailNext(sim.OpContain, 0)
	if _, err := tw.Contain(ctx, activities.ContainRequest{Key: "y", Host: "h"}); err != nil {
		t.Fatalf("FailNext(op, 0) did not clear: %v", err)
	}
	att := tw.Journal().Attempts()
	if len(att) != 5 || att[0].Error == "" || att[0].Effect || !att[2].Effect {
		t.Errorf("attempts %+v", att)
	}
}

func TestTwinDeterministicAnswers(t *testing.T) {
	ctx := context.Background()
	a, b := sim.New(nil), sim.New(nil)
	ra, _ := a.OpenChannel(ctx, activities.OpenChannelRequest{Key: "k", IncidentID: "inc-1", Name: "inc-1"})
	rb, _ := b.OpenChannel(ctx, activities.OpenChannelRequest{Key: "other", IncidentID: "inc-1", Name: "inc-1"})
	if ra != rb || !strings.HasPrefix(ra.ChannelID, "CSIM") || ra.ChannelName != "inc-1" {
		t.Errorf("channels %+v %+v", ra, rb)
	}
	pa, _ := a.PostMessage(ctx, activities.PostMessageRequest{Key: "p", IncidentID: "inc-1", Text: "x"})
	pb, _ := b.PostMessage(ctx, activities.PostMessageRequest{Key: "p", IncidentID: "inc-1", Text: "x"})
	if pa != pb || pa.ChannelID != ra.ChannelID {
		t.Errorf("posts %+v %+v", pa, pb)
	}
	tr, _ := a.Trigger(ctx, activities.TriggerRequest{Key: "inc-1/step.alert", Summary: "s"})
	if tr.DedupKey != "inc-1/step.alert" {
		t.Errorf("dedup key %q", tr.DedupKey)
	}
	// A repeat gets the first answer even if it asks differently.
	again, _ := a.OpenChannel(ctx, activities.OpenChannelRequest{Key: "k", IncidentID: "inc-1", Name: "renamed"})
	if again != ra {
		t.Errorf("repeat answered %+v, want %+v", again, ra)
	}
}

func TestTwinRegisters(t *testing.T) {
	ctx := context.Background()
	tw := sim.New(nil)
	read := func(integration string, reg int) int {
		r, err := tw.ReadRegister(ctx, activities.ReadRegisterRequest{Key: "k", Integration: integration, Register: reg})
		if err != nil {
			t.Fatal(err)
		}
		return r.Value
	}
	if v := read("modbus.plc", 40001); v != sim.DefaultRegisterValue {
		t.Errorf("default %d", v)
	}
	tw.SetRegister("plc", 40001, 0)
	if v := read("modbus.plc", 40001); v != 0 {
		t.Errorf("steered %d", v)
	}
	if v := read("modbus.plc", 40002); v != 1 {
		t.Errorf("other register %d", v)
	}
	if n := len(tw.Journal().Effects()); n != 0 {
		t.Errorf("reads made %d effects", n)
	}
}

func TestTwinHonoursCancellation(t *testing.T) {
	tw := sim.New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tw.Cut(ctx, activities.ConduitRequest{Key: "k", Enforcement: "nftables.gw"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cut after cancel: %v", err)
	}
	if n := len(tw.Journal().Attempts()); n != 0 {
		t.Errorf("a cancelled call was journaled")
	}
}

func TestTwinRefusesConduitWithoutEnforcement(t *testing.T) {
	tw := sim.New(nil)
	_, err := tw.Cut(context.Background(), activities.ConduitRequest{Key: "k", Conduit: activities.Conduit{ID: "c1"}})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "c1") {
		t.Errorf("cut without enforcement: %v", err)
	}
	if e := tw.Journal().Effects(); len(e) != 0 {
		t.Errorf("a refused cut made effects: %+v", e)
	}
}

func TestTwinAcknowledgeJournaledOnce(t *testing.T) {
	ctx := context.Background()
	tw := sim.New(nil)
	req := activities.AcknowledgeRequest{Key: "inc-1/step.ack", Integration: "pagerduty.default", DedupKey: "inc-1/step.alert"}
	tw.FailNext(sim.OpAcknowledge, 1)
	if _, err := tw.Acknowledge(ctx, req); err == nil || errors.Is(err, activities.ErrPermanent) {
		t.Fatalf("first attempt: %v, want a retryable injected failure", err)
	}
	for i := 0; i < 2; i++ {
		res, err := tw.Acknowledge(ctx, req)
		if err != nil || !res.Simulated {
			t.Fatalf("attempt %d: %+v %v", i+2, res, err)
		}
	}
	eff := tw.Journal().Effects()
	if len(eff) != 1 || eff[0].Op != sim.OpAcknowledge || eff[0].Key != req.Key {
		t.Errorf("effects %+v; want one acknowledge", eff)
	}
}
