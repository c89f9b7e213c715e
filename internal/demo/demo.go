// Package demo runs the shipped ransomware playbook end to end on an
// embedded Temporal server, with scripted responders answering through the
// same update path people use (including one refused, unauthorized answer and
// a two-person safety sign-off), and shows the live timeline.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/playbooks/library"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Playbook is the playbook the demo runs.
const Playbook = "ot_ransomware_containment"

// Commander is who starts the demo incident (a SOC analyst).
const Commander = "ines"

// Options configure a demo run.
type Options struct {
	// Dir is the playbook directory; the built-in library when empty. The
	// script needs the library's people and playbook, so another directory
	// must be a copy of it.
	Dir string
	// DataDir holds the server's SQLite file and the simulation journal. When
	// empty a temporary directory is used and removed afterwards.
	DataDir string
	// UIPort is the port to serve the Temporal Web UI on, or another free
	// one when it is taken (a demo never fails for a busy port); zero or
	// less serves no UI.
	UIPort int
	// Pace is the pause between scripted answers, so people can watch the
	// timeline grow. Zero answers as soon as a step waits.
	Pace time.Duration
	// Out receives the timeline and the summary.
	Out io.Writer
	// Logger receives server and worker warnings; nil discards them.
	Logger *slog.Logger
}

// Result is what a demo run did.
type Result struct {
	IncidentID string
	State      string
	// Refusals are the answers the workflow refused, with their messages.
	Refusals []string
	// Effects are the actions the simulated twins carried out, once each.
	Effects []sim.Entry
	// Attempts are all calls the twins saw, repeats included.
	Attempts  []sim.Entry
	UIAddress string
	Address   string
}

// Script returns what the demo's scripted responders do, step by step: the
// OT on-call engineer acknowledges the page; a SOC analyst, on neither
// sign-off roster, is refused; one process-safety and one OT operations
// engineer sign off; the shift supervisor confirms islanded operation; OT
// decides to reconnect; a fresh two-person sign-off allows the restore; and
// compliance reports.
func Script() incident.Script {
	return incident.Script{
		"page.ot_engineer": {{Update: workflows.UpdateAck, Person: "dmitri"}},
		"approval.isolate_ok": {
			{Update: workflows.UpdateApprove, Person: "hiro", Refused: true},
			{Update: workflows.UpdateApprove, Person: "alice"},
			{Update: workflows.UpdateApprove, Person: "olga"},
		},
		"task.verify_islanded": {{Update: workflows.UpdateDone, Person: "farid"}},
		"decision.reconnect":   {{Update: workflows.UpdateDecide, Person: "dmitri", Option: "reconnect"}},
		"approval.restore_ok": {
			{Update: workflows.UpdateApprove, Person: "bob"},
			{Update: workflows.UpdateApprove, Person: "erin"},
		},
		"task.call_regulator": {{Update: workflows.UpdateDone, Person: "kate"}},
	}
}

// Run runs the demo and returns what happened. The error is nil only when
// the incident completed and every scripted answer had the expected outcome.
func Run(ctx context.Context, opts Options) (Result, error) {
	var res Result
	out := &lockedWriter{w: opts.Out}
	if opts.Out == nil {
		out.w = io.Discard
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	prep, err := incident.Prepare(incident.StartRequest{
		Dir:       opts.Dir,
		Playbook:  Playbook,
		Inputs:    []string{"zone=plant3_dmz", `hosts=["ws-eng-07","hist-02"]`},
		Commander: Commander,
	})
	if err != nil {
		return res, fmt.Errorf("the demo runs %s with the people of %s, and %s does not fit (leave out --dir and unset %s for the built-in library): %w",
			Playbook, library.Name, org.Describe(opts.Dir), org.EnvDir, err)
	}

	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir, err = os.MkdirTemp("", "firebreak-demo-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(dataDir)
	} else if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return res, err
	}
	uiPort := 0
	if opts.UIPort > 0 {
		uiPort = freePort(opts.UIPort)
	}

	fmt.Fprintf(out, "Starting an embedded Temporal server on %s ...\n", filepath.Join(dataDir, devserver.DBFileName))
	srv, err := devserver.Start(ctx, devserver.Options{DataDir: dataDir, UIPort: uiPort, Logger: logger})
	if err != nil {
		return res, err
	}
	defer srv.Stop()
	res.Address, res.UIAddress = srv.Address(), srv.UIAddress()

	c, err := srv.NewClient(client.Options{Logger: quietLogger(logger)})
	if err != nil {
		return res, err
	}
	defer c.Close()
	journal, err := sim.OpenJournal(filepath.Join(dataDir, "simulation.jsonl"))
	if err != nil {
		return res, err
	}
	defer journal.Close()
	// The worker's own authority is the organisation the playbook comes
	// from; the demo's twins need none of its env() secrets.
	o, _, diags := org.Load(opts.Dir, org.Options{Lenient: true})
	if diags.HasErrors() {
		return res, fmt.Errorf("loading %s as the worker's organisation: %s", org.Describe(opts.Dir), diags.Error())
	}
	ws, err := runner.Start(c, runner.Options{Journal: journal, Logger: logger, Org: org.NewHolder(o, org.Options{Lenient: true})})
	if err != nil {
		return res, err
	}
	defer ws.Stop()

	fmt.Fprintf(out, "Temporal frontend: %s (namespace %s)\n", srv.Address(), srv.Namespace())
	if srv.UIAddress() != "" {
		fmt.Fprintf(out, "Temporal Web UI:   http://%s/namespaces/%s/workflows\n", srv.UIAddress(), srv.Namespace())
	}
	started, err := incident.StartPrepared(ctx, c, prep)
	if err != nil {
		return res, err
	}
	res.IncidentID = started.IncidentID
	fmt.Fprintf(out, "\nIncident %s: playbook %s, started by %s. Scripted responders answer through the same updates as Slack and the CLI.\n", started.IncidentID, Playbook, Commander)
	if srv.UIAddress() != "" {
		fmt.Fprintf(out, "Watch it in the Web UI while the demo runs: http://%s/namespaces/%s/workflows/%s\n", srv.UIAddress(), srv.Namespace(), workflows.IncidentWorkflowID(started.IncidentID))
	}
	fmt.Fprintln(out)

	rctx, stopResponders := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var scriptErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		res.Refusals, scriptErr = incident.PlayScript(rctx, c, started.IncidentID, Script(), opts.Pace)
	}()
	final, err := incident.Follow(ctx, c, started.IncidentID, out, incident.FollowOptions{Interval: 100 * time.Millisecond})
	stopResponders()
	wg.Wait()
	if err != nil {
		return res, err
	}
	res.State = final.State
	res.Effects, res.Attempts = journal.Effects(), journal.Attempts()

	fmt.Fprintf(out, "\nThe simulated twins carried out %d action(s) (%d call(s) in all).\n", len(res.Effects), len(res.Attempts))
	if opts.DataDir == "" {
		fmt.Fprintf(out, "The server's state and the twins' journal were in a temporary directory, removed now; keep them with --data-dir DIR.\n")
	} else {
		fmt.Fprintf(out, "The twins' journal is %s. To look at the incident again: firebreak dev --data-dir %s, then firebreak status %s (or the Web UI).\n",
			filepath.Join(dataDir, "simulation.jsonl"), dataDir, started.IncidentID)
	}
	if scriptErr != nil && !errors.Is(scriptErr, context.Canceled) {
		return res, scriptErr
	}
	if final.State != workflows.StateCompleted {
		return res, fmt.Errorf("incident %s ended %s, not completed", started.IncidentID, final.State)
	}
	return res, nil
}

// freePort returns want if it can be listened on, else any free port.
func freePort(want int) int {
	for _, p := range []int{want, 0} {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return port
	}
	return 0
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// quietLogger adapts slog for the Temporal client.
func quietLogger(l *slog.Logger) tlog.Logger { return tlog.NewStructuredLogger(l) }
