package main

import (
	"os"

	"github.com/spf13/cobra"
)

// envPostgresPassword names the variable `firebreak dev --db postgres`
// reads the role's password from; there is no flag, so the password stays
// out of shell history and process listings.
const envPostgresPassword = "FIREBREAK_POSTGRES_PASSWORD"

// Values of dev's --db flag.
const (
	dbSQLite   = "sqlite"
	dbPostgres = "postgres"
)

// postgresFlags are dev's flags that put the server's state in PostgreSQL.
type postgresFlags struct {
	db                          string
	host, user, database, visDB string
	port                        int
	setupSchema                 bool
}

const devPostgresHelp = `
Temporal on PostgreSQL (--db postgres) keeps the server's state in two
PostgreSQL databases instead of the SQLite file, so the server runs as its
own process on the database a Temporal cluster uses, with workers started
apart ('firebreak worker', TEMPORAL_ADDRESS). It is for proving that path
and for local testing; production runs Temporal's official server images
(see docker-compose.yml). The password is read from
$` + envPostgresPassword + ` only, never from a flag, and appears
in no log or error. --setup-schema creates the databases if missing (the
role needs CREATEDB) and sets up or updates their schema with Temporal's
own schema tool, as temporal-sql-tool does; without it, a missing or older
schema stops the start. Run one dev server per database.`

func (f *postgresFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", dbSQLite, "where the server keeps its state: sqlite (a file in --data-dir) or postgres (for testing the cluster path)")
	fl.StringVar(&f.host, "postgres-host", defaultPostgresHost, "with --db postgres: the PostgreSQL host")
	fl.IntVar(&f.port, "postgres-port", defaultPostgresPort, "with --db postgres: the PostgreSQL port")
	fl.StringVar(&f.user, "postgres-user", "temporal", "with --db postgres: the role to connect as (password: $"+envPostgresPassword+")")
	fl.StringVar(&f.database, "postgres-db", defaultPostgresDatabase, "with --db postgres: the database of workflows and histories")
	fl.StringVar(&f.visDB, "postgres-visibility-db", defaultPostgresVisibilityDatabase, "with --db postgres: the database of workflow listings")
	fl.BoolVar(&f.setupSchema, "setup-schema", false, "with --db postgres: create the databases if missing and set up or update their Temporal schema")
}

// options returns the Postgres store the flags name, nil for SQLite, or a
// usage error.
func (f *postgresFlags) options(cmd *cobra.Command) (*embeddedPostgres, error) {
	switch f.db {
	case dbSQLite:
		for _, name := range []string{"postgres-host", "postgres-port", "postgres-user", "postgres-db", "postgres-visibility-db", "setup-schema"} {
			if cmd.Flags().Changed(name) {
				return nil, usageErrorf("--%s needs --db postgres", name)
			}
		}
		return nil, nil
	case dbPostgres:
		return &embeddedPostgres{
			Host: f.host, Port: f.port, User: f.user, Password: os.Getenv(envPostgresPassword),
			Database: f.database, VisibilityDatabase: f.visDB, SetupSchema: f.setupSchema,
		}, nil
	default:
		return nil, usageErrorf("--db %q: want %s or %s", f.db, dbSQLite, dbPostgres)
	}
}
