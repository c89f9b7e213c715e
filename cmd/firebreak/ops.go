package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/internal/observe"
)

// Environment variables the long-running commands read for their
// operations flags.
const (
	envMetricsAddr = "FIREBREAK_METRICS_ADDR"
	envLogFormat   = "FIREBREAK_LOG_FORMAT"
)

// opsFlags are the flags an operator watches a long-running command by
// (worker, serve, dev): where metrics and health are served, and the log
// format.
type opsFlags struct {
	metricsAddr string
	logFormat   string
}

// addOpsFlags registers --metrics-addr and --log-format on cmd.
func addOpsFlags(cmd *cobra.Command, f *opsFlags) {
	cmd.Flags().StringVar(&f.metricsAddr, "metrics-addr", os.Getenv(envMetricsAddr),
		"serve Prometheus /metrics, /healthz and /readyz at this host:port, e.g. 127.0.0.1:9464 (off when empty; also: "+envMetricsAddr+")")
	logFormat := os.Getenv(envLogFormat)
	if logFormat == "" {
		logFormat = observe.LogText
	}
	cmd.Flags().StringVar(&f.logFormat, "log-format", logFormat, "log format on stderr: text or json (one JSON object a line; also: "+envLogFormat+")")
}

// logger is the command's logger: the one place long-running commands
// build theirs.
func (f *opsFlags) logger(cmd *cobra.Command, verbose bool) (*slog.Logger, error) {
	l, err := observe.NewLogger(cmd.ErrOrStderr(), f.logFormat, verbose)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return l, nil
}

// ops is what a running command serves operators: metrics and health.
// Its zero value (no --metrics-addr) serves nothing and records nothing.
type ops struct {
	metrics *observe.Metrics
	health  *observe.Health
	server  *observe.Server
}

// start starts serving metrics and health when --metrics-addr is set,
// before anything else starts, so /healthz answers and /readyz says "not
// yet" while the command loads its configuration and dials Temporal.
func (f *opsFlags) start(cmd *cobra.Command) (*ops, error) {
	if f.metricsAddr == "" {
		return &ops{}, nil
	}
	m, err := observe.New()
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("setting up metrics: %w", err)}
	}
	h := &observe.Health{}
	srv, err := observe.Listen(f.metricsAddr, m, h)
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: err}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Metrics:          http://%s/metrics (health: /healthz, /readyz)\n", srv.Addr())
	return &ops{metrics: m, health: h, server: srv}, nil
}

// sdk is the metrics handler for the Temporal client.
func (o *ops) sdk() client.MetricsHandler { return o.metrics.SDKHandler() }

// configLoaded adds the readiness check of the loaded configuration (it
// holds from now on: a reload that fails keeps the version in force).
func (o *ops) configLoaded() {
	if o.health != nil {
		o.health.Add("config", func(context.Context) error { return nil })
	}
}

// connected adds the readiness check of the Temporal connection, and says
// every check is in place.
func (o *ops) connected(c client.Client) {
	if o.health != nil {
		o.health.Add("temporal", observe.TemporalCheck(c))
		o.health.Loaded()
	}
}

// scan runs the incident gauges' visibility scan on c until ctx ends
// (worker and dev only: one scanner per namespace).
func (o *ops) scan(ctx context.Context, c client.Client, logger *slog.Logger) {
	if o.metrics == nil {
		return
	}
	s := &observe.Scanner{Temporal: c, Metrics: o.metrics, Logger: logger}
	go s.Run(ctx)
}

// close stops serving.
func (o *ops) close() {
	if o.server != nil {
		_ = o.server.Close()
	}
}
