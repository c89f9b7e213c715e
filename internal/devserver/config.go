package devserver

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"time"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/primitives/timestamp"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const (
	clusterName = "active"
	// storeName names the store in the server's config; on SQLite it also
	// holds the listings, on PostgreSQL visibilityStoreName does.
	storeName           = "sqlite-default"
	visibilityStoreName = "visibility"
	// namespaceRetention is how long the dev server keeps closed workflows of
	// a namespace it creates, long enough to export an incident timeline the
	// week after.
	namespaceRetention = 7 * 24 * time.Hour
	// timerFloor replaces Temporal's default one-second timer floor
	// (history.timerProcessorMaxTimeShift) so short timers fire promptly.
	timerFloor = 10 * time.Millisecond
	// longPollExpiry replaces Temporal's 20s history long-poll expiry
	// (history.longPollExpirationInterval): the longest a client waiting
	// on a workflow can miss that it changed. See dynamicConfig.
	longPollExpiry = 250 * time.Millisecond
)

// sqlitePragmas tune the SQLite file. WAL with synchronous=FULL keeps every
// committed transaction across a crash or power loss (what "kill the server
// at any point" needs) at one fsync per commit, instead of the rollback
// journal's two or more.
var sqlitePragmas = map[string]string{
	"journal_mode": "wal",
	"synchronous":  "2", // FULL
	"busy_timeout": "10000",
}

// prepareDatabase returns the stores of the SQLite file at dbPath ("" = in
// memory), creating the schema for a new file and registering the
// namespace with firebreak's search attributes if it is missing.
func prepareDatabase(dbPath, namespace string) (stores, error) {
	cfg, err := prepareSQLite(dbPath, namespace)
	if err != nil {
		return stores{}, err
	}
	// One file holds workflows and listings, on a single shard.
	return stores{main: cfg, visibility: cfg, shards: 1}, nil
}

func prepareSQLite(dbPath, namespace string) (*config.SQL, error) {
	cfg := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if dbPath == "" {
		// A shared-cache in-memory database, private to this server by name.
		cfg.DatabaseName = "firebreak-" + strconv.FormatUint(rand.Uint64(), 36)
		cfg.ConnectAttributes["mode"] = "memory"
		cfg.ConnectAttributes["cache"] = "shared"
	} else {
		cfg.DatabaseName = dbPath
		cfg.ConnectAttributes["mode"] = "rwc"
		for k, v := range sqlitePragmas {
			cfg.ConnectAttributes[k] = v
		}
		fresh, err := isNewDatabase(dbPath)
		if err != nil {
			return nil, err
		}
		if fresh {
			if err := sqliteschema.SetupSchema(cfg); err != nil {
				return nil, fmt.Errorf("create Temporal schema in %s: %w", dbPath, err)
			}
		}
	}

	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", namespace, err)
	}
	ns.Detail.Config.Retention = timestamp.DurationPtr(namespaceRetention)
	// A no-op when the namespace already exists; search attributes missing
	// from an older file are added through the operator API after start.
	if err := sqliteschema.CreateNamespaces(cfg, ns); err != nil {
		return nil, fmt.Errorf("register namespace %q: %w", namespace, err)
	}
	return cfg, nil
}

// isNewDatabase reports whether dbPath needs a schema: it does not exist, or
// is empty (left behind by a crash before the schema was written).
func isNewDatabase(dbPath string) (bool, error) {
	st, err := os.Stat(dbPath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("check database file: %w", err)
	case st.IsDir():
		return false, fmt.Errorf("database path %s is a directory", dbPath)
	}
	return st.Size() == 0, nil
}

// queuePollRPS is how often each of the history service's task queues
// (transfer, timer, visibility) may read new tasks from the store, instead
// of Temporal's 20 per shard. See dispatchTuning.
const queuePollRPS = 1000

// dispatchTuning holds the settings that take Temporal's pacing off task
// dispatch. Every workflow step becomes history tasks (schedule this
// activity, this workflow task, fire this timer, update this listing) that
// the history service reads back from the store and hands on. Temporal lets
// each shard's queues read at most 20 times a second, sized for a cluster
// with hundreds of shards sharing one database; the embedded server has a
// single shard, so that limit is the whole server's, and a chain of steps
// waits about 50ms for a read slot at each one (50 no-op steps: 2.5s).
//
// Why it is safe on SQLite: the limit caps how often a queue reads, not
// how much work there is. A queue reads only when new tasks were written
// (or a timer falls due), a read is one indexed range query of at most a
// batch of tasks, and every task does the same writes whether it is read
// 50ms later or at once; so raising the cap adds no writes and, with
// persistence left at its single SQLite connection (MaxConns unset),
// cannot add a second writer or SQLITE_BUSY. Left at Temporal's defaults:
// the outbound queue (Nexus and callbacks, which firebreak does not use),
// the ack intervals (how often queue progress is saved: lowering them only
// adds writes), persistence concurrency, and the task-queue partition
// count (fewer partitions would strand tasks already waiting in the
// dropped ones of an existing data directory; no delay was traced to
// partitions).
func dispatchTuning() map[dynamicconfig.Key]any {
	return map[dynamicconfig.Key]any{
		// Activity and workflow tasks on their way to matching, and
		// workflow starts, signals and closes.
		dynamicconfig.TransferProcessorMaxPollRPS.Key(): queuePollRPS,
		// Timers, timeouts and retry backoffs.
		dynamicconfig.TimerProcessorMaxPollRPS.Key(): queuePollRPS,
		// Listing records (search attributes such as FirebreakState), so
		// `firebreak list` and the Web UI catch up without a lag.
		dynamicconfig.VisibilityProcessorMaxPollRPS.Key(): queuePollRPS,
	}
}

// DispatchTuning returns the dynamic config keys (lower-cased, as Temporal
// stores them) and values the embedded server sets to take Temporal's
// pacing off task dispatch (see docs/operations.md). Benchmarks set each
// key to nil in Options.DynamicConfig to compare with Temporal's defaults.
func DispatchTuning() map[string]any {
	out := map[string]any{}
	for k, v := range dispatchTuning() {
		out[k.String()] = v
	}
	return out
}

// dynamicConfig is the server's dynamic configuration: firebreak's own
// settings, then overrides (keys are case-insensitive, as in Temporal; a
// nil value drops the key, so Temporal's default applies).
func dynamicConfig(overrides map[string]any) dynamicconfig.StaticClient {
	dc := baseDynamicConfig()
	for k, v := range dispatchTuning() {
		dc[k] = v
	}
	for k, v := range overrides {
		if v == nil {
			delete(dc, dynamicconfig.MakeKey(k))
			continue
		}
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc
}

// baseDynamicConfig is firebreak's dynamic configuration apart from
// dispatchTuning.
func baseDynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// Scheduled tasks (timers, timeouts, retries) are never due earlier
		// than now+maxTimeShift, so the 1s default is a floor on every timer.
		// One process with one clock needs no such margin.
		dynamicconfig.TimerProcessorMaxTimeShift.Key(): timerFloor,
		// A client waiting for a workflow's result (or following its
		// history) long-polls the history service, which wakes the poll
		// when the workflow changes. Those wake-ups are dropped when two
		// changes come closer together than the poll can take them (the
		// server keeps one per waiter and discards the rest), so under
		// load the close of a workflow can go unnoticed until the poll
		// expires: 20s by default, seen as a 100ms timer workflow that
		// "took" 20s although it had completed after 0.3s. The client
		// polls again at once and finds the result, so a short expiry
		// bounds such a stall; each waiter costs one cheap, cached read
		// per interval. Update waits use the same interval as a soft
		// timeout, and the SDK resends the update until it completes.
		dynamicconfig.HistoryLongPollExpirationInterval.Key(): longPollExpiry,
		// Responders answer prompts through Workflow Update (with
		// validators). Both are on by default in v1.32; pinned here so a
		// change of default cannot silently break approvals.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		// The Web UI and `firebreak status` list workflows; the default of 10
		// visibility requests per second is easy to hit from a browser.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
}

// newTemporalServer builds (but does not start) the server.
func newTemporalServer(opts Options, st stores, p ports, logger *slog.Logger) (temporal.Server, error) {
	frontend := p.frontendAddr()
	local := func(port int) string { return net.JoinHostPort(DefaultIP, strconv.Itoa(port)) }

	cfg := &config.Config{}
	cfg.Global.Membership.MaxJoinDuration = 30 * time.Second
	cfg.Global.Membership.BroadcastAddress = DefaultIP
	cfg.Persistence = config.Persistence{
		DefaultStore:     storeName,
		VisibilityStore:  storeName,
		NumHistoryShards: st.shards,
		DataStores:       map[string]config.DataStore{storeName: {SQL: st.main}},
	}
	if st.visibility != st.main {
		cfg.Persistence.VisibilityStore = visibilityStoreName
		cfg.Persistence.DataStores[visibilityStoreName] = config.DataStore{SQL: st.visibility}
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend, HTTPAddress: p.httpAddr()},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	cfg.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: p.frontend, HTTPPort: p.http, BindOnIP: opts.IP}},
		string(primitives.HistoryService):  {RPC: config.RPC{GRPCPort: p.history, BindOnIP: DefaultIP}},
		string(primitives.MatchingService): {RPC: config.RPC{GRPCPort: p.matching, BindOnIP: DefaultIP}},
		string(primitives.WorkerService):   {RPC: config.RPC{GRPCPort: p.work, BindOnIP: DefaultIP}},
	}
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The server's own system workers dial the frontend through this.
	cfg.PublicClient.HostPort = frontend

	slogger := serverLogger{log: logger}
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, slogger)
	if err != nil {
		return nil, fmt.Errorf("claim mapper: %w", err)
	}

	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		// Static membership: one process, no gossip ports to open.
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(frontend),
			primitives.HistoryService:  static.SingleLocalHost(local(p.history)),
			primitives.MatchingService: static.SingleLocalHost(local(p.matching)),
			primitives.WorkerService:   static.SingleLocalHost(local(p.work)),
		}),
		temporal.WithLogger(slogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig(opts.DynamicConfig)),
	)
	if err != nil {
		return nil, fmt.Errorf("configure Temporal server: %w", err)
	}
	return srv, nil
}
