package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
)

// envKeyFile names the environment variable that supplies --key-file.
const envKeyFile = "FIREBREAK_KEY_FILE"

func newKeygenCmd() *cobra.Command {
	var (
		out   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "keygen ID [--out FILE] [--force]",
		Short: "Make a signing key pair for a person or a front door",
		Long: `Keygen makes an Ed25519 key pair for signing answers and starts. ID is whose
key it is:

  person.NAME    a person's own key (person "NAME" in the playbooks); it
                 signs only that person's answers (--as NAME)
  KIND.NAME      a front door's key, named by its integration ID (for example
                 slack.main for integration "slack" "main"); it signs for
                 whoever the front door identified

The private key is written to FILE (default ./ID.key) as a PKCS#8 PEM file
that only you can read (mode 0600), with a Firebreak-Signer header naming
ID. Keygen never overwrites a file: --force replaces it (the old key stops
working once its public key is removed from the playbooks).

On standard output it prints the public key as the line to paste into the
block it belongs to, for example:

  public_key = "ed25519:K9gGyX8OAK8aH8Myj6djqSaXI8jbj6xPk69x2xhtbpA="

Once the playbooks declare it, the CLI signs with the private key when given
--key-file FILE (or ` + envKeyFile + `=FILE) on run, ack, approve, deny, decide,
done, break-glass and cancel. Keep the file secret: whoever holds it can
answer as ID. See docs/language.md ("Signing keys").`,
		Example: `  firebreak keygen person.alice
  firebreak keygen person.alice --out ~/.config/firebreak/alice.key
  firebreak keygen slack.main --out /etc/firebreak/slack-gateway.key`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := playbooks.CheckKeyID(id); err != nil {
				return usageErrorf("%w", err)
			}
			if out == "" {
				out = id + ".key"
			}
			s, err := attest.GenerateKey(id)
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			pemBytes, err := s.MarshalPrivateKey()
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			if err := writeKeyFile(out, pemBytes, force); err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			kind, name, _ := strings.Cut(id, ".")
			block := fmt.Sprintf("integration %q %q", kind, name)
			use := fmt.Sprintf("the front door signs with it for whoever it identified (give it the file, or %s=%s)", envKeyFile, shellWord(out))
			if kind == "person" {
				block = fmt.Sprintf("person %q", name)
				use = fmt.Sprintf("sign %s's answers with --as %s --key-file %s (or %s=%s)", name, name, shellWord(out), envKeyFile, shellWord(out))
			}
			stderr := cmd.ErrOrStderr()
			fmt.Fprintf(stderr, "Wrote the private key of %s to %s (mode 0600). Keep it secret: whoever holds it can answer as %s.\n", id, shellWord(out), id)
			fmt.Fprintf(stderr, "Paste this line into the %s block of the playbooks:\n", block)
			fmt.Fprintf(cmd.OutOrStdout(), "public_key = %q\n", s.Public())
			fmt.Fprintf(stderr, "Then %s.\n", use)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the private key file to write (default ./ID.key)")
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	return cmd
}

// writeKeyFile writes a private key readable by its owner only. Without
// force an existing file is an error and is left alone; with force it is
// replaced whole (a new file renamed over it, so it is never left half
// written or readable by others).
func writeKeyFile(path string, data []byte, force bool) error {
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; keygen never overwrites a key (a key in use would stop working): choose another --out, or replace it with --force", path)
		}
		if err != nil {
			return fmt.Errorf("writing the key: %w", err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return fmt.Errorf("writing the key: %w", err)
		}
		return f.Close()
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a directory; --out names the key file", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keygen-*")
	if err != nil {
		return fmt.Errorf("writing the key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the key: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the key: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the key: %w", err)
	}
	return nil
}
