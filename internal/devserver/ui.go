package devserver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	uiapi "github.com/temporalio/ui-server/v2/server/api"
	uiauth "github.com/temporalio/ui-server/v2/server/auth"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uicors "github.com/temporalio/ui-server/v2/server/cors"
	uicsrf "github.com/temporalio/ui-server/v2/server/csrf"
	uiheaders "github.com/temporalio/ui-server/v2/server/headers"
	uiroute "github.com/temporalio/ui-server/v2/server/route"
	uiassets "github.com/temporalio/ui-server/v2/ui"
)

// webUI serves the Temporal Web UI in-process.
//
// ui-server's own Server.Start binds the port itself and, if that fails,
// calls os.Exit through echo's logger; it also cannot serve on a listener we
// opened. So the handler is assembled here from ui-server's exported route and
// middleware packages (the same stack its NewServer builds) and served by a
// plain http.Server on a listener we own: a busy port is an ordinary error
// and Stop shuts it down cleanly.
type webUI struct {
	srv  *http.Server
	addr string
	done chan struct{}
}

// startWebUI listens on host:port and serves the UI for the Temporal
// frontend at frontend.
func startWebUI(host string, port int, frontend, namespace string, logger *slog.Logger) (*webUI, error) {
	cfg := &uiconfig.Config{
		TemporalGRPCAddress: frontend,
		Host:                host,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		// Served over plain http on a local address.
		CORS:             uiconfig.CORS{CookieInsecure: true},
		HideLogs:         true,
		DisableNewsFetch: true,
		// The release check calls out to the internet, which plant networks
		// usually do not have.
		NotifyOnNewVersion: false,
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("web UI config: %w", err)
	}
	provider, err := uiconfig.NewConfigProviderWithRefresh(cfg)
	if err != nil {
		return nil, fmt.Errorf("web UI config: %w", err)
	}
	handler, err := uiHandler(cfg, provider)
	if err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return nil, fmt.Errorf("web UI: listen on %s: %w (is another firebreak dev or Temporal UI running? pick another UI port)",
			net.JoinHostPort(host, fmt.Sprint(port)), err)
	}
	u := &webUI{
		srv: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
		addr: reachableAddr(ln.Addr().(*net.TCPAddr)),
		done: make(chan struct{}),
	}
	go func() {
		defer close(u.done)
		if err := u.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("web UI stopped", "error", err)
		}
	}()
	return u, nil
}

// uiHandler builds the same route and middleware stack as ui-server's
// NewServer, without its logging middleware.
func uiHandler(cfg *uiconfig.Config, provider *uiconfig.ConfigProviderWithRefresh) (http.Handler, error) {
	apiMiddleware := []uiapi.Middleware{
		uiheaders.WithForwardHeaders([]string{uiauth.AuthorizationExtrasHeader, "Caller-Type"}),
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Use(middleware.Recover())
	e.Use(middleware.Gzip())
	e.Use(uicors.CORSMiddleware(uicors.CORSConfig{
		AllowHeaders: []string{
			echo.HeaderOrigin, echo.HeaderContentType, echo.HeaderAccept,
			echo.HeaderXCSRFToken, echo.HeaderAuthorization, uiauth.AuthorizationExtrasHeader,
			"Caller-Type",
		},
		AllowCredentials: true,
		ConfigProvider:   provider,
	}))
	e.Use(middleware.Secure())
	cookieSecure := !cfg.CORS.CookieInsecure
	e.Use(uicsrf.EnsureTokenCookie(cookieSecure))
	e.Use(middleware.CSRFWithConfig(uicsrf.MiddlewareConfig(provider, cookieSecure)))
	e.Pre(uiroute.PublicPath(cfg.PublicPath))

	uiroute.SetHealthRoute(e)
	if err := uiroute.SetAPIRoutes(e, provider, apiMiddleware); err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	// Auth is disabled, so this only checks the config.
	uiroute.SetAuthRoutes(e, provider)

	assets, err := uiassets.Assets()
	if err != nil {
		return nil, fmt.Errorf("web UI assets: %w", err)
	}
	assets, err = fs.Sub(assets, "local")
	if err != nil {
		return nil, fmt.Errorf("web UI assets: %w", err)
	}
	if err := uiroute.SetUIRoutes(e, cfg.PublicPath, assets, provider); err != nil {
		return nil, fmt.Errorf("web UI routes: %w", err)
	}
	uiroute.SetRenderRoute(e, "/")
	return e, nil
}

// reachableAddr is addr with an unspecified IP (listening on all
// interfaces) replaced by loopback, so it can be shown as a URL.
func reachableAddr(addr *net.TCPAddr) string {
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = DefaultIP
	}
	return net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// stop shuts the UI down, waiting briefly for in-flight requests.
func (u *webUI) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := u.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, u.srv.Close())
	}
	<-u.done
	return err
}
