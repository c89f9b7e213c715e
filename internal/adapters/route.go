package adapters

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/org"
)

// Router serves the isolation, webhook, EDR and plant-state interfaces of
// a live worker that may have several instances of each kind, some real
// and some simulated: each request goes to the instance it names (a
// conduit request by its Enforcement, the others by their Integration).
// A real instance's adapter answers it; a simulated instance's twin
// does; a request naming no instance of the worker's configuration is
// refused without reaching either, since the worker cannot tell what the
// caller meant it to touch.
//
// Adapters are built once, when the worker starts. The configuration in
// force may change after that (a SIGHUP reload): a request naming an
// instance that a reload added, removed, or changed in any setting is
// refused, so the worker never acts through an adapter built for a block
// that no longer says what it says now. A restart applies the change.
type Router struct {
	// real holds the backing of each real instance, by instance ID.
	real map[string]Backing
	// simulated are the instances declared simulate = true (or with no
	// adapter), answered by twin.
	simulated map[string]bool
	// built are the instances as they were when the backings were built.
	built   map[string]*org.Instance
	current func() *org.Org
	twin    *activities.Activities
}

// NewRouter returns a router over the instances of the configuration in
// force in holder, with twin answering the simulated ones. Real instances
// are added with Add.
func NewRouter(holder *org.Holder, twin *activities.Activities) *Router {
	o := holder.Current()
	r := &Router{real: map[string]Backing{}, simulated: map[string]bool{}, built: map[string]*org.Instance{}, current: holder.Current, twin: twin}
	for _, res := range Resolve(o) {
		r.built[res.Instance.ID] = res.Instance
		if res.Mode != Real {
			r.simulated[res.Instance.ID] = true
		}
	}
	return r
}

// IsReal reports whether requests naming instance id reach a real adapter.
func (r *Router) IsReal(id string) bool {
	_, ok := r.real[id]
	return ok
}

// Add routes requests naming instance id to b.
func (r *Router) Add(id string, b Backing) { r.real[id] = b }

// Apply makes the router serve acts' Isolator, Webhook, EDR and
// PlantState.
func (r *Router) Apply(acts *activities.Activities) {
	acts.Isolator, acts.Webhook, acts.EDR, acts.PlantState = r, r, r, r
}

// pick returns the real backing of id, or twin true for a simulated
// instance. It refuses an id the configuration in force does not declare,
// and one a reload added or changed since the router was built.
func (r *Router) pick(id, kind, what string) (b Backing, twin bool, err error) {
	cur := r.current()
	var now *org.Instance
	var known []string
	for _, in := range cur.Instances {
		if in.ID == id {
			now = in
		}
		if in.Kind == kind {
			known = append(known, in.ID)
		}
	}
	if now == nil {
		list := "none"
		if len(known) > 0 {
			list = strings.Join(known, ", ")
		}
		return Backing{}, false, fmt.Errorf("%s names integration %q, which this worker's configuration does not declare (its %s integrations: %s); nothing was done: %w",
			what, clip(id), kind, list, activities.ErrPermanent)
	}
	if was, ok := r.built[id]; !ok || !sameInstance(was, now) {
		return Backing{}, false, fmt.Errorf("%s names integration %s, which a reload of the configuration added or changed (%s) after this worker started; the worker acts only through integrations as they were when it started, so nothing was done: restart the worker to apply the change: %w",
			what, id, now.Source, activities.ErrPermanent)
	}
	if b, ok := r.real[id]; ok {
		return b, false, nil
	}
	if r.simulated[id] {
		return Backing{}, true, nil
	}
	return Backing{}, false, noAdapter(id, "this request")
}

// sameInstance reports whether two loads of an integration block say the
// same: kind, simulate, settings and env() variables. Secret values are
// read from the worker's own environment, which a reload does not change.
func sameInstance(a, b *org.Instance) bool {
	return a.Kind == b.Kind && a.Simulate == b.Simulate && reflect.DeepEqual(a.Settings, b.Settings) && reflect.DeepEqual(a.Env, b.Env)
}

// clip keeps an ID from a request short in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func noAdapter(id, iface string) error {
	return fmt.Errorf("integration %s is real but its adapter does not serve %s; nothing was done: %w", id, iface, activities.ErrPermanent)
}

// Cut implements activities.Isolator.
func (r *Router) Cut(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	b, twin, err := r.pick(req.Enforcement, "nftables", fmt.Sprintf("conduit %q", clip(req.Conduit.ID)))
	if err := r.isolatorErr(req.Enforcement, b, twin, err); err != nil {
		return activities.ConduitResponse{}, err
	}
	if twin {
		return r.twin.Isolator.Cut(ctx, req)
	}
	return b.Isolator.Cut(ctx, req)
}

// Restore implements activities.Isolator.
func (r *Router) Restore(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	b, twin, err := r.pick(req.Enforcement, "nftables", fmt.Sprintf("conduit %q", clip(req.Conduit.ID)))
	if err := r.isolatorErr(req.Enforcement, b, twin, err); err != nil {
		return activities.ConduitResponse{}, err
	}
	if twin {
		return r.twin.Isolator.Restore(ctx, req)
	}
	return b.Isolator.Restore(ctx, req)
}

func (r *Router) isolatorErr(id string, b Backing, twin bool, err error) error {
	switch {
	case err != nil:
		return err
	case twin && r.twin.Isolator == nil, !twin && b.Isolator == nil:
		return noAdapter(id, "isolation")
	}
	return nil
}

// Send implements activities.Webhook.
func (r *Router) Send(ctx context.Context, req activities.WebhookRequest) (activities.WebhookResponse, error) {
	b, twin, err := r.pick(req.Integration, "webhook", "the webhook request")
	switch {
	case err != nil:
		return activities.WebhookResponse{}, err
	case twin && r.twin.Webhook != nil:
		return r.twin.Webhook.Send(ctx, req)
	case !twin && b.Webhook != nil:
		return b.Webhook.Send(ctx, req)
	}
	return activities.WebhookResponse{}, noAdapter(req.Integration, "webhooks")
}

// Contain implements activities.EDR.
func (r *Router) Contain(ctx context.Context, req activities.ContainRequest) (activities.ContainResponse, error) {
	b, twin, err := r.pick(req.Integration, "webhook", fmt.Sprintf("the containment of host %q", clip(req.Host)))
	switch {
	case err != nil:
		return activities.ContainResponse{}, err
	case twin && r.twin.EDR != nil:
		return r.twin.EDR.Contain(ctx, req)
	case !twin && b.EDR != nil:
		return b.EDR.Contain(ctx, req)
	}
	return activities.ContainResponse{}, noAdapter(req.Integration, "host containment")
}

// ReadRegister implements activities.PlantState.
func (r *Router) ReadRegister(ctx context.Context, req activities.ReadRegisterRequest) (activities.ReadRegisterResponse, error) {
	b, twin, err := r.pick(req.Integration, "modbus", fmt.Sprintf("the read of register %d", req.Register))
	switch {
	case err != nil:
		return activities.ReadRegisterResponse{}, err
	case twin && r.twin.PlantState != nil:
		return r.twin.PlantState.ReadRegister(ctx, req)
	case !twin && b.PlantState != nil:
		return b.PlantState.ReadRegister(ctx, req)
	}
	return activities.ReadRegisterResponse{}, noAdapter(req.Integration, "register reads")
}

var (
	_ activities.Isolator   = (*Router)(nil)
	_ activities.Webhook    = (*Router)(nil)
	_ activities.EDR        = (*Router)(nil)
	_ activities.PlantState = (*Router)(nil)
	_ activities.RealSet    = (*Router)(nil)
)
