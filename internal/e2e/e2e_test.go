package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/workflows"
)

// libraryDir is the shipped playbook library, seen from this package.
const libraryDir = "../../playbooks/library"

// Time limits. They are deadlines for conditions polled every pollEvery,
// not pauses: a passing test waits only as long as the system needs.
const (
	pollEvery     = 20 * time.Millisecond
	startTimeout  = 2 * time.Minute
	answerTimeout = time.Minute
	stepTimeout   = 30 * time.Second
)

// testContext returns a context that ends after d or with the test.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond every pollEvery until it holds, failing the test with
// what when timeout passes first.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollEvery)
	}
}

// startServer starts an embedded Temporal server that the test stops.
func startServer(t *testing.T, opts devserver.Options) *devserver.Server {
	t.Helper()
	srv, err := devserver.Start(testContext(t, startTimeout), opts)
	if err != nil {
		t.Fatalf("start the embedded Temporal server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// newClient dials srv; the test closes the client.
func newClient(t *testing.T, srv *devserver.Server) client.Client {
	t.Helper()
	c, err := srv.NewClient(client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// inProcess is an in-memory server with the firebreak workers running in
// the test process on an in-memory journal.
type inProcess struct {
	srv     *devserver.Server
	c       client.Client
	journal *sim.Journal
}

func startInProcess(t *testing.T) *inProcess {
	t.Helper()
	srv := startServer(t, devserver.Options{Ephemeral: true})
	c := newClient(t, srv)
	j := sim.NewJournal()
	// The worker's organisation is the main end-to-end directory, the one
	// the incidents are compiled from, with the stale-sign-off directory's
	// playbook too (that directory shares its people and plant; its short
	// valid_for is the plan's, which guard two goes by).
	workerDir := writeDir(t, map[string]string{"site.hcl": siteHCL, "safety.hcl": safetyHCL, "playbooks.hcl": playbooksHCL, "stale.hcl": stalePlaybookHCL})
	o, _, diags := org.Load(workerDir, org.Options{Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ws, err := runner.Start(c, runner.Options{Journal: j, Org: org.NewHolder(o, org.Options{Lenient: true})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)
	return &inProcess{srv: srv, c: c, journal: j}
}

// startIncident compiles playbook from dir (which must compile without
// warnings) and starts it as incident id, run by commander.
func startIncident(t *testing.T, c client.Client, dir, playbook, commander, id string, inputs ...string) {
	t.Helper()
	prep, err := incident.Prepare(incident.StartRequest{Dir: dir, Playbook: playbook, Commander: commander, IncidentID: id, Inputs: inputs})
	if err != nil {
		t.Fatalf("prepare %s: %v", playbook, err)
	}
	if len(prep.Warnings) > 0 {
		t.Fatalf("playbook %s compiles with warnings: %v", playbook, prep.Warnings)
	}
	if _, err := incident.StartPrepared(testContext(t, answerTimeout), c, prep); err != nil {
		t.Fatalf("start incident %s: %v", id, err)
	}
}

// status asks an incident for its status, bounded by a short deadline.
func status(c client.Client, id string) (workflows.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return incident.Status(ctx, c, id)
}

// timeline asks an incident for its timeline, bounded by a short deadline.
func timeline(c client.Client, id string) (workflows.Timeline, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return incident.Timeline(ctx, c, id)
}

// waitStep waits until the status of incident id shows step in state (and,
// when round is not zero, in that prompt round) and returns its status.
func waitStep(t *testing.T, c client.Client, id, step, state string, round int) workflows.StepStatus {
	t.Helper()
	var last workflows.Status
	var lastErr error
	var found workflows.StepStatus
	waitFor(t, fmt.Sprintf("%s of incident %s to be %s (round %d)", step, id, state, round), stepTimeout, func() bool {
		last, lastErr = status(c, id)
		for _, s := range last.Steps {
			if s.ID == step && s.State == state && (round == 0 || s.Round == round) {
				found = s
				return true
			}
		}
		return false
	})
	if lastErr != nil {
		t.Logf("last status error: %v", lastErr)
	}
	return found
}

// waitState waits until incident id is in state.
func waitState(t *testing.T, c client.Client, id, state string) workflows.Status {
	t.Helper()
	var st workflows.Status
	waitFor(t, fmt.Sprintf("incident %s to be %s", id, state), stepTimeout, func() bool {
		var err error
		st, err = status(c, id)
		return err == nil && st.State == state
	})
	return st
}

// answer sends an answer the incident must accept.
func answer(t *testing.T, c client.Client, update, id string, a workflows.Answer) workflows.AnswerResult {
	t.Helper()
	if a.Channel == "" {
		a.Channel = workflows.ChannelCLI
	}
	res, err := incident.Answer(testContext(t, answerTimeout), c, update, id, a)
	if err != nil {
		t.Fatalf("%s %s by %s on incident %s: %v", update, a.Step, a.Person, id, err)
	}
	return res
}

// refused sends an answer the incident must refuse with a message that
// contains every one of want; the refusal must have been audited.
func refused(t *testing.T, c client.Client, update, id string, a workflows.Answer, want ...string) *incident.Refused {
	t.Helper()
	if a.Channel == "" {
		a.Channel = workflows.ChannelCLI
	}
	res, err := incident.Answer(testContext(t, answerTimeout), c, update, id, a)
	var r *incident.Refused
	if !errors.As(err, &r) {
		t.Fatalf("%s %s by %s should have been refused; got result %+v, error %v", update, a.Step, a.Person, res, err)
	}
	for _, w := range want {
		if !strings.Contains(r.Message, w) {
			t.Errorf("refusal of %s by %s: %q does not say %q", update, a.Person, r.Message, w)
		}
	}
	return r
}

// waitEvent waits until the timeline of incident id has an event that
// matches and returns it.
func waitEvent(t *testing.T, c client.Client, id, what string, match func(workflows.Event) bool) workflows.Event {
	t.Helper()
	var ev workflows.Event
	waitFor(t, fmt.Sprintf("%s in the timeline of %s", what, id), stepTimeout, func() bool {
		tl, err := timeline(c, id)
		if err != nil {
			return false
		}
		for _, e := range tl.Events {
			if match(e) {
				ev = e
				return true
			}
		}
		return false
	})
	return ev
}

// events returns the events of kind in a timeline.
func events(tl workflows.Timeline, kind string) []workflows.Event {
	var out []workflows.Event
	for _, e := range tl.Events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// isEvent matches an event by kind, step and person ("" matches any).
func isEvent(kind, step, person string) func(workflows.Event) bool {
	return func(e workflows.Event) bool {
		return e.Kind == kind && (step == "" || e.Step == step) && (person == "" || e.Person == person)
	}
}

// stepOf returns the status of one step.
func stepOf(st workflows.Status, id string) workflows.StepStatus {
	for _, s := range st.Steps {
		if s.ID == id {
			return s
		}
	}
	return workflows.StepStatus{}
}

// effectKey is one applied effect: a twin operation and its idempotency key.
type effectKey struct{ op, key string }

func (k effectKey) String() string { return k.op + " " + k.key }

// incidentEffects returns the effects in entries that belong to incident id
// (their idempotency key starts with "ID/") and, when ops are given, are of
// one of those ops, with the number of times each was applied.
func incidentEffects(entries []sim.Entry, id string, ops ...string) map[effectKey]int {
	out := map[effectKey]int{}
	for _, e := range entries {
		if e.Effect && strings.HasPrefix(e.Key, id+"/") && (len(ops) == 0 || slices.Contains(ops, e.Op)) {
			out[effectKey{e.Op, e.Key}]++
		}
	}
	return out
}

// conduitKeys are the effect keys of an isolation ("cut") or restore
// ("restore") of conduits by step of incident id.
func conduitKeys(id, step, op string, conduits []string) []effectKey {
	base := activities.Call{IncidentID: id, Step: step}.IdempotencyKey()
	part := "/cut/"
	if op == sim.OpRestore {
		part = "/restore/"
	}
	var out []effectKey
	for _, c := range conduits {
		out = append(out, effectKey{op, base + part + c})
	}
	return out
}

// checkEffects compares the effects incident id applied with want: each
// exactly once, and nothing else (of ops, when given).
func checkEffects(t *testing.T, entries []sim.Entry, id string, want []effectKey, ops ...string) {
	t.Helper()
	got := incidentEffects(entries, id, ops...)
	wanted := map[effectKey]bool{}
	for _, k := range want {
		wanted[k] = true
		if n := got[k]; n != 1 {
			t.Errorf("incident %s: %s applied %d times, want exactly once", id, k, n)
		}
	}
	var extra []string
	for k, n := range got {
		// Status updates follow the incident's pace (a burst of changes
		// makes one update), so how many there are is not fixed; each is
		// still applied once (checkNoDuplicateEffects).
		if !wanted[k] && k.op != sim.OpStatus {
			extra = append(extra, fmt.Sprintf("%s (%d)", k, n))
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("incident %s applied unexpected effects: %s", id, strings.Join(extra, ", "))
	}
}

// checkNoDuplicateEffects fails if any (op, key) was applied more than once
// anywhere in the journal.
func checkNoDuplicateEffects(t *testing.T, entries []sim.Entry) {
	t.Helper()
	seen := map[effectKey]int{}
	for _, e := range entries {
		if e.Effect {
			k := effectKey{e.Op, e.Key}
			if prev, dup := seen[k]; dup {
				t.Errorf("effect applied twice: %s (journal seq %d and %d)", k, prev, e.Seq)
			}
			seen[k] = e.Seq
		}
	}
}
