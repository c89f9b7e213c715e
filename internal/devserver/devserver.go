// Package devserver runs a real Temporal server inside the firebreak process,
// persisted to a SQLite file (or held in memory for tests) or, for proving
// the cluster path, to PostgreSQL, optionally with the Temporal Web UI. It
// backs `firebreak dev` and the end-to-end tests.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporal"
)

// Defaults used when Options leaves a field empty.
const (
	// DefaultIP is the address the frontend listens on by default.
	DefaultIP = "127.0.0.1"
	// DefaultNamespace is the namespace registered by default.
	DefaultNamespace = "default"
	// DBFileName is the name of the SQLite file inside Options.DataDir.
	DBFileName = "temporal.db"
)

// defaultStartTimeout bounds Start when its context has no deadline.
const defaultStartTimeout = 2 * time.Minute

// Options configures Start.
type Options struct {
	// DataDir holds the SQLite file (DataDir/temporal.db) and a lock file.
	// The directory and the file are created if missing; an existing file is
	// resumed with all its workflows and history. Required unless Ephemeral.
	DataDir string
	// Ephemeral keeps all state in memory; it is lost on Stop. For tests.
	Ephemeral bool
	// Postgres, when set, keeps the server's state in PostgreSQL instead
	// of SQLite; DataDir and Ephemeral must then be unset. Run one server
	// per database: this server owns every history shard in it.
	Postgres *Postgres
	// IP is the address the frontend gRPC service listens on (default
	// 127.0.0.1). The server's internal services always stay on 127.0.0.1.
	IP string
	// Port is the frontend gRPC port; 0 picks a free port.
	Port int
	// UIPort is the port of the Temporal Web UI, served on IP; 0 disables
	// the UI.
	UIPort int
	// Namespace is registered on start if missing (default "default").
	Namespace string
	// Logger receives the server's warnings and errors; nil discards them.
	Logger *slog.Logger
	// DynamicConfig overrides the server's dynamic configuration, keyed by
	// Temporal's setting names ("history.transferProcessorMaxPollRPS"),
	// with values of the setting's Go type (int, bool, time.Duration...).
	// A nil value removes firebreak's own setting for the key, so
	// Temporal's default applies. For tests and benchmarks; a value of
	// the wrong type is logged by the server and ignored.
	DynamicConfig map[string]any
}

// Server is a running embedded Temporal server.
type Server struct {
	address   string
	namespace string
	logger    *slog.Logger
	// logLevel is the server logger's threshold, raised to error on Stop:
	// shutting down makes the server's internal workers warn about failed
	// polls and dials, which is expected noise.
	logLevel slog.LevelVar

	temporal temporal.Server
	client   client.Client
	ui       *webUI
	unlock   func()

	stopOnce sync.Once
	stopErr  error
}

// Start starts a Temporal server as Options describe and returns once its
// frontend answers for the namespace, the namespace carries firebreak's
// search attributes, and the UI (if any) is listening. ctx bounds startup
// only; use Stop to shut the server down.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	s := &Server{namespace: opts.Namespace, unlock: func() {}}
	s.logLevel.Set(minLogLevel)
	logger := quietLogger(opts.Logger, &s.logLevel)
	s.logger = logger
	ok := false
	defer func() {
		if !ok {
			_ = s.Stop()
		}
	}()

	// Busy ports are found before anything is created or started, so a
	// clash leaves no files behind and no server noise before the error.
	if err := checkPortsFree(opts); err != nil {
		return nil, err
	}
	var dbPath string
	if !opts.Ephemeral && opts.Postgres == nil {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		unlock, err := lockDataDir(filepath.Join(opts.DataDir, DBFileName+".lock"))
		if err != nil {
			return nil, err
		}
		s.unlock = unlock
		dbPath = filepath.Join(opts.DataDir, DBFileName)
	}

	var st stores
	if opts.Postgres != nil {
		st, err = preparePostgres(opts.Postgres, opts.Namespace, serverLogger{log: logger})
	} else {
		st, err = prepareDatabase(dbPath, opts.Namespace)
	}
	if err != nil {
		return nil, err
	}

	ports, err := pickPorts(opts.IP, opts.Port)
	if err != nil {
		return nil, err
	}
	s.address = ports.frontendAddr()

	srv, err := newTemporalServer(opts, st, ports, logger)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("start Temporal server: %w", err)
	}
	s.temporal = srv

	c, err := s.waitReady(ctx)
	if err != nil {
		return nil, err
	}
	s.client = c

	if err := ensureSearchAttributes(ctx, c, opts.Namespace); err != nil {
		return nil, err
	}

	if opts.UIPort != 0 {
		ui, err := startWebUI(opts.IP, opts.UIPort, s.address, opts.Namespace, logger)
		if err != nil {
			return nil, err
		}
		s.ui = ui
	}
	ok = true
	return s, nil
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Postgres != nil && (o.Ephemeral || o.DataDir != ""):
		return o, errors.New("devserver: with Postgres, leave DataDir and Ephemeral unset: the state is in PostgreSQL")
	case o.Postgres != nil:
		pg, err := o.Postgres.withDefaults()
		if err != nil {
			return o, err
		}
		o.Postgres = pg
	case o.Ephemeral && o.DataDir != "":
		return o, errors.New("devserver: set either DataDir or Ephemeral, not both")
	case !o.Ephemeral && o.DataDir == "":
		return o, errors.New("devserver: DataDir is required (or set Ephemeral for an in-memory server)")
	}
	if o.IP == "" {
		o.IP = DefaultIP
	}
	if net.ParseIP(o.IP) == nil {
		return o, fmt.Errorf("devserver: IP %q is not an IP address", o.IP)
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Port < 0 || o.Port > 65535 {
		return o, fmt.Errorf("devserver: port %d out of range", o.Port)
	}
	if o.UIPort < 0 || o.UIPort > 65535 {
		return o, fmt.Errorf("devserver: UI port %d out of range", o.UIPort)
	}
	for k := range o.DynamicConfig {
		if strings.TrimSpace(k) == "" {
			return o, errors.New("devserver: DynamicConfig has an empty key")
		}
	}
	if o.UIPort != 0 && o.UIPort == o.Port {
		return o, fmt.Errorf("devserver: UI port and frontend port are both %d", o.Port)
	}
	return o, nil
}

// waitReady dials the frontend until it answers for the namespace or ctx
// ends. The returned client stays with the server for its own calls.
func (s *Server) waitReady(ctx context.Context) (client.Client, error) {
	var lastErr error
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := client.DialContext(attemptCtx, s.clientOptions(client.Options{}))
		if err == nil {
			_, err = c.WorkflowService().DescribeNamespace(attemptCtx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
			if err == nil {
				cancel()
				return c, nil
			}
			c.Close()
		}
		cancel()
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("embedded Temporal server at %s did not become ready: %w (last error: %v)", s.address, ctx.Err(), lastErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Address returns the host:port of the frontend gRPC service (loopback when
// it listens on all interfaces).
func (s *Server) Address() string { return s.address }

// Namespace returns the namespace the server registered.
func (s *Server) Namespace() string { return s.namespace }

// UIAddress returns the host:port of the Web UI (loopback when it listens on
// all interfaces), or "" when the UI is disabled.
func (s *Server) UIAddress() string {
	if s.ui == nil {
		return ""
	}
	return s.ui.addr
}

// NewClient dials the server. HostPort is always the server's address;
// Namespace defaults to the server's namespace and Logger to the server's
// (warnings and errors only).
func (s *Server) NewClient(opts client.Options) (client.Client, error) {
	c, err := client.Dial(s.clientOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("dial embedded Temporal server at %s: %w", s.address, err)
	}
	return c, nil
}

func (s *Server) clientOptions(opts client.Options) client.Options {
	opts.HostPort = s.address
	if opts.Namespace == "" {
		opts.Namespace = s.namespace
	}
	if opts.Logger == nil {
		opts.Logger = sdkLogger(s.logger)
	}
	return opts
}

// Stop shuts the UI and the server down and releases the data directory.
// It is safe to call more than once; later calls return the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.logLevel.Set(slog.LevelError)
		var errs []error
		if s.ui != nil {
			if err := s.ui.stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop web UI: %w", err))
			}
		}
		if s.client != nil {
			s.client.Close()
		}
		if s.temporal != nil {
			if err := s.temporal.Stop(); err != nil {
				errs = append(errs, fmt.Errorf("stop Temporal server: %w", err))
			}
		}
		s.unlock()
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// ports holds the listening ports the server uses.
type ports struct {
	ip                                      string
	frontend, http, history, matching, work int
}

// frontendAddr is the address clients dial: the frontend's IP, or loopback
// when it listens on all interfaces.
func (p ports) frontendAddr() string { return p.reachable(p.frontend) }

// httpAddr is the address of the frontend's HTTP API.
func (p ports) httpAddr() string { return p.reachable(p.http) }

func (p ports) reachable(port int) string {
	host := p.ip
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = DefaultIP
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// checkPortsFree reports a chosen frontend or Web UI port that something
// already listens on.
func checkPortsFree(opts Options) error {
	for _, c := range []struct {
		port int
		hint string
	}{
		{opts.Port, "is another Temporal server or firebreak dev running? stop it or pick another port"},
		{opts.UIPort, "web UI: is another firebreak dev or Temporal UI running? pick another UI port"},
	} {
		if c.port == 0 {
			continue
		}
		addr := net.JoinHostPort(opts.IP, strconv.Itoa(c.port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("cannot listen on %s: %w (%s)", addr, err, c.hint)
		}
		_ = ln.Close()
	}
	return nil
}

func pickPorts(ip string, frontend int) (ports, error) {
	p := ports{ip: ip, frontend: frontend}
	// Hold every probe listener until all ports are chosen so the kernel
	// cannot hand out the same port twice.
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			_ = ln.Close()
		}
	}()
	probe := func(host string) (int, error) {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, fmt.Errorf("find a free port on %s: %w", host, err)
		}
		held = append(held, ln)
		return ln.Addr().(*net.TCPAddr).Port, nil
	}
	var err error
	if p.frontend == 0 {
		// A chosen port was checked by checkPortsFree.
		if p.frontend, err = probe(ip); err != nil {
			return p, err
		}
	}
	// The frontend's HTTP API (also used by Nexus) shares its IP.
	if p.http, err = probe(ip); err != nil {
		return p, err
	}
	for _, port := range []*int{&p.history, &p.matching, &p.work} {
		if *port, err = probe(DefaultIP); err != nil {
			return p, err
		}
	}
	return p, nil
}
