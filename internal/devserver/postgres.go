package devserver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blang/semver/v4"
	"go.temporal.io/server/common/config"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	pgplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/primitives/timestamp"
	pgschema "go.temporal.io/server/schema/postgresql/v12"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// Defaults of a Postgres store.
const (
	// DefaultPostgresPort is PostgreSQL's usual port.
	DefaultPostgresPort = 5432
	// DefaultPostgresDatabase holds workflows and their histories.
	DefaultPostgresDatabase = "temporal"
	// DefaultPostgresVisibilityDatabase holds the listing records
	// (search attributes) of workflows.
	DefaultPostgresVisibilityDatabase = "temporal_visibility"
)

const (
	// postgresShards is the number of history shards on PostgreSQL. It is
	// written into the database on first start and cannot change after:
	// a server started with another count refuses the database.
	postgresShards = 4
	// postgresMaintenanceDB is the database that always exists, reached to
	// create the others.
	postgresMaintenanceDB = "postgres"
	// The schema directories of Temporal's embedded schema files, as
	// temporal-sql-tool's update-schema names them.
	postgresSchema           = "postgresql/v12/temporal"
	postgresVisibilitySchema = "postgresql/v12/visibility"
	// setupHint names what sets the schema up, in errors.
	setupHint = "firebreak dev --setup-schema"
)

// Postgres says where the server keeps its state in PostgreSQL instead of
// SQLite. It is for proving the cluster path (a server process apart from
// its workers, on the database a Temporal cluster uses) and for local
// testing; production runs Temporal's own server images.
type Postgres struct {
	// Host is the PostgreSQL server's host name or IP (default 127.0.0.1).
	Host string
	// Port is its port (default 5432).
	Port int
	// User is the role the server connects as. Required.
	User string
	// Password is the role's password; it never appears in errors or logs.
	Password string
	// Database holds workflows and histories (default "temporal").
	Database string
	// VisibilityDatabase holds workflow listings (default
	// "temporal_visibility").
	VisibilityDatabase string
	// SetupSchema creates both databases if missing and brings their
	// schema to the version this server needs, with Temporal's own schema
	// tool (what `temporal-sql-tool create-database`, `setup-schema -v 0.0`
	// and `update-schema` do). The role then needs CREATEDB, or the
	// databases must exist. Without it, a missing or older schema stops
	// the start with an error that says so.
	SetupSchema bool
}

// String names the store without its password.
func (p Postgres) String() string {
	u := url.URL{Scheme: "postgres", User: url.User(p.User), Host: net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), Path: "/" + p.Database}
	return u.String()
}

func (p *Postgres) withDefaults() (*Postgres, error) {
	q := *p
	if q.Host == "" {
		q.Host = DefaultIP
	}
	if q.Port == 0 {
		q.Port = DefaultPostgresPort
	}
	if q.Database == "" {
		q.Database = DefaultPostgresDatabase
	}
	if q.VisibilityDatabase == "" {
		q.VisibilityDatabase = DefaultPostgresVisibilityDatabase
	}
	switch {
	case q.Port < 0 || q.Port > 65535:
		return nil, fmt.Errorf("devserver: PostgreSQL port %d out of range", q.Port)
	case strings.TrimSpace(q.User) == "":
		return nil, errors.New("devserver: a PostgreSQL user is required")
	case !validDSNPart(q.User, "_.@$-"):
		// Temporal's SQL plugin writes the user into its connection URL
		// unescaped: a ":" moves the rest into the password, and a space
		// or "%" makes the URL fail to parse with the password quoted.
		return nil, fmt.Errorf("devserver: PostgreSQL user %q: use letters, digits and _ . @ $ -", q.User)
	case net.ParseIP(q.Host) == nil && !validDSNPart(q.Host, "_.-"):
		return nil, fmt.Errorf("devserver: PostgreSQL host %q: give a host name or an IP address", q.Host)
	case q.Database == q.VisibilityDatabase:
		return nil, fmt.Errorf("devserver: the PostgreSQL database and the visibility database are both %q; they must differ", q.Database)
	}
	for _, db := range []string{q.Database, q.VisibilityDatabase} {
		if !validDBName(db) {
			return nil, fmt.Errorf("devserver: PostgreSQL database name %q: use letters, digits and underscores, starting with a letter or underscore", db)
		}
	}
	return &q, nil
}

// validDBName reports whether name is a plain SQL identifier, which is
// what Temporal's schema tool can create (it does not quote names).
func validDBName(name string) bool {
	if name == "" || len(name) > 63 {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// validDSNPart reports whether s, at most 63 bytes, is made of letters,
// digits and the characters in extra only.
func validDSNPart(s, extra string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

// sqlConfig is the Temporal SQL store config of one database.
func (p *Postgres) sqlConfig(database string) *config.SQL {
	return &config.SQL{
		PluginName:      pgplugin.PluginName,
		DatabaseName:    database,
		ConnectAddr:     net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		ConnectProtocol: "tcp",
		User:            p.User,
		Password:        p.Password,
		MaxConns:        10,
		MaxIdleConns:    10,
		MaxConnLifetime: time.Hour,
	}
}

// stores are the SQL stores a server runs on.
type stores struct {
	main, visibility *config.SQL
	shards           int32
}

// preparePostgres checks (or, with SetupSchema, sets up) the schema of
// both databases and registers the namespace with firebreak's search
// attributes if it is missing. Errors never carry the password.
func preparePostgres(p *Postgres, namespace string, logger serverlog.Logger) (stores, error) {
	st := stores{main: p.sqlConfig(p.Database), visibility: p.sqlConfig(p.VisibilityDatabase), shards: postgresShards}
	for _, db := range []struct {
		cfg         *config.SQL
		schemaName  string
		wantVersion string
	}{
		{st.main, postgresSchema, pgschema.Version},
		{st.visibility, postgresVisibilitySchema, pgschema.VisibilityVersion},
	} {
		where := Postgres{Host: p.Host, Port: p.Port, User: p.User, Database: db.cfg.DatabaseName}
		rec := &causeLogger{Logger: logger, password: p.Password}
		var err error
		if p.SetupSchema {
			err = setupPostgresSchema(db.cfg, db.schemaName, rec)
		} else {
			err = checkPostgresSchema(db.cfg, db.wantVersion, rec)
		}
		if err != nil {
			if rec.cause != nil && strings.Contains(err.Error(), sqlplugin.DatabaseUnavailableError.Error()) {
				// The SQL layer logs why it could not connect and returns
				// only that it could not: name the reason.
				err = fmt.Errorf("%w (cannot connect: %v)", err, rec.cause)
			}
			return st, fmt.Errorf("the Temporal schema in %s: %w", where, redact(err, p.Password))
		}
	}

	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, SearchAttributes)
	if err != nil {
		return st, fmt.Errorf("namespace %q: %w", namespace, err)
	}
	ns.Detail.Config.Retention = timestamp.DurationPtr(namespaceRetention)
	// Despite the package's name, CreateNamespaces works through the SQL
	// plugin named in the config; a no-op when the namespace exists.
	if err := sqliteschema.CreateNamespaces(st.main, ns); err != nil {
		return st, fmt.Errorf("register namespace %q in %s: %w", namespace, p, redact(err, p.Password))
	}
	return st, nil
}

// setupPostgresSchema creates the database of cfg if it is missing and
// brings its schema to the newest version embedded in the server, as
// temporal-sql-tool's create-database, setup-schema -v 0.0 and
// update-schema do. Each step is a no-op when already done.
func setupPostgresSchema(cfg *config.SQL, schemaName string, logger serverlog.Logger) error {
	maint := *cfg
	if err := sqltool.DoCreateDatabase(&maint, postgresMaintenanceDB, logger); err != nil {
		if strings.Contains(err.Error(), "permission denied") {
			return fmt.Errorf("create the database (the role needs CREATEDB, or create the database beforehand): %w", err)
		}
		return fmt.Errorf("create the database: %w", err)
	}
	conn, err := sqltool.NewConnection(cfg, logger)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return fmt.Errorf("set up the schema version tables: %w", err)
	}
	if err := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: cfg.DatabaseName, SchemaName: schemaName}, logger).Run(); err != nil {
		return fmt.Errorf("update the schema: %w", err)
	}
	return nil
}

// checkPostgresSchema fails unless the database of cfg has the schema at
// version want or later.
func checkPostgresSchema(cfg *config.SQL, want string, logger serverlog.Logger) error {
	conn, err := sqltool.NewConnection(cfg, logger)
	if err != nil {
		return fmt.Errorf("connect: %w (a database that does not exist yet is created by %s)", err, setupHint)
	}
	defer conn.Close()
	got, err := conn.ReadSchemaVersion()
	if err != nil {
		return fmt.Errorf("no schema version found (%v): set the schema up once with %s, or with temporal-sql-tool", err, setupHint)
	}
	gotV, gerr := semver.ParseTolerant(got)
	wantV, werr := semver.ParseTolerant(want)
	if gerr != nil || werr != nil || gotV.LT(wantV) {
		return fmt.Errorf("schema at version %s, this server needs %s: update it with %s, or with temporal-sql-tool update-schema", got, want, setupHint)
	}
	return nil
}

// causeLogger passes records on to Logger with password taken out of
// their tags (the SQL layer logs the errors of its driver, which may quote
// the connection URL) and keeps the error of the last one logged at error
// level.
type causeLogger struct {
	serverlog.Logger
	password string
	cause    any
}

func (l *causeLogger) Debug(msg string, tags ...tag.Tag) { l.Logger.Debug(msg, l.clean(tags)...) }
func (l *causeLogger) Info(msg string, tags ...tag.Tag)  { l.Logger.Info(msg, l.clean(tags)...) }
func (l *causeLogger) Warn(msg string, tags ...tag.Tag)  { l.Logger.Warn(msg, l.clean(tags)...) }

func (l *causeLogger) Error(msg string, tags ...tag.Tag) {
	tags = l.clean(tags)
	for _, t := range tags {
		if t.Key() == "error" && t.Value() != nil {
			l.cause = t.Value()
		}
	}
	l.Logger.Error(msg, tags...)
}

// clean replaces each tag whose value shows the password with the value's
// text, redacted.
func (l *causeLogger) clean(tags []tag.Tag) []tag.Tag {
	if l.password == "" {
		return tags
	}
	out := tags
	for i, t := range tags {
		text := fmt.Sprint(t.Value())
		if clean := redact(errors.New(text), l.password).Error(); clean != text {
			if &out[0] == &tags[0] {
				out = slices.Clone(tags)
			}
			out[i] = tag.NewStringTag(t.Key(), clean)
		}
	}
	return out
}

// redact replaces password in err's text, in case a driver quotes its
// connection string.
func redact(err error, password string) error {
	if err == nil || password == "" {
		return err
	}
	msg := err.Error()
	clean := msg
	for _, p := range []string{password, url.QueryEscape(password), url.PathEscape(password)} {
		clean = strings.ReplaceAll(clean, p, "REDACTED")
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}
