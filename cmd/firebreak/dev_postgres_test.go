//go:build !noembedded

package main

import "testing"

// TestDevPostgresUsage: dev's PostgreSQL flags are checked before anything
// starts (in the full build; the small one refuses dev altogether).
func TestDevPostgresUsage(t *testing.T) {
	for _, args := range [][]string{
		{"dev", "--db", "mysql"},
		{"dev", "--postgres-port", "5433"},
		{"dev", "--setup-schema"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
