package org_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/org"
)

const secretValue = "xoxb-SECRET-7f3a9c"

const orgHCL = `
person "alice" { slack = "U01ALICE" }
roster "ops" { members = [person.alice] }
zone "control" { purdue_level = 2 }
integration "slack" "main" {
  bot_token = env("TEST_SLACK_TOKEN")
}
integration "nftables" "gw" {
  netns    = "gw"
  simulate = true
}
integration "webhook" "edr" {
  url    = "https://edr.example/api"
  secret = env("TEST_EDR_SECRET")
  simulate = true
}
`

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestMissingVariableStopsTheLoad: an unset env() variable is an error
// naming the variable and the block's file:line; a simulate = true block's
// variables are not needed.
func TestMissingVariableStopsTheLoad(t *testing.T) {
	dir := writeDir(t, map[string]string{"org.hcl": orgHCL})
	o, _, diags := org.Load(dir, org.Options{Getenv: env(nil)})
	if o != nil || !diags.HasErrors() {
		t.Fatalf("loaded without TEST_SLACK_TOKEN: %v", diags)
	}
	if len(diags) != 1 {
		t.Fatalf("want one error (the simulated webhook needs no secret), got %s", diags.Error())
	}
	d := diags[0]
	if !strings.Contains(d.Detail, "$TEST_SLACK_TOKEN") || !strings.Contains(d.Detail, `integration "slack" "main"`) {
		t.Errorf("the error does not name the variable and the block: %s", d.Detail)
	}
	if d.Subject == nil || d.Subject.Start.Line != 5 || !strings.HasSuffix(d.Subject.Filename, "org.hcl") {
		t.Errorf("the error points at %v, want org.hcl:5", d.Subject)
	}
	if strings.Contains(d.Detail, "TEST_EDR_SECRET") {
		t.Errorf("a simulated instance's variable was asked for: %s", d.Detail)
	}
}

// TestSecretsNeverPrint: a resolved secret is available to the adapter and
// nowhere else: not in %v, %+v, %#v, JSON, slog or the plan.
func TestSecretsNeverPrint(t *testing.T) {
	dir := writeDir(t, map[string]string{"org.hcl": orgHCL + `
playbook "p" {
  notify "n" { message = "hi" }
}`})
	o, _, diags := org.Load(dir, org.Options{Getenv: env(map[string]string{"TEST_SLACK_TOKEN": secretValue})})
	if o == nil {
		t.Fatal(diags.Error())
	}
	in := o.Instance("slack.main")
	s, ok := in.Secret("bot_token")
	if !ok || s.Reveal() != secretValue {
		t.Fatalf("secret not resolved: %v", ok)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%v %+v %#v %s %v", o, in, in, s, *in)
	j, _ := json.Marshal(in)
	b.Write(j)
	h := slog.NewJSONHandler(&b, nil)
	slog.New(h).Info("loaded", "instance", in, "secret", s)
	p, pd := o.Plan("p")
	if p == nil {
		t.Fatal(pd.Error())
	}
	pj, _ := json.Marshal(p)
	b.Write(pj)
	if strings.Contains(b.String(), secretValue) {
		t.Fatalf("the secret's value printed: %s", b.String())
	}
	if in.Env["bot_token"] != "TEST_SLACK_TOKEN" {
		t.Errorf("env names %v", in.Env)
	}
}

// TestLenientRecordsMissing: `firebreak integrations` sees every missing
// variable at once.
func TestLenientRecordsMissing(t *testing.T) {
	dir := writeDir(t, map[string]string{"org.hcl": orgHCL})
	o, _, diags := org.Load(dir, org.Options{Getenv: env(nil), Lenient: true})
	if o == nil {
		t.Fatal(diags.Error())
	}
	if got := o.Instance("slack.main").Missing; len(got) != 1 || got[0] != "TEST_SLACK_TOKEN" {
		t.Errorf("missing %v", got)
	}
	if !o.Instance("nftables.gw").Simulate {
		t.Error("simulate = true not read")
	}
}

// TestReloadKeepsTheOldOnError: a reload that fails keeps the organisation
// in force; one that succeeds replaces it.
func TestReloadKeepsTheOldOnError(t *testing.T) {
	dir := writeDir(t, map[string]string{"org.hcl": `person "alice" {}`})
	opts := org.Options{Getenv: env(nil)}
	o, _, diags := org.Load(dir, opts)
	if o == nil {
		t.Fatal(diags.Error())
	}
	h := org.NewHolder(o, opts)
	if err := os.WriteFile(filepath.Join(dir, "bad.hcl"), []byte(`roster "r" { members = [person.nobody] }`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, diags := h.Reload()
	if !diags.HasErrors() || got != o || h.Current() != o {
		t.Fatalf("a bad reload replaced the organisation (%v)", diags)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.hcl"), []byte(`person "bob" {}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, diags = h.Reload()
	if diags.HasErrors() || got == o || h.Current() != got || len(got.Config.People) != 2 {
		t.Fatalf("a good reload did not take: %v", diags)
	}
}

// TestBuiltInLibrary: with no directory the built-in library loads, and its
// instances need no environment.
func TestBuiltInLibrary(t *testing.T) {
	o, _, diags := org.Load("", org.Options{})
	if o == nil {
		t.Fatal(diags.Error())
	}
	if len(o.Instances) == 0 || !strings.Contains(o.Summary(), "built-in") {
		t.Errorf("summary %q", o.Summary())
	}
	for _, in := range o.Instances {
		if !in.Simulate {
			t.Errorf("%s in the built-in library is not simulate = true", in.ID)
		}
	}
}

func TestDir(t *testing.T) {
	if got := org.Dir("x", env(map[string]string{org.EnvDir: "y"})); got != "x" {
		t.Errorf("flag: %q", got)
	}
	if got := org.Dir("", env(map[string]string{org.EnvDir: "y"})); got != "y" {
		t.Errorf("env: %q", got)
	}
	if got := org.Dir("", env(nil)); got != "" {
		t.Errorf("default: %q", got)
	}
}

// TestSecretInsideAStruct: an adapter keeping a Secret in an unexported
// field of its own struct does not print it either, under any verb.
func TestSecretInsideAStruct(t *testing.T) {
	dir := writeDir(t, map[string]string{"org.hcl": orgHCL})
	o, _, diags := org.Load(dir, org.Options{Getenv: env(map[string]string{"TEST_SLACK_TOKEN": secretValue})})
	if o == nil {
		t.Fatal(diags.Error())
	}
	s, _ := o.Instance("slack.main").Secret("bot_token")
	type adapter struct {
		url   string
		token org.Secret
	}
	a := adapter{url: "u", token: s}
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%t", "%p"} {
		fmt.Fprintf(&b, verb+" ", a)
		fmt.Fprintf(&b, verb+" ", s)
	}
	slog.New(slog.NewTextHandler(&b, nil)).Info("adapter", "a", a, "s", s)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("adapter", "a", a, "s", s)
	if strings.Contains(b.String(), secretValue) || strings.Contains(b.String(), fmt.Sprintf("%x", secretValue)) {
		t.Fatalf("the secret printed: %s", b.String())
	}
}
