package nftables

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/firebreak-ir/firebreak/activities"
)

var _ activities.Isolator = (*Router)(nil)

// Router serves several nftables enforcement points as one Isolator: it
// hands each request to the adapter whose ID is the request's Enforcement.
// A worker with more than one real nftables integration needs one, or every
// conduit would be cut at the same gateway.
type Router struct {
	points map[string]*Adapter
}

// NewRouter returns a Router over adapters, each made with its integration
// ID in Config.ID; two adapters with one ID are refused.
func NewRouter(adapters ...*Adapter) (*Router, error) {
	r := &Router{points: map[string]*Adapter{}}
	for _, a := range adapters {
		if a.id == "" {
			return nil, fmt.Errorf("nftables adapter for %s has no integration ID; set Config.ID", a.where())
		}
		if _, dup := r.points[a.id]; dup {
			return nil, fmt.Errorf("two nftables adapters for integration %s", a.id)
		}
		r.points[a.id] = a
	}
	return r, nil
}

// ID returns the integration ID the adapter was made with ("" if none).
func (a *Adapter) ID() string { return a.id }

// IDs lists the enforcement points the router serves, sorted.
func (r *Router) IDs() []string { return slices.Sorted(maps.Keys(r.points)) }

// route finds the adapter of a request's enforcement point.
func (r *Router) route(req activities.ConduitRequest) (*Adapter, error) {
	if a, ok := r.points[req.Enforcement]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("%w: conduit %s: enforcement point %q is not a real nftables integration of this worker (it has: %s)",
		activities.ErrPermanent, clean(req.Conduit.ID, MaxConduitID, false), clean(req.Enforcement, 64, false), strings.Join(r.IDs(), ", "))
}

// Cut cuts the conduit at the request's enforcement point (see Adapter.Cut).
func (r *Router) Cut(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	a, err := r.route(req)
	if err != nil {
		return activities.ConduitResponse{}, err
	}
	return a.Cut(ctx, req)
}

// Restore restores the conduit at the request's enforcement point (see
// Adapter.Restore).
func (r *Router) Restore(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	a, err := r.route(req)
	if err != nil {
		return activities.ConduitResponse{}, err
	}
	return a.Restore(ctx, req)
}
