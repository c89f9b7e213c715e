// Package integrations is the parent of one adapter package per external
// system (slack, nftables, pagerduty, webhook, modbus), each implementing an
// interface the activities package defines, next to its simulated twin.
package integrations
