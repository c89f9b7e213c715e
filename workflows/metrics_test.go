package workflows_test

import (
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/workflows"
)

// metricRecord is one value the workflow recorded.
type metricRecord struct {
	name  string
	tags  map[string]string
	value time.Duration // timers
	count int64         // counters
}

// metricsRecorder is a client.MetricsHandler that keeps firebreak's
// metrics (the SDK's own are dropped).
type metricsRecorder struct {
	mu      *sync.Mutex
	records *[]metricRecord
	tags    map[string]string
}

func newMetricsRecorder() *metricsRecorder {
	return &metricsRecorder{mu: &sync.Mutex{}, records: &[]metricRecord{}, tags: map[string]string{}}
}

func (m *metricsRecorder) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(m.tags)
	maps.Copy(merged, tags)
	return &metricsRecorder{mu: m.mu, records: m.records, tags: merged}
}

func (m *metricsRecorder) add(r metricRecord) {
	if !strings.HasPrefix(r.name, "firebreak_") {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	*m.records = append(*m.records, r)
}

func (m *metricsRecorder) Counter(name string) client.MetricsCounter {
	return counterFunc(func(n int64) { m.add(metricRecord{name: name, tags: m.tags, count: n}) })
}

func (m *metricsRecorder) Gauge(string) client.MetricsGauge {
	return client.MetricsNopHandler.Gauge("")
}

func (m *metricsRecorder) Timer(name string) client.MetricsTimer {
	return timerFunc(func(d time.Duration) { m.add(metricRecord{name: name, tags: m.tags, value: d}) })
}

// named returns the records of one metric, in order.
func (m *metricsRecorder) named(name string) []metricRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []metricRecord
	for _, r := range *m.records {
		if r.name == name {
			out = append(out, r)
		}
	}
	return out
}

type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// TestMetricsSignoffAndRefusals: each sign-off records its time from its
// round's opening, and each refused answer counts once, with its code and
// channel.
func TestMetricsSignoffAndRefusals(t *testing.T) {
	h := newHarness(t)
	const step = "approval.isolate_ok"
	h.answer(1*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 1, Channel: "cli"})
	h.answer(2*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol", Round: 1, Channel: "slack:U0CAROL"})
	// Round 1 goes stale at +22m and round 2 opens.
	h.answer(25*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 1, Channel: "slack:U0BOB"})
	h.answer(25*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "nobody", Round: 2, Channel: "cli"})
	h.answer(26*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "bob", Round: 2, Channel: "cli"})
	h.answer(29*time.Minute, workflows.UpdateApprove, workflows.Answer{Step: step, Person: "carol", Channel: "cli"})
	h.run(workflows.IncidentInput{Plan: compile(t, stalePlaybook), IncidentID: "INC-M"})
	if res := h.result(); res.State != workflows.StateCompleted {
		t.Fatalf("state %s", res.State)
	}

	signoffs := h.metrics.named(workflows.MetricTimeToSignoff)
	if len(signoffs) != 2 {
		t.Fatalf("%d sign-off times recorded, want 2 (round 1 and round 2): %+v", len(signoffs), signoffs)
	}
	if signoffs[0].value != 2*time.Minute || signoffs[1].value != 7*time.Minute {
		t.Errorf("sign-off times %s and %s, want 2m (round 1 from the start) and 7m (round 2 from +22m)", signoffs[0].value, signoffs[1].value)
	}
	for _, r := range signoffs {
		if r.tags[workflows.TagHow] != workflows.SignoffQuorum || r.tags[workflows.TagExercise] != "false" {
			t.Errorf("sign-off tags %v", r.tags)
		}
	}

	refusals := h.metrics.named(workflows.MetricRefused)
	got := map[string]int64{}
	for _, r := range refusals {
		got[r.tags[workflows.TagCode]+" "+r.tags[workflows.TagChannel]] += r.count
	}
	want := map[string]int64{"StaleRound slack:U0BOB": 1, "UnknownPerson cli": 1}
	if !maps.Equal(got, want) {
		t.Errorf("refusals counted %v, want %v", got, want)
	}
	if n := len(h.metrics.named(workflows.MetricTimeToAck)); n != 0 {
		t.Errorf("%d acknowledgement times recorded for a playbook without pages", n)
	}
}

// TestMetricsTimeToAcknowledge: a page's acknowledgement records the time
// from the page starting, tagged with the step kind.
func TestMetricsTimeToAcknowledge(t *testing.T) {
	h := newHarness(t)
	ack := h.answer(3*time.Minute, workflows.UpdateAck, workflows.Answer{Step: "page.oncall", Person: "gina", Channel: "cli"})
	h.run(workflows.IncidentInput{Plan: compile(t, `playbook "p" {
  page "oncall" {
    escalation = escalation.mgmt
    message    = "Alarm flood"
  }
}`), Exercise: false})
	accepted(t, ack)
	acks := h.metrics.named(workflows.MetricTimeToAck)
	if len(acks) != 1 || acks[0].value != 3*time.Minute || acks[0].tags[workflows.TagKind] != "page" {
		t.Fatalf("acknowledgement times %+v, want one of 3m for a page", acks)
	}
}
