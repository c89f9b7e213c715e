// Package temporalenv configures a Temporal client from the environment
// variables the Temporal CLI reads (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS_*), so firebreak reaches the same cluster
// or Temporal Cloud namespace as `temporal` does.
package temporalenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Environment variable names, as the Temporal CLI spells them.
const (
	EnvAddress   = "TEMPORAL_ADDRESS"
	EnvNamespace = "TEMPORAL_NAMESPACE"
	EnvAPIKey    = "TEMPORAL_API_KEY"
	// EnvTLS forces TLS on ("true") or off ("false"); unset means on when an
	// API key or any TLS setting is given.
	EnvTLS                        = "TEMPORAL_TLS"
	EnvTLSCertPath                = "TEMPORAL_TLS_CLIENT_CERT_PATH"
	EnvTLSCertData                = "TEMPORAL_TLS_CLIENT_CERT_DATA"
	EnvTLSKeyPath                 = "TEMPORAL_TLS_CLIENT_KEY_PATH"
	EnvTLSKeyData                 = "TEMPORAL_TLS_CLIENT_KEY_DATA"
	EnvTLSCAPath                  = "TEMPORAL_TLS_SERVER_CA_CERT_PATH"
	EnvTLSCAData                  = "TEMPORAL_TLS_SERVER_CA_CERT_DATA"
	EnvTLSServerName              = "TEMPORAL_TLS_SERVER_NAME"
	EnvTLSDisableHostVerification = "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"

	// Older Temporal CLI releases (and the Web UI server) used these shorter
	// names for the certificate paths; they are accepted as aliases.
	EnvLegacyTLSCert = "TEMPORAL_TLS_CERT"
	EnvLegacyTLSKey  = "TEMPORAL_TLS_KEY"
	EnvLegacyTLSCA   = "TEMPORAL_TLS_CA"
)

// Defaults for unset variables.
const (
	// DefaultAddress is where `firebreak dev` serves Temporal.
	DefaultAddress = "127.0.0.1:7233"
	// DefaultNamespace is Temporal's default namespace.
	DefaultNamespace = "default"
)

// defaultDialTimeout bounds Dial when its context has no deadline.
const defaultDialTimeout = 10 * time.Second

// Secret holds a credential. It prints, logs and marshals as "[redacted]"
// so it cannot leak through an error message or a log line; use Reveal to
// read it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer without revealing the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer without revealing the secret.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue implements slog.LogValuer without revealing the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler without revealing the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config is how firebreak reaches Temporal.
type Config struct {
	// Address is the frontend's host:port.
	Address string
	// Namespace is the Temporal namespace incidents run in.
	Namespace string
	// APIKey authenticates to Temporal Cloud or a cluster that accepts keys.
	APIKey Secret
	// TLS forces TLS on or off; nil means on when APIKey or any TLS field
	// is set.
	TLS *bool
	// TLSCertPath and TLSKeyPath name PEM files holding the client
	// certificate and key for mutual TLS; TLSCertData and TLSKeyData hold
	// the PEM inline instead.
	TLSCertPath, TLSKeyPath string
	TLSCertData             string
	TLSKeyData              Secret
	// TLSCAPath (or TLSCAData, inline PEM) is the CA that signed the
	// server's certificate; empty means the system roots.
	TLSCAPath, TLSCAData string
	// TLSServerName overrides the name checked against the server's
	// certificate.
	TLSServerName string
	// TLSDisableHostVerification skips verifying the server's certificate.
	TLSDisableHostVerification bool
}

// FromEnv reads Config from environment variables through getenv
// (os.Getenv in production). Unset variables take the defaults; a malformed
// one is an error naming the variable and what to set.
func FromEnv(getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		Address:       get(EnvAddress),
		Namespace:     get(EnvNamespace),
		APIKey:        Secret(get(EnvAPIKey)),
		TLSCertData:   get(EnvTLSCertData),
		TLSKeyData:    Secret(get(EnvTLSKeyData)),
		TLSCAData:     get(EnvTLSCAData),
		TLSServerName: get(EnvTLSServerName),
	}
	var errs []error
	pick := func(current, legacy string) string {
		v, old := get(current), get(legacy)
		switch {
		case v == "":
			return old
		case old != "" && old != v:
			errs = append(errs, fmt.Errorf("%s and %s (its older name) are both set, to different files; unset %s", current, legacy, legacy))
		}
		return v
	}
	c.TLSCertPath = pick(EnvTLSCertPath, EnvLegacyTLSCert)
	c.TLSKeyPath = pick(EnvTLSKeyPath, EnvLegacyTLSKey)
	c.TLSCAPath = pick(EnvTLSCAPath, EnvLegacyTLSCA)

	if v := get(EnvTLS); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a boolean; set it to true or false, or unset it", EnvTLS, v))
		} else {
			c.TLS = &b
		}
	}
	if v := get(EnvTLSDisableHostVerification); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a boolean; set it to true or false, or unset it", EnvTLSDisableHostVerification, v))
		}
		c.TLSDisableHostVerification = b
	}

	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// Validate reports settings that cannot work together, naming the
// environment variables involved.
func (c Config) Validate() error {
	var errs []error
	if _, port, err := net.SplitHostPort(c.Address); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("%s=%q is not host:port; set it like %s or my-ns.a1b2c.tmprl.cloud:7233", EnvAddress, c.Address, DefaultAddress))
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		errs = append(errs, fmt.Errorf("%s=%q has an invalid port %q", EnvAddress, c.Address, port))
	}
	if c.Namespace == "" {
		errs = append(errs, fmt.Errorf("%s is empty; set it to the namespace to use (default %q)", EnvNamespace, DefaultNamespace))
	}
	if strings.IndexFunc(c.APIKey.Reveal(), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		errs = append(errs, fmt.Errorf("%s contains spaces or control characters; set it to the key alone", EnvAPIKey))
	}
	if c.TLSCertPath != "" && c.TLSCertData != "" {
		errs = append(errs, fmt.Errorf("both %s and %s are set; use one", EnvTLSCertPath, EnvTLSCertData))
	}
	if c.TLSKeyPath != "" && c.TLSKeyData != "" {
		errs = append(errs, fmt.Errorf("both %s and %s are set; use one", EnvTLSKeyPath, EnvTLSKeyData))
	}
	if c.TLSCAPath != "" && c.TLSCAData != "" {
		errs = append(errs, fmt.Errorf("both %s and %s are set; use one", EnvTLSCAPath, EnvTLSCAData))
	}
	hasCert := c.TLSCertPath != "" || c.TLSCertData != ""
	hasKey := c.TLSKeyPath != "" || c.TLSKeyData != ""
	switch {
	case hasCert && !hasKey:
		errs = append(errs, fmt.Errorf("a client certificate is set but no key; mutual TLS needs %s (or %s) too", EnvTLSKeyPath, EnvTLSKeyData))
	case hasKey && !hasCert:
		errs = append(errs, fmt.Errorf("a client key is set but no certificate; mutual TLS needs %s (or %s) too", EnvTLSCertPath, EnvTLSCertData))
	}
	if c.TLS != nil && !*c.TLS && c.hasTLSSettings() {
		errs = append(errs, fmt.Errorf("%s=false but TLS settings (certificates, server name or host verification) are set; unset them or %s", EnvTLS, EnvTLS))
	}
	return errors.Join(errs...)
}

func (c Config) hasTLSSettings() bool {
	return c.TLSCertPath != "" || c.TLSCertData != "" || c.TLSKeyPath != "" || c.TLSKeyData != "" ||
		c.TLSCAPath != "" || c.TLSCAData != "" || c.TLSServerName != "" || c.TLSDisableHostVerification
}

// TLSEnabled reports whether the connection uses TLS: as TLS says if set,
// otherwise when an API key or any TLS setting is given.
func (c Config) TLSEnabled() bool {
	if c.TLS != nil {
		return *c.TLS
	}
	return c.APIKey != "" || c.hasTLSSettings()
}

// String describes the config for humans without revealing secrets.
func (c Config) String() string {
	s := fmt.Sprintf("%s namespace=%s tls=%t", c.Address, c.Namespace, c.TLSEnabled())
	if c.TLSCertPath != "" || c.TLSCertData != "" {
		s += " mtls=true"
	}
	if c.APIKey != "" {
		s += " api_key=" + redacted
	}
	return s
}

// LogValue implements slog.LogValuer without revealing secrets.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("address", c.Address),
		slog.String("namespace", c.Namespace),
		slog.Bool("tls", c.TLSEnabled()),
		slog.Bool("mtls", c.TLSCertPath != "" || c.TLSCertData != ""),
		slog.Bool("api_key", c.APIKey != ""),
	}
	return slog.GroupValue(attrs...)
}

// ClientOptions turns the config into Temporal client options, reading the
// certificate files it names.
func (c Config) ClientOptions() (client.Options, error) {
	if err := c.Validate(); err != nil {
		return client.Options{}, err
	}
	opts := client.Options{HostPort: c.Address, Namespace: c.Namespace}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey.Reveal())
	}
	if !c.TLSEnabled() {
		opts.ConnectionOptions.TLSDisabled = true
		return opts, nil
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return client.Options{}, err
	}
	opts.ConnectionOptions.TLS = tlsCfg
	return opts, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: c.TLSServerName,
		// Only when the operator asked for it explicitly.
		InsecureSkipVerify: c.TLSDisableHostVerification,
	}
	certPEM, err := pemSource(c.TLSCertPath, c.TLSCertData, EnvTLSCertPath, "client certificate")
	if err != nil {
		return nil, err
	}
	keyPEM, err := pemSource(c.TLSKeyPath, c.TLSKeyData.Reveal(), EnvTLSKeyPath, "client key")
	if err != nil {
		return nil, err
	}
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// The crypto/tls errors describe the problem, never the key.
			return nil, fmt.Errorf("client certificate and key (%s, %s) do not form a valid pair: %w", describe(c.TLSCertPath, EnvTLSCertData), describe(c.TLSKeyPath, EnvTLSKeyData), err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	caPEM, err := pemSource(c.TLSCAPath, c.TLSCAData, EnvTLSCAPath, "server CA certificate")
	if err != nil {
		return nil, err
	}
	if caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("server CA certificate (%s) holds no PEM certificate", describe(c.TLSCAPath, EnvTLSCAData))
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// pemSource returns the PEM from path or, if path is empty, data; nil when
// neither is set.
func pemSource(path, data, env, what string) ([]byte, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s from %s=%s: %w", what, env, path, err)
		}
		return b, nil
	}
	if data != "" {
		return []byte(data), nil
	}
	return nil, nil
}

func describe(path, dataEnv string) string {
	if path != "" {
		return path
	}
	return dataEnv
}

// Dial connects to Temporal as cfg says and checks that the namespace
// exists. Client logs go to logger (nil discards them).
func Dial(ctx context.Context, cfg Config, logger *slog.Logger) (client.Client, error) {
	return DialMetrics(ctx, cfg, logger, nil)
}

// DialMetrics is Dial with the client's (and its workers') metrics
// recorded by metrics; nil records none.
func DialMetrics(ctx context.Context, cfg Config, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	opts, err := cfg.ClientOptions()
	if err != nil {
		return nil, err
	}
	opts.MetricsHandler = metrics
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts.Logger = sdklog.NewStructuredLogger(logger)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultDialTimeout)
		defer cancel()
	}
	logger.Debug("dialing Temporal", "temporal", cfg)

	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s: %w; is a Temporal server running at %s? start one with `firebreak dev` or set %s",
			cfg.Address, err, cfg.Address, EnvAddress)
	}
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: cfg.Namespace})
	var notFound *serviceerror.NamespaceNotFound
	var notFoundGeneric *serviceerror.NotFound
	switch {
	case err == nil:
		return c, nil
	case errors.As(err, &notFound) || errors.As(err, &notFoundGeneric):
		c.Close()
		return nil, fmt.Errorf("namespace %q does not exist on the Temporal server at %s; set %s to an existing namespace or create it",
			cfg.Namespace, cfg.Address, EnvNamespace)
	default:
		c.Close()
		return nil, fmt.Errorf("check namespace %q on the Temporal server at %s: %w", cfg.Namespace, cfg.Address, err)
	}
}
