package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/firebreak-ir/firebreak/internal/hclfmt"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/render"
	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
)

// Output formats.
const (
	formatText    = "text"
	formatJSON    = "json"
	formatMermaid = "mermaid"
	formatDot     = "dot"
)

func checkFormat(f string, allowed ...string) error {
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return usageErrorf("--format %q is not one of %s", f, strings.Join(allowed, ", "))
}

// useColor reports whether to colour output written to w.
func useColor(cmd *cobra.Command, w io.Writer) bool {
	if off, _ := cmd.Flags().GetBool("no-color"); off || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// printDiags writes diagnostics as text to stderr.
func printDiags(cmd *cobra.Command, m *playbooks.Module, diags hcl.Diagnostics) error {
	if len(diags) == 0 {
		return nil
	}
	w := cmd.ErrOrStderr()
	if err := render.Diagnostics(w, diags, m.Files, render.TextOptions{Color: useColor(cmd, w)}); err != nil {
		return err
	}
	errs, warns := countDiags(diags)
	if errs+warns > 1 {
		fmt.Fprintf(w, "%s, %s.\n", plural(errs, "error"), plural(warns, "warning"))
	}
	return nil
}

func countDiags(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func newValidateCmd() *cobra.Command {
	var format, dir string
	cmd := &cobra.Command{
		Use:   "validate [DIR|FILE...] [--dir DIR]",
		Short: "Check playbooks: syntax, references, types and the safety interlock",
		Long: `Validate loads the given files and directories as one unit (a directory
contributes every *.hcl and *.hcl.json file below it), compiles every playbook
and exercise, and reports every problem with its file, line and column.
` + dirHelp + `

Exit status is 0 when there are no errors (warnings are allowed), 1 when there
are errors, 2 when the command line is wrong.`,
		Example: `  firebreak validate                              # the built-in library
  firebreak validate ./firebreak-playbooks
  firebreak validate --format json ./firebreak-playbooks   # for editors and CI`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			m, diags, _, err := loadPlaybooks(cmd, args, dir)
			if err != nil {
				return err
			}
			if !diags.HasErrors() {
				diags = append(diags, m.Check(actions.Builtin())...)
			}
			if format == formatJSON {
				out, err := render.DiagnosticsJSON(diags, m.Files)
				if err != nil {
					return err
				}
				if len(out) == 0 || out[len(out)-1] != '\n' {
					out = append(out, '\n')
				}
				if _, err := cmd.OutOrStdout().Write(out); err != nil {
					return err
				}
			} else {
				if err := printDiags(cmd, m, diags); err != nil {
					return err
				}
				if !diags.HasErrors() {
					_, warns := countDiags(diags)
					fmt.Fprintf(cmd.OutOrStdout(), "Valid: %s, %s in %s (%s).\n",
						plural(len(m.Config.Playbooks), "playbook"), plural(len(m.Config.Exercises), "exercise"),
						plural(len(m.Files), "file"), plural(warns, "warning"))
				}
			}
			if diags.HasErrors() {
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", formatText, "output format: text or json")
	addDirFlag(cmd, &dir)
	return cmd
}

func newFmtCmd() *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [-check] [DIR|FILE...]",
		Short: "Rewrite playbook files in the canonical layout",
		Long: `Fmt rewrites *.hcl files in place in the canonical layout (aligned '=',
two-space indents), printing the name of each file it changed. Files with
syntax errors are left untouched and their errors shown. JSON files are not
formatted.

With -check (or --check) nothing is written: the names of files that would
change are printed and the exit status is 1 if there are any, which suits CI.`,
		Example: `  firebreak fmt playbooks/
  firebreak fmt -check playbooks/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			if err := checkPaths(args); err != nil {
				return err
			}
			changed, diags, sources, err := hclfmt.Run(args, check, cmd.OutOrStdout())
			if len(diags) > 0 {
				// The sources as fmt read them: never read a file again to
				// show it (it may have been swapped for a pipe or a link).
				playbooks.MarkSecretLines(diags, sources)
				w := cmd.ErrOrStderr()
				if rerr := render.Diagnostics(w, diags, sources, render.TextOptions{Color: useColor(cmd, w)}); rerr != nil {
					return rerr
				}
			}
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			if diags.HasErrors() || (check && len(changed) > 0) {
				return &exitError{code: exitInvalid}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "change nothing; list files that are not formatted and exit 1 if any")
	return cmd
}

// dirHelp explains, in a compile command's help, how it picks the playbooks.
const dirHelp = `
The playbooks are the paths given, else --dir DIR, else the directory in
$FIREBREAK_DIR, else the built-in library (the Northwind Energy sample, shipped
inside the binary; a note on standard error says when it is used). Giving
both paths and --dir is a usage error. 'firebreak init DIR' writes the
built-in library out as a starting point for your own.`

// builtInNote is printed on standard error when a compile command falls back
// to the built-in library.
var builtInNote = "Using " + org.Describe("") + "; give a directory or set " + org.EnvDir +
	" for your own. 'firebreak init DIR' writes it out to start from."

// addDirFlag adds --dir to a command that loads playbooks.
func addDirFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "dir", "", "the playbook directory (or file) (default: $"+org.EnvDir+", else the built-in library)")
}

// loadPlaybooks loads what a compile command works on: the paths given, or
// the directory from --dir or $FIREBREAK_DIR, or the built-in library (with a
// note on stderr). It returns a description of what was loaded for
// messages. The error is a usage error; diagnostics are the caller's to show.
func loadPlaybooks(cmd *cobra.Command, args []string, dirFlag string) (*playbooks.Module, hcl.Diagnostics, string, error) {
	if len(args) > 0 {
		if dirFlag != "" {
			return nil, nil, "", usageErrorf("give the playbooks either as paths or with --dir, not both")
		}
		if err := checkPaths(args); err != nil {
			return nil, nil, "", err
		}
		m, diags := playbooks.Load(args...)
		return m, diags, strings.Join(args, " "), nil
	}
	dir := org.Dir(dirFlag, os.Getenv)
	if dir == "" {
		fmt.Fprintln(cmd.ErrOrStderr(), builtInNote)
	} else if _, err := os.Stat(dir); err != nil {
		from := "--dir " + dir
		if dirFlag == "" {
			from = org.EnvDir + "=" + dir
		}
		return nil, nil, "", usageErrorf("%s: no such file or directory; give a playbook file or a directory of them (or unset %s for the built-in library)", from, org.EnvDir)
	}
	m, diags := org.LoadModule(dir)
	return m, diags, org.Describe(dir), nil
}

// compileOne loads the playbooks (see loadPlaybooks) and compiles one
// playbook, printing diagnostics.
func compileOne(cmd *cobra.Command, args []string, dirFlag, name string) (*plan.Plan, error) {
	m, diags, from, err := loadPlaybooks(cmd, args, dirFlag)
	if err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		_ = printDiags(cmd, m, diags)
		return nil, &exitError{code: exitInvalid}
	}
	if name == "" {
		names := m.PlaybookNames()
		switch len(names) {
		case 0:
			return nil, &exitError{code: exitInvalid, err: fmt.Errorf("no playbook blocks found in %s", from)}
		case 1:
			name = names[0]
		default:
			return nil, usageErrorf("there are %d playbooks; choose one with --playbook NAME: %s", len(names), strings.Join(names, ", "))
		}
	}
	p, cdiags := m.Compile(name, actions.Builtin())
	diags = append(diags, cdiags...)
	if err := printDiags(cmd, m, diags); err != nil {
		return nil, err
	}
	if p == nil {
		return nil, &exitError{code: exitInvalid}
	}
	return p, nil
}

// checkPaths reports a path that does not exist as a usage error.
func checkPaths(paths []string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return usageErrorf("%s: no such file or directory; give a playbook file or a directory of them", p)
		}
	}
	return nil
}

func newPlanCmd() *cobra.Command {
	var name, format, dir string
	cmd := &cobra.Command{
		Use:   "plan [DIR] [--dir DIR] --playbook NAME",
		Short: "Compile one playbook and show the plan a run would follow",
		Long: `Plan compiles one playbook into the plan that a run carries: steps in the
order they can start, what each waits for, conditions, timeouts and retries,
who can answer each approval, and which sign-off guards each safety-critical
step. The JSON form is exactly what a run receives, byte-identical for the
same files.
` + dirHelp,
		Example: `  firebreak plan --playbook ot_ransomware_containment       # from the built-in library
  firebreak plan ./firebreak-playbooks --playbook ot_ransomware_containment --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			p, err := compileOne(cmd, args, dir, name)
			if err != nil {
				return err
			}
			if format == formatJSON {
				b, err := plan.Encode(p)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			render.Summary(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "playbook", "", "the playbook to compile (optional when there is only one)")
	cmd.Flags().StringVar(&format, "format", formatText, "output format: text or json")
	addDirFlag(cmd, &dir)
	return cmd
}

func newGraphCmd() *cobra.Command {
	var name, format, dir string
	cmd := &cobra.Command{
		Use:   "graph [DIR] [--dir DIR] --playbook NAME [--format mermaid|dot]",
		Short: "Draw a playbook's step graph (Mermaid or Graphviz dot)",
		Long: `Graph prints the step graph of one playbook. Safety sign-offs and
safety-critical steps are drawn in their own shapes and colours and labelled,
so a reviewer can see at a glance what guards each isolation.
` + dirHelp,
		Example: `  firebreak graph --playbook ot_ransomware_containment > graph.mmd
  firebreak graph ./firebreak-playbooks --playbook ot_ransomware_containment --format dot | dot -Tsvg > graph.svg`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatMermaid, formatDot); err != nil {
				return err
			}
			p, err := compileOne(cmd, args, dir, name)
			if err != nil {
				return err
			}
			out := render.Mermaid(p)
			if format == formatDot {
				out = render.Dot(p)
			}
			_, err = io.WriteString(cmd.OutOrStdout(), out)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "playbook", "", "the playbook to draw (optional when there is only one)")
	cmd.Flags().StringVar(&format, "format", formatMermaid, "output format: mermaid or dot")
	addDirFlag(cmd, &dir)
	return cmd
}

func newActionsCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "actions",
		Short: "List the actions a step can run, with their arguments and outputs",
		Example: `  firebreak actions
  firebreak actions --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, formatText, formatJSON); err != nil {
				return err
			}
			specs := actions.Builtin().Specs()
			w := cmd.OutOrStdout()
			if format == formatJSON {
				b, err := json.MarshalIndent(specs, "", "  ")
				if err != nil {
					return err
				}
				_, err = w.Write(append(b, '\n'))
				return err
			}
			for i, s := range specs {
				if i > 0 {
					fmt.Fprintln(w)
				}
				head := s.Name
				if s.SafetyCritical {
					head += "  [SAFETY-CRITICAL: needs a kind = \"safety\" approval covering its zone]"
				}
				fmt.Fprintf(w, "%s\n  %s\n", head, s.Description)
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				for _, a := range s.Args {
					req := "optional"
					if a.Required {
						req = "required"
					}
					fmt.Fprintf(tw, "  with.%s\t%s\t%s\t%s\n", a.Name, a.Type, req, a.Description)
				}
				for _, f := range s.Output {
					fmt.Fprintf(tw, "  output.%s\t%s\t\t%s\n", f.Name, f.Type, f.Description)
				}
				tw.Flush()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", formatText, "output format: text or json")
	return cmd
}
