package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/internal/review"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// formatMarkdownLong is the spelled-out name of the Markdown format.
const formatMarkdownLong = "markdown"

func newReportCmd() *cobra.Command {
	var (
		format, htmlFile string
		timeout          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "report INCIDENT [--html FILE] [--format markdown|json]",
		Short: "Review an incident after the fact: key times, escalations, refusals, break-glass",
		Long: `Report writes the post-incident review of an incident, the same review an
exercise's after-action report is ('firebreak exercise run --report'): an
overview (playbook, the digest of the plan it ran, commander, participants),
the key times from the start (to the first acknowledgement, to the safety
sign-off, to the isolation), the escalations, the refusals with their counts,
every break-glass override (flagged at the top), how many answers were
signed and how many unattested, the timeline, the strengths and areas for
improvement the rules of docs/exercises.md find, and an improvement plan.

The Markdown goes to standard output; --html FILE also writes a
self-contained HTML page with an SVG timeline of the steps (no script, no
network). --format json prints the review as one document.
` + temporalHelp,
		Example: `  firebreak report INC-20261122-4F2A > INC-20261122-4F2A-review.md
  firebreak report INC-20261122-4F2A --html INC-20261122-4F2A-review.html
  firebreak report INC-20261122-4F2A --format json | jq '.measures'`,
		Args: exactArgs("INCIDENT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatMarkdownLong, formatMarkdown, formatJSON); err != nil {
				return err
			}
			return withClient(cmd, timeout, func(ctx context.Context, c client.Client) error {
				tl, err := incident.Timeline(ctx, c, args[0])
				if err != nil {
					return err
				}
				st, err := incident.Status(ctx, c, args[0])
				if err != nil {
					return err
				}
				// The plan names the safety sign-offs, the isolating
				// actions and the rosters; without it the review says
				// the digest is not known and guesses less.
				var p *plan.Plan
				if in, err := incident.StartInput(ctx, c, args[0]); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Note: the plan of incident %s could not be read (%s); the review goes without its digest.\n", safetext.Line(args[0]), safetext.Line(err.Error()))
				} else {
					p = in.Plan
				}
				rv := review.FromIncident(tl, st, review.IncidentOptions{Date: time.Now(), Plan: p})
				if err := writeReviewFiles(rv, "", htmlFile); err != nil {
					return err
				}
				if format == formatJSON {
					return review.WriteJSON(cmd.OutOrStdout(), rv)
				}
				return review.WriteMarkdown(cmd.OutOrStdout(), rv)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", formatMarkdownLong, "output format: markdown (or md) or json")
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the review as a self-contained HTML page to this file")
	addTimeout(cmd, &timeout)
	return cmd
}
