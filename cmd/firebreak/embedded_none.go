//go:build noembedded

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
)

// This file is the noembedded build's side of embedded.go and demo_cmd.go:
// a firebreak without the embedded Temporal server (the container image's
// build, `go build -tags noembedded ./cmd/firebreak`). Commands that need
// the server are still listed, so that scripts and people who type them
// learn why they do not run here and what to use instead.

// noEmbeddedHelp is what a command that needs the embedded server says in
// this build, in its help and when it is run.
const noEmbeddedHelp = `this build of firebreak has no embedded Temporal server (it was built with
-tags noembedded, as the container image is). Against a Temporal cluster or
Temporal Cloud, run 'firebreak worker' and 'firebreak serve' with
TEMPORAL_ADDRESS (and TEMPORAL_NAMESPACE, TLS or TEMPORAL_API_KEY) set; see
docs/operations.md. For 'firebreak dev' and 'firebreak demo', use the full
build (go build ./cmd/firebreak)`

// embeddedOptions mirrors the fields of devserver.Options that dev sets, so
// that dev's code compiles in this build; it is never used to start
// anything.
type embeddedOptions struct {
	DataDir  string
	Port     int
	UIPort   int
	Logger   *slog.Logger
	Postgres *embeddedPostgres
}

// embeddedPostgres mirrors devserver.Postgres, the store of dev --db
// postgres, so that dev's flags compile (and show in its help) in this
// build.
type embeddedPostgres struct {
	Host, User, Password, Database, VisibilityDatabase string
	Port                                               int
	SetupSchema                                        bool
}

// String names the store without its password.
func (p embeddedPostgres) String() string {
	return "postgres://" + p.User + "@" + p.Host + "/" + p.Database
}

// Defaults of dev's PostgreSQL flags, as the full build has them.
const (
	defaultPostgresHost               = "127.0.0.1"
	defaultPostgresPort               = 5432
	defaultPostgresDatabase           = "temporal"
	defaultPostgresVisibilityDatabase = "temporal_visibility"
)

// embeddedServer is what dev uses of the embedded server.
type embeddedServer interface {
	Address() string
	Namespace() string
	UIAddress() string
	NewClient(client.Options) (client.Client, error)
	Stop()
}

// embeddedDBFile is the name of the embedded server's SQLite file inside
// its data directory.
const embeddedDBFile = "temporal.db"

// startEmbedded refuses: there is no server in this build.
func startEmbedded(context.Context, embeddedOptions) (embeddedServer, error) {
	return nil, errors.New(noEmbeddedHelp)
}

// embeddedBuild is false: this build has no embedded server.
const embeddedBuild = false

// embeddedOnly keeps cmd's flags and help, says in both that this build
// cannot run it, and makes running it say so and what to use instead,
// before anything else happens.
func embeddedOnly(cmd *cobra.Command) *cobra.Command {
	cmd.Short += " (not in this build)"
	cmd.Long = "Not in this build: " + noEmbeddedHelp + ".\n\n" + cmd.Long
	cmd.Example = ""
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return &exitError{code: exitInvalid, err: fmt.Errorf("firebreak %s: %s", cmd.Name(), noEmbeddedHelp)}
	}
	return cmd
}

// newBenchCmd is the bench command of this build, which cannot run it.
func newBenchCmd() *cobra.Command {
	return missingEmbedded("bench", "Measure firebreak on this machine, each figure beside its anchor")
}

// newDemoCmd is the demo command of this build, which cannot run it.
func newDemoCmd() *cobra.Command {
	return missingEmbedded("demo", "Run the ransomware playbook end to end with scripted responders")
}

// missingEmbedded makes a command that exists in the full build only: its
// help, and running it with any arguments, say why and what to use.
func missingEmbedded(use, short string) *cobra.Command {
	return embeddedOnly(&cobra.Command{
		Use:                use,
		Short:              short,
		Args:               cobra.ArbitraryArgs,
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
	})
}
