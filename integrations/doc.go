// Package integrations is the parent of the packages that connect firebreak
// to outside systems. Today it holds sim, the simulated twin of every
// interface the activities package defines (Chat, Pager, Isolator, Webhook,
// PlantState, EDR), which every instance runs on until its real adapter
// lands. The real adapters (slack, nftables, pagerduty, webhook, modbus)
// will each be a package here, next to the twin, and be mapped to their
// integration kind in internal/adapters, the one place that decides what
// backs an instance.
package integrations
