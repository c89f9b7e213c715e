package evidence

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/render/safetext"
)

// WriteText writes a report for a terminal: a line per check (result,
// check, event, subject, message) and a summary line. Everything the
// document said is neutralised (safetext.Line): a document is evidence
// from elsewhere, and may hold anything.
func (r *Report) WriteText(w io.Writer, file string) error {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%-4s  %-6s", strings.ToUpper(c.Result), c.Check)
		if c.Seq > 0 {
			fmt.Fprintf(&b, "  #%d", c.Seq)
		}
		if c.Subject != "" {
			b.WriteString("  " + safetext.Line(c.Subject))
		}
		b.WriteString(": " + safetext.Line(c.Message))
		if c.Code != "" {
			b.WriteString(" [" + safetext.Line(c.Code) + "]")
		}
		b.WriteByte('\n')
	}
	verdict := "the timeline is intact and every sign-off holds"
	if !r.OK {
		verdict = "the timeline does NOT verify"
	}
	what := safetext.Line(file)
	if r.IncidentID != "" {
		what += " (incident " + safetext.Line(r.IncidentID) + ")"
	}
	fmt.Fprintf(&b, "\n%s: %d checks, %d passed, %d failed, %d warnings: %s\n", what, len(r.Checks), r.Passed, r.Failed, r.Warnings, verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes a report as indented JSON with a trailing newline.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
