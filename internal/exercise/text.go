package exercise

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firebreak-ir/firebreak/internal/render/safetext"
)

// WriteText writes a run for people: the timeline on the exercise clock,
// the objectives and the final state. Everything that comes from the
// files or the incident is neutralised for the terminal.
func WriteText(w io.Writer, res *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Exercise %s: playbook %s, commander %s, seed %d (automated, simulated twins only)\n\n",
		safetext.Line(res.Exercise), safetext.Line(res.Playbook), safetext.Line(res.Commander), res.Seed)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTEP\tEVENT\tWHO\tDETAIL")
	for _, e := range res.Timeline {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", Clock(time.Duration(e.At)), cell(e.Step), cell(e.Event), cell(e.Who), safetext.Line(e.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("\nObjectives:\n")
	if len(res.Objectives) == 0 {
		b.WriteString("  none declared\n")
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, o := range res.Objectives {
		verdict, at := "NOT MET", "never finished done ("+safetext.Line(o.State)+")"
		if o.At != nil {
			at = "done at " + Clock(time.Duration(*o.At))
		}
		if o.Met {
			verdict = "met"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s within %s\t%s\n", cell(o.Name), verdict, cell(o.Of), time.Duration(o.Within), at)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nFinal state: %s at %s\n", safetext.Line(res.State), Clock(time.Duration(res.Duration)))
	if res.Stopped {
		b.WriteString("The run stopped the incident at its horizon: it was still running (a step waiting for an answer nobody gives?).\n")
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, s := range res.Steps {
		at := ""
		if s.At != nil {
			at = Clock(time.Duration(*s.At))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", cell(s.ID), cell(s.State), at, safetext.Line(s.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// tabwriter pads the last column too when it is empty.
	out := strings.ReplaceAll(b.String(), " \n", "\n")
	for strings.Contains(out, " \n") {
		out = strings.ReplaceAll(out, " \n", "\n")
	}
	_, err := io.WriteString(w, out)
	return err
}

// cell is a value for a column: neutralised, "-" when empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return safetext.Line(s)
}

// WriteJSON writes a run as one JSON document (durations as Go duration
// strings).
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
