package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/internal/evidence"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
)

// sealSigner reads the key that seals an export: --key-file, else
// $FIREBREAK_KEY_FILE; nil when neither is set. as (--as) names whose own
// key a file without a Firebreak-Signer header is; sealPerson checks who
// the key may seal for.
func sealSigner(keyFile, as string) (*attest.Signer, error) {
	return readSigner(keyFile, resolveAs(as))
}

// sealPerson is who a seal names: the key's own person, or --as for a
// front door's key.
func sealPerson(s *attest.Signer, as string) (string, error) {
	as = resolveAs(as)
	switch kp := s.Person(); {
	case kp != "" && as != "" && as != kp:
		return "", usageErrorf("the key file is %s's key; it cannot seal an export for %s", kp, as)
	case kp != "":
		return kp, nil
	case as == "":
		return "", usageErrorf("the key file is the front door key %s; say who exports with --as PERSON", s.ID)
	}
	return as, nil
}

func newVerifyCmd() *cobra.Command {
	var (
		dir, format                    string
		allowUnattested, allowUnsealed bool
	)
	cmd := &cobra.Command{
		Use:   "verify FILE [--dir DIR] [--format text|json] [--allow-unattested] [--allow-unsealed]",
		Short: "Check an exported timeline offline: signatures, seal and every safety sign-off",
		Long: `Verify checks a timeline exported with 'firebreak timeline INCIDENT --format json
--key-file FILE', without Temporal or a worker, against the organisation's own
configuration (--dir, $FIREBREAK_DIR, else the built-in library): its public
keys, rosters and safety policy. Nothing in the file is trusted; it is the
claim being checked.

It checks, and prints a line for each:
  format   the file is exactly the canonical JSON of what it holds: any byte
           changed (a detail, a person, a signature, white space) fails
  seal     the exporter's signature over the document, by a trusted key
  record   the timeline and status are of one incident, events in order
  keys     the keys the incident's plan trusted, against the configuration's
  answer   every answer and the start: signed by a key the configuration
           trusts that may sign for the person, saying exactly what the
           event records (incident, step, round, person, answer, option,
           reason, channel), not after it was recorded nor long before
  safety   every safety-critical action was preceded by approvals of the
           round it names, from distinct people, each validly signed, that
           meet the safety policy (one from each signoff roster, not the
           incident's initiator when exclude_initiator is set, within
           valid_for), or by a signed break-glass from someone on a
           break-glass roster

The configuration in force when you verify governs: someone since removed
from a roster, or a key since withdrawn, no longer counts.

Exit status: 0 every check passed, 1 a check failed (or the configuration
does not load), 2 the command line was wrong or the file cannot be read.

docs/evidence.md describes the format and each check.`,
		Example: `  firebreak timeline INC-20261122-4F2A --format json --key-file person.carol.key > INC-20261122-4F2A.json
  firebreak verify INC-20261122-4F2A.json --dir ./org
  firebreak verify demo.json --allow-unattested --allow-unsealed   an export from firebreak dev`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return usageErrorf("reading the exported timeline: %v", err)
			}
			d := org.Dir(dir, os.Getenv)
			if d == "" {
				fmt.Fprintln(cmd.ErrOrStderr(), builtInNote)
			} else if _, err := os.Stat(d); err != nil {
				from := "--dir " + d
				if dir == "" {
					from = org.EnvDir + "=" + d
				}
				return usageErrorf("%s: no such file or directory; give the organisation's playbook directory (or unset %s for the built-in library)", from, org.EnvDir)
			}
			m, diags := org.LoadModule(d)
			if !diags.HasErrors() {
				diags = append(diags, m.Check(actions.Builtin())...)
			}
			if diags.HasErrors() {
				_ = printDiags(cmd, m, diags)
				return &exitError{code: exitInvalid, err: fmt.Errorf("%s does not load, so there is nothing to verify against; fix it first ('firebreak validate' shows the same)", org.Describe(d))}
			}
			rep := evidence.Verify(data, evidence.Trust{
				Keys:      m.Config.Keys(),
				Directory: m.Config.Directory(),
				Safety:    m.Config.PlanSafety(),
				Actions:   actions.Builtin(),
			}, evidence.Options{AllowUnattested: allowUnattested, AllowUnsealed: allowUnsealed})
			if format == formatJSON {
				err = rep.WriteJSON(cmd.OutOrStdout())
			} else {
				err = rep.WriteText(cmd.OutOrStdout(), args[0])
			}
			if err != nil {
				return err
			}
			if !rep.OK {
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", dirFlagHelp)
	f.StringVar(&format, "format", formatText, "output format: text or json")
	f.BoolVar(&allowUnattested, "allow-unattested", false, "report unsigned answers (firebreak dev and demo) as warnings, and let unsigned approvals count")
	f.BoolVar(&allowUnsealed, "allow-unsealed", false, "report a missing seal (an export made without --key-file) as a warning")
	return cmd
}
