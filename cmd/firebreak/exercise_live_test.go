package main

import (
	"strings"
	"testing"
)

// TestExerciseLiveRefusedBeforeStart: what a live run cannot do is refused
// before anything is sent. TEMPORAL_ADDRESS points at a port nobody
// serves, so a run that got as far as the server would fail otherwise.
func TestExerciseLiveRefusedBeforeStart(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"inject sets simulated state", []string{"exercise", "run", "plant3_not_safe_ttx", "--live"}, exitInvalid,
			[]string{"cannot run live", `inject "pig_launch"`, "register 40001 on modbus.plant3_plc reads 0", "without --live"}},
		{"time scale zero", []string{"exercise", "run", "plant3_ransomware_ttx", "--live", "--time-scale", "0"}, exitUsage,
			[]string{"--time-scale must be greater than 0 and at most 3600"}},
		{"time scale too large", []string{"exercise", "run", "plant3_ransomware_ttx", "--live", "--time-scale", "3601"}, exitUsage,
			[]string{"at most 3600"}},
		{"time scale NaN", []string{"exercise", "run", "plant3_ransomware_ttx", "--live", "--time-scale", "NaN"}, exitUsage,
			[]string{"--time-scale must be"}},
		{"time scale without --live", []string{"exercise", "run", "plant3_ransomware_ttx", "--time-scale", "60"}, exitUsage,
			[]string{"add --live"}},
		{"Monte Carlo with --live", []string{"exercise", "run", "plant3_ransomware_ttx", "--live", "--runs", "10"}, exitUsage,
			[]string{"--runs"}},
		{"json with --live", []string{"exercise", "run", "plant3_ransomware_ttx", "--live", "--format", "json"}, exitUsage,
			[]string{"--format json"}},
		{"a key file that is not there", []string{"exercise", "run", "plant3_ransomware_ttx", "--live", "--key-file", "testdata/no-such.key"}, exitUsage,
			[]string{"no-such.key"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(out, "live as incident") {
				t.Errorf("an incident was started:\n%s", out)
			}
		})
	}
}
