// Package integrations is the parent of the packages that connect firebreak
// to outside systems: slack (rooms, prompts and the front door), nftables
// (conduit cuts over netlink), pagerduty (Events API v2), webhook (signed
// POSTs, and host containment through an EDR's webhook) and modbus (plant
// state over Modbus TCP), and sim, the simulated twin of every interface
// the activities package defines, which exercises and simulate = true
// blocks run on. Each is mapped to its integration kind in
// internal/adapters, the one place that decides what backs an instance.
package integrations
