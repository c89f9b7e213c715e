//go:build !noembedded

package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/internal/devserver"
)

// This file and demo_cmd.go are the full build's side of the noembedded
// build tag; embedded_none.go is the other. Only these files may import
// internal/devserver, internal/demo or anything else that links the
// Temporal server (go.temporal.io/server, the Web UI server):
// TestNoEmbeddedBuild checks it.

// embeddedOptions configures the embedded server that dev starts.
type embeddedOptions = devserver.Options

// embeddedPostgres is the PostgreSQL store dev --db postgres puts the
// server's state in.
type embeddedPostgres = devserver.Postgres

// embeddedDBFile is the name of the embedded server's SQLite file inside
// its data directory.
const embeddedDBFile = devserver.DBFileName

// Defaults of dev's PostgreSQL flags.
const (
	defaultPostgresHost               = devserver.DefaultIP
	defaultPostgresPort               = devserver.DefaultPostgresPort
	defaultPostgresDatabase           = devserver.DefaultPostgresDatabase
	defaultPostgresVisibilityDatabase = devserver.DefaultPostgresVisibilityDatabase
)

// startEmbedded starts the embedded Temporal server.
func startEmbedded(ctx context.Context, opts embeddedOptions) (*devserver.Server, error) {
	return devserver.Start(ctx, opts)
}

// embeddedBuild is true in the build with the embedded server.
const embeddedBuild = true

// embeddedOnly returns cmd as it is: this build can run it.
func embeddedOnly(cmd *cobra.Command) *cobra.Command { return cmd }
