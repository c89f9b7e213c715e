package adapters

import (
	"fmt"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/pagerduty"
	"github.com/firebreak-ir/firebreak/internal/org"
)

// Backing is what one real instance backs in the live worker: the
// activity interfaces its adapter implements. Its actuators (Isolator,
// Webhook, EDR) are always behind activities.RealOnly, so a request marked
// as an exercise that reaches them is refused before the adapter sees it.
type Backing struct {
	Chat       activities.Chat
	Pager      activities.Pager
	PlantState activities.PlantState
	Isolator   activities.Isolator
	Webhook    activities.Webhook
	EDR        activities.EDR
}

// Build builds the real adapter of an instance and returns what it backs.
// It is the one way out of this package to a real adapter: nothing else
// calls a Kind's New (a test holds this), so no actuator reaches a worker
// without the exercise guard. It fails for an instance that is not real
// (see Resolve).
func Build(in *org.Instance) (Backing, error) {
	r := resolve(in)
	if r.Mode != Real {
		return Backing{}, fmt.Errorf("integration %s is simulated (%s); only a real one is built", in.ID, r.Why)
	}
	a, err := Kinds[in.Kind].New(in)
	if err != nil {
		return Backing{}, fmt.Errorf("integration %s (%s): %w", in.ID, in.Source, err)
	}
	acts := activities.RealOnly(a)
	b := Backing{Isolator: acts.Isolator, Webhook: acts.Webhook, EDR: acts.EDR}
	b.Chat, _ = a.(activities.Chat)
	b.Pager, _ = a.(activities.Pager)
	b.PlantState, _ = a.(activities.PlantState)
	return b, nil
}

// Apply puts b's Pager into acts, in place of the simulated twin there,
// and returns the names of the interfaces it set ("Pager", or none). A
// PagerDuty client joins the one acts already has: one client serves
// every real pagerduty instance, routing by the request's integration ID,
// so a second instance extends Pager rather than setting it again (and is
// not named). The other interfaces a real instance backs are served
// through the Router (Add), and Chat by the Slack adapter.
func (b Backing) Apply(acts *activities.Activities) []string {
	prev, joins := acts.Pager.(*pagerduty.Client)
	next, ok := b.Pager.(*pagerduty.Client)
	switch {
	case joins && ok:
		acts.Pager = prev.Join(next)
	case b.Pager != nil:
		acts.Pager = b.Pager
		return []string{"Pager"}
	}
	return nil
}
