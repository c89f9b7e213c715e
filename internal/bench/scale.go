package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/workflows"
)

// ScalePlaybook is the playbook of the scale measurement: a webhook, a
// sign-off by one of two leads, and a second webhook that needs it.
const ScalePlaybook = "scale_signoff"

// scaleSource declares ScalePlaybook and who answers it.
const scaleSource = `person "ana" { slack = "U01ANA" }
person "ben" { slack = "U01BEN" }
person "cat" { slack = "U01CAT" }
roster "leads" { members = [person.ana, person.ben] }
integration "webhook" "scale" { url = "https://scale.example/hook" }

playbook "scale_signoff" {
  title    = "One sign-off between two webhooks"
  severity = "sev3"

  step "before" {
    action = "webhook.post"
    with   = { integration = "webhook.scale", body = { phase = "before" } }
  }
  approval "go" {
    approvers = [roster.leads]
    prompt    = "Carry on?"
    needs     = [step.before]
  }
  step "after" {
    action = "webhook.post"
    with   = { integration = "webhook.scale", body = { phase = "after" } }
    needs  = [approval.go]
  }
}
`

// DefaultStickyCache is the Temporal SDK's default sticky workflow cache
// size (worker.SetStickyWorkflowCacheSize), in workflows.
const DefaultStickyCache = 10000

// ScaleOptions configure Scale.
type ScaleOptions struct {
	// Incidents is how many incidents are open at once.
	Incidents int
	// Concurrency is how many starts, polls and answers are in flight at
	// once (default 16).
	Concurrency int
	// StickyCache, when positive, is set with
	// worker.SetStickyWorkflowCacheSize before the worker starts (it is
	// process-wide); 0 keeps the SDK's default, DefaultStickyCache.
	StickyCache int
	// Progress, when set, is told each phase as it begins.
	Progress func(format string, args ...any)
}

// Memory is the process's memory at one moment, from /proc/self/status
// and the Go runtime.
type Memory struct {
	// RSS is VmRSS, HWM VmHWM (the peak RSS so far), in bytes; 0 where
	// /proc is not there.
	RSS, HWM uint64
	// Heap is the Go heap in use, in bytes.
	Heap uint64
}

// ReadMemory reads the process's memory now.
func ReadMemory() Memory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := Memory{Heap: ms.HeapInuse}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb uint64
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%d", &kb); err == nil {
				m.RSS = kb * 1024
			}
		case strings.HasPrefix(line, "VmHWM:"):
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, "VmHWM:"), "%d", &kb); err == nil {
				m.HWM = kb * 1024
			}
		}
	}
	return m
}

// ScaleResult is what Scale measured.
type ScaleResult struct {
	Incidents int
	// Open is from the first start until every incident waits on its
	// sign-off; Answered from the first answer until every incident has
	// completed; Total both and the checks.
	Open, Answered, Total time.Duration
	// Before is the process's memory once the server and worker are up;
	// Waiting with every incident waiting; After with all complete. The
	// server, the worker and the client share the process.
	Before, Waiting, After Memory
	// StickyCache is the worker's sticky cache size in force.
	StickyCache int
	// Effects counts the webhook effects in the journal (two per incident)
	// and Attempts the calls that made them, retries included.
	Effects, Attempts int
}

// Scale opens opts.Incidents incidents of ScalePlaybook at once on one
// worker of an in-memory embedded server, waits until every one waits on
// its sign-off, then answers them all and waits until all complete. It
// fails unless every incident completed and the journal holds exactly one
// effect per webhook step of every incident: no action ran twice, none was
// skipped.
func Scale(ctx context.Context, opts ScaleOptions) (ScaleResult, error) {
	res := ScaleResult{Incidents: opts.Incidents, StickyCache: DefaultStickyCache}
	if opts.Incidents < 1 {
		return res, fmt.Errorf("the scale measurement needs at least one incident, not %d", opts.Incidents)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	if opts.StickyCache > 0 {
		worker.SetStickyWorkflowCacheSize(opts.StickyCache)
		res.StickyCache = opts.StickyCache
	}
	dir, err := os.MkdirTemp("", "firebreak-scale-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "scale.hcl"), []byte(scaleSource), 0o600); err != nil {
		return res, err
	}
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if o == nil || diags.HasErrors() {
		return res, fmt.Errorf("loading the scale playbook: %s", diags.Error())
	}
	prep, err := incident.Prepare(incident.StartRequest{Dir: dir, Playbook: ScalePlaybook, Commander: "cat", IncidentID: "SCALE-0"})
	if err != nil {
		return res, err
	}
	e, err := StartEnv(ctx, EnvOptions{
		Server:    devserver.Options{Ephemeral: true},
		Authority: org.NewAuthority(org.NewHolder(o, org.Options{Lenient: true}), false),
	})
	if err != nil {
		return res, err
	}
	defer e.Close()
	res.Before = ReadMemory()

	n := opts.Incidents
	ids := make([]string, n)
	started := make([]incident.Started, n)
	each := func(what string, f func(i int) error) error {
		progress("%s (%d incidents, %d at a time)", what, n, opts.Concurrency)
		return parallel(n, opts.Concurrency, f)
	}
	t0 := time.Now()
	if err := each("starting", func(i int) error {
		p := *prep
		p.Input.IncidentID = fmt.Sprintf("SCALE-%04d", i)
		s, err := incident.StartPrepared(ctx, e.Client, &p)
		started[i], ids[i] = s, s.IncidentID
		return err
	}); err != nil {
		return res, err
	}
	if err := each("waiting for every sign-off to wait", func(i int) error {
		_, err := WaitFor(ctx, e.Client, ids[i], "the sign-off waiting", StepIs("approval.go", workflows.StepWaiting))
		return err
	}); err != nil {
		return res, err
	}
	res.Open = time.Since(t0)
	res.Waiting = ReadMemory()

	t1 := time.Now()
	var mu sync.Mutex
	failed := map[string]string{}
	if err := each("answering and waiting for the ends", func(i int) error {
		if err := answer(ctx, e.Client, workflows.UpdateApprove, ids[i], workflows.Answer{Step: "approval.go", Person: []string{"ana", "ben"}[i%2], Channel: workflows.ChannelScript}); err != nil {
			return err
		}
		var r workflows.IncidentResult
		if err := e.Client.GetWorkflow(ctx, started[i].WorkflowID, started[i].RunID).Get(ctx, &r); err != nil {
			return fmt.Errorf("incident %s: %w", ids[i], err)
		}
		if r.State != workflows.StateCompleted {
			mu.Lock()
			failed[ids[i]] = r.State
			mu.Unlock()
		}
		return nil
	}); err != nil {
		return res, err
	}
	res.Answered = time.Since(t1)
	res.After = ReadMemory()
	if len(failed) > 0 {
		return res, fmt.Errorf("%d of %d incidents did not complete (for one: %v)", len(failed), n, failed)
	}

	effects := map[string]int{}
	for _, a := range e.Journal.Attempts() {
		if a.Op != sim.OpWebhook {
			continue
		}
		res.Attempts++
		if a.Effect {
			res.Effects++
			effects[a.Key]++
		}
	}
	for _, id := range ids {
		for _, step := range []string{"step.before", "step.after"} {
			if got := effects[id+"/"+step]; got != 1 {
				return res, fmt.Errorf("incident %s: %s took effect %d times, want once (journal keys look like %q)", id, step, got, anyKey(effects))
			}
		}
	}
	if res.Effects != 2*n {
		return res, fmt.Errorf("%d webhook effects in the journal, want %d", res.Effects, 2*n)
	}
	res.Total = time.Since(t0)
	return res, nil
}

// parallel calls f(0) to f(n-1), at most limit at a time, and returns the
// first error; after one, the calls not yet begun are skipped.
func parallel(n, limit int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, limit)
	for i := range n {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// anyKey is one key of m, for an error message.
func anyKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}
