// Package observe is what operators watch a firebreak process by: the
// Prometheus metrics (the Temporal SDK's own and firebreak's), the health
// endpoints, and the process's log format.
//
// Every label value is drawn from a bounded set fixed in code (refusal
// codes, step kinds, Slack method names, incident states): never an
// incident ID, a person, a channel or any text a user wrote, so neither
// cardinality nor a secret can leak through a label.
package observe

import (
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Metric names firebreak exports besides the SDK's (temporal_*).
const (
	MetricRefused          = "firebreak_refused_answers_total"
	MetricSlackRateLimited = "firebreak_slack_rate_limited_total"
	MetricTimeToAck        = "firebreak_time_to_acknowledge_seconds"
	MetricTimeToSignoff    = "firebreak_time_to_signoff_seconds"
	MetricIncidents        = "firebreak_incidents"
	MetricApprovalsWaiting = "firebreak_approvals_waiting"
	MetricScanErrors       = "firebreak_visibility_scan_errors_total"
	MetricScanLast         = "firebreak_visibility_scan_last_success_timestamp_seconds"
	MetricScanTruncated    = "firebreak_visibility_scan_truncated"
)

// Other is the label value of anything outside a label's bounded set.
const Other = "other"

// Door refusal codes the Slack front door adds to the rule book's (the
// values of internal/slackdoor's constants; listed here so this package
// does not import the door).
var doorCodes = []string{"UnknownUser", "IncidentFinished", "BadAnswer"}

// Step kinds that wait for people, the "kind" label of the time to
// acknowledge.
var stepKinds = []string{"page", "approval", "decision", "task"}

// Slack Web API methods firebreak calls, the "method" label of 429s.
var slackMethods = []string{
	"auth.test", "chat.postMessage", "chat.update", "conversations.create",
	"conversations.history", "conversations.invite", "conversations.list",
	"conversations.open", "conversations.setTopic", "pins.add", "usergroups.users.list",
}

// humanBuckets are the buckets, in seconds, of how long people take:
// ten seconds to a day.
var humanBuckets = []float64{10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400}

// Metrics are one process's metrics. The zero of *Metrics (nil) is valid
// and records nothing, so code paths need not check whether metrics are on.
type Metrics struct {
	reg *prometheus.Registry
	sdk client.MetricsHandler

	refused     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	timeToAck   *prometheus.HistogramVec
	timeToSign  *prometheus.HistogramVec
	incidents   *prometheus.GaugeVec
	approvals   *prometheus.GaugeVec
	scanErrors  prometheus.Counter
	scanLast    prometheus.Gauge
	scanTrunc   prometheus.Gauge
}

// New builds a process's metrics on a registry of its own: firebreak's,
// the Go runtime's and the process's, and the Temporal SDK's through an
// OpenTelemetry meter exported to the same registry.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg}
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricRefused,
		Help: "Answers refused, by refusal code and the channel the answer came through (cli, slack, script).",
	}, []string{"code", "channel"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricSlackRateLimited,
		Help: "Slack Web API calls answered 429 (rate limited), by method; each is retried after Retry-After.",
	}, []string{"method"})
	m.timeToAck = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricTimeToAck,
		Help:    "From a step starting to ask people to its acknowledgement, by step kind.",
		Buckets: humanBuckets,
	}, []string{"kind", "exercise"})
	m.timeToSign = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricTimeToSignoff,
		Help:    "From an approval's round opening to its sign-off being complete (quorum met, or forced by break-glass).",
		Buckets: humanBuckets,
	}, []string{"how", "exercise"})
	m.incidents = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricIncidents,
		Help: "Incidents in the namespace by state (running ones are open; closed ones are kept for the namespace's retention), from Temporal visibility.",
	}, []string{"state", "exercise"})
	m.approvals = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricApprovalsWaiting,
		Help: "Approval steps of open incidents waiting for sign-off, from the incidents' status.",
	}, []string{"exercise"})
	m.scanErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: MetricScanErrors,
		Help: "Visibility scans (incidents, approvals waiting) that failed; the gauges keep their last values.",
	})
	m.scanLast = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: MetricScanLast,
		Help: "Unix time of the last visibility scan that succeeded.",
	})
	m.scanTrunc = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: MetricScanTruncated,
		Help: "1 when more incidents were open than the scan reads for approvals waiting, or the scan ran out of time asking them, so that gauge counts only some.",
	})
	for _, c := range []prometheus.Collector{
		m.refused, m.rateLimited, m.timeToAck, m.timeToSign, m.incidents, m.approvals,
		m.scanErrors, m.scanLast, m.scanTrunc,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.initSeries()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, err
	}
	provider := sdkmetric.NewMeterProvider(
		sdkmetric.WithReader(exporter),
		sdkmetric.WithView(sdkView),
	)
	m.sdk = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		// The SDK's metrics are best effort: an instrument the meter
		// refuses is dropped, never a panic in the worker.
		OnError: func(error) {},
	})
	return m, nil
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry the metrics are on (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Refused counts a refused answer under its refusal code and the channel
// it came through. Codes outside the rule book's and the front door's,
// and channels other than cli, slack and script, count as "other".
func (m *Metrics) Refused(code, channel string) {
	if m == nil {
		return
	}
	m.refused.WithLabelValues(RefusalCode(code), ChannelLabel(channel)).Inc()
}

// RateLimited counts a 429 from the Slack Web API method named.
func (m *Metrics) RateLimited(method string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(bounded(method, slackMethods)).Inc()
}

// RefusalCode is code when it is one of the bounded set of refusal codes,
// else Other.
func RefusalCode(code string) string {
	if slices.Contains(rules.Codes, rules.Code(code)) || slices.Contains(doorCodes, code) {
		return code
	}
	return Other
}

// ChannelLabel is the kind of channel an answer came through: the part
// before ":" ("slack:U123" is slack) when it is cli, slack or script,
// else Other.
func ChannelLabel(channel string) string {
	kind, _, _ := strings.Cut(channel, ":")
	return bounded(kind, []string{workflows.ChannelCLI, workflows.ChannelSlack, workflows.ChannelScript})
}

func bounded(v string, set []string) string {
	if slices.Contains(set, v) {
		return v
	}
	return Other
}

func boolLabel(v string) string {
	if v == "true" {
		return "true"
	}
	return "false"
}

// sdkBuckets are the buckets, in seconds, of the SDK's latencies
// (milliseconds to a minute); OpenTelemetry's defaults suit milliseconds
// counted as whole numbers.
var sdkBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// sdkView gives each of the SDK's instruments a help text (the SDK sets
// none, and Prometheus' linter wants one) and its histograms sdkBuckets.
func sdkView(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	s := sdkmetric.Stream{Name: i.Name, Description: i.Description, Unit: i.Unit}
	if s.Description == "" {
		s.Description = "Temporal SDK metric " + i.Name + " (see Temporal's SDK metrics reference)."
	}
	if i.Kind == sdkmetric.InstrumentKindHistogram {
		s.Aggregation = sdkmetric.AggregationExplicitBucketHistogram{Boundaries: sdkBuckets}
	}
	return s, true
}

// initSeries creates every series of firebreak's counters and histograms
// at zero, so a scrape lists them before anything happens and rate() and
// increase() see the first event.
func (m *Metrics) initSeries() {
	for _, ch := range []string{workflows.ChannelCLI, workflows.ChannelSlack, workflows.ChannelScript} {
		for _, c := range rules.Codes {
			m.refused.WithLabelValues(string(c), ch)
		}
	}
	for _, c := range doorCodes {
		m.refused.WithLabelValues(c, workflows.ChannelSlack)
	}
	for _, method := range slackMethods {
		m.rateLimited.WithLabelValues(method)
	}
	for _, ex := range []string{"false", "true"} {
		for _, k := range stepKinds {
			m.timeToAck.WithLabelValues(k, ex)
		}
		for _, how := range []string{workflows.SignoffQuorum, workflows.SignoffBreakGlass} {
			m.timeToSign.WithLabelValues(how, ex)
		}
	}
}
