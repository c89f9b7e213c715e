// Command firebreak compiles and runs joint IT/OT incident-response playbooks.
//
// Exit status: 0 success, 1 the playbooks are invalid or an exported timeline
// does not verify (or the command failed), 2 the command line was wrong, 3 an
// answer was sent but no worker confirmed it in time, 130 interrupted.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1
	exitUsage   = 2
	// exitPending: an answer was sent and the server holds it, but no
	// worker applied it before --timeout; it is applied or refused when
	// one picks the incident up.
	exitPending = 3
	// exitInterrupted is the shell's code for Ctrl-C: following stopped,
	// the incident goes on.
	exitInterrupted = 130
)

// exitError carries an exit code out of a command. A nil err means the
// command has already printed everything the user needs.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and returns the exit code. Error messages quote
// what people and playbooks wrote (IDs, inputs' descriptions, server
// replies), so they are neutralised for the terminal.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(normalizeArgs(args))
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "Error: %s\n", safetext.Terminal(ee.err.Error()))
			if ee.code == exitUsage {
				fmt.Fprintf(stderr, "Run 'firebreak --help' for usage.\n")
			}
		}
		return ee.code
	}
	// Anything cobra itself rejects (unknown command, bad flag) is usage.
	fmt.Fprintf(stderr, "Error: %s\nRun 'firebreak --help' for usage.\n", safetext.Terminal(err.Error()))
	return exitUsage
}

// normalizeArgs accepts Terraform's single-dash "fmt -check" as well as
// "fmt --check".
func normalizeArgs(args []string) []string {
	out := append([]string(nil), args...)
	if len(out) == 0 || out[0] != "fmt" {
		return out
	}
	for i, a := range out {
		if a == "-check" {
			out[i] = "--check"
		}
	}
	return out
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "firebreak",
		Short: "Incident-response playbooks for IT and OT, with a safety interlock",
		Long: `firebreak compiles joint IT/OT incident-response playbooks written in HCL into
checked plans and runs them as durable Temporal workflows. A safety-critical
action (isolating a plant zone, cutting a conduit) can only run after the
plant's safety people have signed off; the compiler proves every playbook
respects that, and the running incident checks it again.

See it work (no setup needed):
  firebreak demo                               a whole incident on an embedded server

The built-in library (a sample operator, Northwind Energy, with four joint
IT/OT playbooks) ships inside the binary and is the default everywhere.
Use your own with --dir DIR or FIREBREAK_DIR=DIR:
  firebreak init ./org                         write the library out to start from

Check playbooks:
  firebreak validate                           check the built-in library
  firebreak validate ./org                     check a directory of playbooks
  firebreak plan --playbook ot_ransomware_containment
  firebreak graph ./org --playbook ot_ransomware_containment
  firebreak actions                            list the actions steps can run

Run and answer incidents (needs Temporal and a worker; see TEMPORAL_ADDRESS):
  firebreak dev                                embedded Temporal server + worker
  firebreak run ot_ransomware_containment --input zone=plant3_dmz --as carol
  firebreak status INC-20261122-4F2A           who is awaited, what is needed
  firebreak approve INC-20261122-4F2A approval.isolate_ok --as alice
  firebreak keygen person.alice                make a key to sign your answers with
  firebreak timeline INC-20261122-4F2A > record.md   the audit trail
  firebreak list --state running
  firebreak verify record.json                 check an exported timeline offline
  firebreak report INC-20261122-4F2A --html review.html   the post-incident review
  firebreak serve --key-file slack.key         answer in Slack (docs/slack.md)

Rehearse (no server needed; every action on a simulated twin):
  firebreak exercise list
  firebreak exercise run plant3_ransomware_ttx --seed 7
  firebreak exercise run plant3_ransomware_ttx --live --time-scale 10   on a server, people answer`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.PersistentFlags().Bool("no-color", false, "never colour the output (also: NO_COLOR=1)")
	root.AddCommand(
		newValidateCmd(),
		newFmtCmd(),
		newPlanCmd(),
		newGraphCmd(),
		newActionsCmd(),
		newInitCmd(),
		newKeygenCmd(),
	)
	root.AddCommand(incidentCmds()...)
	root.AddCommand(serverCmds()...)
	root.AddCommand(newIntegrationsCmd())
	root.AddCommand(newVerifyCmd())
	root.AddCommand(newExerciseCmd())
	root.AddCommand(newReportCmd())
	root.AddCommand(newBenchCmd())
	return root
}
