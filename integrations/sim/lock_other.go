//go:build !unix

package sim

import (
	"context"
	"os"
)

// lockFile does nothing where flock is missing: there, one process at a
// time may use a journal file.
func lockFile(context.Context, *os.File) (func(), error) { return func() {}, nil }
