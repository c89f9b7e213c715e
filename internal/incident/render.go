package incident

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

// Time layouts. Everything is shown in UTC, as audit evidence must be.
const (
	clockLayout = "15:04:05Z"
	dateLayout  = "2006-01-02 15:04:05Z"
)

// breakGlassBanner is the flag shown wherever a safety gate was forced.
const breakGlassBanner = "BREAK-GLASS: a safety gate was forced during this incident; post-incident review required."

// eventWords says what each event kind means, for people.
var eventWords = map[string]string{
	workflows.EventIncidentStarted:   "incident started",
	workflows.EventIncidentFinished:  "incident finished",
	workflows.EventStepStarted:       "started",
	workflows.EventStepFinished:      "finished",
	workflows.EventStepSkipped:       "skipped",
	workflows.EventStepFailed:        "failed",
	workflows.EventPaged:             "paged",
	workflows.EventPrompted:          "asked",
	workflows.EventAcknowledged:      "acknowledged",
	workflows.EventApproved:          "approved",
	workflows.EventDenied:            "denied",
	workflows.EventDecided:           "decided",
	workflows.EventTaskDone:          "task done",
	workflows.EventBreakGlass:        "BREAK-GLASS",
	workflows.EventRefused:           "refused",
	workflows.EventTimedOut:          "timed out",
	workflows.EventEscalated:         "escalated",
	workflows.EventSignoffStale:      "sign-off stale",
	workflows.EventSignoffRefused:    "sign-off refused",
	workflows.EventNotified:          "notified",
	workflows.EventCancelled:         "cancelled",
	workflows.EventContinuedAsNew:    "history handed over",
	workflows.EventRetry:             "retrying",
	workflows.EventIterationFinished: "iteration finished",
	workflows.EventDeliveryFailed:    "delivery failed",
	workflows.EventRosters:           "rosters read",
	workflows.EventAuthorised:        "authorised",
}

// EventWord is how an event kind reads for people ("sign-off stale").
func EventWord(kind string) string {
	if w, ok := eventWords[kind]; ok {
		return w
	}
	return strings.ReplaceAll(kind, "_", " ")
}

// eventStep is the step an event is about, with its for_each key.
func eventStep(e workflows.Event) string {
	s := e.Step
	if e.Iteration != "" {
		s += "[" + e.Iteration + "]"
	}
	return s
}

// eventWho is "alice via cli", "alice", "via slack" or "", for a terminal.
func eventWho(e workflows.Event) string {
	person, channel := line(e.Person), line(e.Channel)
	switch {
	case person != "" && channel != "":
		return person + " via " + channel
	case person != "":
		return person
	case channel != "":
		return "via " + channel
	}
	return ""
}

// line makes text from people or playbooks safe to show on one terminal
// line (see safetext.Line): escapes visible, white space folded, very long
// text cut.
func line(s string) string { return safetext.Line(s) }

// RenderEventLine renders one timeline event as a terminal line: time (UTC),
// step, what happened, who and through which channel, and the detail.
// Break-glass events start with "!!". Text from people and playbooks is
// neutralised: control characters and escape sequences show as escapes
// such as \x1b, and a very long detail is cut.
func RenderEventLine(e workflows.Event) string {
	var b strings.Builder
	b.WriteString(e.At.UTC().Format(clockLayout))
	if e.BreakGlass {
		b.WriteString(" !!")
	} else {
		b.WriteString("   ")
	}
	word, detail := wordAndDetail(e)
	fmt.Fprintf(&b, " %-26s %-18s", line(eventStep(e)), line(word))
	who := eventWho(e)
	if e.Unattested {
		who = strings.TrimSpace(who + " [unattested]")
	}
	if who != "" {
		b.WriteString(" " + who)
	}
	if detail != "" {
		if who != "" {
			b.WriteString(":")
		}
		b.WriteString(" " + line(detail))
	}
	return strings.TrimRight(b.String(), " ")
}

// finalStates are the step states a step's last event opens its detail
// with ("done: approved by alice, olga").
var finalStates = map[string]bool{
	workflows.StepDone: true, workflows.StepSkipped: true, workflows.StepFailed: true,
	workflows.StepTimedOut: true, workflows.StepCancelled: true, workflows.StepDenied: true,
}

// wordAndDetail is what an event reads as for people, and its detail
// without a state the word already says: a step's "finished" event with
// the detail "done: approved by alice" reads "done", "approved by alice".
func wordAndDetail(e workflows.Event) (string, string) {
	word, detail := EventWord(e.Kind), e.Detail
	if e.Kind == workflows.EventApproved && e.Roster != "" {
		// The roster the approval finally counts for (interpreter v6).
		detail = strings.TrimSpace(detail + " (counts for " + e.Roster + ")")
	}
	if e.Step == "" {
		return word, detail
	}
	switch e.Kind {
	case workflows.EventStepFinished, workflows.EventStepSkipped, workflows.EventStepFailed, workflows.EventTimedOut, workflows.EventCancelled:
		state, rest, _ := strings.Cut(detail, ": ")
		if finalStates[state] {
			if e.Kind == workflows.EventStepFinished {
				word = strings.ReplaceAll(state, "_", " ")
			}
			detail = rest
		}
	}
	return word, detail
}

// RenderStatusText writes an incident's status for a terminal: a header
// (playbook, state, commander, exercise or real, the break-glass flag) and a
// table of steps with their state, who is awaited and what is still needed.
// Text from people and playbooks is neutralised as in RenderEventLine.
func RenderStatusText(w io.Writer, st workflows.Status) error {
	ew := &errWriter{w: w}
	mode := "real incident"
	if st.Exercise {
		mode = "EXERCISE (simulated actuators)"
	}
	head := fmt.Sprintf("Incident %s: %s, %s", line(st.IncidentID), line(st.Playbook), line(st.State))
	if st.Severity != "" {
		head = fmt.Sprintf("Incident %s: %s (%s), %s", line(st.IncidentID), line(st.Playbook), line(st.Severity), line(st.State))
	}
	ew.printf("%s\n", head)
	if st.BreakGlass {
		ew.printf("!! %s\n", breakGlassBanner)
	}
	if title := line(st.Title); title != "" {
		ew.printf("  %s\n", title)
	}
	commander := line(st.Commander)
	if commander == "" {
		commander = "(not given)"
	}
	ew.printf("  Commander: %s   Mode: %s   Started: %s", commander, mode, fmtTime(st.StartedAt))
	if st.Runs > 1 {
		ew.printf("   Runs: %d", st.Runs)
	}
	ew.printf("\n")
	if st.Unattested {
		ew.printf("  Answers: UNATTESTED (unsigned answers accepted, as firebreak dev and the demo do)\n")
	}
	ew.printf("\n")

	tw := newTable(ew)
	fmt.Fprintln(tw, "STEP\tKIND\tSTATE\tAWAITING\tNOTE")
	for _, s := range st.Steps {
		state := line(s.State)
		if s.BreakGlass {
			state += " !!"
		}
		awaiting := make([]string, len(s.Awaiting))
		for i, p := range s.Awaiting {
			awaiting[i] = line(p)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", line(s.ID), line(string(s.Kind)), state, line(strings.Join(awaiting, ", ")), line(stepNote(s)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return ew.err
}

// stepNote sums up what a step needs or why it ended as it did, as raw
// text: the renderer neutralises it.
func stepNote(s workflows.StepStatus) string {
	var parts []string
	if s.Need != "" {
		need := strings.TrimSpace(s.Need)
		if !strings.Contains(strings.ToLower(need), "need") {
			need = "needs " + need
		}
		parts = append(parts, need)
	}
	if len(s.Approvals) > 0 && !strings.Contains(s.Reason, "approved by") {
		var who []string
		for _, a := range s.Approvals {
			who = append(who, a.Person)
		}
		parts = append(parts, "approved by "+strings.Join(who, ", "))
	}
	if s.Round > 1 {
		parts = append(parts, fmt.Sprintf("round %d", s.Round))
	}
	if s.Choice != "" && !strings.Contains(s.Reason, " chose ") {
		parts = append(parts, "chose "+s.Choice)
	}
	if s.Escalation != "" && !strings.Contains(s.Reason, "acknowledged by") {
		parts = append(parts, s.Escalation)
	}
	if s.Reason != "" {
		parts = append(parts, s.Reason)
	}
	if s.BreakGlass && !strings.Contains(s.Reason, "BREAK-GLASS") {
		parts = append(parts, "BREAK-GLASS")
	}
	return strings.Join(parts, "; ")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(dateLayout)
}

// RenderTimelineMarkdown writes an incident's timeline as a Markdown audit
// document a regulator can read (NERC CIP-008 style evidence): a header with
// the incident, playbook, commander, whether it was an exercise, and the
// break-glass flag at the very top when a safety gate was forced; the
// break-glass events on their own; every event in order (time UTC, step,
// event, who, channel, detail); and the final state of every step. Text from
// people and playbooks is escaped (safetext.Markdown): it reads as written
// and never becomes a link, an image, emphasis, HTML or a new table cell.
func RenderTimelineMarkdown(w io.Writer, tl workflows.Timeline, st workflows.Status) error {
	ew := &errWriter{w: w}
	id := tl.IncidentID
	if id == "" {
		id = st.IncidentID
	}
	playbook := tl.Playbook
	if playbook == "" {
		playbook = st.Playbook
	}
	breakGlass := tl.BreakGlass || st.BreakGlass
	exercise := tl.Exercise || st.Exercise

	ew.printf("# Incident %s: timeline\n\n", mdText(id))
	if breakGlass {
		ew.printf("> **%s**\n\n", breakGlassBanner)
	}
	if exercise {
		ew.printf("> **EXERCISE.** This was a rehearsal on simulated actuators; nothing in the plant was touched.\n\n")
	}
	unattested := tl.Unattested || st.Unattested
	if unattested {
		ew.printf("> **UNATTESTED.** This incident accepted unsigned answers (firebreak dev or demo); each one is marked unattested below.\n\n")
	}
	ew.printf("| | |\n|---|---|\n")
	// row writes a header row; v is Markdown already (mdCell for text).
	row := func(k, v string) { ew.printf("| %s | %s |\n", k, v) }
	row("Incident", mdCell(id))
	pb := playbook
	if st.Title != "" {
		pb += ": " + st.Title
	}
	row("Playbook", mdCell(pb))
	if st.Severity != "" {
		row("Severity", mdCell(st.Severity))
	}
	commander := mdCell(st.Commander)
	if commander == "" {
		commander = "(not given)"
	}
	row("Commander", commander)
	if exercise {
		row("Mode", "Exercise (simulated)")
	} else {
		row("Mode", "Real incident")
	}
	row("State", mdCell(st.State))
	row("Started (UTC)", fmtTime(st.StartedAt))
	if breakGlass {
		row("Break-glass", "YES: post-incident review required")
	} else {
		row("Break-glass", "no")
	}
	row("Events", fmt.Sprint(len(tl.Events)))
	if unattested {
		row("Answers", "UNATTESTED answers accepted")
	} else {
		row("Answers", "signed")
	}
	ew.printf("\nTimes are UTC. Every answer shows the person and the channel it came through (cli, slack, script), and the key that signed it (its ID and the start of its signature's digest) or that it was unattested; refused answers are recorded too. `firebreak timeline --format json` exports the signatures, and `firebreak verify` checks them.\n")

	var forced []workflows.Event
	for _, e := range tl.Events {
		if e.BreakGlass || e.Kind == workflows.EventBreakGlass {
			forced = append(forced, e)
		}
	}
	if len(forced) > 0 {
		ew.printf("\n## Break-glass overrides\n\n")
		writeEventTable(ew, forced)
	}

	ew.printf("\n## Events\n\n")
	if len(tl.Events) == 0 {
		ew.printf("No events recorded.\n")
	} else {
		writeEventTable(ew, tl.Events)
	}

	writeRefusals(ew, tl)

	if len(st.Steps) > 0 {
		ew.printf("\n## Steps\n\n| Step | Kind | State | Started (UTC) | Finished (UTC) | Note |\n|---|---|---|---|---|---|\n")
		for _, s := range st.Steps {
			state := mdCell(s.State)
			if s.BreakGlass {
				state = "**" + state + " (BREAK-GLASS)**"
			}
			ew.printf("| %s | %s | %s | %s | %s | %s |\n", mdCell(s.ID), mdCell(string(s.Kind)), state,
				fmtTime(s.StartedAt), fmtTime(s.FinishedAt), mdCell(stepNote(s)))
		}
	}
	return ew.err
}

// writeRefusals writes the refusal counts per person and code, saying so
// when older refusal events were summarised away.
func writeRefusals(ew *errWriter, tl workflows.Timeline) {
	if len(tl.Refusals) == 0 {
		return
	}
	total, kept := 0, 0
	for _, c := range tl.Refusals {
		total += c.Count
	}
	for _, e := range tl.Events {
		if e.Kind == workflows.EventRefused {
			kept++
		}
	}
	ew.printf("\n## Refusals\n\n")
	if total > kept {
		ew.printf("%d refused answers were recorded; the latest %d are shown in full in the events above, and the counts below include the older ones.\n\n", total, kept)
	}
	ew.printf("| Person | Code | Count | First (UTC) | Last (UTC) |\n|---|---|---|---|---|\n")
	for _, c := range tl.Refusals {
		ew.printf("| %s | %s | %d | %s | %s |\n", mdCell(c.Person), mdCell(c.Code), c.Count, fmtTime(c.First), fmtTime(c.Last))
	}
}

// signedBy is the compact form of who signed an event's answer: the key
// ID ("person.olga", or "slack.main for sam" when the key is a front
// door's and the claim names another person than the event) and the first
// twelve hex digits of the signature's digest (the Ref an answer's result
// gives); "unattested" for an unsigned answer; "" for events that are not
// answers.
func signedBy(e workflows.Event) string {
	a := e.Attestation
	switch {
	case a != nil:
		who := a.Signer
		if a.Person != e.Person && a.Person != "" {
			who += " for " + a.Person
		}
		return who + " " + attest.Digest(a.Signature)[:12]
	case e.Unattested:
		return "unattested"
	}
	return ""
}

func writeEventTable(ew *errWriter, events []workflows.Event) {
	ew.printf("| # | Time (UTC) | Step | Event | Who | Channel | Signed | Detail |\n|---|---|---|---|---|---|---|---|\n")
	for _, e := range events {
		word, detail := wordAndDetail(e)
		event := mdCell(word)
		if e.BreakGlass || e.Kind == workflows.EventBreakGlass {
			event = "**" + event + " (break-glass)**"
			if e.Kind == workflows.EventBreakGlass {
				event = "**BREAK-GLASS**"
			}
		}
		signed := mdCell(signedBy(e))
		if e.Unattested {
			signed = "**unattested**"
		}
		ew.printf("| %d | %s | %s | %s | %s | %s | %s | %s |\n", e.Seq, fmtTime(e.At), mdCell(eventStep(e)), event,
			mdCell(e.Person), mdCell(e.Channel), signed, mdCell(detail))
	}
}

// mdText escapes text for one line of Markdown (see safetext.Markdown).
func mdText(s string) string { return safetext.Markdown(s) }

// mdCell escapes text for a Markdown table cell: its line breaks become
// <br> (see safetext.MarkdownCell).
func mdCell(s string) string { return safetext.MarkdownCell(s) }

// RenderJSON writes v as indented JSON with a trailing newline.
func RenderJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// RenderListText writes incidents as a table, most recent first. IDs,
// playbooks, severities and states come from the visibility store, which
// anyone who can start a workflow can fill, so they are neutralised too.
func RenderListText(w io.Writer, list []Summary) error {
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "No incidents.")
		return err
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "INCIDENT\tPLAYBOOK\tSEVERITY\tSTATE\tMODE\tSTARTED (UTC)\tCLOSED (UTC)\tFLAGS")
	for _, s := range list {
		mode := "real"
		if s.Exercise {
			mode = "exercise"
		}
		flags := ""
		if s.BreakGlass {
			flags = "BREAK-GLASS"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", line(s.IncidentID), line(s.Playbook), dash(line(s.Severity)), line(s.State), mode,
			fmtTime(s.StartedAt), fmtTime(s.ClosedAt), flags)
	}
	return tw.Flush()
}

// newTable returns a tabwriter for a text table whose lines carry no
// trailing padding.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(&trimWriter{w: w}, 0, 0, 2, ' ', 0)
}

// trimWriter passes whole lines on without their trailing spaces.
type trimWriter struct {
	w   io.Writer
	buf []byte
}

func (t *trimWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := t.w.Write(bytes.TrimRight(t.buf[:i], " ")); err != nil {
			return 0, err
		}
		if _, err := t.w.Write([]byte{'\n'}); err != nil {
			return 0, err
		}
		t.buf = t.buf[i+1:]
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter remembers the first write error so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}
