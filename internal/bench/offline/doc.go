// Package offline holds the measurements of `firebreak bench` that need no
// Temporal server: compiling a 500-step playbook against a bare HCL parse
// of the same file, a six-hour exercise and a 1,000-run Monte Carlo of the
// library's exercise, and a 200-message Slack burst against a fake Slack
// that rate-limits per channel. The Go benchmarks of this package and the
// command both call these functions, so both measure the same thing; the
// measurements on a live server are in internal/bench.
package offline
