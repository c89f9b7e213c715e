package review

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/exercise"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"github.com/firebreak-ir/firebreak/workflows"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"when":     func(r *Review, d Duration) string { return r.When(d) },
	"whenPtr":  func(r *Review, d *Duration) string { return r.whenPtr(d) },
	"short":    func(d Duration) string { return short(time.Duration(d)) },
	"word":     EventWord,
	"f":        func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"p3":       func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"join":     strings.Join,
	"text":     htmlText,
	"liveLine": LiveLine,
	"clock":    func(d Duration) string { return exercise.Clock(time.Duration(d)) },
	"ratingWord": func(s string) string {
		return RatingWords[s]
	},
	"inc":     func(i int) int { return i + 1 },
	"add":     func(a, b float64) float64 { return a + b },
	"plotEnd": func(t svgTimeline) float64 { return t.PlotX + t.PlotW },
	"eventsArgs": func(r *Review, events []htmlEvent) eventsArgs {
		return eventsArgs{R: r, Events: events}
	},
}).Parse(htmlSource))

// eventsArgs is the data of the page's "events" table.
type eventsArgs struct {
	R      *Review
	Events []htmlEvent
}

// htmlText neutralises text for a page as for a terminal line (control
// characters and invisible formatting shown as escapes, white space
// folded, nothing cut); html/template then escapes it for HTML.
func htmlText(s string) string { return safetext.LineMax(s, 0) }

// WriteHTML writes the review as one self-contained HTML page: inline CSS,
// inline SVG (the timeline, and a histogram per objective for a Monte
// Carlo), no script and no reference to anything outside the page. Text
// from people and playbooks is escaped by html/template, after control
// characters are made visible as in the terminal.
func WriteHTML(w io.Writer, r *Review) error {
	v := htmlView{R: r, RatingRules: ratingRules, Timeline: timelineSVG(r), Refused: refusalTotal(r), Attest: attestLine(r)}
	v.RatingRules = strings.ReplaceAll(strings.ReplaceAll(ratingRules, "**", ""), "  ", " ")
	v.Attest = strings.ReplaceAll(v.Attest, "**", "")
	for _, e := range r.Timeline {
		v.Events = append(v.Events, eventRow(e))
	}
	for _, e := range r.Escalations {
		v.Escalations = append(v.Escalations, eventRow(e))
	}
	for _, e := range r.BreakGlasses {
		v.BreakGlasses = append(v.BreakGlasses, eventRow(e))
	}
	if mc := r.MonteCarlo; mc != nil {
		for _, o := range mc.Objectives {
			v.Histograms = append(v.Histograms, histogramSVG(o, mc.Runs))
		}
	}
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, v); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

type htmlView struct {
	R            *Review
	RatingRules  string
	Attest       string
	Refused      int
	Events       []htmlEvent
	Escalations  []htmlEvent
	BreakGlasses []htmlEvent
	Timeline     svgTimeline
	Histograms   []svgHistogram
}

type htmlEvent struct {
	Event
	Word, Detail string
}

func eventRow(e Event) htmlEvent {
	detail := e.Detail
	if e.Roster != "" && e.Kind == workflows.EventApproved {
		detail = strings.TrimSpace(detail + " (counts for " + e.Roster + ")")
	}
	if e.Code != "" && e.Kind == workflows.EventRefused {
		detail = strings.TrimSpace(detail + " [" + e.Code + "]")
	}
	return htmlEvent{Event: e, Word: EventWord(e.Kind), Detail: detail}
}

// Geometry of the timeline.
const (
	svgWidth  = 1100.0
	svgLabelW = 210.0
	svgRight  = 20.0
	svgTop    = 34.0
	svgRowH   = 22.0
)

type svgTimeline struct {
	Width, Height float64
	PlotX, PlotW  float64
	Rows          []svgRow
	Ticks         []svgTick
	Bars          []svgBar
	Marks         []svgMark
	Deadlines     []svgDeadline
	AxisY         float64
}

type svgRow struct {
	Y, TextY float64
	Label    string
	Odd      bool
}

type svgTick struct {
	X     float64
	Label string
}

type svgBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// svgMark is a marker: Shape is "inject", "answer", "escalation",
// "refusal" or "breakglass".
type svgMark struct {
	X, Y  float64
	Shape string
	Title string
}

type svgDeadline struct {
	X, Y1, Y2, TextY float64
	Label            string
	Class            string
}

// stateClass is the CSS class of a step state; states the page does not
// know share one class.
func stateClass(state string) string {
	switch state {
	case workflows.StepDone, workflows.StepSkipped, workflows.StepFailed, workflows.StepTimedOut,
		workflows.StepDenied, workflows.StepCancelled, workflows.StepWaiting, workflows.StepRunning, workflows.StepPending:
		return "st-" + strings.ReplaceAll(state, "_", "-")
	}
	return "st-other"
}

// tickSteps are the tick intervals the axis chooses from.
var tickSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// timelineSVG lays out the timeline: a row of injects, then a lane per
// step (a bar from start to finish coloured by its final state, markers
// for answers, escalations, refusals and break-glass), and a vertical line
// at each objective's deadline.
func timelineSVG(r *Review) svgTimeline {
	span := time.Duration(r.Duration)
	for _, o := range r.Objectives {
		span = max(span, time.Duration(o.Within))
	}
	for _, e := range r.Timeline {
		span = max(span, time.Duration(e.At))
	}
	span = max(span, time.Minute)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 12 {
			step = s
			break
		}
	}
	for span/step > 12 {
		step *= 2
	}
	// The axis ends on a whole tick.
	span = (span + step - 1) / step * step
	t := svgTimeline{Width: svgWidth, PlotX: svgLabelW, PlotW: svgWidth - svgLabelW - svgRight}
	x := func(d Duration) float64 { return t.PlotX + t.PlotW*float64(d)/float64(span) }

	lane := map[string]int{}
	// An exercise's injects have a row of their own; an incident has none.
	if r.Kind == KindExercise {
		t.Rows = append(t.Rows, svgRow{Label: "injects"})
	}
	for _, l := range r.Lanes {
		lane[l.Step] = len(t.Rows)
		t.Rows = append(t.Rows, svgRow{Label: l.Step})
	}
	for i := range t.Rows {
		t.Rows[i].Y = svgTop + float64(i)*svgRowH
		t.Rows[i].TextY = t.Rows[i].Y + svgRowH/2 + 4
		t.Rows[i].Odd = i%2 == 1
		t.Rows[i].Label = labelText(t.Rows[i].Label, 30)
	}
	bottom := svgTop + float64(len(t.Rows))*svgRowH
	t.AxisY = bottom
	for d := time.Duration(0); d <= span; d += step {
		t.Ticks = append(t.Ticks, svgTick{X: x(Duration(d)), Label: tickLabel(d)})
	}
	for _, l := range r.Lanes {
		y := svgTop + float64(lane[l.Step])*svgRowH
		if l.Start == nil && l.End == nil {
			continue
		}
		start, end := r.Duration, r.Duration
		if l.Start != nil {
			start = *l.Start
		}
		if l.End != nil {
			end = *l.End
		} else if l.Start != nil {
			end = r.Duration
		}
		if l.Start == nil {
			start = end
		}
		w := max(x(end)-x(start), 3)
		title := fmt.Sprintf("%s: %s, %s to %s", htmlText(l.Step), htmlText(l.State), r.When(start), r.When(end))
		t.Bars = append(t.Bars, svgBar{X: x(start), Y: y + 5, W: w, H: svgRowH - 10, Class: stateClass(l.State), Title: title})
	}
	for _, e := range r.Timeline {
		shape := ""
		switch {
		case e.Kind == exercise.EventInject:
			shape = "inject"
		case e.BreakGlass:
			shape = "breakglass"
		case answerKinds[e.Kind]:
			shape = "answer"
		case e.Kind == workflows.EventEscalated:
			shape = "escalation"
		case e.Kind == workflows.EventRefused:
			shape = "refusal"
		default:
			continue
		}
		row := 0
		if shape != "inject" {
			i, ok := lane[baseStep(e.Step)]
			if !ok {
				continue
			}
			row = i
		}
		title := r.When(e.At) + " " + htmlText(e.Step) + ": " + EventWord(e.Kind)
		if e.Person != "" {
			title += " by " + htmlText(e.Person)
		}
		if e.Detail != "" {
			title += ": " + safetext.Line(e.Detail)
		}
		t.Marks = append(t.Marks, svgMark{X: x(e.At), Y: svgTop + float64(row)*svgRowH + svgRowH/2, Shape: shape, Title: title})
	}
	for i, o := range r.Objectives {
		class := "deadline-met"
		if !o.Met {
			class = "deadline-missed"
		}
		t.Deadlines = append(t.Deadlines, svgDeadline{X: x(o.Within), Y1: svgTop - 6, Y2: bottom, TextY: bottom + 34 + float64(i)*14,
			Label: labelText(o.Name, 40) + " (" + short(time.Duration(o.Within)) + ", " + o.Rating + ")", Class: class})
	}
	t.Height = bottom + 12
	if len(r.Objectives) > 0 {
		t.Height = bottom + 44 + float64(len(r.Objectives))*14
	}
	return t
}

// labelText is s neutralised and cut to n characters for a label.
func labelText(s string, n int) string { return safetext.LineMax(s, n) }

func tickLabel(d time.Duration) string {
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h >= 48 && m == 0 && h%24 == 0 {
		return fmt.Sprintf("%dd", h/24)
	}
	return fmt.Sprintf("%d:%02d", h, m)
}

type svgHistogram struct {
	Name          string
	Width, Height float64
	Bars          []svgBar
	Ticks         []svgTick
	BaseY, PlotX  float64
	Max           int
	Met, Runs     int
}

// histogramSVG draws the times an objective was met, in HistogramBins bins
// from 0 to its limit.
func histogramSVG(o MonteCarloObjective, runs int) svgHistogram {
	const w, h, left, top, bottom = 560.0, 190.0, 40.0, 12.0, 30.0
	hg := svgHistogram{Name: htmlText(o.Name), Width: w, Height: h, BaseY: h - bottom, PlotX: left, Met: len(o.Times), Runs: runs}
	bins := Histogram(o.Times, time.Duration(o.Within), HistogramBins)
	for _, b := range bins {
		hg.Max = max(hg.Max, b.Count)
	}
	plotW, plotH := w-left-30, h-top-bottom
	bw := plotW / float64(max(len(bins), 1))
	for i, b := range bins {
		bh := 0.0
		if hg.Max > 0 {
			bh = plotH * float64(b.Count) / float64(hg.Max)
		}
		hg.Bars = append(hg.Bars, svgBar{X: left + float64(i)*bw + 1, Y: hg.BaseY - bh, W: bw - 2, H: bh, Class: "hist",
			Title: fmt.Sprintf("%s to %s: %d run%s", exercise.Clock(b.From), exercise.Clock(b.To), b.Count, plural(b.Count))})
		if i%3 == 0 {
			hg.Ticks = append(hg.Ticks, svgTick{X: left + float64(i)*bw, Label: short(b.From)})
		}
	}
	if len(bins) > 0 {
		hg.Ticks = append(hg.Ticks, svgTick{X: left + plotW, Label: short(time.Duration(o.Within))})
	}
	return hg
}
