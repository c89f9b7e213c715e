package temporalenv

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/devserver"
	"go.temporal.io/sdk/client"
)

const testKey = "tk_super-secret-api-key-123"

func env(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func ptr[T any](v T) *T { return &v }

// selfSigned writes a throwaway self-signed certificate and its key as PEM
// files in dir and returns their paths and contents.
func selfSigned(t *testing.T, dir string) (certPath, keyPath string, certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "firebreak-test"},
		DNSNames:              []string{"temporal.plant.example"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPath = filepath.Join(dir, "client.pem")
	keyPath = filepath.Join(dir, "client.key")
	if err := os.WriteFile(certPath, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, certPEM, keyPEM
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		want    Config
		wantErr []string // substrings of the error, all required
	}{
		{
			name: "defaults",
			vars: nil,
			want: Config{Address: DefaultAddress, Namespace: DefaultNamespace},
		},
		{
			name: "address and namespace",
			vars: map[string]string{EnvAddress: " temporal.plant:7233 ", EnvNamespace: "ot-incidents"},
			want: Config{Address: "temporal.plant:7233", Namespace: "ot-incidents"},
		},
		{
			name: "cloud with api key",
			vars: map[string]string{EnvAddress: "ns.a1b2c.tmprl.cloud:7233", EnvNamespace: "ns.a1b2c", EnvAPIKey: testKey + "\n"},
			want: Config{Address: "ns.a1b2c.tmprl.cloud:7233", Namespace: "ns.a1b2c", APIKey: testKey},
		},
		{
			name: "mtls with current names",
			vars: map[string]string{EnvTLSCertPath: "/c.pem", EnvTLSKeyPath: "/c.key", EnvTLSCAPath: "/ca.pem", EnvTLSServerName: "temporal.plant", EnvTLSDisableHostVerification: "true"},
			want: Config{Address: DefaultAddress, Namespace: DefaultNamespace, TLSCertPath: "/c.pem", TLSKeyPath: "/c.key", TLSCAPath: "/ca.pem", TLSServerName: "temporal.plant", TLSDisableHostVerification: true},
		},
		{
			name: "mtls with legacy names",
			vars: map[string]string{EnvLegacyTLSCert: "/c.pem", EnvLegacyTLSKey: "/c.key", EnvLegacyTLSCA: "/ca.pem"},
			want: Config{Address: DefaultAddress, Namespace: DefaultNamespace, TLSCertPath: "/c.pem", TLSKeyPath: "/c.key", TLSCAPath: "/ca.pem"},
		},
		{
			name: "legacy and current agree",
			vars: map[string]string{EnvLegacyTLSCA: "/ca.pem", EnvTLSCAPath: "/ca.pem"},
			want: Config{Address: DefaultAddress, Namespace: DefaultNamespace, TLSCAPath: "/ca.pem"},
		},
		{
			name: "inline pem",
			vars: map[string]string{EnvTLSCertData: "CERT", EnvTLSKeyData: "KEY", EnvTLSCAData: "CA"},
			want: Config{Address: DefaultAddress, Namespace: DefaultNamespace, TLSCertData: "CERT", TLSKeyData: "KEY", TLSCAData: "CA"},
		},
		{
			name: "tls forced on",
			vars: map[string]string{EnvTLS: "true"},
			want: Config{Address: DefaultAddress, Namespace: DefaultNamespace, TLS: ptr(true)},
		},
		{
			name: "api key over plaintext",
			vars: map[string]string{EnvTLS: "false", EnvAPIKey: testKey},
			want: Config{Address: DefaultAddress, Namespace: DefaultNamespace, TLS: ptr(false), APIKey: testKey},
		},
		{
			name:    "address without port",
			vars:    map[string]string{EnvAddress: "temporal.plant"},
			wantErr: []string{EnvAddress, "host:port"},
		},
		{
			name:    "address with bad port",
			vars:    map[string]string{EnvAddress: "temporal.plant:99999"},
			wantErr: []string{EnvAddress, "invalid port"},
		},
		{
			name:    "tls not a bool",
			vars:    map[string]string{EnvTLS: "yes please"},
			wantErr: []string{EnvTLS, "true or false"},
		},
		{
			name:    "host verification not a bool",
			vars:    map[string]string{EnvTLSDisableHostVerification: "maybe"},
			wantErr: []string{EnvTLSDisableHostVerification, "true or false"},
		},
		{
			name:    "cert without key",
			vars:    map[string]string{EnvTLSCertPath: "/c.pem"},
			wantErr: []string{"no key", EnvTLSKeyPath},
		},
		{
			name:    "key without cert",
			vars:    map[string]string{EnvTLSKeyData: "KEY"},
			wantErr: []string{"no certificate", EnvTLSCertPath},
		},
		{
			name:    "path and data",
			vars:    map[string]string{EnvTLSCAPath: "/ca.pem", EnvTLSCAData: "CA"},
			wantErr: []string{EnvTLSCAPath, EnvTLSCAData, "use one"},
		},
		{
			name:    "legacy and current disagree",
			vars:    map[string]string{EnvLegacyTLSCert: "/old.pem", EnvTLSCertPath: "/new.pem", EnvTLSKeyPath: "/k"},
			wantErr: []string{EnvLegacyTLSCert, "unset"},
		},
		{
			name:    "tls off with certificates",
			vars:    map[string]string{EnvTLS: "false", EnvTLSCAPath: "/ca.pem"},
			wantErr: []string{EnvTLS + "=false"},
		},
		{
			name:    "api key with inner space",
			vars:    map[string]string{EnvAPIKey: "tk_abc def"},
			wantErr: []string{EnvAPIKey, "spaces"},
		},
		{
			name:    "several problems at once",
			vars:    map[string]string{EnvAddress: "nope", EnvTLS: "sure"},
			wantErr: []string{EnvAddress, EnvTLS},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(env(tt.vars))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("FromEnv = %+v, want an error", got)
				}
				t.Logf("error: %v", err)
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				if strings.Contains(err.Error(), "abc def") {
					t.Errorf("error reveals the API key: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromEnv =\n %+v\nwant\n %+v", got, tt.want)
			}
			if got.APIKey.Reveal() != tt.want.APIKey.Reveal() {
				t.Error("API key differs")
			}
		})
	}
}

func TestClientOptions(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath, certPEM, keyPEM := selfSigned(t, dir)
	otherDir := t.TempDir()
	_, otherKeyPath, _, _ := selfSigned(t, otherDir)
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{Address: "temporal.plant:7233", Namespace: "ot"}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }

	tests := []struct {
		name     string
		cfg      Config
		wantTLS  bool
		wantCert bool
		wantCA   bool
		wantKey  bool
		check    func(t *testing.T, o client.Options)
		wantErr  []string
	}{
		{name: "plaintext", cfg: base},
		{name: "api key implies tls", cfg: with(func(c *Config) { c.APIKey = testKey }), wantTLS: true, wantKey: true},
		{name: "api key with tls off", cfg: with(func(c *Config) { c.APIKey = testKey; c.TLS = ptr(false) }), wantKey: true},
		{name: "tls forced", cfg: with(func(c *Config) { c.TLS = ptr(true) }), wantTLS: true},
		{name: "mtls from files", cfg: with(func(c *Config) { c.TLSCertPath, c.TLSKeyPath, c.TLSCAPath = certPath, keyPath, certPath }), wantTLS: true, wantCert: true, wantCA: true},
		{name: "mtls inline", cfg: with(func(c *Config) { c.TLSCertData, c.TLSKeyData = string(certPEM), Secret(keyPEM) }), wantTLS: true, wantCert: true},
		{
			name:    "server name and skip verify",
			cfg:     with(func(c *Config) { c.TLSServerName = "temporal.plant.example"; c.TLSDisableHostVerification = true }),
			wantTLS: true,
			check: func(t *testing.T, o client.Options) {
				if o.ConnectionOptions.TLS.ServerName != "temporal.plant.example" || !o.ConnectionOptions.TLS.InsecureSkipVerify {
					t.Errorf("tls config = %+v", o.ConnectionOptions.TLS)
				}
			},
		},
		{name: "missing cert file", cfg: with(func(c *Config) { c.TLSCertPath, c.TLSKeyPath = filepath.Join(dir, "nope.pem"), keyPath }), wantErr: []string{EnvTLSCertPath, "nope.pem", "no such file"}},
		{name: "missing CA file", cfg: with(func(c *Config) { c.TLSCAPath = filepath.Join(dir, "ca.pem") }), wantErr: []string{EnvTLSCAPath, "server CA"}},
		{name: "CA file without certificate", cfg: with(func(c *Config) { c.TLSCAPath = junk }), wantErr: []string{"junk.pem", "no PEM certificate"}},
		{name: "mismatched key", cfg: with(func(c *Config) { c.TLSCertPath, c.TLSKeyPath = certPath, otherKeyPath }), wantErr: []string{"valid pair", certPath}},
		{name: "garbage inline key", cfg: with(func(c *Config) {
			c.TLSCertData, c.TLSKeyData = string(certPEM), "-----BEGIN PRIVATE KEY-----\nsecretstuff\n"
		}), wantErr: []string{EnvTLSKeyData}},
		{name: "invalid config", cfg: with(func(c *Config) { c.Address = "nope" }), wantErr: []string{EnvAddress}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.cfg.ClientOptions()
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("ClientOptions succeeded, want an error")
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				if strings.Contains(err.Error(), "secretstuff") || strings.Contains(err.Error(), string(keyPEM)) {
					t.Errorf("error reveals key material: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ClientOptions: %v", err)
			}
			if o.HostPort != tt.cfg.Address || o.Namespace != tt.cfg.Namespace {
				t.Errorf("HostPort, Namespace = %q, %q", o.HostPort, o.Namespace)
			}
			tlsOn := o.ConnectionOptions.TLS != nil
			if tlsOn != tt.wantTLS {
				t.Errorf("TLS on = %v, want %v", tlsOn, tt.wantTLS)
			}
			if !tt.wantTLS && !o.ConnectionOptions.TLSDisabled {
				t.Error("TLSDisabled not set for a plaintext connection")
			}
			if tlsOn {
				if got := len(o.ConnectionOptions.TLS.Certificates) > 0; got != tt.wantCert {
					t.Errorf("client certificate present = %v, want %v", got, tt.wantCert)
				}
				if got := o.ConnectionOptions.TLS.RootCAs != nil; got != tt.wantCA {
					t.Errorf("custom CA present = %v, want %v", got, tt.wantCA)
				}
			}
			if got := o.Credentials != nil; got != tt.wantKey {
				t.Errorf("credentials present = %v, want %v", got, tt.wantKey)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestSecretsStayHidden(t *testing.T) {
	cfg := Config{Address: DefaultAddress, Namespace: "ot", APIKey: testKey, TLSKeyData: "PRIVATE KEY PEM"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "temporal", cfg, "key", cfg.APIKey)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "temporal", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("key=%s", cfg.APIKey), fmt.Sprintf("%q", cfg.APIKey), logs.String(), string(js),
	} {
		if strings.Contains(s, testKey) || strings.Contains(s, "PRIVATE KEY PEM") {
			t.Errorf("secret revealed in %q", s)
		}
	}
	if !strings.Contains(fmt.Sprint(cfg), "api_key=[redacted]") {
		t.Errorf("String() = %q, want it to say an API key is set", cfg)
	}
}

func TestDialNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := Config{Address: addr, Namespace: "default", APIKey: testKey, TLS: ptr(false)}
	_, err = Dial(ctx, cfg, nil)
	if err == nil {
		t.Fatal("Dial succeeded with no server")
	}
	t.Logf("Dial error: %v", err)
	for _, s := range []string{"is a Temporal server running at " + addr, "firebreak dev", EnvAddress} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error reveals the API key: %q", err)
	}
}

func TestDialDevServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()

	cfg, err := FromEnv(env(map[string]string{EnvAddress: srv.Address()}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.Close()

	cfg.Namespace = "no-such-namespace"
	_, err = Dial(ctx, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `namespace "no-such-namespace" does not exist`) || !strings.Contains(err.Error(), EnvNamespace) {
		t.Errorf("Dial to a missing namespace: err = %v", err)
	}
}
