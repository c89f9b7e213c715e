package observe

import (
	"maps"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/workflows"
)

// SDKHandler is the metrics handler to give the Temporal client
// (client.Options.MetricsHandler). The SDK's own metrics go to the
// OpenTelemetry meter, exported as temporal_*; the ones the incident
// workflow records through workflow.GetMetricsHandler (which records
// nothing while a workflow replays) go to firebreak's metrics, labelled
// only from their bounded tags. Nil metrics give a handler that records
// nothing.
func (m *Metrics) SDKHandler() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return &router{m: m, sdk: m.sdk}
}

// router sends the workflow's firebreak metrics to m and the rest to sdk.
type router struct {
	m    *Metrics
	sdk  client.MetricsHandler
	tags map[string]string
}

func (r *router) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(r.tags)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, tags)
	return &router{m: r.m, sdk: r.sdk.WithTags(tags), tags: merged}
}

func (r *router) Counter(name string) client.MetricsCounter {
	if name == workflows.MetricRefused {
		code, channel := r.tags[workflows.TagCode], r.tags[workflows.TagChannel]
		return counterFunc(func(n int64) {
			if n <= 0 {
				return
			}
			r.m.refused.WithLabelValues(RefusalCode(code), ChannelLabel(channel)).Add(float64(n))
		})
	}
	return r.sdk.Counter(name)
}

func (r *router) Gauge(name string) client.MetricsGauge { return r.sdk.Gauge(name) }

func (r *router) Timer(name string) client.MetricsTimer {
	exercise := boolLabel(r.tags[workflows.TagExercise])
	switch name {
	case workflows.MetricTimeToAck:
		kind := bounded(r.tags[workflows.TagKind], stepKinds)
		return timerFunc(func(d time.Duration) {
			r.m.timeToAck.WithLabelValues(kind, exercise).Observe(max(d, 0).Seconds())
		})
	case workflows.MetricTimeToSignoff:
		how := bounded(r.tags[workflows.TagHow], []string{workflows.SignoffQuorum, workflows.SignoffBreakGlass})
		return timerFunc(func(d time.Duration) {
			r.m.timeToSign.WithLabelValues(how, exercise).Observe(max(d, 0).Seconds())
		})
	}
	return r.sdk.Timer(name)
}

// counterFunc is a client.MetricsCounter.
type counterFunc func(int64)

func (f counterFunc) Inc(n int64) { f(n) }

// timerFunc is a client.MetricsTimer.
type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
