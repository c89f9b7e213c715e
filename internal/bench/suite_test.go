package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestReportText: the table gives each figure with its min, max and
// repeats beside its anchor and the ratio, says whether each target was
// met, and a quick run says the Slack burst was paced faster.
func TestReportText(t *testing.T) {
	yes, no := true, false
	r := &Report{Quick: true, Started: time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC), Took: 90 * time.Second,
		Machine: Machine{CPUs: 2, GoVersion: "go1.26.8", OS: "linux/amd64", LoadStart: "3.10 2.00 1.50", LoadEnd: "4.00 2.50 1.60", MemTotal: "24000000 kB"},
		Rows: []Row{
			paired("approval to isolation, in memory", Samples{6 * time.Millisecond, 5 * time.Millisecond, 9 * time.Millisecond}, "bare Update round trip, same server", Samples{4 * time.Millisecond, 5 * time.Millisecond, 4 * time.Millisecond}, "none set", 0, ""),
			paired("signed Slack click to isolation", Samples{13 * time.Millisecond}, "bare Update", Samples{10 * time.Millisecond}, "at most 1.3x", 1.3, ""),
			absolute("Monte Carlo of 1000 runs", Samples{20 * time.Second}, 15*time.Second, "two workers"),
		}}
	r.Rows[0].Met = nil
	if r.Rows[1].Met == nil || !*r.Rows[1].Met || r.Rows[2].Met == nil || *r.Rows[2].Met {
		t.Fatalf("targets judged wrongly: %+v %+v (want %v, %v)", r.Rows[1].Met, r.Rows[2].Met, yes, no)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"firebreak bench (--quick), 2026-12-01 17:00 UTC",
		"2 CPUs, 24000000 kB, linux/amd64, Go go1.26.8; load average 3.10 2.00 1.50 at the start, 4.00 2.50 1.60 at the end",
		"6.00 ms (5.00 ms to 9.00 ms, n=3)",
		"4.00 ms (4.00 ms to 5.00 ms, n=3)",
		"1.50x",
		"1.30x",
		"20.0 s (n=1)",
		"at most 15.0 s",
		"NO",
		"paced faster than Slack's 1/s",
		"Monte Carlo of 1000 runs: two workers.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Rows) != 3 || back.Rows[0].Figure.Median != 6*time.Millisecond {
		t.Errorf("JSON does not read back: %v %+v", err, back.Rows)
	}
}
