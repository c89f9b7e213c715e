package playbooks

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// The playbook language lets a short block carry several arguments on one
// line, as in
//
//	zone "corp_it" { title = "Corporate IT"  purdue_level = 4 }
//
// Plain HCL allows only one argument in a single-line block. parseNative
// accepts the wider form without changing any position: it blanks the inside
// of such blocks, parses the file, then parses each argument from the
// original text at its original position and puts it into the block's body.

// inlineBlock is a single-line block with two or more arguments.
type inlineBlock struct {
	open, close hcl.Range
	attrs       []inlineAttr
}

type inlineAttr struct {
	name, equals hcl.Range
	nameText     string
	// expression bytes [start, end) with the position of start
	start, end int
	pos        hcl.Pos
}

// parseNativeTokens parses native syntax; tokens are src already lexed.
func parseNativeTokens(src []byte, name string, tokens hclsyntax.Tokens) (*hcl.File, hcl.Diagnostics) {
	blocks := findInlineBlocks(tokens)
	if len(blocks) == 0 {
		return hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	}
	masked := append([]byte(nil), src...)
	for _, b := range blocks {
		for i := b.open.End.Byte; i < b.close.Start.Byte; i++ {
			masked[i] = ' '
		}
	}
	f, diags := hclsyntax.ParseConfig(masked, name, hcl.InitialPos)
	if f != nil {
		f.Bytes = src
	}
	if diags.HasErrors() || f == nil {
		return f, diags
	}
	byOpen := map[int]*inlineBlock{}
	for i := range blocks {
		byOpen[blocks[i].open.Start.Byte] = &blocks[i]
	}
	var walk func(*hclsyntax.Body)
	walk = func(body *hclsyntax.Body) {
		for _, blk := range body.Blocks {
			if ib := byOpen[blk.OpenBraceRange.Start.Byte]; ib != nil {
				diags = append(diags, fillInline(blk.Body, ib, src, name)...)
				continue
			}
			walk(blk.Body)
		}
	}
	if body, ok := f.Body.(*hclsyntax.Body); ok {
		walk(body)
	}
	return f, diags
}

func fillInline(body *hclsyntax.Body, ib *inlineBlock, src []byte, name string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if body.Attributes == nil {
		body.Attributes = hclsyntax.Attributes{}
	}
	for _, a := range ib.attrs {
		expr, d := hclsyntax.ParseExpression(src[a.start:a.end], name, a.pos)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if prev, dup := body.Attributes[a.nameText]; dup {
			r := a.name
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Attribute redefined",
				Detail:   fmt.Sprintf("The argument %q was already set at %s. Each argument may be set only once.", a.nameText, fmtRange(prev.NameRange)),
				Subject:  &r,
			})
			continue
		}
		body.Attributes[a.nameText] = &hclsyntax.Attribute{
			Name:        a.nameText,
			Expr:        expr,
			SrcRange:    hcl.RangeBetween(a.name, expr.Range()),
			NameRange:   a.name,
			EqualsRange: a.equals,
		}
	}
	return diags
}

// findInlineBlocks finds block bodies opened and closed on one line that hold
// two or more "name = expression" arguments.
func findInlineBlocks(tokens hclsyntax.Tokens) []inlineBlock {
	// Match every opening bracket with its closer.
	closer := make([]int, len(tokens))
	var stack []int
	for i, t := range tokens {
		closer[i] = -1
		switch {
		case opensGroup(t.Type):
			stack = append(stack, i)
		case closesGroup(t.Type) && len(stack) > 0:
			closer[stack[len(stack)-1]] = i
			stack = stack[:len(stack)-1]
		}
	}
	var out []inlineBlock
	for i, t := range tokens {
		c := closer[i]
		if t.Type != hclsyntax.TokenOBrace || c < 0 || i == 0 || t.Range.Start.Line != tokens[c].Range.Start.Line {
			continue
		}
		// A block's brace follows its type or a label; an object's follows
		// "=", "(", "[", "," or ":".
		if prev := tokens[i-1].Type; prev != hclsyntax.TokenIdent && prev != hclsyntax.TokenCQuote {
			continue
		}
		// Arguments start with "name =" directly inside the braces; nested
		// groups are stepped over whole.
		var starts []int
		for j := i + 1; j < c; j++ {
			switch {
			case opensGroup(tokens[j].Type) && closer[j] > j:
				j = closer[j]
			case tokens[j].Type == hclsyntax.TokenIdent && tokens[j+1].Type == hclsyntax.TokenEqual:
				starts = append(starts, j)
			}
		}
		if len(starts) < 2 || starts[0] != i+1 {
			continue
		}
		ib := inlineBlock{open: t.Range, close: tokens[c].Range}
		for k, s := range starts {
			end := c
			if k+1 < len(starts) {
				end = starts[k+1]
			}
			last := tokens[end-1]
			first := tokens[s+2]
			ib.attrs = append(ib.attrs, inlineAttr{
				name: tokens[s].Range, equals: tokens[s+1].Range, nameText: string(tokens[s].Bytes),
				start: first.Range.Start.Byte, end: last.Range.End.Byte, pos: first.Range.Start,
			})
			if s+2 >= end {
				// "name =" with nothing after it: let the parser report it.
				ib.attrs[len(ib.attrs)-1].end = first.Range.Start.Byte
			}
		}
		out = append(out, ib)
	}
	return out
}

// opensGroup reports whether a token opens a bracketed group or a template
// sequence; closesGroup whether it closes one.
func opensGroup(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
		hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
		return true
	}
	return false
}

func closesGroup(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd:
		return true
	}
	return false
}
