package main

import (
	"net"
	"strings"
	"testing"
)

// TestOpsFlagsRefused: a log format that does not exist is a usage error,
// and a metrics address that cannot be listened on stops the command
// before it connects anywhere, naming the flag.
func TestOpsFlagsRefused(t *testing.T) {
	names := []string{"worker", "serve"}
	if embeddedBuild {
		names = append(names, "dev") // the small build refuses dev outright
	}
	for _, name := range names {
		code, _, errOut := runCLI(t, name, "--log-format", "yaml")
		if code != exitUsage || !strings.Contains(errOut, "text, json") {
			t.Errorf("%s --log-format yaml: exit %d, stderr %q; want usage naming text, json", name, code, errOut)
		}
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, _, errOut := runCLI(t, "worker", "--metrics-addr", taken.Addr().String())
	if code != exitInvalid || !strings.Contains(errOut, "--metrics-addr "+taken.Addr().String()) {
		t.Errorf("worker on a taken --metrics-addr: exit %d, stderr %q; want exit 1 naming the flag", code, errOut)
	}
}
