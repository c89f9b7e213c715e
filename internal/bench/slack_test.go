package bench

import (
	"context"
	"testing"
)

// BenchmarkSlackClickToIsolation times the final safety sign-off of the
// shipped ransomware playbook given as a click in Slack (see
// SlackClickToIsolation): the fake Slack's player sends the signed
// block_actions request of dmitri's Approve button to the front door over
// HTTP; the gateway verifies and acks it, the door maps the Slack user to
// a person, signs the answer with the front door's key and sends the
// Update; the workflow verifies it, and the isolation starts after guard
// three (worker requiring attestations). Every message of the incident
// goes through the real Slack adapter to the fake. Next to each click, a
// bare Update round trip (Echo) on the same server.
//
//	click-p50-ns  click sent -> isolation starts (median)
//	echo-p50-ns   a bare Update round trip (median)
//	x-update      click-p50-ns over echo-p50-ns (target: at most 1.3)
func BenchmarkSlackClickToIsolation(b *testing.B) {
	s, err := StartSlack(testContext(b), b.Logf)
	must(b, err)
	b.Cleanup(func() { must(b, s.Close()) })
	r, err := SlackClickToIsolation(context.Background(), s, b.N)
	must(b, err)
	mc, me := r.Click.Median(), r.Echo.Median()
	b.ReportMetric(ns(mc), "click-p50-ns")
	b.ReportMetric(ns(me), "echo-p50-ns")
	b.ReportMetric(float64(mc)/float64(me), "x-update")
	b.ReportMetric(0, "ns/op")
}
