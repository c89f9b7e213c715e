// Package modbustest runs, for tests, a real third-party Modbus TCP
// server: the npm package modbus-serial's ServerTCP, with the fixed
// registers integrations/modbus/testdata/server.js sets (holding register
// 40001 reads 1, 40002 reads 0, 40003 reads 65535, 40010 reads 4242;
// addresses from offset 100 up answer "illegal data address").
package modbustest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// InstallHint says how to get the server the tests run.
const InstallHint = "install node and run `npm --prefix integrations/modbus/testdata ci --omit=optional --ignore-scripts`"

// testdata is integrations/modbus/testdata, found from this file's place.
func testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// Start runs the modbus-serial server on 127.0.0.1 and returns the
// address it listens on; t.Cleanup stops it. It skips the test when node
// or the package is missing, except under CI=true, where it fails.
func Start(t testing.TB) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI must %s", what, InstallHint)
		}
		t.Skipf("%s: to run this test, %s", what, InstallHint)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	dir := testdata()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "modbus-serial", "package.json")); err != nil {
		missing("the npm package modbus-serial is not installed in integrations/modbus/testdata")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "server.js")
	cmd.Dir = dir
	// The server exits when its standard input closes.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		cancel()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if port, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- port
				break
			}
		}
		close(ready)
	}()
	// Bounded so a server that never starts fails the test rather than
	// hanging it; the test waits for the ready line, not for this.
	select {
	case port, ok := <-ready:
		if !ok {
			t.Fatalf("the modbus-serial server exited before it was ready: %s", stderr.String())
		}
		return "127.0.0.1:" + port
	case <-time.After(30 * time.Second):
		t.Fatalf("the modbus-serial server printed no ready line in 30s: %s", stderr.String())
	}
	return ""
}
