// Package adapters is the one place that maps an integration block's kind
// (slack, nftables, pagerduty, webhook, modbus) to what backs it in the
// worker: a constructor for the real adapter, a harmless reachability
// probe, and a description of what the instance would reach.
//
// An instance is real when its kind has an adapter and its block does not
// say simulate = true; otherwise it runs on its simulated twin
// (integrations/sim). Exercise runs always get twins, on their own task
// queue, whatever this package says. Every kind has its adapter; a new
// kind is added here, in Kinds, and nowhere else.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/integrations/modbus"
	"github.com/firebreak-ir/firebreak/integrations/nftables"
	"github.com/firebreak-ir/firebreak/integrations/pagerduty"
	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/integrations/webhook"
	"github.com/firebreak-ir/firebreak/internal/org"
)

// Kind is what the worker knows about one integration kind.
type Kind struct {
	// Name is the kind as written in an integration block.
	Name string
	// New builds the real adapter for an instance. Nil while the kind has
	// no adapter: its instances run on the simulated twin.
	New func(in *org.Instance) (any, error)
	// Probe checks, without changing anything, that the system an
	// instance names can be reached. Nil when the kind has no such check.
	Probe func(ctx context.Context, in *org.Instance) error
	// Target says which real system an instance names, for people
	// ("netns plant3-gw", "10.30.1.21:502 unit 1"); no secret.
	Target func(in *org.Instance) string
	// Twin says what the simulated twin does instead.
	Twin string
}

// Kinds holds every integration kind the language declares.
var Kinds = map[string]Kind{
	"slack": {
		Name: "slack",
		New: func(in *org.Instance) (any, error) {
			return slack.New(slack.Config{Token: in.Value("bot_token"), APIURL: in.Value("api_url")})
		},
		Probe: probeSlack,
		Target: func(in *org.Instance) string {
			if u := in.Value("api_url"); u != "" {
				return "the Slack workspace of its bot token, through " + hostOf(u, u)
			}
			return "the Slack workspace of its bot token"
		},
		Twin: "records channels, messages, pages and prompts in the simulation journal",
	},
	"nftables": {
		Name: "nftables",
		New: func(in *org.Instance) (any, error) {
			return nftables.New(nftables.Config{Netns: str(in.Settings["netns"]), Table: str(in.Settings["table"]), ID: in.ID})
		},
		Probe: probeNetns,
		Target: func(in *org.Instance) string {
			if ns := str(in.Settings["netns"]); ns != "" {
				return "nftables in network namespace " + ns
			}
			return "nftables in the worker's own network namespace"
		},
		Twin: "records conduit cuts and restores in the simulation journal; no packet filter changes",
	},
	"pagerduty": {
		Name: "pagerduty",
		// Each instance builds a client for itself; Backing.Apply joins
		// them into the one client that serves every real instance.
		New: func(in *org.Instance) (any, error) {
			return pagerduty.New(pagerduty.Config{Instances: map[string]pagerduty.Instance{
				in.ID: {RoutingKey: in.Value("routing_key"), URL: in.Value("api_url")},
			}})
		},
		Probe: probeURL("api_url", "https://events.pagerduty.com"),
		Target: func(in *org.Instance) string {
			if v := in.Env["api_url"]; v != "" {
				return "PagerDuty Events API v2 at the URL in $" + v
			}
			return "PagerDuty Events API v2 at " + hostOf(str(in.Settings["api_url"]), "events.pagerduty.com:443")
		},
		Twin: "records triggers and resolves in the simulation journal",
	},
	"webhook": {
		Name: "webhook",
		New: func(in *org.Instance) (any, error) {
			timeout, err := durationSetting(in, "timeout", webhook.ParseTimeout)
			if err != nil {
				return nil, err
			}
			return webhook.New(webhook.Config{ID: in.ID, URL: in.Value("url"), URLFromEnv: in.Env["url"], Secret: in.Value("secret"), Timeout: timeout})
		},
		Probe: probeURL("url", ""),
		Target: func(in *org.Instance) string {
			if v := in.Env["url"]; v != "" {
				return "HTTP POST to the URL in $" + v
			}
			return "HTTP POST to " + hostOf(str(in.Settings["url"]), "(no url)")
		},
		Twin: "records the request in the simulation journal and answers 200",
	},
	"modbus": {
		Name: "modbus",
		New: func(in *org.Instance) (any, error) {
			cfg, err := modbus.FromSettings(in.ID, in.Settings, in.Value)
			if err != nil {
				return nil, err
			}
			return modbus.New(cfg)
		},
		Probe: probeTCP("address"),
		Target: func(in *org.Instance) string {
			t := "Modbus TCP at " + str(in.Settings["address"])
			if u := in.Settings["unit_id"]; u != nil {
				t += fmt.Sprintf(" unit %v", u)
			}
			return t
		},
		Twin: "answers register reads from simulated plant state (1 unless an exercise sets it)",
	},
}

// probeSlack calls auth.test with the bot token: it changes nothing and
// says whether the token works.
func probeSlack(ctx context.Context, in *org.Instance) error {
	token := in.Value("bot_token")
	if token == "" {
		return errors.New("no bot_token is set")
	}
	var opts []slackapi.Option
	if u := in.Value("api_url"); u != "" {
		opts = append(opts, slackapi.OptionAPIURL(u))
	}
	if _, err := slackapi.New(token, opts...).AuthTestContext(ctx); err != nil {
		return fmt.Errorf("auth.test: %w", err)
	}
	return nil
}

// Mode is how an instance is backed.
type Mode string

// Modes.
const (
	// Real runs on the kind's adapter and reaches the real system.
	Real Mode = "real"
	// Simulated runs on the simulated twin.
	Simulated Mode = "simulated"
)

// Resolution is how one instance is backed, and why.
type Resolution struct {
	Instance *org.Instance
	Mode     Mode
	// Why says why an instance is simulated ("simulate = true", "no nftables
	// adapter yet"); "" for a real one.
	Why string
	// Target is the real system the instance names.
	Target string
}

// Resolve decides, for every instance of the organisation, whether it is
// real or simulated.
func Resolve(o *org.Org) []Resolution {
	out := make([]Resolution, 0, len(o.Instances))
	for _, in := range o.Instances {
		out = append(out, resolve(in))
	}
	return out
}

func resolve(in *org.Instance) Resolution {
	k, ok := Kinds[in.Kind]
	r := Resolution{Instance: in, Mode: Simulated}
	if ok && k.Target != nil {
		r.Target = k.Target(in)
	}
	switch {
	case !ok:
		r.Why = "unknown kind " + in.Kind
	case in.Simulate:
		r.Why = "simulate = true"
	case k.New == nil:
		r.Why = "no " + in.Kind + " adapter yet"
	default:
		r.Mode = Real
	}
	return r
}

// Probe runs the instance's reachability check, bounded by timeout. It
// returns "" and nil when the kind has no probe.
func Probe(ctx context.Context, in *org.Instance, timeout time.Duration) (string, error) {
	k, ok := Kinds[in.Kind]
	if !ok || k.Probe == nil {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := k.Probe(ctx, in)
	var skip notRead
	switch {
	case errors.As(err, &skip):
		return "not probed: $" + string(skip) + " is not read while the instance is simulated (or is unset)", nil
	case err != nil:
		return "unreachable", err
	}
	return "reachable", nil
}

// notRead is a probe that cannot run because the address is in an env()
// variable that was not read; it names the variable.
type notRead string

func (n notRead) Error() string { return "$" + string(n) + " not read" }

// KindNames lists the kinds, sorted.
func KindNames() []string { return slices.Sorted(maps.Keys(Kinds)) }

// NetnsDir is where named network namespaces live (ip netns add).
var NetnsDir = "/run/netns"

// probeNetns checks that the instance's network namespace exists.
func probeNetns(_ context.Context, in *org.Instance) error {
	ns := str(in.Settings["netns"])
	if ns == "" {
		return nil // the worker's own namespace always exists
	}
	if strings.ContainsAny(ns, "/\x00") || ns == "." || ns == ".." {
		return fmt.Errorf("netns %q is not a namespace name", ns)
	}
	if _, err := os.Stat(filepath.Join(NetnsDir, ns)); err != nil {
		return fmt.Errorf("network namespace %s does not exist (ip netns list shows the ones that do)", ns)
	}
	return nil
}

// probeTCP opens and closes a TCP connection to the address setting.
func probeTCP(setting string) func(context.Context, *org.Instance) error {
	return func(ctx context.Context, in *org.Instance) error {
		return dial(ctx, str(in.Settings[setting]))
	}
}

// probeURL opens and closes a TCP connection to the host of a URL setting
// (def when the setting is unset). Nothing is sent.
func probeURL(setting, def string) func(context.Context, *org.Instance) error {
	return func(ctx context.Context, in *org.Instance) error {
		raw := str(in.Settings[setting])
		env := in.Env[setting]
		if env != "" {
			sec, ok := in.Secret(setting)
			if !ok {
				// Never fall back to the default: the block names
				// another system.
				return notRead(env)
			}
			raw = sec.Reveal()
		}
		if raw == "" {
			raw = def
		}
		host := hostOf(raw, "")
		if host == "" {
			// Never echo the value: it may be a secret.
			return fmt.Errorf("%s is not an http(s) URL", setting)
		}
		err := dial(ctx, host)
		var oe *net.OpError
		if err != nil && env != "" && errors.As(err, &oe) {
			// The host came from a secret: say why, not where.
			return fmt.Errorf("cannot connect to the host in $%s: %v", env, oe.Err)
		}
		return err
	}
}

func dial(ctx context.Context, addr string) error {
	if addr == "" {
		return fmt.Errorf("no address to reach")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	return c.Close()
}

// hostOf returns host:port of an http(s) URL, without user info, path or
// query (which may carry credentials); def when raw is not such a URL.
func hostOf(raw, def string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return def
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// durationSetting reads a duration setting ("10s") with parse, which
// gives the default for "". A setting of another type is refused: the
// block must say a duration as a string.
func durationSetting(in *org.Instance, name string, parse func(string) (time.Duration, error)) (time.Duration, error) {
	v, ok := in.Settings[name]
	if _, isString := v.(string); ok && v != nil && !isString {
		return 0, fmt.Errorf("%s = %v: write the duration as a string, such as %s = \"10s\"", name, v, name)
	}
	d, err := parse(str(v))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
