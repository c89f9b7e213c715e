package bench

import (
	"context"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
)

var _ activities.Isolator = (*NotifyingIsolator)(nil)

// Cut is one call to NotifyingIsolator.Cut.
type Cut struct {
	// Key is the idempotency key of the conduit request; it starts with the
	// incident ID and "/".
	Key string
	// At is when Cut was called, before the wrapped isolator ran.
	At time.Time
}

// Incident is the incident ID the cut belongs to.
func (c Cut) Incident() string {
	id, _, _ := strings.Cut(c.Key, "/")
	return id
}

// NotifyingIsolator reports every Cut on Cuts (dropping reports when nobody
// keeps up) and then delegates to Isolator. Benchmarks use it to see the
// moment an isolation activity starts cutting.
type NotifyingIsolator struct {
	activities.Isolator
	Cuts chan Cut
}

// NewNotifyingIsolator wraps iso, with room for buffer unread reports.
func NewNotifyingIsolator(iso activities.Isolator, buffer int) *NotifyingIsolator {
	return &NotifyingIsolator{Isolator: iso, Cuts: make(chan Cut, buffer)}
}

// Cut reports the call, then cuts through the wrapped isolator.
func (n *NotifyingIsolator) Cut(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	select {
	case n.Cuts <- Cut{Key: req.Key, At: time.Now()}:
	default:
	}
	return n.Isolator.Cut(ctx, req)
}
