package adapters

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/org"
)

// TestRouterSendsEachRequestToItsInstance: with two real enforcement
// points and a simulated one, each conduit request reaches the adapter of
// the instance it names (or the twin), a request naming an undeclared
// instance reaches nothing and is refused as permanent, and the webhook,
// EDR and plant-state requests route the same way.
func TestRouterSendsEachRequestToItsInstance(t *testing.T) {
	o := &org.Org{Instances: []*org.Instance{
		{ID: "nftables.a", Kind: "nftables", Name: "a"},
		{ID: "nftables.b", Kind: "nftables", Name: "b"},
		{ID: "nftables.c", Kind: "nftables", Name: "c", Simulate: true},
		{ID: "webhook.edr", Kind: "webhook", Name: "edr", Simulate: true},
	}}
	twin := sim.New(sim.NewJournal())
	r := NewRouter(org.NewHolder(o, org.Options{}), twin.Activities())
	a, b := &actuatorDouble{}, &actuatorDouble{}
	r.Add("nftables.a", Backing{Isolator: a})
	r.Add("nftables.b", Backing{Isolator: b})
	acts := &activities.Activities{}
	r.Apply(acts)
	ctx := context.Background()
	cut := func(enf string) (activities.ConduitResponse, error) {
		return acts.Isolator.Cut(ctx, activities.ConduitRequest{Key: "k/" + enf, Enforcement: enf, Conduit: activities.Conduit{ID: "x"}})
	}
	if _, err := cut("nftables.a"); err != nil {
		t.Fatal(err)
	}
	if _, err := acts.Isolator.Restore(ctx, activities.ConduitRequest{Key: "r", Enforcement: "nftables.b"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(a.reached, ",") != "Cut" || strings.Join(b.reached, ",") != "Restore" {
		t.Fatalf("a reached %v, b reached %v; want Cut and Restore", a.reached, b.reached)
	}
	resp, err := cut("nftables.c")
	if err != nil || !resp.Simulated {
		t.Fatalf("simulated instance: %+v, %v; want the twin's simulated answer", resp, err)
	}
	_, err = cut("nftables.elsewhere")
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "nftables.a, nftables.b, nftables.c") {
		t.Fatalf("undeclared instance: %v; want a permanent refusal listing the declared ones", err)
	}
	if len(a.reached)+len(b.reached) != 2 {
		t.Fatalf("an undeclared instance reached an adapter: %v %v", a.reached, b.reached)
	}
	if c, err := acts.EDR.Contain(ctx, activities.ContainRequest{Key: "c", Integration: "webhook.edr", Host: "h"}); err != nil || !c.Simulated {
		t.Fatalf("simulated EDR: %+v, %v", c, err)
	}
	if _, err := acts.Webhook.Send(ctx, activities.WebhookRequest{Key: "w", Integration: "webhook.fw"}); !errors.Is(err, activities.ErrPermanent) {
		t.Fatalf("undeclared webhook: %v; want a permanent refusal", err)
	}
	if _, err := acts.PlantState.ReadRegister(ctx, activities.ReadRegisterRequest{Key: "m", Integration: "modbus.plc", Register: 40001}); !errors.Is(err, activities.ErrPermanent) {
		t.Fatalf("undeclared modbus: %v; want a permanent refusal", err)
	}
	// A real instance whose adapter lacks the interface is refused too.
	if _, err := acts.Webhook.Send(ctx, activities.WebhookRequest{Key: "w", Integration: "nftables.a"}); !errors.Is(err, activities.ErrPermanent) {
		t.Fatalf("webhook to an isolator: %v; want a permanent refusal", err)
	}
}
