// Package slackdoor is the Slack front door's Receiver: it turns the clicks,
// modal submissions and slash commands the gateway (integrations/slack) has
// verified into answers and starts of incidents. The Slack user is mapped to
// a person by the worker's own configuration (the person block whose slack
// attribute is the user's ID), never by anything in the request; every
// answer and start is signed with the gateway's key, naming that person.
package slackdoor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/observe"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Refusal codes the door adds to the rule book's.
const (
	// UnknownUser means no person block names the Slack user.
	UnknownUser = "UnknownUser"
	// IncidentFinished means the incident does not exist or has ended.
	IncidentFinished = "IncidentFinished"
	// BadAnswer means the click asked for an answer the door does not give
	// through Slack (cancel) or carried no round where one is needed.
	BadAnswer = "BadAnswer"
)

// Channel is the channel an answer or start through Slack names: "slack:"
// and the Slack user ID the gateway verified, so the signed claim and the
// timeline say which Slack account answered (plain "slack" for an ID too
// long for the rule book's channel limit).
func Channel(userID string) string {
	c := workflows.ChannelSlack + ":" + userID
	if userID == "" || len(c) > rules.MaxChannel {
		return workflows.ChannelSlack
	}
	return c
}

// Door is the Slack gateway's Receiver.
type Door struct {
	// Temporal is the client answers and starts go through.
	Temporal client.Client
	// Org is the worker's configuration in force: who a Slack user is, and
	// which playbooks there are.
	Org *org.Holder
	// Dir is the playbook directory incidents are started from ("" is the
	// built-in library), the one Org was loaded from.
	Dir string
	// Signer is the gateway's key (its public key is the slack
	// integration's public_key). Nil sends unsigned answers, which only an
	// incident that accepts unattested answers (firebreak dev) takes.
	Signer *attest.Signer
	// Now is the clock signatures are dated by; nil is time.Now.
	Now func() time.Time
	// Metrics count the answers the door refuses itself (unknown Slack
	// user, bad answer, incident finished); the incident counts the ones
	// it refuses. Nil counts nothing.
	Metrics *observe.Metrics

	authority *org.Authority
}

var _ slack.Receiver = (*Door)(nil)

// New returns a door onto the incidents of c, for the organisation h holds.
func New(c client.Client, h *org.Holder, dir string, signer *attest.Signer) *Door {
	return &Door{Temporal: c, Org: h, Dir: dir, Signer: signer, authority: org.NewAuthority(h, false)}
}

func (d *Door) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// refuse counts an answer the door refuses itself and returns the refusal.
func (d *Door) refuse(code, message string) *slack.Refused {
	d.Metrics.Refused(code, workflows.ChannelSlack)
	return &slack.Refused{Code: code, Message: message}
}

// person is who the Slack user is by the worker's configuration.
func (d *Door) person(userID string) (string, string, error) {
	pol := d.policy()
	if pol != nil && pol.Directory != nil {
		if id, ok := pol.Directory.BySlack(userID); ok {
			p, _ := pol.Directory.Person(id)
			name := p.Name
			if name == "" {
				name = id
			}
			return id, name, nil
		}
	}
	return "", "", &slack.Refused{Code: UnknownUser, Message: fmt.Sprintf(
		"your Slack account (%s) is not linked to a person in firebreak's configuration, so firebreak cannot tell who you are. Ask an operator to add slack = \"%s\" to your person block and reload the worker.",
		userID, userID)}
}

func (d *Door) policy() *activities.Policy {
	if d.authority == nil {
		d.authority = org.NewAuthority(d.Org, false)
	}
	return d.authority.Policy()
}

// Answer signs and sends a verified click or submission as the person the
// Slack user is, and says what it did.
func (d *Door) Answer(ctx context.Context, a slack.Answer) (slack.AnswerReply, error) {
	person, name, err := d.person(a.UserID)
	if err != nil {
		d.Metrics.Refused(UnknownUser, workflows.ChannelSlack)
		return slack.AnswerReply{}, err
	}
	update := a.Update
	switch update {
	case workflows.UpdateAck, workflows.UpdateApprove, workflows.UpdateDeny, workflows.UpdateDecide, workflows.UpdateDone, workflows.UpdateBreakGlass:
	default:
		return slack.AnswerReply{}, d.refuse(BadAnswer, fmt.Sprintf("%q is not an answer firebreak takes from a button.", rules.Clip(update, 40)))
	}
	ans := workflows.Answer{Step: a.Ref.Step, Person: person, Option: a.Ref.Option, Reason: a.Reason, Round: a.Ref.Round, Channel: Channel(a.UserID)}
	if update == workflows.UpdateAck {
		ans.Round = 0
	} else if ans.Round < 1 {
		return slack.AnswerReply{}, d.refuse(BadAnswer, "this button names no round of the question; answer the latest message, or with the CLI.")
	}
	nonce := ""
	if d.Signer != nil {
		if ans, err = incident.SignAnswer(d.Signer, update, a.Ref.Incident, ans, d.now()); err != nil {
			return slack.AnswerReply{}, fmt.Errorf("signing the answer: %w", err)
		}
	} else {
		nonce = incident.NewNonce()
	}
	res, err := incident.Send(ctx, d.Temporal, update, a.Ref.Incident, ans, nonce)
	var refused *incident.Refused
	var missing *incident.NotFoundError
	switch {
	case errors.As(err, &refused):
		// The incident refused it, and counts it.
		return slack.AnswerReply{}, &slack.Refused{Code: string(refused.Code), Message: refused.Message}
	case errors.As(err, &missing):
		return slack.AnswerReply{}, d.refuse(IncidentFinished, fmt.Sprintf("incident %s has finished or does not exist, so it takes no more answers.", rules.Clip(a.Ref.Incident, 80)))
	case err != nil:
		return slack.AnswerReply{}, err
	}
	return slack.AnswerReply{Person: person, Name: name, Message: res.Message, StepOpen: res.StepState == workflows.StepWaiting}, nil
}

// Command runs /firebreak run, status and list for the person the Slack
// user is.
func (d *Door) Command(ctx context.Context, c slack.Command) (slack.CommandReply, error) {
	person, _, err := d.person(c.UserID)
	if err != nil {
		return slack.CommandReply{}, err
	}
	switch c.Name {
	case "run":
		return d.run(ctx, person, c)
	case "status":
		if len(c.Args) > 0 {
			return d.status(ctx, c.Args[0])
		}
		return d.open(ctx)
	case "list":
		return d.list()
	}
	return slack.CommandReply{}, &slack.Refused{Code: BadAnswer, Message: fmt.Sprintf("/firebreak %s is not a command; try /firebreak help.", rules.Clip(c.Name, 40))}
}

func (d *Door) run(ctx context.Context, person string, c slack.Command) (slack.CommandReply, error) {
	if len(c.Args) == 0 {
		return slack.CommandReply{}, &slack.Refused{Code: BadAnswer, Message: "name the playbook to run: /firebreak run PLAYBOOK key=value …; /firebreak list shows them."}
	}
	if len(c.Args) > 1 {
		return slack.CommandReply{}, &slack.Refused{Code: BadAnswer, Message: fmt.Sprintf("/firebreak run takes one playbook and key=value inputs; %q is neither.", rules.Clip(c.Args[1], 80))}
	}
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	inputs := make([]string, 0, len(keys))
	for _, k := range keys {
		inputs = append(inputs, k+"="+c.Params[k])
	}
	req := incident.StartRequest{Dir: d.Dir, Playbook: c.Args[0], Inputs: inputs, Commander: person, Signer: d.Signer, Channel: Channel(c.UserID)}
	started, err := incident.Start(ctx, d.Temporal, req)
	var ie *incident.InputError
	var pe *incident.PlaybookError
	switch {
	case errors.As(err, &ie):
		return slack.CommandReply{}, &slack.Refused{Code: BadAnswer, Message: strings.Join(ie.Problems, " ")}
	case errors.As(err, &pe):
		return slack.CommandReply{}, &slack.Refused{Code: BadAnswer, Message: pe.Error()}
	case err != nil:
		return slack.CommandReply{}, err
	}
	return slack.CommandReply{Text: fmt.Sprintf("Started incident %s (playbook %s), commander %s.", started.IncidentID, started.Playbook, person), InChannel: true}, nil
}

func (d *Door) status(ctx context.Context, id string) (slack.CommandReply, error) {
	st, err := incident.Status(ctx, d.Temporal, id)
	var missing *incident.NotFoundError
	if errors.As(err, &missing) {
		return slack.CommandReply{}, &slack.Refused{Code: IncidentFinished, Message: missing.Error()}
	}
	if err != nil {
		return slack.CommandReply{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (%s), %s\n", st.IncidentID, st.Title, st.Playbook, st.State)
	for _, s := range st.Steps {
		line := fmt.Sprintf("• %s: %s", s.ID, s.State)
		switch {
		case s.Need != "":
			line += " (" + s.Need + ")"
		case len(s.Awaiting) > 0:
			line += " (waiting for " + strings.Join(s.Awaiting, ", ") + ")"
		case s.Reason != "":
			line += " (" + s.Reason + ")"
		}
		b.WriteString(line + "\n")
	}
	return slack.CommandReply{Text: strings.TrimRight(b.String(), "\n")}, nil
}

func (d *Door) open(ctx context.Context) (slack.CommandReply, error) {
	list, err := incident.List(ctx, d.Temporal, incident.Filter{State: workflows.StateRunning, Limit: 20})
	if err != nil {
		return slack.CommandReply{}, err
	}
	if len(list) == 0 {
		return slack.CommandReply{Text: "No incident is open."}, nil
	}
	var b strings.Builder
	for _, s := range list {
		ex := ""
		if s.Exercise {
			ex = " (exercise)"
		}
		fmt.Fprintf(&b, "• %s: %s %s%s, started %s\n", s.IncidentID, s.Playbook, s.Severity, ex, s.StartedAt.UTC().Format("2006-01-02 15:04 MST"))
	}
	return slack.CommandReply{Text: strings.TrimRight(b.String(), "\n")}, nil
}

func (d *Door) list() (slack.CommandReply, error) {
	o := d.Org.Current()
	names := o.Module.PlaybookNames()
	if len(names) == 0 {
		return slack.CommandReply{Text: "No playbook is loaded."}, nil
	}
	var b strings.Builder
	for _, n := range names {
		title := ""
		if pb := o.Config.Playbooks[n]; pb != nil && pb.Title != "" {
			title = ": " + pb.Title
		}
		fmt.Fprintf(&b, "• %s%s\n", n, title)
	}
	return slack.CommandReply{Text: strings.TrimRight(b.String(), "\n")}, nil
}
