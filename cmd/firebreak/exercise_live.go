package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/internal/review"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// liveRun is what `exercise run --live` was asked for.
type liveRun struct {
	name, dir, keyFile string
	scale              float64
	report, htmlFile   string
}

// runExerciseLive plays an exercise live: it starts the exercise's
// playbook as an exercise incident on the Temporal server of the
// environment, its plan scaled to the exercise clock, prints the injects
// and the incident's events on the exercise clock as they happen, and at
// the end (or Ctrl-C) the objectives, and writes the reports asked for.
func runExerciseLive(cmd *cobra.Command, o *org.Org, lr liveRun) error {
	out, errW := cmd.OutOrStdout(), cmd.ErrOrStderr()
	sc, err := o.Module.Scenario(lr.name)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	if err := exercise.CheckLive(sc); err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	inputs, err := exercise.LiveInputs(sc)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	signer, err := loadSigner(lr.keyFile, sc.Commander)
	if err != nil {
		return err
	}
	prep, err := incident.Prepare(incident.StartRequest{Dir: org.Dir(lr.dir, os.Getenv), Playbook: sc.Playbook, Inputs: inputs,
		Commander: sc.Commander, Signer: signer, Exercise: true})
	if err != nil {
		return incidentError(cmd, err)
	}
	// The incident runs the plan on the exercise clock; the start
	// attestation signs this scaled plan. The report goes by the plan as
	// written, whose durations are on the exercise clock already.
	written := prep.Plan
	prep.Plan = plan.Scaled(prep.Plan, lr.scale)
	prep.Input.Plan = prep.Plan

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	dctx, dcancel := context.WithTimeout(ctx, defaultTimeout)
	defer dcancel()
	c, err := dialTemporal(dctx, errW)
	if err != nil {
		return err
	}
	defer c.Close()
	started := time.Now()
	st, err := incident.StartPrepared(dctx, c, prep)
	if err != nil {
		return incidentError(cmd, err)
	}
	address := temporalenv.DefaultAddress
	if cfg, err := temporalenv.FromEnv(os.Getenv); err == nil {
		address = cfg.Address
	}
	printLiveStart(out, sc, written, st.IncidentID, address, lr.scale, signer != nil)
	warnNoPollers(dctx, c, errW, st.IncidentID)

	res, err := exercise.FollowLive(ctx, c, st.IncidentID, sc, exercise.LiveOptions{Scale: lr.scale, Started: started, Out: out})
	if err != nil {
		return incidentError(cmd, err)
	}
	if err := exercise.WriteLiveSummary(out, res); err != nil {
		return err
	}
	if lr.report != "" || lr.htmlFile != "" {
		rv := review.FromLiveExercise(res, review.ExerciseOptions{Date: time.Now(), Scenario: sc, Plan: written})
		if err := writeReviewFiles(rv, lr.report, lr.htmlFile); err != nil {
			return err
		}
	}
	if res.Interrupted {
		return &exitError{code: exitInterrupted}
	}
	return nil
}

// printLiveStart says what runs where, that responder blocks are ignored,
// and how people answer.
func printLiveStart(out io.Writer, sc *playbooks.Scenario, p *plan.Plan, id, address string, scale float64, signed bool) {
	// One write, so a reader sees all of it at once.
	w := &strings.Builder{}
	defer func() { _, _ = io.WriteString(out, w.String()) }()
	fmt.Fprintf(w, "Exercise %s: playbook %s, commander %s, live as incident %s on %s (EXERCISE: every action on a simulated twin, task queue %s).\n",
		safetext.Line(sc.Name), safetext.Line(sc.Playbook), safetext.Line(sc.Commander), id, safetext.Line(address), activities.ExerciseTaskQueue)
	if scale == 1 {
		fmt.Fprintln(w, "The exercise clock runs at wall-clock speed.")
	} else {
		fmt.Fprintf(w, "The exercise clock runs %v times faster than the wall clock: an hour of it passes in %s. Times below are on the exercise clock; the incident's own messages quote its durations scaled.\n",
			scale, plan.ScaleDuration(time.Hour, scale).Round(time.Millisecond))
	}
	if !signed {
		fmt.Fprintf(w, "Unattested: no --key-file (or %s), so only a worker that accepts unattested starts (firebreak dev) runs it; firebreak worker refuses its every action.\n", envKeyFile)
	}
	switch n := len(sc.Responders); n {
	case 0:
		fmt.Fprintln(w, "Real people answer, in Slack or with the CLI.")
	case 1:
		fmt.Fprintln(w, "The exercise's responder block is ignored: real people answer, in Slack or with the CLI.")
	default:
		fmt.Fprintf(w, "The exercise's %d responder blocks are ignored: real people answer, in Slack or with the CLI.\n", n)
	}
	fmt.Fprintln(w, "How to answer (--as your person ID; --key-file yours when the worker requires signatures):")
	for _, s := range p.Steps {
		var line string
		switch s.Kind {
		case plan.KindPage:
			line = fmt.Sprintf("firebreak ack %s %s --as PERSON", id, s.ID)
		case plan.KindApproval:
			line = fmt.Sprintf("firebreak approve %s %s --as PERSON   (or deny ... --reason TEXT)", id, s.ID)
		case plan.KindDecision:
			line = fmt.Sprintf("firebreak decide %s %s OPTION --as PERSON", id, s.ID)
		case plan.KindTask:
			line = fmt.Sprintf("firebreak done %s %s --as PERSON", id, s.ID)
		default:
			continue
		}
		fmt.Fprintln(w, "  "+safetext.Line(line))
	}
	fmt.Fprintf(w, "  firebreak status %s   (who is awaited now)\n", id)
	fmt.Fprintln(w, "Ctrl-C stops following; the incident keeps running.")
	fmt.Fprintln(w)
}

// warnNoPollers warns when no worker polls the incident or exercise task
// queue: the exercise does not move until one does. Only a hint: a
// server that cannot say is not an error.
func warnNoPollers(ctx context.Context, c client.Client, w io.Writer, id string) {
	if polling, err := incident.WorkerPolling(ctx, c); err == nil && !polling {
		fmt.Fprintf(w, "Warning: no firebreak worker has polled task queue %q lately; %s does not move until one does (firebreak dev, or firebreak worker with a signed start).\n", activities.TaskQueue, id)
		return
	}
	resp, err := c.DescribeTaskQueue(ctx, activities.ExerciseTaskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	if err == nil && len(resp.GetPollers()) == 0 {
		fmt.Fprintf(w, "Warning: no worker has polled the exercise task queue %q lately; the exercise's actions wait until one does.\n", activities.ExerciseTaskQueue)
	}
}

// errLiveFlags is returned for flags that do not go with --live.
var errLiveFlags = errors.New("--live runs one exercise on a server as it happens: --runs, --parallel, --sensitivity, --seed, --horizon and --format json are for automated runs")
