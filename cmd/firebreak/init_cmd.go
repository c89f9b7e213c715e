package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/internal/org"
	// Aliased: the tests of this package name the library's directory "library".
	shipped "github.com/firebreak-ir/firebreak/playbooks/library"
)

// defaultInitDir is where `firebreak init` writes the library when no
// directory is given: a name of its own, so it never lands among other files.
const defaultInitDir = "firebreak-playbooks"

func newInitCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write the built-in library out as a starting point for your own playbooks",
		Long: `Init writes the built-in library into DIR (default ./` + defaultInitDir + `),
creating it: the Northwind Energy sample's people, rosters, escalations,
zones, conduits, integrations, safety policy, four joint IT/OT playbooks and
a tabletop exercise. Edit the files to describe your organisation, then point
the other commands at the directory with --dir DIR or ` + org.EnvDir + `=DIR.

Init never overwrites: if any of the files already exists in DIR, it writes
nothing and exits 1. --force overwrites them.`,
		Example: `  firebreak init                   # writes ./` + defaultInitDir + `
  firebreak init ./org && firebreak validate ./org
  firebreak init ./org --force     # start again from the sample`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("init takes at most one DIR (got %d arguments)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := defaultInitDir
			if len(args) == 1 {
				dir = args[0]
			}
			if strings.TrimSpace(dir) == "" {
				return usageErrorf("DIR is empty; name the directory to write the library into")
			}
			written, err := shipped.WriteTo(dir, force)
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Wrote %s into %s:\n", shipped.Name, shellWord(dir))
			for _, p := range written {
				fmt.Fprintf(out, "  %s\n", shellWord(p))
			}
			q := shellWord(dir)
			fmt.Fprintf(out, "\nEdit the files to describe your organisation, then:\n")
			fmt.Fprintf(out, "  firebreak validate %s    # check it after each edit\n", q)
			fmt.Fprintf(out, "  firebreak dev --dir %s   # a server and a worker that use it\n", q)
			abs := dir
			if a, err := filepath.Abs(dir); err == nil {
				abs = a
			}
			fmt.Fprintf(out, "  export %s=%s   # make it every command's default, from any directory\n", org.EnvDir, shellWord(abs))
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite library files that already exist in DIR")
	return cmd
}

// plainWord is a path a shell reads as itself.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellWord shows a path so it can be pasted into a shell: as it is when
// that is safe, else single-quoted. A path with control characters or other
// unprintable runes is shown Go-quoted instead, so it cannot send escape
// sequences to the terminal.
func shellWord(p string) string {
	if plainWord.MatchString(p) {
		return p
	}
	if strings.IndexFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(p)
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
