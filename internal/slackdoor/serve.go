package slackdoor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/internal/org"
)

// Settings of a slack integration block the front door reads.
const (
	// SettingBotToken is the bot token (xoxb-…), for the Web API.
	SettingBotToken = "bot_token"
	// SettingAppToken is the app-level token (xapp-…), for Socket Mode.
	SettingAppToken = "app_token"
	// SettingSigningSecret is the app's signing secret, for HTTP requests.
	SettingSigningSecret = "signing_secret"
	// SettingAPIURL replaces Slack's Web API base URL (a local fake in
	// tests; https://slack.com/api/ otherwise).
	SettingAPIURL = "api_url"
)

// Setting returns an integration setting (see org.Instance.Value).
func Setting(in *org.Instance, name string) string { return in.Value(name) }

// Instance finds the slack integration the front door serves: the one
// named (e.g. "slack.main"), or the only one when name is "".
func Instance(o *org.Org, name string) (*org.Instance, error) {
	var ids []string
	var only *org.Instance
	for _, in := range o.Instances {
		if in.Kind == "slack" {
			ids = append(ids, in.ID)
			only = in
		}
	}
	sort.Strings(ids)
	if name != "" {
		if !strings.Contains(name, ".") {
			name = "slack." + name
		}
		if in := o.Instance(name); in != nil && in.Kind == "slack" {
			return in, nil
		}
		return nil, fmt.Errorf("no integration %q is declared; slack integrations: %s", name, orNone(ids))
	}
	switch len(ids) {
	case 0:
		return nil, errors.New(`no integration "slack" block is declared; add one (see docs/slack.md)`)
	case 1:
		return only, nil
	}
	return nil, fmt.Errorf("there are several slack integrations (%s); name the one to serve with --slack", strings.Join(ids, ", "))
}

func orNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// API returns the Web API client of a slack integration.
func API(in *org.Instance, hc *http.Client) (*slackapi.Client, string, error) {
	token := Setting(in, SettingBotToken)
	if token == "" {
		return nil, "", fmt.Errorf("integration %s (%s) has no bot_token: set it to env(\"SLACK_BOT_TOKEN\") and export the bot token of the Slack app", in.ID, in.Source)
	}
	opts := []slackapi.Option{}
	if hc != nil {
		opts = append(opts, slackapi.OptionHTTPClient(hc))
	}
	url := Setting(in, SettingAPIURL)
	if url != "" {
		if !strings.HasSuffix(url, "/") {
			url += "/"
		}
		opts = append(opts, slackapi.OptionAPIURL(url))
	}
	return slackapi.New(token, opts...), url, nil
}

// ServeOptions configure Serve.
type ServeOptions struct {
	// Instance is the slack integration served.
	Instance *org.Instance
	// Door receives what the gateway verified.
	Door *Door
	// HTTPAddr, when set, serves /slack/interactions, /slack/commands and
	// /slack/events there (the signing secret is then required).
	HTTPAddr string
	// Listening, when set, is told the HTTP address once it listens.
	Listening func(addr string)
	// Logger receives the front door's logs.
	Logger *slog.Logger
}

// Check refuses, before anything starts, a front door that could not
// work: no bot token, neither Socket Mode (app_token) nor an HTTP address,
// or HTTP without a signing secret.
func Check(in *org.Instance, httpAddr string) error {
	if _, _, err := API(in, nil); err != nil {
		return err
	}
	if httpAddr == "" && Setting(in, SettingAppToken) == "" {
		return fmt.Errorf("integration %s (%s) has no app_token for Socket Mode and no --http-addr was given, so Slack could not reach firebreak: set app_token = env(\"SLACK_APP_TOKEN\"), or serve HTTP with --http-addr", in.ID, in.Source)
	}
	if httpAddr != "" && strings.TrimSpace(Setting(in, SettingSigningSecret)) == "" {
		return fmt.Errorf("integration %s (%s) has no signing_secret, and HTTP requests cannot be verified without it: set signing_secret = env(\"SLACK_SIGNING_SECRET\") to the app's signing secret (Basic Information in the app's settings)", in.ID, in.Source)
	}
	return nil
}

// Serve runs the Slack front door until ctx ends: the HTTP endpoints when
// HTTPAddr is set, and Socket Mode when the integration has an app_token.
// It refuses to start with neither, and HTTP without a signing secret.
func Serve(ctx context.Context, opts ServeOptions) error {
	in := opts.Instance
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err := Check(in, opts.HTTPAddr); err != nil {
		return err
	}
	api, url, err := API(in, nil)
	if err != nil {
		return err
	}
	appToken := Setting(in, SettingAppToken)
	secret := Setting(in, SettingSigningSecret)
	if secret == "" {
		// Socket Mode only: requests come over the app's own websocket,
		// and the gateway's HTTP handler is never served.
		secret = "socket-mode-only"
	}
	gw, err := slack.NewGateway(slack.GatewayConfig{API: api, APIURL: url, Receiver: opts.Door, SigningSecret: secret, Logger: logger})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	var srv *http.Server
	if opts.HTTPAddr != "" {
		ln, err := net.Listen("tcp", opts.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listening on %s for Slack's requests: %w", opts.HTTPAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/slack/", gw.Handler())
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serving Slack's requests: %w", err)
				return
			}
			errc <- nil
		}()
		if opts.Listening != nil {
			opts.Listening(ln.Addr().String())
		}
		logger.Info("slack: serving HTTP", "addr", ln.Addr().String(), "paths", "/slack/interactions /slack/commands /slack/events")
	}
	if appToken != "" {
		go func() { errc <- gw.RunSocketMode(ctx, appToken) }()
		logger.Info("slack: connecting over Socket Mode", "integration", in.ID)
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	cancel()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	gw.Wait()
	return first
}
