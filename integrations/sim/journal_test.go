package sim_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
)

func conduitReq(key string) activities.ConduitRequest {
	return activities.ConduitRequest{
		Key: key, Conduit: activities.Conduit{ID: "dmz_to_control", From: "plant3_dmz", To: "plant3_control"}, Enforcement: "nftables.plant3_gw",
	}
}

func cut(t *testing.T, tw *sim.Twin, key string) {
	t.Helper()
	_, err := tw.Cut(context.Background(), conduitReq(key))
	if err != nil {
		t.Fatal(err)
	}
}

func keys(es []sim.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

func openJournal(t *testing.T, path string) *sim.Journal {
	t.Helper()
	j, err := sim.OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func TestJournalDedupSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j := openJournal(t, path)
	tw := sim.New(j)
	cut(t, tw, "inc-1/step.isolate/cut/a")
	cut(t, tw, "inc-1/step.isolate/cut/a")
	cut(t, tw, "inc-1/step.isolate/cut/b")
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j2 := openJournal(t, path)
	tw2 := sim.New(j2)
	cut(t, tw2, "inc-1/step.isolate/cut/a")
	cut(t, tw2, "inc-1/step.isolate/cut/c")
	if got, want := keys(j2.Effects()), []string{"inc-1/step.isolate/cut/a", "inc-1/step.isolate/cut/b", "inc-1/step.isolate/cut/c"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("effects %v, want %v", got, want)
	}
	att := j2.Attempts()
	if len(att) != 5 {
		t.Fatalf("%d attempts, want 5", len(att))
	}
	if att[3].Effect || att[3].Seq != 4 || len(att[3].Result) == 0 {
		t.Errorf("repeat after reopen: %+v", att[3])
	}
	fromFile, err := sim.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromFile) != 5 {
		t.Errorf("ReadJournal gave %d entries, want 5", len(fromFile))
	}
}

func TestJournalClosed(t *testing.T) {
	j := sim.NewJournal()
	tw := sim.New(j)
	j.Close()
	_, err := tw.Contain(context.Background(), activities.ContainRequest{Key: "k", Host: "h"})
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("call on a closed journal: %v", err)
	}
}

func TestJournalTornLastLine(t *testing.T) {
	for _, torn := range []string{`{"seq":3,"op":"isolator.cut","key":"inc-1/x`, "{\"seq\":3,\"op\n"} {
		path := filepath.Join(t.TempDir(), "journal.jsonl")
		j := openJournal(t, path)
		tw := sim.New(j)
		cut(t, tw, "k1")
		cut(t, tw, "k2")
		j.Close()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(torn)
		f.Close()

		if es, err := sim.ReadJournal(path); err != nil || len(es) != 2 {
			t.Fatalf("ReadJournal with a torn last line: %d entries, %v", len(es), err)
		}
		j2 := openJournal(t, path)
		tw2 := sim.New(j2)
		cut(t, tw2, "k2") // repeat
		cut(t, tw2, "k3") // new; must land on a clean line
		j2.Close()
		es, err := sim.ReadJournal(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(keys(es), " "); got != "k1 k2 k2 k3" {
			t.Errorf("entries after the torn line was cut: %s", got)
		}
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), `"op\n`) || strings.Contains(string(data), "inc-1/x") {
			t.Errorf("the torn line is still in the file:\n%s", data)
		}
	}
}

func TestJournalDamagedMiddleLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(path, []byte("{\"seq\":1}\nnot json\n{\"seq\":3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.OpenJournal(path); err == nil || !strings.Contains(err.Error(), "line 2 is damaged") {
		t.Errorf("open: %v", err)
	}
	if _, err := sim.ReadJournal(path); err == nil {
		t.Error("ReadJournal accepted a damaged middle line")
	}
}

// TestJournalConcurrent has goroutines race on the same keys; run with
// -race. Every key must get exactly one effect and every call an attempt.
func TestJournalConcurrent(t *testing.T) {
	for _, name := range []string{"memory", "file"} {
		t.Run(name, func(t *testing.T) {
			j := sim.NewJournal()
			if name == "file" {
				j = openJournal(t, filepath.Join(t.TempDir(), "journal.jsonl"))
			}
			tw := sim.New(j)
			const workers, keysN = 8, 5
			var wg sync.WaitGroup
			errs := make(chan error, workers*keysN)
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := 0; k < keysN; k++ {
						key := fmt.Sprintf("inc-1/step.contain_hosts[h%d]", k)
						res, err := tw.Contain(context.Background(), activities.ContainRequest{Key: key, Host: fmt.Sprintf("h%d", k), Integration: "webhook.edr"})
						if err == nil && !res.Contained {
							err = fmt.Errorf("%s not contained", key)
						}
						if err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := len(j.Effects()); n != keysN {
				t.Errorf("%d effects, want %d", n, keysN)
			}
			att := j.Attempts()
			if len(att) != workers*keysN {
				t.Errorf("%d attempts, want %d", len(att), workers*keysN)
			}
			for i, e := range att {
				if e.Seq != i+1 {
					t.Fatalf("attempt %d has seq %d", i, e.Seq)
				}
			}
		})
	}
}

// TestJournalSurvivesKill9 runs a worker-like child process that applies
// effects and is then killed with SIGKILL; reopened, the journal must not
// apply any of them again.
func TestJournalSurvivesKill9(t *testing.T) {
	if os.Getenv("SIM_JOURNAL_CHILD") != "" {
		childApplies()
		return
	}
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalSurvivesKill9$")
	cmd.Env = append(os.Environ(), "SIM_JOURNAL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child says "applied" once its effects are journaled, then blocks.
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "applied" {
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	before, err := sim.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 3 {
		t.Fatalf("the child journaled %d attempts, want 3", len(before))
	}
	j := openJournal(t, path)
	tw := sim.New(j)
	for _, k := range []string{"k1", "k2", "k3"} {
		cut(t, tw, k)
	}
	if n := len(j.Effects()); n != 3 {
		t.Errorf("%d effects after restart, want the child's 3", n)
	}
	if n := len(j.Attempts()); n != 6 {
		t.Errorf("%d attempts after restart, want 6", n)
	}
}

// childApplies is the child process of TestJournalSurvivesKill9.
func childApplies() {
	j, err := sim.OpenJournal(os.Getenv("SIM_JOURNAL_CHILD"))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	tw := sim.New(j)
	for _, k := range []string{"k1", "k2", "k3"} {
		if _, err := tw.Cut(context.Background(), activities.ConduitRequest{Key: k, Enforcement: "nftables.gw"}); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	fmt.Println("applied")
	select {} // wait to be killed
}

// TestJournalSharedFile opens one journal file twice, as two workers on
// one machine do: an effect applied through one is a repeat through the
// other, with the first result, and attempts are numbered across both.
func TestJournalSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j1, j2 := openJournal(t, path), openJournal(t, path)
	tw1, tw2 := sim.New(j1), sim.New(j2)
	cut(t, tw1, "inc-1/step.isolate/cut/a")
	cut(t, tw2, "inc-1/step.isolate/cut/a")
	cut(t, tw2, "inc-1/step.isolate/cut/b")
	cut(t, tw1, "inc-1/step.isolate/cut/b")

	entries, err := sim.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("%d attempts in the file, want 4: %+v", len(entries), entries)
	}
	for i, e := range entries {
		if e.Seq != i+1 {
			t.Errorf("attempt %d has seq %d", i+1, e.Seq)
		}
		if want := i%2 == 0; e.Effect != want {
			t.Errorf("attempt %d (%s) effect %v, want %v", i+1, e.Key, e.Effect, want)
		}
	}
	if string(entries[1].Result) != string(entries[0].Result) {
		t.Errorf("the repeat through the second open returned %s, want the first result %s", entries[1].Result, entries[0].Result)
	}
	if got := keys(j1.Effects()); strings.Join(got, ",") != "inc-1/step.isolate/cut/a,inc-1/step.isolate/cut/b" {
		t.Errorf("effects seen by the first open: %v", got)
	}
}

// TestJournalSharedFileConcurrent races two opens of one file on the same
// keys: each key is applied exactly once.
func TestJournalSharedFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	twins := []*sim.Twin{sim.New(openJournal(t, path)), sim.New(openJournal(t, path))}
	const n = 50
	var wg sync.WaitGroup
	for _, tw := range twins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				_, err := tw.Cut(context.Background(), activities.ConduitRequest{
					Key: fmt.Sprintf("inc-1/step.isolate/cut/%d", i), Conduit: activities.Conduit{ID: "dmz_to_control", From: "plant3_dmz", To: "plant3_control"}, Enforcement: "nftables.plant3_gw",
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	entries, err := sim.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	applied := map[string]int{}
	for _, e := range entries {
		if e.Effect {
			applied[e.Key]++
		}
	}
	if len(entries) != 2*n || len(applied) != n {
		t.Fatalf("%d attempts and %d keys applied, want %d and %d", len(entries), len(applied), 2*n, n)
	}
	for k, c := range applied {
		if c != 1 {
			t.Errorf("%s applied %d times", k, c)
		}
	}
}

// TestJournalLockWaitEndsWithTheCall: while another process holds the
// shared journal's lock (one frozen mid-call, say), a call waits for it
// only as long as its context allows and then fails, journaling nothing;
// once the lock is released, calls go through again.
func TestJournalLockWaitEndsWithTheCall(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	tw := sim.New(openJournal(t, path))
	other, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = tw.Cut(ctx, conduitReq("inc-1/step.isolate/cut/a"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "another process holds the journal's lock") {
		t.Fatalf("a call while the lock is held elsewhere: %v; want it to end with its context, saying why", err)
	}
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	cut(t, tw, "inc-1/step.isolate/cut/a")
	entries, err := sim.ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("%d attempts journaled, want 1 (the call that timed out journals nothing)", len(entries))
	}
}
