package observe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Readiness timings.
const (
	// CheckTimeout bounds one readiness check (a Temporal health call).
	CheckTimeout = 2 * time.Second
	// CheckCacheFor is how long a check's answer is reused, so a scraper
	// or a load balancer polling /readyz does not hammer Temporal.
	CheckCacheFor = 5 * time.Second
)

// Check is one readiness condition: nil when it holds, else an error that
// says what is wrong and what to do. It must return by ctx's deadline.
type Check func(ctx context.Context) error

// Health answers /healthz and /readyz. The process is healthy as long as
// it serves; it is ready once every check has passed (the configuration
// loaded, Temporal reachable). Checks can be added after the server
// starts: /readyz is false until the process has added them all and said
// so with Loaded.
type Health struct {
	// Now is the clock of the checks' cache; nil is time.Now.
	Now func() time.Time

	mu sync.Mutex
	// checks are pointers: each holds its own lock and cache, which an
	// append must not copy while a probe is using them.
	checks []*namedCheck
	loaded bool
}

type namedCheck struct {
	name  string
	check Check

	mu     sync.Mutex
	at     time.Time
	result error
	cached bool
}

// Add adds a readiness check under a short name ("temporal", "config").
func (h *Health) Add(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, &namedCheck{name: name, check: c})
}

// Loaded says every check has been added: until then the process is
// still starting and not ready.
func (h *Health) Loaded() {
	h.mu.Lock()
	h.loaded = true
	h.mu.Unlock()
}

func (h *Health) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Result is the readiness of a process, as /readyz serves it in JSON.
type Result struct {
	Ready bool `json:"ready"`
	// Checks maps each check's name to "ok" or what is wrong.
	Checks map[string]string `json:"checks"`
}

// Ready runs (or reuses, for CheckCacheFor) every check.
func (h *Health) Ready(ctx context.Context) Result {
	h.mu.Lock()
	loaded := h.loaded
	checks := slices.Clone(h.checks)
	h.mu.Unlock()
	res := Result{Ready: loaded, Checks: map[string]string{}}
	if !loaded {
		res.Checks["startup"] = "still starting: the configuration is not loaded or Temporal not dialled yet"
	}
	for _, c := range checks {
		err := c.run(ctx, h.now())
		if err != nil {
			res.Ready = false
			res.Checks[c.name] = err.Error()
			continue
		}
		res.Checks[c.name] = "ok"
	}
	return res
}

func (c *namedCheck) run(ctx context.Context, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached && now.Sub(c.at) < CheckCacheFor && now.Sub(c.at) >= 0 {
		return c.result
	}
	cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	err := c.check(cctx)
	if err == nil && cctx.Err() != nil {
		err = cctx.Err()
	}
	if ctx.Err() != nil {
		// The probe hung up: its answer says nothing of the check, so
		// the next probe runs it again.
		return err
	}
	c.at, c.result, c.cached = now, err, true
	return err
}

// Mux serves /metrics (m), /healthz and /readyz (h). /readyz answers 200
// when ready and 503 otherwise, with a JSON body naming each check.
func Mux(m *Metrics, h *Health) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		res := h.Ready(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !res.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(res)
	})
	return mux
}

// Server is the metrics and health endpoint of a process.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen starts serving Mux(m, h) at addr (host:port; port 0 picks one).
// It fails at once when the address cannot be listened on.
func Listen(addr string, m *Metrics, h *Health) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w; pick a free host:port, e.g. 127.0.0.1:9464", addr, err)
	}
	s := &Server{
		ln:   ln,
		done: make(chan error, 1),
		srv: &http.Server{
			Handler:           Mux(m, h),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       60 * time.Second,
			MaxHeaderBytes:    16 << 10,
		},
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Addr is the address the server listens at.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, letting scrapes in flight finish for up to 5 s.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; err == nil {
		err = serveErr
	}
	return err
}
