package incident

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// LoadSigner reads a private key file (`firebreak keygen` writes one) to
// sign as person. A file whose Firebreak-Signer header names its key ID
// signs as that ID; a file without the header (`openssl genpkey -algorithm
// ed25519`) is taken as person's own key. A file that others may read is
// refused, as ssh refuses one: the key is only as private as its file.
func LoadSigner(path, person string) (*attest.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &InputError{Problems: []string{fmt.Sprintf("The key file %s cannot be read: %v. Give the file `firebreak keygen` wrote with --key-file (or FIREBREAK_KEY_FILE).", path, unwrapPath(err))}}
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, &InputError{Problems: []string{fmt.Sprintf("The key file %s may be read by others (mode %04o): a key anyone can read signs for anyone. Make it yours alone with: chmod 600 %s", path, st.Mode().Perm(), path)}}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &InputError{Problems: []string{fmt.Sprintf("The key file %s cannot be read: %v.", path, unwrapPath(err))}}
	}
	s, err := attest.ParsePrivateKey(data, "")
	if err != nil && person != "" && !strings.Contains(string(data), attest.SignerHeader) {
		s, err = attest.ParsePrivateKey(data, "person."+person)
	}
	if err != nil {
		return nil, &InputError{Problems: []string{fmt.Sprintf("The key file %s is not usable: %v.", path, err)}}
	}
	return s, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckSigner refuses to sign for person with a key that may not: a
// person's own key (person.X) signs only for X. A front door's key signs
// for anyone. It runs before anything is sent, so a mistaken --as is caught
// at the command line rather than refused by the incident.
func CheckSigner(s *attest.Signer, person string) error {
	if s == nil {
		return nil
	}
	if owner := s.Person(); owner != "" && owner != person {
		return &InputError{Problems: []string{fmt.Sprintf("The key file is %s's own key (%s), and it signs only for %s, not for %q. Answer with --as %s, or give %s's key file.", owner, s.ID, owner, person, owner, person)}}
	}
	return nil
}

// SigningRound is the round an answer is signed for: a concrete round,
// since a signature cannot mean "whatever round is current". Pages and
// cancels have none (0); approvals, decisions and tasks are signed for the
// round the answer names (the step's current one when a worker told it),
// and when no worker could say, for --round or else round 1.
func SigningRound(update string, r Resolved) int {
	if update == workflows.UpdateCancel || update == workflows.UpdateAck || r.Kind == plan.KindPage {
		return 0
	}
	if r.Answer.Round > 0 {
		return r.Answer.Round
	}
	return 1
}

// SignAnswer attests an answer: the claim is the incident, the answer's
// step, round, person, option, the digest of its reason and its channel,
// signed now. Answer.Round must already be the concrete round (see
// SigningRound). The signer must be allowed to sign for the person (see
// CheckSigner).
func SignAnswer(s *attest.Signer, update, incidentID string, a workflows.Answer, now time.Time) (workflows.Answer, error) {
	if err := CheckSigner(s, a.Person); err != nil {
		return a, err
	}
	a.Attestation = s.Sign(attest.Claim{
		Incident:     incidentID,
		Step:         a.Step,
		Round:        a.Round,
		Person:       a.Person,
		Answer:       update,
		Option:       a.Option,
		ReasonSHA256: attest.Digest(a.Reason),
		Channel:      a.Channel,
	}, now.UTC())
	return a, nil
}

// SignStart attests the start of an incident by its commander: the step
// "playbook.NAME", round 0, answer attest.Start, option "exercise" for an
// exercise, the digest of the plan and the inputs (plan.StartDigest) in
// place of a reason, channel cli.
func SignStart(s *attest.Signer, in workflows.IncidentInput, now time.Time) (*attest.Attestation, error) {
	return SignStartVia(s, in, now, workflows.ChannelCLI)
}

// SignStartVia is SignStart for a start that came through channel (cli,
// or slack for a front door's /firebreak run).
func SignStartVia(s *attest.Signer, in workflows.IncidentInput, now time.Time, channel string) (*attest.Attestation, error) {
	if in.Plan == nil {
		return nil, errors.New("the incident has no plan to sign")
	}
	if err := CheckSigner(s, in.Commander); err != nil {
		return nil, err
	}
	digest, err := plan.StartDigest(in.Plan, in.Inputs)
	if err != nil {
		return nil, fmt.Errorf("digesting the plan and inputs: %w", err)
	}
	option := ""
	if in.Exercise {
		option = "exercise"
	}
	return s.Sign(attest.Claim{
		Incident:     in.IncidentID,
		Step:         "playbook." + in.Plan.Playbook,
		Person:       in.Commander,
		Answer:       attest.Start,
		Option:       option,
		ReasonSHA256: digest,
		Channel:      channel,
	}, now.UTC()), nil
}

// checkMayStart refuses a commander the plan's may_start does not allow.
func checkMayStart(p *plan.Plan, commander string) string {
	if len(p.MayStart) == 0 {
		return ""
	}
	dir := rules.ForPlan(p)
	if dir.InAny(commander, p.MayStart) {
		return ""
	}
	allowed := make([]string, 0, len(p.MayStart))
	for _, pr := range p.MayStart {
		if strings.HasPrefix(pr, "roster.") {
			allowed = append(allowed, fmt.Sprintf("%s (%s)", pr, strings.Join(dir.Members(pr), ", ")))
			continue
		}
		allowed = append(allowed, pr)
	}
	return fmt.Sprintf("%s may not start playbook %s (%s): its may_start allows %s. Start it --as one of them.",
		commander, p.Playbook, rules.NotAllowedToStart, strings.Join(allowed, ", "))
}
