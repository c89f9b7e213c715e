package review

import (
	"encoding/json"
	"fmt"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"io"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/workflows"
)

// BreakGlassBanner is the flag shown at the top of a review whose incident
// had a safety gate forced.
const BreakGlassBanner = "BREAK-GLASS: a safety gate was forced; post-incident review required."

// md escapes text for one line of Markdown; mdc for a table cell.
func md(s string) string  { return safetext.Markdown(s) }
func mdc(s string) string { return dashIfEmpty(safetext.MarkdownCell(s)) }

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Heading is the review's title: "After-action report: exercise NAME" or
// "Post-incident review: incident ID" (raw text).
func (r *Review) Heading() string {
	if r.Kind == KindExercise {
		return "After-action report: exercise " + r.Name
	}
	return "Post-incident review: incident " + r.Name
}

// When formats a time since the start on the review's clock: T+00:12:00,
// followed for an incident by its UTC wall time.
func (r *Review) When(d Duration) string {
	c := exercise.Clock(time.Duration(d))
	if r.Kind == KindIncident && !r.StartedAt.IsZero() {
		c += " (" + r.StartedAt.Add(time.Duration(d)).UTC().Format("15:04:05Z") + ")"
	}
	return c
}

func (r *Review) whenPtr(d *Duration) string {
	if d == nil {
		return "never"
	}
	return r.When(*d)
}

// WriteMarkdown writes the review as a Markdown document. Every text from
// people and playbooks is escaped with safetext.Markdown (MarkdownCell in
// tables): it reads as written and never becomes a link, an image,
// emphasis, HTML or a new table cell.
func WriteMarkdown(w io.Writer, r *Review) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# %s\n\n", md(r.Heading()))
	if r.BreakGlass {
		p("> **%s**\n\n", BreakGlassBanner)
	}
	if r.Kind == KindExercise {
		p("> **EXERCISE.** %s on simulated twins; nothing in the plant was touched. Times are on the exercise clock (T+HH:MM:SS from the start).\n\n", runKind(r))
	} else {
		p("> Times are from the start of the incident (T+HH:MM:SS), with the wall time in UTC.\n\n")
	}

	p("## 1. Overview\n\n| | |\n|---|---|\n")
	row := func(k, v string) { p("| %s | %s |\n", k, v) }
	if r.Kind == KindExercise {
		row("Exercise", mdc(r.Name))
	} else {
		row("Incident", mdc(r.Name))
	}
	row("Report date", r.Date.UTC().Format("2006-01-02"))
	if r.Kind == KindIncident {
		row("Started (UTC)", fmtWall(r.StartedAt))
	}
	if r.Description != "" {
		row("Scenario", mdc(r.Description))
	}
	pb := r.Playbook
	if r.Title != "" {
		pb += ": " + r.Title
	}
	row("Playbook", mdc(pb))
	if r.Severity != "" {
		row("Severity", mdc(r.Severity))
	}
	row("Plan digest", mdc(cmp(r.PlanDigest, "not known")))
	row("Commander", mdc(cmp(r.Commander, "(not given)")))
	if r.Kind == KindExercise {
		run := fmt.Sprintf("automated, seed %d, simulated twins only", r.Seed)
		if r.Live != nil {
			run = mdc(LiveLine(r.Live))
		}
		if r.MonteCarlo != nil {
			run += fmt.Sprintf("; Monte Carlo of %d runs, seed %d", r.MonteCarlo.Runs, r.MonteCarlo.Seed)
		}
		row("Run", run)
	} else {
		row("Mode", "real incident")
	}
	state := mdc(r.State)
	if r.Stopped {
		state += " (stopped by the run at its horizon)"
	}
	row("Final state", state)
	row("Duration", exercise.Clock(time.Duration(r.Duration)))
	if r.BreakGlass {
		n := r.Overrides()
		row("Break-glass", fmt.Sprintf("**YES** (%d override%s): post-incident review required", n, plural(n)))
	} else {
		row("Break-glass", "no")
	}
	row("Answers", attestLine(r))

	p("\n### Participants\n\n")
	if len(r.Participants) == 0 {
		p("Nobody took part.\n")
	} else {
		p("| Person | Role | Asked for | Did |\n|---|---|---|---|\n")
		for _, pp := range r.Participants {
			p("| %s | %s | %s | %s |\n", mdc(pp.Person), mdc(pp.Role), mdc(strings.Join(pp.Asked, ", ")), mdc(strings.Join(pp.Answered, ", ")))
		}
	}

	if r.Kind == KindExercise {
		p("\n## 2. Objectives\n\n")
		if len(r.Objectives) == 0 {
			p("The exercise declares no objective.\n")
		} else {
			p("| Objective | Description | Step | Within | Achieved | Rating |\n|---|---|---|---|---|---|\n")
			for _, o := range r.Objectives {
				achieved := "never (" + md(o.State) + ")"
				if o.At != nil {
					achieved = r.When(*o.At)
					if !o.Met {
						achieved += ", late"
					}
				}
				p("| %s | %s | %s | %s | %s | **%s** %s |\n", mdc(o.Name), mdc(o.Description), mdc(o.Of), short(time.Duration(o.Within)), achieved, o.Rating, RatingWords[o.Rating])
			}
		}
		p("\n%s\n", ratingRules)
	}

	p("\n## %s. Key times\n\n| Measure | Step | At |\n|---|---|---|\n", sec(r, 3))
	for _, m := range r.Measures {
		at := r.whenPtr(m.At)
		if m.Note != "" {
			at += ", **" + md(m.Note) + "**"
		}
		p("| %s | %s | %s |\n", m.Name, mdc(m.Step), at)
	}
	p("\n**Escalations:** %d. **Refusals:** %d. **Break-glass overrides:** %d.\n", len(r.Escalations), refusalTotal(r), r.Overrides())
	if len(r.BreakGlasses) > 0 {
		p("\n### Break-glass\n\n")
		writeEventTable(&b, r, r.BreakGlasses)
	}
	if len(r.Escalations) > 0 {
		p("\n### Escalations\n\n")
		writeEventTable(&b, r, r.Escalations)
	}
	if len(r.Refusals) > 0 {
		p("\n### Refusals\n\n| Person | Code | Count | First | Last |\n|---|---|---|---|---|\n")
		for _, f := range r.Refusals {
			p("| %s | %s | %d | %s | %s |\n", mdc(f.Person), mdc(f.Code), f.Count, r.When(f.First), r.When(f.Last))
		}
	}

	p("\n## %s. Timeline\n\n", sec(r, 4))
	if len(r.Timeline) == 0 {
		p("No events recorded.\n")
	} else {
		writeEventTable(&b, r, r.Timeline)
	}

	p("\n## %s. Strengths\n\n", sec(r, 5))
	if len(r.Strengths) == 0 {
		p("None found by the rules of this report.\n")
	}
	for _, s := range r.Strengths {
		p("- %s\n", md(s))
	}
	p("\n## %s. Areas for improvement\n\n", sec(r, 6))
	if len(r.Improvements) == 0 {
		p("None found by the rules of this report.\n")
	}
	for _, it := range r.Improvements {
		p("- %s\n", md(it.Issue))
	}

	p("\n## %s. Improvement plan\n\n", sec(r, 7))
	if len(r.Improvements) == 0 {
		p("Nothing to plan.\n")
	} else {
		p("| # | Issue | Corrective action | Capability element | Responsible | Due date |\n|---|---|---|---|---|---|\n")
		for i, it := range r.Improvements {
			p("| %d | %s | %s | %s | %s | |\n", i+1, mdc(it.Issue), mdc(it.Action), it.Element, mdc(it.Responsible))
		}
	}

	if mc := r.MonteCarlo; mc != nil {
		p("\n## %s. Monte Carlo\n\n%d runs, seed %d. p50, p90 and p99 are nearest-rank percentiles of the time met, over the runs that met the objective.\n\n", sec(r, 8), mc.Runs, mc.Seed)
		p("| Objective | Step | Within | p_met | p50 | p90 | p99 | Most sensitive to |\n|---|---|---|---|---|---|---|---|\n")
		for _, o := range mc.Objectives {
			sens := "-"
			if o.Sensitivity != nil {
				sens = fmt.Sprintf("%s (miss rate %.3f → %.3f fixed at median)", md(o.Sensitivity.Responder), o.Sensitivity.MissRate, o.Sensitivity.FixedMissRate)
			}
			p("| %s | %s | %s | %.3f | %s | %s | %s | %s |\n", mdc(o.Name), mdc(o.Of), short(time.Duration(o.Within)), o.PMet, r.whenPtr(o.P50), r.whenPtr(o.P90), r.whenPtr(o.P99), sens)
		}
		for _, o := range mc.Objectives {
			bins := Histogram(o.Times, time.Duration(o.Within), HistogramBins)
			p("\nTime met, objective %s (%d of %d runs met it):\n\n```\n", md(o.Name), len(o.Times), mc.Runs)
			top := 0
			for _, bn := range bins {
				top = max(top, bn.Count)
			}
			for _, bn := range bins {
				bar := 0
				if top > 0 {
					bar = (40*bn.Count + top - 1) / top
				}
				p("%s\n", strings.TrimRight(fmt.Sprintf("%s–%s %6d %s", exercise.Clock(bn.From), exercise.Clock(bn.To), bn.Count, strings.Repeat("#", bar)), " "))
			}
			p("```\n")
		}
	}

	p("\n## Steps\n\n| Step | State | Started | Finished |\n|---|---|---|---|\n")
	for _, l := range r.Lanes {
		start, end := "-", "-"
		if l.Start != nil {
			start = r.When(*l.Start)
		}
		if l.End != nil {
			end = r.When(*l.End)
		}
		p("| %s | %s | %s | %s |\n", mdc(l.Step), mdc(l.State), start, end)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ratingRules is how objectives are rated, as the report says it.
const ratingRules = "Ratings: **P** met with at least a third of its limit to spare; **S** met with at least a tenth but less than a third to spare; **M** met with less than a tenth to spare; **U** not met (finished late, or never finished done)."

// sec numbers a section: an incident review has no objectives section, so
// its sections after the overview come one earlier.
func sec(r *Review, n int) string {
	if r.Kind == KindIncident {
		n--
	}
	return fmt.Sprint(n)
}

// runKind is how an exercise ran, for the banner: "An automated run" or
// "A live run (time scale 600)".
func runKind(r *Review) string {
	if r.Live == nil {
		return "An automated run"
	}
	return fmt.Sprintf("A live run with real people (exercise clock %v times the wall clock)", r.Live.TimeScale)
}

// LiveLine says how a live exercise ran, for the overview (raw text).
func LiveLine(l *LiveRun) string {
	s := fmt.Sprintf("live, incident %s on a Temporal server, exercise clock %v times the wall clock, real people answering, simulated twins only", l.IncidentID, l.TimeScale)
	if l.Interrupted {
		s += "; reported while still running"
	}
	return s
}

func attestLine(r *Review) string {
	a := r.Attestations
	switch {
	case r.Kind == KindExercise && r.Live == nil:
		return fmt.Sprintf("%d scripted answer%s, unattested (exercise)", a.Unattested, plural(a.Unattested))
	case a.Unattested > 0:
		return fmt.Sprintf("%d signed, **%d unattested**", a.Signed, a.Unattested)
	}
	return fmt.Sprintf("%d signed, 0 unattested", a.Signed)
}

// Overrides counts the break-glass overrides (each forced gate once; the
// events they flag are in BreakGlasses too).
func (r *Review) Overrides() int {
	n := 0
	for _, e := range r.BreakGlasses {
		if e.Kind == workflows.EventBreakGlass {
			n++
		}
	}
	return n
}

func refusalTotal(r *Review) int {
	n := 0
	for _, f := range r.Refusals {
		n += f.Count
	}
	return n
}

func writeEventTable(b *strings.Builder, r *Review, events []Event) {
	incident := r.Kind == KindIncident || r.Live != nil
	if incident {
		b.WriteString("| Time | Step | Event | Who | Channel | Signed | Detail |\n|---|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("| Time | Step | Event | Who | Detail |\n|---|---|---|---|---|\n")
	}
	for _, e := range events {
		event := mdc(EventWord(e.Kind))
		switch {
		case e.Kind == workflows.EventBreakGlass:
			event = "**BREAK-GLASS**"
		case e.BreakGlass:
			event = "**" + event + " (break-glass)**"
		}
		detail := e.Detail
		if e.Roster != "" && e.Kind == workflows.EventApproved {
			detail = strings.TrimSpace(detail + " (counts for " + e.Roster + ")")
		}
		if e.Code != "" && e.Kind == workflows.EventRefused {
			detail = strings.TrimSpace(detail + " [" + e.Code + "]")
		}
		if incident {
			signed := mdc(e.Signed)
			if e.Signed == "unattested" {
				signed = "**unattested**"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.When(e.At), mdc(e.Step), event, mdc(e.Person), mdc(e.Channel), signed, mdc(detail))
		} else {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", r.When(e.At), mdc(e.Step), event, mdc(e.Person), mdc(detail))
		}
	}
}

func fmtWall(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// EventWord is how an event kind reads for people ("sign-off stale").
func EventWord(kind string) string {
	if kind == exercise.EventInject {
		return "inject"
	}
	return incident.EventWord(kind)
}

// HistogramBins is how many bins a Monte Carlo histogram has.
const HistogramBins = 12

// Bin is one bar of a histogram: the count of times in [From, To).
type Bin struct {
	From, To time.Duration
	Count    int
}

// Histogram counts times into n equal bins from 0 to within (the last bin
// includes within itself; a time past it, which a met objective never has,
// counts in the last bin).
func Histogram(times []time.Duration, within time.Duration, n int) []Bin {
	if n < 1 || within <= 0 {
		return nil
	}
	bins := make([]Bin, n)
	for i := range bins {
		bins[i].From = within * time.Duration(i) / time.Duration(n)
		bins[i].To = within * time.Duration(i+1) / time.Duration(n)
	}
	for _, t := range times {
		i := int(int64(t) * int64(n) / int64(within))
		bins[min(max(i, 0), n-1)].Count++
	}
	return bins
}

// WriteJSON writes the review as one JSON document (durations as Go
// duration strings, times in UTC; text exactly as recorded).
func WriteJSON(w io.Writer, r *Review) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
