package render

import (
	"fmt"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// Summary writes a human summary of p, as `firebreak plan` prints it: the
// playbook's title, severity and inputs, then each step in run order with
// its kind, action, needs, condition, timeouts and retries, safety markings
// (the critical target, the sign-offs guarding it and the plant-state check
// made before anything is cut) and approval quorums,
// and finally the safety policy. Write errors are ignored; a nil plan or
// writer prints nothing useful but does not fail.
func Summary(w io.Writer, p *plan.Plan) {
	if w == nil {
		return
	}
	var b strings.Builder
	writeSummary(&b, p)
	_, _ = io.WriteString(w, b.String())
}

func writeSummary(b *strings.Builder, p *plan.Plan) {
	if p == nil {
		b.WriteString("(no plan)\n")
		return
	}
	fmt.Fprintf(b, "Playbook  %s\n", oneLine(p.Playbook))
	if p.Title != "" {
		fmt.Fprintf(b, "Title     %s\n", oneLine(p.Title))
	}
	if p.Severity != "" {
		fmt.Fprintf(b, "Severity  %s\n", oneLine(p.Severity))
	}
	if len(p.Tags) > 0 {
		fmt.Fprintf(b, "Tags      %s\n", oneLine(strings.Join(p.Tags, ", ")))
	}
	if p.Source.Filename != "" {
		fmt.Fprintf(b, "Source    %s\n", oneLine(p.Source.String()))
	}

	b.WriteString("\nInputs\n")
	if len(p.Inputs) == 0 {
		b.WriteString("  (none)\n")
	} else {
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		for _, in := range p.Inputs {
			typ := in.Type
			if typ == "" {
				typ = "any"
			}
			state := "required"
			if !in.Required {
				state = "default " + literalString(in.Default)
			}
			desc := ""
			if in.Description != "" {
				desc = "\t" + oneLine(in.Description)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", oneLine(in.Name), oneLine(typ), state, desc)
		}
		_ = tw.Flush()
	}

	fmt.Fprintf(b, "\nSteps (%d, in run order)\n", len(p.Steps))
	if len(p.Steps) == 0 {
		b.WriteString("  (none)\n")
	}
	width := len(fmt.Sprint(len(p.Steps)))
	for i, s := range p.Steps {
		fmt.Fprintf(b, "  %*d. %s\n", width, i+1, oneLine(s.ID))
		writeStep(b, s, strings.Repeat(" ", width+6))
		writePlantCheck(b, p, s, strings.Repeat(" ", width+6))
		writeSelection(b, s, strings.Repeat(" ", width+6))
	}

	if sp := p.Safety; sp != nil {
		b.WriteString("\nSafety policy\n")
		fmt.Fprintf(b, "  %-14s%s\n", "sign-off", quorumString(sp.Signoff))
		if bg := sp.BreakGlass; bg != nil {
			s := strings.Join(bg.Rosters, ", ")
			if s == "" {
				s = "(nobody)"
			}
			if bg.RequireReason {
				s += "; a reason is required"
			}
			fmt.Fprintf(b, "  %-14s%s\n", "break glass", oneLine(s))
		}
	}
}

// writePlantCheck writes, for a safety-critical step, the plant-state
// check the worker makes first: the target zone's safe_state register and
// the value it must read, without which nothing is cut; a restore reads no
// register, and says so.
func writePlantCheck(b *strings.Builder, p *plan.Plan, s plan.Step, indent string) {
	a := s.Action
	if a == nil || !a.SafetyCritical || a.Target == "" {
		return
	}
	var ss *plan.SafeState
	for _, z := range p.Zones {
		if z.ID == a.Target {
			ss = z.SafeState
		}
	}
	var v string
	switch {
	case strings.HasPrefix(a.Action, "ot.restore"):
		v = "none: a restore does not read safe_state"
	case ss == nil:
		v = "none: zone " + a.Target + " declares no safe_state"
	default:
		v = fmt.Sprintf("register %d on %s must read %d, or nothing is cut and the step fails PlantNotSafe", ss.Register, ss.Integration, ss.Expect)
	}
	fmt.Fprintf(b, "%s%-14s%s\n", indent, "plant check", oneLine(v))
}

// writeSelection writes, for a zone step narrowed by from or except, which
// conduits into the zone it is limited to and which it leaves alone, so a
// reviewer sees them without reading the with block.
func writeSelection(b *strings.Builder, s plan.Step, indent string) {
	a := s.Action
	if a == nil || !a.SafetyCritical {
		return
	}
	for _, arg := range []struct{ name, label, prefix string }{
		{"from", "only from", "zone."},
		{"except", "leaves alone", "conduit."},
	} {
		e := a.With[arg.name]
		if e == nil {
			continue
		}
		v, ok := e.IsLiteral()
		list, isList := v.([]any)
		if !ok || !isList {
			continue
		}
		names := make([]string, 0, len(list))
		for _, x := range list {
			names = append(names, arg.prefix+fmt.Sprint(x))
		}
		fmt.Fprintf(b, "%s%-14s%s\n", indent, arg.label, oneLine(strings.Join(names, ", ")))
	}
}

// writeStep writes the indented details of one step.
func writeStep(b *strings.Builder, s plan.Step, indent string) {
	field := func(label, value string) {
		fmt.Fprintf(b, "%s%-14s%s\n", indent, label, oneLine(value))
	}
	marker := func(text string) {
		fmt.Fprintf(b, "%s%s\n", indent, oneLine(text))
	}

	kind := string(s.Kind)
	if s.Approval != nil && s.Approval.Kind != "" {
		kind += " (" + s.Approval.Kind + ")"
	}
	field("kind", kind)
	if s.Description != "" {
		field("description", s.Description)
	}
	if len(s.Needs) > 0 {
		field("needs", strings.Join(s.Needs, ", "))
	}
	if s.When != nil {
		field("when", exprString(s.When))
	}
	if s.ForEach != nil {
		field("for each", exprString(s.ForEach))
	}

	if fn := kindDetails[s.Kind]; fn != nil {
		fn(s, field, marker)
	}
}

// stepDetails writes the fields of one kind of step: field writes a
// labelled line, marker a line of its own.
type stepDetails func(s plan.Step, field func(label, value string), marker func(text string))

// kindDetails holds the plan summary's details per step kind; every kind
// has an entry, so a step of any kind shows its settings.
var kindDetails = map[plan.Kind]stepDetails{
	plan.KindStep:     actionDetails,
	plan.KindPage:     pageDetails,
	plan.KindApproval: approvalDetails,
	plan.KindDecision: decisionDetails,
	plan.KindTask:     taskDetails,
	plan.KindNotify:   notifyDetails,
	plan.KindWait:     waitDetails,
}

func actionDetails(s plan.Step, field func(label, value string), marker func(text string)) {
	a := s.Action
	if a == nil {
		return
	}
	field("action", a.Action)
	if len(a.With) > 0 {
		keys := make([]string, 0, len(a.With))
		for k := range a.With {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		field("with", strings.Join(keys, ", "))
	}
	if a.Timeout != 0 {
		field("timeout", durationString(a.Timeout))
	}
	if r := a.Retry; r != nil {
		v := fmt.Sprintf("%d attempts", r.Attempts)
		if r.Backoff != 0 {
			v += ", " + durationString(r.Backoff) + " apart"
		}
		field("retry", v)
	}
	onFailure := a.OnFailure
	if onFailure == "" {
		onFailure = plan.OnFailureAbort
	}
	field("on failure", onFailure)
	if a.SafetyCritical {
		target := "(no target)"
		if a.Target != "" {
			target = "zone " + a.Target
		}
		marker("⚠ SAFETY-CRITICAL → " + target)
		if len(a.GuardedBy) > 0 {
			field("guarded by", strings.Join(a.GuardedBy, ", "))
		} else {
			field("guarded by", "⚠ NOTHING: no safety sign-off guards this step")
		}
	}
}

func pageDetails(s plan.Step, field func(label, value string), marker func(text string)) {
	pg := s.Page
	if pg == nil {
		return
	}
	field("escalation", pg.Escalation)
	if pg.Message != nil {
		field("message", proseString(pg.Message))
	}
}

func approvalDetails(s plan.Step, field func(label, value string), marker func(text string)) {
	ap := s.Approval
	if ap == nil {
		return
	}
	if ap.Kind == plan.ApprovalSafety {
		marker(signoffMarker(ap))
	} else if len(ap.Covers) > 0 {
		field("covers", strings.Join(ap.Covers, ", "))
	}
	if len(ap.For) > 0 {
		field("for", strings.Join(ap.For, ", "))
	}
	if len(ap.DistinctFrom) > 0 {
		field("distinct from", strings.Join(ap.DistinctFrom, ", "))
	}
	if ap.Prompt != nil {
		field("prompt", proseString(ap.Prompt))
	}
	field("quorum", quorumString(ap.Quorum))
	if ap.Timeout != 0 {
		v := durationString(ap.Timeout)
		if ap.OnTimeout != "" {
			v += ", then escalate to " + ap.OnTimeout + " and keep waiting"
		}
		field("timeout", v)
	}
}

func decisionDetails(s plan.Step, field func(label, value string), marker func(text string)) {
	d := s.Decision
	if d == nil {
		return
	}
	field("ask", strings.Join(d.Ask, ", "))
	if d.Question != nil {
		field("question", proseString(d.Question))
	}
	field("options", strings.Join(d.Options, ", "))
	if d.Timeout != 0 {
		v := durationString(d.Timeout)
		if d.Default != "" {
			v += ", then " + d.Default
		}
		field("timeout", v)
	} else if d.Default != "" {
		field("default", d.Default)
	}
}

func taskDetails(s plan.Step, field func(label, value string), marker func(text string)) {
	t := s.Task
	if t == nil {
		return
	}
	field("assign", strings.Join(t.Assign, ", "))
	if t.Instructions != nil {
		field("instructions", proseString(t.Instructions))
	}
	if t.Timeout != 0 {
		v := durationString(t.Timeout)
		if t.OnTimeout != "" {
			v += ", then escalate to " + t.OnTimeout
		}
		field("timeout", v)
	}
}

func notifyDetails(s plan.Step, field func(label, value string), marker func(text string)) {
	n := s.Notify
	if n == nil {
		return
	}
	field("to", strings.Join(n.To, ", "))
	if n.Message != nil {
		field("message", proseString(n.Message))
	}
}

func waitDetails(s plan.Step, field func(label, value string), marker func(text string)) {
	wt := s.Wait
	if wt == nil {
		return
	}
	field("duration", durationString(wt.Duration))
}

// proseString is a text field: a constant string as is, anything else as
// the expression was written.
func proseString(e *plan.Expr) string {
	if v, ok := e.IsLiteral(); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	return exprString(e)
}

// quorumString describes who may answer and how many people are needed.
func quorumString(q plan.Quorum) string {
	groups := strings.Join(q.Groups, ", ")
	if groups == "" {
		groups = "(nobody)"
	}
	var s string
	switch q.Rule {
	case plan.QuorumOneFromEach:
		s = "one distinct person from each of " + groups
	case plan.QuorumCount:
		people := "people"
		if q.Count == 1 {
			people = "person"
		}
		s = fmt.Sprintf("%d distinct %s from %s", q.Count, people, groups)
	default:
		s = fmt.Sprintf("%s (%d) of %s", q.Rule, q.Count, groups)
	}
	if q.ExcludeInitiator {
		s += "; excluding the initiator"
	}
	if q.ValidFor != 0 {
		s += "; valid for " + durationString(q.ValidFor)
	}
	return s
}

// durationString writes a duration the way playbooks do: "15m", "4h", "90s".
func durationString(d plan.Duration) string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// oneLine puts playbook text on one terminal line: white space folded,
// control and formatting characters (escape sequences, bidi overrides)
// shown as escapes, nothing cut (see safetext.LineMax).
func oneLine(s string) string { return safetext.LineMax(s, 0) }
