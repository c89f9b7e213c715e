// Package e2e holds firebreak's end-to-end tests: incidents run on the real
// embedded Temporal server (internal/devserver), answered through the same
// client path as the CLI (internal/incident), with workers in process and as
// real `firebreak worker` subprocesses that the tests kill with SIGKILL.
//
// The package has no code of its own besides this comment; everything is in
// the _test.go files. All traffic stays on loopback.
package e2e
