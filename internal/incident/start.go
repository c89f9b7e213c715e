package incident

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
	"github.com/google/uuid"
	"github.com/hashicorp/hcl/v2"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// StartRequest says which playbook to run and with what.
type StartRequest struct {
	// Dir is the playbook directory (or file); the built-in library when
	// empty. Callers pick it with org.Dir.
	Dir string
	// Playbook is the playbook to run.
	Playbook string
	// Inputs are "name=value" strings; see ParseInputs.
	Inputs []string
	// Commander is the person ID of whoever starts the incident. It is
	// required and must be a person declared in the loaded files whom the
	// playbook's may_start allows: exclude_initiator and cancel rely on it,
	// so a mistyped ID is refused rather than silently let through.
	Commander string
	// Signer, when set, attests the start (see SignStart): the commander's
	// own key or a front door's. Without one the incident starts unattested
	// (IncidentInput.AcceptUnattested): its answers need not be signed, and
	// a worker that requires attestations refuses its sign-offs.
	Signer *attest.Signer
	// IncidentID is the human-facing ID; NewIncidentID makes one when empty.
	IncidentID string
	// Channel is where the start came from (workflows.ChannelCLI when
	// empty; ChannelSlack for /firebreak run), as the start attestation
	// says.
	Channel string
	// Exercise runs the playbook on simulated twins only.
	Exercise bool
}

// PlaybookError means the playbook files did not load or compile. Module and
// Diags are for showing the diagnostics with their source lines.
type PlaybookError struct {
	Module *playbooks.Module
	Diags  hcl.Diagnostics
}

// Error names the first error diagnostic; show Diags for the full picture.
func (e *PlaybookError) Error() string {
	for _, d := range e.Diags {
		if d.Severity == hcl.DiagError {
			return fmt.Sprintf("the playbooks are invalid: %s: %s", d.Summary, d.Detail)
		}
	}
	return "the playbooks are invalid"
}

// Prepared is a checked start request: the compiled plan and the workflow
// input, ready to start. Nothing has been sent to the server yet.
type Prepared struct {
	// Module is the loaded files, for showing Warnings.
	Module *playbooks.Module
	// Warnings are compiler warnings (no errors) about the playbook.
	Warnings hcl.Diagnostics
	Plan     *plan.Plan
	Input    workflows.IncidentInput
	// generated is true when the incident ID was made up here, so a clash
	// can be retried with a fresh one.
	generated bool
	// signer attests the start when StartPrepared sends it (the incident
	// ID it signs may still change), as made through channel.
	signer  *attest.Signer
	channel string
}

// Started says which incident was started.
type Started struct {
	IncidentID string
	WorkflowID string
	RunID      string
	Playbook   string
	Exercise   bool
	// Warnings are compiler warnings about the playbook.
	Warnings hcl.Diagnostics
}

// idPattern is what an incident ID given by a person may look like.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Prepare loads and compiles the playbook and checks the request: inputs
// against the plan, the commander against the declared people, the ID's
// shape. It talks to no server. Errors are *PlaybookError (the files are
// invalid) or *InputError (the request is wrong).
func Prepare(req StartRequest) (*Prepared, error) {
	dir := req.Dir
	if dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, &InputError{Problems: []string{fmt.Sprintf("%s: no such file or directory; give the playbook directory with --dir (or %s), or leave both out for %s.", dir, org.EnvDir, org.Describe(""))}}
		}
	}
	if req.Playbook == "" {
		return nil, &InputError{Problems: []string{"Name the playbook to run."}}
	}
	m, diags := org.LoadModule(dir)
	if diags.HasErrors() {
		return nil, &PlaybookError{Module: m, Diags: diags}
	}
	p, cdiags := m.Compile(req.Playbook, actions.Builtin())
	diags = append(diags, cdiags...)
	if p == nil || diags.HasErrors() {
		return nil, &PlaybookError{Module: m, Diags: diags}
	}

	var problems []string
	inputs, err := ParseInputs(p, req.Inputs)
	var ie *InputError
	help := ""
	if errors.As(err, &ie) {
		problems = append(problems, ie.Problems...)
		help = ie.Help
	} else if err != nil {
		return nil, err
	}
	switch {
	case req.Commander == "":
		problems = append(problems, "Say who starts the incident (its commander, a person declared in the playbooks): starting an incident names a known person.")
	case m.Config.People[req.Commander] == nil:
		people := make([]string, 0, len(m.Config.People))
		for id := range m.Config.People {
			people = append(people, id)
		}
		sort.Strings(people)
		problems = append(problems, fmt.Sprintf("No person %q is declared in %s, so they cannot be the incident commander.%s Known: %s.",
			req.Commander, org.Describe(dir), didYouMean(req.Commander, people), joinOr(people)))
	default:
		if msg := checkMayStart(p, req.Commander); msg != "" {
			problems = append(problems, msg)
		} else if err := CheckSigner(req.Signer, req.Commander); err != nil {
			var ie *InputError
			if errors.As(err, &ie) {
				problems = append(problems, ie.Problems...)
			}
		}
	}
	id := req.IncidentID
	generated := id == ""
	if generated {
		id = NewIncidentID(time.Now())
	} else if !idPattern.MatchString(id) {
		problems = append(problems, fmt.Sprintf("Incident ID %q is not usable: use letters, digits, '.', '_' and '-', at most 64, e.g. INC-2026-0042.", id))
	}
	if len(problems) > 0 {
		return nil, &InputError{Problems: problems, Help: help}
	}
	return &Prepared{
		Module:   m,
		Warnings: diags,
		Plan:     p,
		Input: workflows.IncidentInput{
			Plan:       p,
			IncidentID: id,
			Commander:  req.Commander,
			Inputs:     inputs,
			Exercise:   req.Exercise,
			// Unsigned starts run unattested; the worker decides whether
			// it accepts that.
			AcceptUnattested: req.Signer == nil,
		},
		generated: generated,
		signer:    req.Signer,
		channel:   req.Channel,
	}, nil
}

// NewIncidentID makes an incident ID from the UTC date and 16 random bits,
// e.g. "INC-20261122-4F2A".
func NewIncidentID(now time.Time) string {
	u := uuid.New()
	return fmt.Sprintf("INC-%s-%X", now.UTC().Format("20060102"), u[:2])
}

// Start prepares the request and starts the incident; see Prepare and
// StartPrepared.
func Start(ctx context.Context, c client.Client, req StartRequest) (Started, error) {
	p, err := Prepare(req)
	if err != nil {
		return Started{}, err
	}
	return StartPrepared(ctx, c, p)
}

// AlreadyExistsError means an incident with the requested ID exists (or
// existed: IDs are never reused).
type AlreadyExistsError struct{ IncidentID string }

// Error says the ID is taken and what to do.
func (e *AlreadyExistsError) Error() string {
	return fmt.Sprintf("incident %s already exists (incident IDs are never reused); pick another --id or leave it out to get a fresh one", e.IncidentID)
}

// SearchAttributeError means the server does not know the search attributes
// the incident workflow keeps, so it refused to start it.
type SearchAttributeError struct{ err error }

// Error says which attributes to register and how.
func (e *SearchAttributeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the Temporal namespace lacks firebreak's search attributes (%v).\nRegister them once per namespace, e.g. with the temporal CLI:\n", e.err)
	for _, sa := range SearchAttributes {
		fmt.Fprintf(&b, "  temporal operator search-attribute create --namespace \"$TEMPORAL_NAMESPACE\" --name %s --type %s\n", sa.Name, sa.Type)
	}
	b.WriteString("(Temporal Cloud: tcld namespace search-attributes add. The embedded development server registers them itself.)")
	return b.String()
}

// Unwrap returns the server's error.
func (e *SearchAttributeError) Unwrap() error { return e.err }

// SearchAttribute is a custom search attribute the incident workflow needs.
type SearchAttribute struct {
	Name string
	// Type is the Temporal type name: Keyword or Bool.
	Type string
}

// SearchAttributes lists the custom search attributes a namespace must have
// registered before incidents can start.
var SearchAttributes = []SearchAttribute{
	{workflows.SearchPlaybook, "Keyword"},
	{workflows.SearchSeverity, "Keyword"},
	{workflows.SearchState, "Keyword"},
	{workflows.SearchExercise, "Bool"},
	{workflows.SearchBreakGlass, "Bool"},
}

// StartPrepared starts the incident workflow for a prepared request, its
// start attested when the request had a Signer. An ID that already exists
// is an *AlreadyExistsError (a generated ID is retried with a fresh one);
// unregistered search attributes are a *SearchAttributeError.
func StartPrepared(ctx context.Context, c client.Client, p *Prepared) (Started, error) {
	in := p.Input
	for attempt := 0; ; attempt++ {
		if p.signer != nil {
			channel := p.channel
			if channel == "" {
				channel = workflows.ChannelCLI
			}
			start, err := SignStartVia(p.signer, in, time.Now(), channel)
			if err != nil {
				return Started{}, err
			}
			in.Start = start
		}
		run, err := c.ExecuteWorkflow(ctx, startOptions(in), workflows.WorkflowName, in)
		if err == nil {
			return Started{
				IncidentID: in.IncidentID,
				WorkflowID: run.GetID(),
				RunID:      run.GetRunID(),
				Playbook:   in.Plan.Playbook,
				Exercise:   in.Exercise,
				Warnings:   p.Warnings,
			}, nil
		}
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			if p.generated && attempt < 3 {
				in.IncidentID = NewIncidentID(time.Now())
				continue
			}
			return Started{}, &AlreadyExistsError{IncidentID: in.IncidentID}
		}
		if isSearchAttributeError(err) {
			return Started{}, &SearchAttributeError{err: err}
		}
		return Started{}, fmt.Errorf("starting incident %s: %w", in.IncidentID, err)
	}
}

// startOptions are the workflow options of an incident.
func startOptions(in workflows.IncidentInput) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       workflows.IncidentWorkflowID(in.IncidentID),
		TaskQueue:                                activities.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    startSearchAttributes(in),
	}
}

// startSearchAttributes are the search attributes an incident starts with.
func startSearchAttributes(in workflows.IncidentInput) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		temporal.NewSearchAttributeKeyKeyword(workflows.SearchPlaybook).ValueSet(in.Plan.Playbook),
		temporal.NewSearchAttributeKeyKeyword(workflows.SearchState).ValueSet(workflows.StateRunning),
		temporal.NewSearchAttributeKeyBool(workflows.SearchExercise).ValueSet(in.Exercise),
		temporal.NewSearchAttributeKeyBool(workflows.SearchBreakGlass).ValueSet(false),
	}
	if in.Plan.Severity != "" {
		updates = append(updates, temporal.NewSearchAttributeKeyKeyword(workflows.SearchSeverity).ValueSet(in.Plan.Severity))
	}
	return temporal.NewSearchAttributes(updates...)
}

// isSearchAttributeError recognises the server refusing a start because a
// search attribute is not registered in the namespace.
func isSearchAttributeError(err error) bool {
	var ia *serviceerror.InvalidArgument
	if !errors.As(err, &ia) {
		return false
	}
	msg := strings.ToLower(ia.Error())
	return strings.Contains(msg, "search attribute")
}

// WorkerPolling reports whether a worker has polled the incident task queue
// lately (the server remembers pollers for a few minutes). An incident
// started while it is false does not move until a worker comes.
func WorkerPolling(ctx context.Context, c client.Client) (bool, error) {
	resp, err := c.DescribeTaskQueue(ctx, activities.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return false, fmt.Errorf("asking the server about task queue %q: %w", activities.TaskQueue, err)
	}
	return len(resp.GetPollers()) > 0, nil
}
