package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/evidence"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
)

// Output formats of the incident commands (text and json are shared).
const formatMarkdown = "md"

// envAs names the environment variable that supplies --as.
const envAs = "FIREBREAK_AS"

// defaultTimeout bounds a command's talk with the server and the worker.
const defaultTimeout = 30 * time.Second

// temporalHelp is the part of every incident command's help that says how it
// reaches Temporal.
const temporalHelp = `
The command talks to Temporal, configured as for the temporal CLI:
TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default
"default"), TEMPORAL_API_KEY and TEMPORAL_TLS_* (see docs/cli.md). A firebreak
worker must be running: it carries out the incident and answers queries and
updates.`

// answerHelp is the part of every answering command's help about identity;
// step is an example step ID of the kind the command answers.
func answerHelp(step string) string {
	name := step[strings.IndexByte(step, '.')+1:]
	return fmt.Sprintf(`
--as is the person ID answering (as declared with person "ID" in the
playbooks); it may also come from FIREBREAK_AS. STEP is the step ID, such
as %s, or just its name, %s (names are unique in a
playbook). The incident itself checks the answer: someone it is not for,
the commander where self-approval is excluded, a second answer from the
same person, or an answer to an earlier round is refused with the reason.
Every answer is recorded with channel "cli".

--key-file FILE (default $FIREBREAK_KEY_FILE) signs the answer with a key
from firebreak keygen: your own (person.ID, only with --as ID) or a front
door's (for any --as). A signed answer names the incident, the step, the
round it answers, you, the answer, the option and the reason; the incident
refuses it if any of that is altered or replayed elsewhere, and records in
the timeline the signed answers its rules refuse. An incident started
unattested (run without a key) takes unsigned answers too; one started with
a signed start needs every answer signed.

No worker running? The answer is sent anyway and the server holds it until
a worker picks the incident up (a bare step name is then looked up in the
plan the incident started with, and the answer is for the step's current
round; a signed answer is for --round, else round 1). The command says it is
waiting and, when --timeout passes first,
exits 3: sent, not confirmed. Check with firebreak status.

Exit status: 0 the answer was taken, 1 it was refused or failed, 2 the
command line was wrong, 3 it was sent but no worker confirmed it in time,
130 you stopped waiting with Ctrl-C.`, step, name)
}

// incidentCmds returns the commands that run and answer incidents.
func incidentCmds() []*cobra.Command {
	return []*cobra.Command{
		newRunCmd(),
		newStatusCmd(),
		newListCmd(),
		newTimelineCmd(),
		newAnswerCmd(answerSpec{
			use: "ack INCIDENT STEP --as PERSON", step: "page.ot_engineer", update: workflows.UpdateAck,
			short: "Acknowledge a page, which stops its escalation",
			long: `Ack acknowledges a page: the escalation ladder stops climbing. Only someone
who has been paged for the step may acknowledge it.`,
			example: `  firebreak ack INC-20261122-4F2A page.ot_engineer --as dmitri
  FIREBREAK_AS=dmitri firebreak ack INC-20261122-4F2A ot_engineer`,
		}),
		newAnswerCmd(answerSpec{
			use: "approve INCIDENT STEP --as PERSON", step: "approval.isolate_ok", update: workflows.UpdateApprove,
			short: "Approve an approval or safety sign-off",
			long: `Approve adds your approval to an approval step. A sign-off may need several
distinct people from named rosters (for example one from process safety and
one from OT operations); the reply says how many it has and what it still
needs.`,
			example: `  firebreak approve INC-20261122-4F2A approval.isolate_ok --as alice
  firebreak approve INC-20261122-4F2A isolate_ok --as dmitri --round 2`,
		}),
		newAnswerCmd(answerSpec{
			use: "deny INCIDENT STEP --as PERSON --reason TEXT", step: "approval.isolate_ok", update: workflows.UpdateDeny,
			short: "Deny an approval, with a reason",
			long: `Deny refuses an approval step. One denial is enough: the step is denied and
the steps that need it are skipped. The reason is required; it is shown to
the people waiting and kept in the timeline.`,
			example: `  firebreak deny INC-20261122-4F2A approval.isolate_ok --as bob \
    --reason "compressor 2 is mid-restart; isolating now trips the plant"`,
		}),
		newAnswerCmd(answerSpec{
			use: "decide INCIDENT STEP OPTION --as PERSON", step: "decision.reconnect", update: workflows.UpdateDecide, option: true,
			short: "Choose an option of a decision",
			long: `Decide answers a decision step with one of its options (see the playbook,
or the prompt the incident sent). The playbook's later steps may depend on
the choice.`,
			example: `  firebreak decide INC-20261122-4F2A decision.reconnect stay_isolated --as carol`,
		}),
		newAnswerCmd(answerSpec{
			use: "done INCIDENT STEP --as PERSON", step: "task.verify_islanded", update: workflows.UpdateDone,
			short: "Mark a manual task done",
			long: `Done marks a task step as finished. The people it is assigned to, and the
incident's commander, may mark it done.`,
			example: `  firebreak done INC-20261122-4F2A task.verify_islanded --as farid`,
		}),
		newAnswerCmd(answerSpec{
			use: "break-glass INCIDENT STEP --as PERSON --reason TEXT", step: "approval.isolate_ok", update: workflows.UpdateBreakGlass,
			short: "Force a safety sign-off in an emergency (flagged for review)",
			long: `Break-glass forces a safety sign-off (an approval with kind = "safety") that
has not been given, so the safety-critical steps behind it may run. Only the
rosters named in the safety policy's break_glass block may do it, and only
with a reason. The incident is flagged BREAK-GLASS in its status, its list
entry and every report, for post-incident review.`,
			example: `  firebreak break-glass INC-20261122-4F2A approval.isolate_ok --as grace \
    --reason "ransomware spreading to the HMIs; safety on-call unreachable for 20 min"`,
		}),
		newCancelCmd(),
	}
}

// addTimeout adds --timeout to a command.
func addTimeout(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "timeout", defaultTimeout, "how long to wait for the server and the worker")
}

// addAs adds --as to a command.
func addAs(cmd *cobra.Command, as *string, what string) {
	cmd.Flags().StringVar(as, "as", "", what+" (default $"+envAs+")")
}

// addKeyFile adds --key-file to a command.
func addKeyFile(cmd *cobra.Command, keyFile *string) {
	cmd.Flags().StringVar(keyFile, "key-file", "", "sign with this private key file from firebreak keygen (default $"+envKeyFile+")")
}

// loadSigner reads --key-file (or FIREBREAK_KEY_FILE) to sign for person,
// refusing a person's own key for somebody else before anything is sent.
// No key file means nil: the answer or start goes unsigned.
func loadSigner(keyFile, person string) (*attest.Signer, error) {
	s, err := readSigner(keyFile, person)
	if s == nil || err != nil {
		return nil, err
	}
	if err := incident.CheckSigner(s, person); err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return s, nil
}

// readSigner reads --key-file (or FIREBREAK_KEY_FILE); a file without a
// Firebreak-Signer header is person's own key. No key file means nil.
func readSigner(keyFile, person string) (*attest.Signer, error) {
	if keyFile == "" {
		keyFile = strings.TrimSpace(os.Getenv(envKeyFile))
	}
	if keyFile == "" {
		return nil, nil
	}
	s, err := incident.LoadSigner(keyFile, person)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return s, nil
}

// resolveAs returns --as, or FIREBREAK_AS when --as was not given.
func resolveAs(as string) string {
	if as != "" {
		return as
	}
	return strings.TrimSpace(os.Getenv(envAs))
}

// requireAs returns the answering person or a usage error.
func requireAs(as string) (string, error) {
	p := resolveAs(as)
	if p == "" {
		return "", usageErrorf("say who is answering with --as PERSON (or set %s)", envAs)
	}
	return p, nil
}

// exactArgs checks the positional arguments, naming them in the message.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			for i, a := range args {
				if strings.TrimSpace(a) == "" {
					return usageErrorf("%s is empty", names[i])
				}
			}
			return nil
		}
		want := strings.Join(names, " ")
		if len(names) == 0 {
			want = "no arguments"
		}
		return usageErrorf("%s takes %s (got %d argument%s); see 'firebreak %s --help'",
			cmd.Name(), want, len(args), pluralS(len(args)), cmd.Name())
	}
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// dialTemporal connects to the Temporal server named by the environment.
// The SDK's own logging is kept to warnings, on stderr.
func dialTemporal(ctx context.Context, stderr io.Writer) (client.Client, error) {
	cfg, err := temporalenv.FromEnv(os.Getenv)
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: err}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := temporalenv.Dial(ctx, cfg, logger)
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: err}
	}
	return c, nil
}

// withClient runs fn with a Temporal client and a context bounded by timeout
// (no bound when timeout is 0).
func withClient(cmd *cobra.Command, timeout time.Duration, fn func(ctx context.Context, c client.Client) error) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := dialTemporal(ctx, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer c.Close()
	return incidentError(cmd, fn(ctx, c))
}

// incidentError maps errors from package incident to exit codes and prints
// playbook diagnostics and refusals the way people expect them. A refusal
// quotes what people sent, so it is neutralised for the terminal.
func incidentError(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	var (
		ee  *exitError
		ie  *incident.InputError
		pe  *incident.PlaybookError
		ref *incident.Refused
	)
	switch {
	case errors.As(err, &ee):
		return err
	case errors.As(err, &ie):
		return &exitError{code: exitUsage, err: err}
	case errors.As(err, &pe):
		_ = printDiags(cmd, pe.Module, pe.Diags)
		return &exitError{code: exitInvalid}
	case errors.As(err, &ref):
		w := cmd.ErrOrStderr()
		fmt.Fprintf(w, "Refused: %s\n", safetext.Line(ref.Message))
		if hint := refusalHints[ref.Code]; hint != "" {
			fmt.Fprintln(w, hint)
		}
		return &exitError{code: exitInvalid}
	}
	return &exitError{code: exitInvalid, err: err}
}

// refusalHints say what to do next after a refusal, by its code.
var refusalHints = map[rules.Code]string{
	rules.NotAuthorised:    "'firebreak status INCIDENT' lists who is awaited for each step.",
	rules.SelfApproval:     "'firebreak status INCIDENT' lists who is awaited for each step.",
	rules.StaleRound:       "'firebreak status INCIDENT' shows the round being asked now; answer without --round to answer it.",
	rules.NotOpen:          "'firebreak status INCIDENT' shows which steps wait for answers now.",
	rules.NotOpenYet:       "'firebreak status INCIDENT' shows which steps wait for answers now.",
	rules.IncidentFinished: "'firebreak timeline INCIDENT' shows how it ended.",
	rules.NotAttested:      "Sign the answer with --key-file FILE (or FIREBREAK_KEY_FILE); 'firebreak keygen person.ID' makes a key to declare in the playbooks.",
	rules.UntrustedKey:     "The key must be declared as public_key on your person block (or the front door's integration block) in the worker's playbooks.",
	rules.Expired:          "Send the answer again: it is signed afresh. Check this machine's clock if it keeps happening.",
}

func newRunCmd() *cobra.Command {
	var (
		req     incident.StartRequest
		as      string
		keyFile string
		follow  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run PLAYBOOK --as PERSON [--dir DIR] [--input NAME=VALUE]... [--key-file FILE] [--id ID] [--exercise] [--follow]",
		Short: "Start an incident: run a playbook as a durable workflow",
		Long: `Run compiles a playbook and starts it as an incident, then prints the
incident ID on standard output (so ID=$(firebreak run ...) works). The plan
travels with the incident: editing the playbook later does not change a
running incident.

--dir DIR names the playbook directory (or file); without it, the directory
in $FIREBREAK_DIR, else the built-in library (the Northwind Energy sample; a
note on standard error says so).

--input NAME=VALUE gives a playbook input; repeat it for each. A value that
is JSON is read as JSON (["a","b"], 3, true, {"k":"v"}); anything else is
text. Unknown, missing or empty required inputs are refused before anything
starts, with the playbook's inputs and their types.

--as names the incident commander, and is required (a person ID from the
playbooks; default $FIREBREAK_AS): starting an incident names a known
person. Approvals with exclude_initiator refuse the commander's own answers,
the commander may cancel, and a playbook's may_start says who may start it,
which is why an unknown or unlisted person is refused before anything starts.

--key-file FILE (default $FIREBREAK_KEY_FILE) signs the start with a key
from firebreak keygen: the commander's own or a front door's. Without one
the incident starts unattested: its answers need not be signed either, and
they are marked unattested in status, timeline and reports. firebreak dev
and demo run such incidents; a worker that requires attestations (firebreak
worker) refuses the sign-offs of one. A note on standard error says so.

--id sets the incident ID (default: INC-<date>-<4 hex>, e.g.
INC-20261122-4F2A). IDs are never reused.

--exercise runs the playbook as a tabletop exercise: every action runs on a
simulated twin on the exercise task queue and every message is marked as an
exercise. No code path leads from an exercise to a real actuator.

--follow stays attached and prints the timeline as it happens, then exits 0
if the incident completed and 1 if it failed or was cancelled. Ctrl-C stops
following (exit status 130); the incident keeps running.
` + temporalHelp,
		Example: `  firebreak run ot_ransomware_containment --input zone=plant3_dmz \
    --input 'hosts=["ws-eng-07","hmi-3"]' --as carol --key-file person.carol.key
  firebreak run credential_phishing --input user=jdoe --input host=lt-0419 \
    --input reported_by=servicedesk --as ines --exercise --follow
  firebreak run plc_logic_change --dir ./site-playbooks --as carol --id INC-2026-0042 ...`,
		Args: exactArgs("PLAYBOOK"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Playbook = args[0]
			commander, err := requireAs(as)
			if err != nil {
				return usageErrorf("say who starts the incident with --as PERSON (or set %s): an incident's commander is a person declared in the playbooks", envAs)
			}
			req.Commander = commander
			if req.Signer, err = loadSigner(keyFile, commander); err != nil {
				return err
			}
			req.Dir = org.Dir(req.Dir, os.Getenv)
			if req.Dir == "" {
				fmt.Fprintln(cmd.ErrOrStderr(), builtInNote)
			}
			p, err := incident.Prepare(req)
			if err != nil {
				return incidentError(cmd, err)
			}
			if err := printDiags(cmd, p.Module, p.Warnings); err != nil {
				return err
			}
			if req.Signer == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "Note: no --key-file (or %s), so the incident starts unattested: its answers need not be signed, and a worker that requires attestations (firebreak worker) will refuse its sign-offs.\n", envKeyFile)
			}
			var started incident.Started
			polling := true
			err = withClient(cmd, timeout, func(ctx context.Context, c client.Client) error {
				started, err = incident.StartPrepared(ctx, c, p)
				if err == nil {
					// Only a hint: a server that cannot say is not an error.
					polling, _ = incident.WorkerPolling(ctx, c)
				}
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), started.IncidentID)
			mode := "incident"
			if started.Exercise {
				mode = "EXERCISE"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Started %s %s (playbook %s). See it with: firebreak status %s\n",
				mode, started.IncidentID, safetext.Line(started.Playbook), started.IncidentID)
			if !polling {
				fmt.Fprintf(cmd.ErrOrStderr(), "Warning: no firebreak worker has polled task queue %q lately; %s does not move until one does (firebreak worker, or firebreak dev with its worker).\n",
					activities.TaskQueue, started.IncidentID)
			}
			if !follow {
				return nil
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Following %s; Ctrl-C stops following, the incident keeps running.\n", started.IncidentID)
			return followIncident(cmd, started.IncidentID)
		},
	}
	f := cmd.Flags()
	addDirFlag(cmd, &req.Dir)
	f.StringArrayVar(&req.Inputs, "input", nil, "a playbook input as NAME=VALUE (repeatable; JSON values allowed)")
	addAs(cmd, &as, "the incident commander's person ID (required)")
	addKeyFile(cmd, &keyFile)
	f.StringVar(&req.IncidentID, "id", "", "the incident ID (default: generated, e.g. INC-20261122-4F2A)")
	f.BoolVar(&req.Exercise, "exercise", false, "run as a tabletop exercise on simulated actuators")
	f.BoolVar(&follow, "follow", false, "print the timeline live until the incident ends")
	addTimeout(cmd, &timeout)
	return cmd
}

// followIncident prints the live timeline until the incident ends; the exit
// status says whether it completed.
func followIncident(cmd *cobra.Command, id string) error {
	var res workflows.IncidentResult
	err := withClient(cmd, 0, func(ctx context.Context, c client.Client) error {
		var err error
		res, err = incident.Follow(ctx, c, id, cmd.OutOrStdout(), incident.FollowOptions{})
		if errors.Is(err, context.Canceled) {
			return &exitError{code: exitInterrupted, err: fmt.Errorf("stopped following %s; it is still running (firebreak status %s)", id, id)}
		}
		return err
	})
	if err != nil {
		return err
	}
	if !incident.Succeeded(res.State) {
		return &exitError{code: exitInvalid}
	}
	return nil
}

func newStatusCmd() *cobra.Command {
	var (
		format  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status INCIDENT [--format text|json]",
		Short: "Show an incident's state and every step: who is awaited, what is needed",
		Long: `Status shows an incident: its playbook, state, commander, whether it is an
exercise, the BREAK-GLASS flag if a safety gate was forced, and a table of
steps with their state, the people who may answer now, and what is still
needed (for example "still needs one from roster.ot_operations"). Finished
incidents can be shown too, while the server keeps them.
` + temporalHelp,
		Example: `  firebreak status INC-20261122-4F2A
  firebreak status INC-20261122-4F2A --format json | jq '.steps[] | select(.state=="waiting")'`,
		Args: exactArgs("INCIDENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			return withClient(cmd, timeout, func(ctx context.Context, c client.Client) error {
				st, err := incident.Status(ctx, c, args[0])
				if err != nil {
					return err
				}
				if format == formatJSON {
					return incident.RenderJSON(cmd.OutOrStdout(), st)
				}
				return incident.RenderStatusText(cmd.OutOrStdout(), st)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", formatText, "output format: text or json")
	addTimeout(cmd, &timeout)
	return cmd
}

func newListCmd() *cobra.Command {
	var (
		f        incident.Filter
		exercise bool
		format   string
		timeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "list [--playbook P] [--severity S] [--state S] [--exercise[=false]] [--limit N]",
		Short: "List incidents, most recent first",
		Long: `List shows incidents from Temporal's visibility store, newest first, with
their playbook, severity, state, whether each was an exercise, and the
BREAK-GLASS flag. Filters combine with AND. --exercise lists only exercises;
--exercise=false only real incidents. --state is one of running, completed,
failed, cancelled. Incidents that were terminated from outside firebreak show
as "terminated".

The list can lag a second or so behind a start or an end.
` + temporalHelp,
		Example: `  firebreak list
  firebreak list --state running --exercise=false
  firebreak list --playbook ot_ransomware_containment --limit 100 --format json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			if cmd.Flags().Changed("exercise") {
				f.Exercise = &exercise
			}
			if f.Limit < 1 || f.Limit > incident.MaxLimit {
				return usageErrorf("--limit %d is not between 1 and %d", f.Limit, incident.MaxLimit)
			}
			if _, err := f.Query(); err != nil {
				return incidentError(cmd, err)
			}
			return withClient(cmd, timeout, func(ctx context.Context, c client.Client) error {
				list, err := incident.List(ctx, c, f)
				if err != nil {
					return err
				}
				if format == formatJSON {
					if list == nil {
						list = []incident.Summary{}
					}
					return incident.RenderJSON(cmd.OutOrStdout(), list)
				}
				return incident.RenderListText(cmd.OutOrStdout(), list)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Playbook, "playbook", "", "only incidents of this playbook")
	fl.StringVar(&f.Severity, "severity", "", "only incidents of this severity, e.g. sev1")
	fl.StringVar(&f.State, "state", "", "only incidents in this state: "+strings.Join(incident.States, ", "))
	fl.BoolVar(&exercise, "exercise", false, "only exercises (--exercise=false: only real incidents)")
	fl.IntVar(&f.Limit, "limit", incident.DefaultLimit, "the most incidents to show")
	fl.StringVar(&format, "format", formatText, "output format: text or json")
	addTimeout(cmd, &timeout)
	return cmd
}

func newTimelineCmd() *cobra.Command {
	var (
		format, keyFile, as string
		timeout             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "timeline INCIDENT [--format md|json] [--key-file FILE] [--as PERSON]",
		Short: "Export an incident's timeline: the audit trail, for the record",
		Long: `Timeline prints everything that happened in an incident, in order: pages,
prompts, acknowledgements, approvals and denials with their reasons, choices,
actions, refusals, timeouts, escalations and any break-glass override, each
with its time (UTC), the person, the channel the answer came through and the
key that signed it (or "unattested").

The Markdown form is a document for the incident record and the regulator
(NERC CIP-008 style evidence): a header with the incident, playbook,
commander, exercise or real, and a prominent BREAK-GLASS flag when a safety
gate was forced; the break-glass overrides on their own; a table of every
event, with the roster each approval counts for; the refusals counted per
person and code; and the final state of every step.

The JSON form is evidence to keep and check offline with 'firebreak verify':
the timeline with every answer's attestation, the final status, the public
keys and the digest of the plan the incident ran, and, with --key-file FILE
(default $` + envKeyFile + `), a seal: your signature over the whole
document. A person's key seals as that person; a front door's key needs --as.
The JSON is canonical, so a single byte changed afterwards fails 'verify'.
docs/evidence.md describes the format.
` + temporalHelp,
		Example: `  firebreak timeline INC-20261122-4F2A > INC-20261122-4F2A.md
  firebreak timeline INC-20261122-4F2A --format json --key-file person.carol.key > INC-20261122-4F2A.json
  firebreak verify INC-20261122-4F2A.json`,
		Args: exactArgs("INCIDENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatMarkdown, formatJSON); err != nil {
				return err
			}
			var signer *attest.Signer
			var person string
			if format == formatJSON {
				var err error
				if signer, err = sealSigner(keyFile, as); err != nil {
					return err
				}
				if signer != nil {
					if person, err = sealPerson(signer, as); err != nil {
						return err
					}
				}
			} else if keyFile != "" {
				return usageErrorf("--key-file seals the JSON export; add --format json")
			}
			return withClient(cmd, timeout, func(ctx context.Context, c client.Client) error {
				if format == formatJSON {
					doc, err := incident.Export(ctx, c, args[0], time.Now())
					if err != nil {
						return err
					}
					if signer != nil {
						if err := doc.SealWith(signer, person, time.Now()); err != nil {
							return err
						}
					} else {
						fmt.Fprintf(cmd.ErrOrStderr(), "Note: no --key-file (or %s), so the export is not sealed; 'firebreak verify' fails it unless given --allow-unsealed.\n", envKeyFile)
					}
					b, err := evidence.Encode(doc)
					if err != nil {
						return err
					}
					_, err = cmd.OutOrStdout().Write(b)
					return err
				}
				tl, err := incident.Timeline(ctx, c, args[0])
				if err != nil {
					return err
				}
				st, err := incident.Status(ctx, c, args[0])
				if err != nil {
					return err
				}
				return incident.RenderTimelineMarkdown(cmd.OutOrStdout(), tl, st)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", formatMarkdown, "output format: md or json")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "seal the JSON export with this private key file from firebreak keygen (default $"+envKeyFile+")")
	addAs(cmd, &as, "who exports, when the key is a front door's")
	addTimeout(cmd, &timeout)
	return cmd
}

// answerSpec describes one answering command.
type answerSpec struct {
	use, short, long, example string
	update                    string
	// step is an example step ID of the kind the command answers.
	step string
	// option is true when the command takes an OPTION argument (decide).
	option bool
}

func newAnswerCmd(s answerSpec) *cobra.Command {
	var (
		as, reason, keyFile string
		round               int
		timeout             time.Duration
	)
	argNames := []string{"INCIDENT", "STEP"}
	if s.option {
		argNames = append(argNames, "OPTION")
	}
	cmd := &cobra.Command{
		Use:     s.use,
		Short:   s.short,
		Long:    s.long + "\n" + answerHelp(s.step) + "\n" + temporalHelp,
		Example: s.example,
		Args:    exactArgs(argNames...),
		RunE: func(cmd *cobra.Command, args []string) error {
			person, err := requireAs(as)
			if err != nil {
				return err
			}
			if rules.NeedsReason(s.update) && strings.TrimSpace(reason) == "" {
				return usageErrorf("%s needs --reason TEXT: it goes into the timeline", cmd.Name())
			}
			if rf := rules.CheckText("--reason", reason, rules.MaxReason); rf != nil {
				return usageErrorf("%s", rf.Message)
			}
			if cmd.Flags().Changed("round") && round < 1 {
				return usageErrorf("--round %d is not a round; rounds count from 1 (leave --round out for the current one)", round)
			}
			signer, err := loadSigner(keyFile, person)
			if err != nil {
				return err
			}
			a := workflows.Answer{Step: args[1], Person: person, Reason: reason, Round: round, Channel: workflows.ChannelCLI}
			if s.option {
				a.Option = args[2]
			}
			return withClient(cmd, timeout, func(ctx context.Context, c client.Client) error {
				return sendAnswer(ctx, cmd, c, s.update, args[0], a, signer, timeout)
			})
		},
	}
	addAs(cmd, &as, "your person ID")
	addKeyFile(cmd, &keyFile)
	if rules.NeedsReason(s.update) {
		cmd.Flags().StringVar(&reason, "reason", "", fmt.Sprintf("why (required, at most %d characters; recorded in the timeline)", rules.MaxReason))
	}
	if s.update != workflows.UpdateAck {
		// Pages have no rounds; prompts are asked again in new rounds.
		cmd.Flags().IntVar(&round, "round", 0, "the prompt round answered (default: the current one); an answer to an earlier round is refused as stale")
	}
	addTimeout(cmd, &timeout)
	return cmd
}

// waitingNotice is how long an answer may go without a reply before the
// command says that it waits for a worker.
const waitingNotice = 3 * time.Second

// sendAnswer resolves the step (a bare name, the current round), signs the
// answer when there is a signer, and sends it. When no worker runs, the
// step is resolved from the plan the incident started with and the answer
// is sent anyway: the server holds it for a worker. The command says so on
// stderr and, when --timeout passes before a worker applies it, exits with
// exitPending.
func sendAnswer(ctx context.Context, cmd *cobra.Command, c client.Client, update, id string, a workflows.Answer, signer *attest.Signer, timeout time.Duration) error {
	r, err := incident.ResolveAnswer(ctx, c, id, a, queryBudget(ctx))
	if err != nil {
		return err
	}
	a = r.Answer
	if signer != nil {
		a.Round = incident.SigningRound(update, r)
		if a, err = incident.SignAnswer(signer, update, id, a, time.Now()); err != nil {
			return err
		}
	}
	// One nonce for every send of this answer, so that a resend is the same
	// update (a signed answer's update ID follows its signature instead).
	nonce := incident.NewNonce()
	stderr := cmd.ErrOrStderr()
	notice := func() {
		fmt.Fprintf(stderr, "Waiting for a firebreak worker to pick up incident %s: the answer is sent and the server holds it until one does, then it is applied or refused. Ctrl-C stops waiting; the answer stays sent.\n",
			safetext.Line(id))
	}
	stop := make(chan struct{})
	noticed := make(chan struct{})
	go func() {
		defer close(noticed)
		if r.NoWorker {
			notice()
			return
		}
		t := time.NewTimer(waitingNotice)
		defer t.Stop()
		select {
		case <-t.C:
			notice()
		case <-stop:
		}
	}()
	res, err := incident.Send(ctx, c, update, id, a, nonce)
	close(stop)
	<-noticed
	var (
		nw  *incident.NoWorkerError
		ref *incident.Refused
	)
	if err != nil && !errors.As(err, &ref) && (ctx.Err() != nil || errors.As(err, &nw)) {
		res, err = unconfirmed(ctx, c, update, id, a, nonce, timeout, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), safetext.Line(res.Message))
	return nil
}

// queryBudget is how long the status query that resolves an answer may take
// before the answer is resolved without a worker: a third of what is left,
// at most 5 s.
func queryBudget(ctx context.Context) time.Duration {
	budget := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)/3)
	}
	return budget
}

// unconfirmed decides what an answer that got no reply in time (or was
// interrupted with Ctrl-C) means, by asking the server whether it holds it:
// held means sent and waiting for a worker (exitPending, or
// exitInterrupted after Ctrl-C); applied in the meantime means its outcome
// is fetched and returned; unknown to the server means it was not sent.
func unconfirmed(ctx context.Context, c client.Client, update, id string, a workflows.Answer, nonce string, timeout time.Duration, sendErr error) (workflows.AnswerResult, error) {
	interrupted := errors.Is(ctx.Err(), context.Canceled)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	stage, err := incident.AnswerStageOf(cctx, c, temporalNamespace(), update, id, a, nonce)
	held := func() error {
		code, waited := exitPending, fmt.Sprintf("within --timeout %s", timeout)
		if interrupted {
			code, waited = exitInterrupted, "before you stopped waiting"
		}
		return &exitError{code: code, err: fmt.Errorf(
			"the answer on incident %s is sent but not confirmed: no firebreak worker picked the incident up %s. "+
				"The Temporal server holds the answer; it is validated and applied, or refused, when a worker runs "+
				"(if the server restarts before then, the answer is lost: send it again). "+
				"`firebreak status %s` shows whether it was; sending it again never counts it twice",
			id, waited, id)}
	}
	switch {
	case err != nil:
		return workflows.AnswerResult{}, &exitError{code: exitInvalid, err: fmt.Errorf("%w; and whether the server has the answer is not known: %w", sendErr, err)}
	case stage == incident.AnswerCompleted:
		// Applied or refused just now: the same update returns its outcome.
		return incident.Send(cctx, c, update, id, a, nonce)
	case stage == incident.AnswerHeld:
		return workflows.AnswerResult{}, held()
	case interrupted:
		return workflows.AnswerResult{}, &exitError{code: exitInterrupted, err: fmt.Errorf("stopped before the server took the answer on incident %s: it was not sent", id)}
	}
	// The server does not hold it: it never arrived, or a worker that came
	// back refused it in the meantime (a refusal leaves no trace on the
	// server). Sending the same update once more tells which; a refusal
	// comes back as such.
	res, err := incident.Send(cctx, c, update, id, a, nonce)
	var nw *incident.NoWorkerError
	if errors.As(err, &nw) {
		return workflows.AnswerResult{}, held()
	}
	if err != nil && !errors.As(err, new(*incident.Refused)) {
		return res, fmt.Errorf("the answer on incident %s did not reach the server: %w", id, sendErr)
	}
	return res, err
}

// temporalNamespace is the namespace the commands talk to.
func temporalNamespace() string {
	cfg, err := temporalenv.FromEnv(os.Getenv)
	if err != nil {
		return ""
	}
	return cfg.Namespace
}

func newCancelCmd() *cobra.Command {
	var (
		as, reason, keyFile string
		timeout             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "cancel INCIDENT --as PERSON --reason TEXT [--key-file FILE]",
		Short: "Cancel a running incident, with a reason",
		Long: `Cancel stops an incident: steps that are waiting or running are cancelled
and nothing new starts. The incident's commander and the break-glass rosters
may cancel it. The reason is
required and kept in the timeline. A cancelled incident keeps its status and
timeline.

--as may also come from FIREBREAK_AS. The cancellation is recorded with
channel "cli". --key-file FILE (default $FIREBREAK_KEY_FILE) signs it, as
for the answering commands (a cancel names no step and no round).

Exit status: 0 cancelled, 1 refused or failed, 2 the command line was wrong,
3 sent but no worker confirmed it in time (as for the answering commands),
130 you stopped waiting with Ctrl-C.
` + temporalHelp,
		Example: `  firebreak cancel INC-20261122-4F2A --as carol --reason "false positive: red-team exercise traffic"`,
		Args:    exactArgs("INCIDENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			person, err := requireAs(as)
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return usageErrorf("cancel needs --reason TEXT: it goes into the timeline")
			}
			if rf := rules.CheckText("--reason", reason, rules.MaxReason); rf != nil {
				return usageErrorf("%s", rf.Message)
			}
			signer, err := loadSigner(keyFile, person)
			if err != nil {
				return err
			}
			a := workflows.Answer{Person: person, Reason: reason, Channel: workflows.ChannelCLI}
			return withClient(cmd, timeout, func(ctx context.Context, c client.Client) error {
				return sendAnswer(ctx, cmd, c, workflows.UpdateCancel, args[0], a, signer, timeout)
			})
		},
	}
	addAs(cmd, &as, "your person ID")
	addKeyFile(cmd, &keyFile)
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; recorded in the timeline)")
	addTimeout(cmd, &timeout)
	return cmd
}
