package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// serverModules are the module paths only the embedded server brings in.
var serverModules = []string{"go.temporal.io/server", "github.com/temporalio/ui-server"}

// goCommand returns the go command, skipping the test when there is none
// (a test binary copied elsewhere), except under CI=true, where it fails.
func goCommand(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to list the build's packages: %v", err)
		}
		t.Skipf("no go command to list the build's packages: %v", err)
	}
	return goBin
}

// TestNoEmbeddedBuild checks that the noembedded build of firebreak (the
// container image's) links nothing of the Temporal server or its Web UI,
// and that the full build does, so the check looks at the right list.
func TestNoEmbeddedBuild(t *testing.T) {
	goBin := goCommand(t)
	deps := func(args ...string) []string {
		t.Helper()
		cmd := exec.Command(goBin, append([]string{"list", "-deps"}, append(args, ".")...)...)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("go list -deps %v: %v\n%s", args, err, stderr)
		}
		return strings.Fields(string(out))
	}
	server := func(pkgs []string) []string {
		var found []string
		for _, p := range pkgs {
			for _, m := range serverModules {
				if p == m || strings.HasPrefix(p, m+"/") {
					found = append(found, p)
				}
			}
		}
		return found
	}
	if found := server(deps("-tags", "noembedded")); len(found) > 0 {
		t.Errorf("go build -tags noembedded ./cmd/firebreak links %d packages of the embedded server, such as %s: a file of cmd/firebreak that imports internal/devserver, internal/demo or the server needs //go:build !noembedded and a twin in embedded_none.go", len(found), found[0])
	}
	if found := server(deps()); len(found) == 0 {
		t.Errorf("the full build lists no package of %v: the check above would pass for the wrong reason", serverModules)
	}
}
