package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/firebreak-ir/firebreak/internal/render/safetext"
	"sort"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// Colours shared by both graph formats.
const (
	safetyFill     = "#d4edda"
	safetyStroke   = "#1e7e34"
	criticalFill   = "#f8d7da"
	criticalStroke = "#c82333"
	missingFill    = "#eeeeee"
	missingStroke  = "#999999"
)

// Legend texts shared by both graph formats.
const (
	legendSafety   = "🛡 safety sign-off: approval with kind = \"safety\""
	legendCritical = "⚠ safety-critical action: needs a covering safety sign-off"
	legendWhen     = "dotted edge: the step runs only when its condition holds"
	legendWhenDot  = "dashed edge: the step runs only when its condition holds"
)

// nodeStyle is how a step is drawn.
type nodeStyle int

const (
	styleNormal nodeStyle = iota
	styleSafety
	styleCritical
	styleMissing
)

// graphNode is one node of the drawn graph.
type graphNode struct {
	id    string // step ID as in the plan
	kind  plan.Kind
	lines []string // label lines, unescaped
	style nodeStyle
	when  bool
}

// graphEdge runs from a need to the step that needs it.
type graphEdge struct {
	from, to    string // step IDs
	conditional bool
}

// buildGraph turns a plan into nodes and edges, in plan order. Needs naming
// steps that are not in the plan become "missing" nodes, sorted, at the end.
func buildGraph(p *plan.Plan) ([]graphNode, []graphEdge) {
	if p == nil {
		return nil, nil
	}
	known := map[string]bool{}
	for _, s := range p.Steps {
		known[s.ID] = true
	}
	var nodes []graphNode
	var edges []graphEdge
	missing := map[string]bool{}
	for _, s := range p.Steps {
		n := graphNode{id: s.ID, kind: s.Kind, lines: []string{s.ID}, when: s.When != nil}
		if a := s.Action; a != nil {
			if a.Action != "" {
				n.lines = append(n.lines, a.Action)
			}
			if a.SafetyCritical {
				n.style = styleCritical
				n.lines = append(n.lines, criticalMarker(a))
				if len(a.GuardedBy) > 0 {
					n.lines = append(n.lines, "guarded by "+strings.Join(a.GuardedBy, ", "))
				} else {
					n.lines = append(n.lines, "⚠ NOT GUARDED by any safety sign-off")
				}
			}
		}
		if ap := s.Approval; ap != nil && ap.Kind == plan.ApprovalSafety {
			n.style = styleSafety
			n.lines = append(n.lines, signoffMarker(ap))
		}
		if s.ForEach != nil {
			n.lines = append(n.lines, "for each: "+exprString(s.ForEach))
		}
		if s.When != nil {
			n.lines = append(n.lines, "when: "+exprString(s.When))
		}
		nodes = append(nodes, n)
		for _, need := range s.Needs {
			if !known[need] {
				missing[need] = true
			}
			edges = append(edges, graphEdge{from: need, to: s.ID, conditional: s.When != nil})
		}
	}
	var ids []string
	for id := range missing {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		nodes = append(nodes, graphNode{id: id, lines: []string{id, "(not in plan)"}, style: styleMissing})
	}
	return nodes, edges
}

// criticalMarker is the text marker of a safety-critical action step.
func criticalMarker(a *plan.ActionStep) string {
	if a.Target == "" {
		return "⚠ SAFETY-CRITICAL"
	}
	return "⚠ SAFETY-CRITICAL → " + a.Target
}

// signoffMarker is the text marker of a safety approval.
func signoffMarker(ap *plan.ApprovalStep) string {
	if len(ap.Covers) == 0 {
		return "🛡 safety sign-off"
	}
	zones := make([]string, len(ap.Covers))
	for i, c := range ap.Covers {
		zones[i] = "zone " + c
	}
	return "🛡 sign-off: " + strings.Join(zones, ", ")
}

// Mermaid renders the plan's step graph as a Mermaid flowchart. Each step is
// a node labelled with its ID (and action); each need is an edge into the
// step that needs it, dotted when the step has a `when` condition, which is
// shown on the node. Safety sign-offs (class safety) and safety-critical
// steps (class critical) get their own shape, colour and text marker, and a
// legend explains them. The output is deterministic.
func Mermaid(p *plan.Plan) string {
	nodes, edges := buildGraph(p)
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	if p != nil {
		fmt.Fprintf(&b, "    %%%% playbook %s\n", mermaidComment(p.Playbook))
		if p.Title != "" {
			fmt.Fprintf(&b, "    %%%% %s\n", mermaidComment(p.Title))
		}
	}

	ids := map[string]string{}
	for i, n := range nodes {
		if _, dup := ids[n.id]; dup {
			continue
		}
		prefix := "n"
		if n.style == styleMissing {
			prefix = "m"
		}
		ids[n.id] = fmt.Sprintf("%s%d_%s", prefix, i, mermaidID(n.id))
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if seen[n.id] {
			continue
		}
		seen[n.id] = true
		escaped := make([]string, len(n.lines))
		for i, l := range n.lines {
			escaped[i] = mermaidEscape(l)
		}
		label := `"` + strings.Join(escaped, "<br/>") + `"`
		open, closing := mermaidShape(n)
		class := ""
		switch n.style {
		case styleSafety:
			class = ":::safety"
		case styleCritical:
			class = ":::critical"
		case styleMissing:
			class = ":::missing"
		}
		fmt.Fprintf(&b, "    %s%s%s%s%s\n", ids[n.id], open, label, closing, class)
	}
	for _, e := range edges {
		arrow := "-->"
		if e.conditional {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "    %s %s %s\n", ids[e.from], arrow, ids[e.to])
	}

	b.WriteString("    subgraph legend[\"Legend\"]\n")
	fmt.Fprintf(&b, "        legend_safety{{\"%s\"}}:::safety\n", mermaidEscape(legendSafety))
	fmt.Fprintf(&b, "        legend_critical[[\"%s\"]]:::critical\n", mermaidEscape(legendCritical))
	fmt.Fprintf(&b, "        legend_when_a[\"need\"] -.->|\"%s\"| legend_when_b[\"conditional step\"]\n", mermaidEscape(legendWhen))
	b.WriteString("    end\n")
	fmt.Fprintf(&b, "    classDef safety fill:%s,stroke:%s,stroke-width:3px,color:#000\n", safetyFill, safetyStroke)
	fmt.Fprintf(&b, "    classDef critical fill:%s,stroke:%s,stroke-width:3px,color:#000\n", criticalFill, criticalStroke)
	fmt.Fprintf(&b, "    classDef missing fill:%s,stroke:%s,stroke-dasharray:5 5,color:#555\n", missingFill, missingStroke)
	return b.String()
}

// mermaidShape returns the brackets of a node's shape.
func mermaidShape(n graphNode) (string, string) {
	switch n.style {
	case styleCritical:
		return "[[", "]]"
	case styleSafety:
		return "{{", "}}"
	}
	if sh, ok := kindShapes[n.kind]; ok {
		return sh.mermaidOpen, sh.mermaidClose
	}
	return "[", "]"
}

// kindShape is how the graph draws an ordinary step of one kind.
type kindShape struct {
	mermaidOpen, mermaidClose string // Mermaid's node brackets
	dot                       string // Graphviz shape ("": the default box)
}

// kindShapes holds the graph's drawing per step kind; every kind has one.
var kindShapes = map[plan.Kind]kindShape{
	plan.KindStep:     {"[", "]", ""},
	plan.KindPage:     {"([", "])", "cds"},
	plan.KindApproval: {"{{", "}}", "hexagon"},
	plan.KindDecision: {"{", "}", "diamond"},
	plan.KindTask:     {"[/", "/]", "parallelogram"},
	plan.KindNotify:   {">", "]", "note"},
	plan.KindWait:     {"((", "))", "ellipse"},
}

// mermaidID keeps the letters, digits and underscores of s.
func mermaidID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// mermaidEscape makes s safe inside a double-quoted Mermaid label, using
// Mermaid's #code; entities.
func mermaidEscape(s string) string {
	var b strings.Builder
	for _, r := range safetext.Terminal(s) {
		switch r {
		case '"', '#', '<', '>', '&', '`', '|':
			fmt.Fprintf(&b, "#%d;", r)
		case '\n':
			b.WriteString("<br/>")
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mermaidComment keeps s on one comment line.
func mermaidComment(s string) string { return safetext.LineMax(s, 0) }

// Dot renders the plan's step graph in Graphviz dot syntax, with the same
// content and markings as Mermaid: safety sign-offs are green double-bordered
// hexagons, safety-critical steps red octagons, edges into conditional steps
// dashed, and a legend cluster explains them. The output is deterministic.
func Dot(p *plan.Plan) string {
	nodes, edges := buildGraph(p)
	var b strings.Builder
	name := "plan"
	if p != nil && p.Playbook != "" {
		name = p.Playbook
	}
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(name))
	b.WriteString("    graph [rankdir=TB, fontname=\"Helvetica\"")
	if p != nil && p.Title != "" {
		fmt.Fprintf(&b, ", label=%s, labelloc=t", dotQuote(p.Title))
	}
	b.WriteString("];\n")
	b.WriteString("    node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n")
	b.WriteString("    edge [fontname=\"Helvetica\", fontsize=10];\n")

	seen := map[string]bool{}
	for _, n := range nodes {
		if seen[n.id] {
			continue
		}
		seen[n.id] = true
		attrs := []string{"label=" + dotLabel(n.lines)}
		switch n.style {
		case styleSafety:
			attrs = append(attrs, "shape=hexagon", `style="filled,bold"`, "peripheries=2",
				"fillcolor="+dotQuote(safetyFill), "color="+dotQuote(safetyStroke), "penwidth=2")
		case styleCritical:
			attrs = append(attrs, "shape=octagon", `style="filled,bold"`,
				"fillcolor="+dotQuote(criticalFill), "color="+dotQuote(criticalStroke), "penwidth=3")
		case styleMissing:
			attrs = append(attrs, `style="dashed,filled"`, "fillcolor="+dotQuote(missingFill), "color="+dotQuote(missingStroke))
		default:
			if shape := dotShape(n.kind); shape != "" {
				attrs = append(attrs, "shape="+shape)
			}
		}
		fmt.Fprintf(&b, "    %s [%s];\n", dotQuote(n.id), strings.Join(attrs, ", "))
	}
	for _, e := range edges {
		attr := ""
		if e.conditional {
			attr = " [style=dashed]"
		}
		fmt.Fprintf(&b, "    %s -> %s%s;\n", dotQuote(e.from), dotQuote(e.to), attr)
	}

	b.WriteString("    subgraph cluster_legend {\n")
	b.WriteString("        label=\"Legend\";\n")
	b.WriteString("        style=dashed;\n")
	fmt.Fprintf(&b, "        legend_safety [label=%s, shape=hexagon, style=\"filled,bold\", peripheries=2, fillcolor=%s, color=%s, penwidth=2];\n",
		dotQuote(legendSafety), dotQuote(safetyFill), dotQuote(safetyStroke))
	fmt.Fprintf(&b, "        legend_critical [label=%s, shape=octagon, style=\"filled,bold\", fillcolor=%s, color=%s, penwidth=3];\n",
		dotQuote(legendCritical), dotQuote(criticalFill), dotQuote(criticalStroke))
	b.WriteString("        legend_need [label=\"need\"];\n")
	b.WriteString("        legend_step [label=\"conditional step\"];\n")
	fmt.Fprintf(&b, "        legend_need -> legend_step [style=dashed, label=%s];\n", dotQuote(legendWhenDot))
	b.WriteString("    }\n")
	b.WriteString("}\n")
	return b.String()
}

// dotShape is the node shape of an ordinary step of the given kind.
func dotShape(kind plan.Kind) string {
	return kindShapes[kind].dot
}

// dotLabel joins label lines with dot's centred line break.
func dotLabel(lines []string) string {
	esc := make([]string, len(lines))
	for i, l := range lines {
		esc[i] = dotEscape(l)
	}
	return `"` + strings.Join(esc, `\n`) + `"`
}

// dotQuote returns s as a dot double-quoted string.
func dotQuote(s string) string { return `"` + dotEscape(s) + `"` }

// dotEscape escapes s for the inside of a dot double-quoted string.
func dotEscape(s string) string {
	var b strings.Builder
	for _, r := range safetext.Terminal(s) {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			if r < 0x20 || r == 0x7f {
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// exprString is an expression as written, or, for an expression built without
// its source, a rendering of its tree.
func exprString(e *plan.Expr) string {
	if e == nil {
		return ""
	}
	if e.Source != "" {
		return e.Source
	}
	budget := 500
	return exprTree(e, &budget)
}

// exprTree renders an expression tree; budget bounds the work on
// pathological (for example cyclic) hand-built trees.
func exprTree(e *plan.Expr, budget *int) string {
	if e == nil {
		return "null"
	}
	*budget--
	if *budget < 0 {
		return "…"
	}
	arg := func(i int) string {
		if i < len(e.Args) {
			return exprTree(e.Args[i], budget)
		}
		return "?"
	}
	args := func() []string {
		out := make([]string, len(e.Args))
		for i := range e.Args {
			out[i] = exprTree(e.Args[i], budget)
		}
		return out
	}
	switch e.Op {
	case plan.OpLiteral:
		if e.Value == nil {
			return "null"
		}
		return literalString(e.Value.V)
	case plan.OpRef:
		return strings.Join(e.Path, ".")
	case plan.OpTemplate:
		var b strings.Builder
		b.WriteByte('"')
		for _, a := range e.Args {
			if v, ok := a.IsLiteral(); ok {
				if s, ok := v.(string); ok {
					q := literalString(s)
					b.WriteString(q[1 : len(q)-1])
					continue
				}
			}
			b.WriteString("${" + exprTree(a, budget) + "}")
		}
		b.WriteByte('"')
		return b.String()
	case plan.OpBinary:
		return arg(0) + " " + e.Operator + " " + arg(1)
	case plan.OpNot:
		return "!" + arg(0)
	case plan.OpNegate:
		return "-" + arg(0)
	case plan.OpConditional:
		return arg(0) + " ? " + arg(1) + " : " + arg(2)
	case plan.OpCall:
		return e.Func + "(" + strings.Join(args(), ", ") + ")"
	case plan.OpIndex:
		return arg(0) + "[" + arg(1) + "]"
	case plan.OpAttr:
		return arg(0) + "." + e.Name
	case plan.OpList:
		return "[" + strings.Join(args(), ", ") + "]"
	case plan.OpObject:
		parts := args()
		for i := range parts {
			k := "?"
			if i < len(e.Keys) {
				k = e.Keys[i]
			}
			parts[i] = k + " = " + parts[i]
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return "<" + e.Op + ">"
}

// literalString renders a JSON-natural value as JSON.
func literalString(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("<%T>", v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
