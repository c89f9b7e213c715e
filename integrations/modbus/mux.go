package modbus

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/firebreak-ir/firebreak/activities"
)

var _ activities.PlantState = (*Mux)(nil)

// Mux serves the modbus integrations of one worker: a request for an
// integration one of its Clients serves goes to that Client, any other to
// the PlantState it was joined onto (in the worker, the simulated twin
// that backs the instances marked simulate = true).
type Mux struct {
	clients map[string]*Client
	rest    activities.PlantState
}

// Join returns a PlantState that reads the integration next serves
// (next.ID(), which must be set) through next, and hands every other
// request to prev: a Mux's own routes, a Client's, or prev as a whole (a
// simulated twin). prev may be nil; then a request for an integration no
// Client serves is refused for good. Joining a second Client for the same
// ID replaces the first.
func Join(prev activities.PlantState, next *Client) (*Mux, error) {
	if next == nil || next.ID() == "" {
		return nil, fmt.Errorf("modbus: a client joins a Mux only with its integration ID set (Config.ID)")
	}
	m := &Mux{clients: map[string]*Client{}}
	switch p := prev.(type) {
	case *Mux:
		maps.Copy(m.clients, p.clients)
		m.rest = p.rest
	case *Client:
		if p.ID() == "" {
			return nil, fmt.Errorf("modbus: %s has no integration ID set (Config.ID), so it cannot share a Mux", p.Target())
		}
		m.clients[p.ID()] = p
	default:
		m.rest = prev
	}
	m.clients[next.ID()] = next
	return m, nil
}

// IDs lists the integrations the Mux reads through its Clients, sorted.
func (m *Mux) IDs() []string { return slices.Sorted(maps.Keys(m.clients)) }

// Client returns the Client serving integration id, if there is one.
func (m *Mux) Client(id string) (*Client, bool) {
	c, ok := m.clients[id]
	return c, ok
}

// ReadRegister reads the register through the Client of the request's
// integration, or hands the request on (see Join).
func (m *Mux) ReadRegister(ctx context.Context, req activities.ReadRegisterRequest) (activities.ReadRegisterResponse, error) {
	if c, ok := m.clients[req.Integration]; ok {
		return c.ReadRegister(ctx, req)
	}
	if m.rest != nil {
		return m.rest.ReadRegister(ctx, req)
	}
	return activities.ReadRegisterResponse{}, fmt.Errorf("modbus integration %.80q is not one this worker reads (it reads %s): %w",
		req.Integration, strings.Join(m.IDs(), ", "), activities.ErrPermanent)
}

// Close closes every Client's connection.
func (m *Mux) Close() error {
	var first error
	for _, id := range m.IDs() {
		if err := m.clients[id].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
