package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/temporalenv"
)

// root is the repository's root, where docker-compose.yml lives.
const root = ".."

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// names returns the distinct first submatches of re in s, sorted.
func names(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

var (
	composeVar = regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)`)
	libraryEnv = regexp.MustCompile(`env\("([A-Z_][A-Z0-9_]*)"\)`)
)

// documented reports whether .env.example sets or shows name, commented or
// not, at the start of a line.
func documented(envExample, name string) bool {
	re := regexp.MustCompile(`(?m)^(# )?` + regexp.QuoteMeta(name) + `=`)
	return re.MatchString(envExample)
}

// TestEnvExample: every variable docker-compose.yml reads is in .env.example,
// and every secret the shipped library reads through env() is in both, so a
// copy of .env.example is a complete list of what to fill in.
func TestEnvExample(t *testing.T) {
	compose := read(t, "docker-compose.yml")
	example := read(t, ".env.example")
	used := names(composeVar, compose)
	if len(used) < 10 {
		t.Fatalf("found only %v in docker-compose.yml; is the pattern right?", used)
	}
	for _, name := range used {
		if !documented(example, name) {
			t.Errorf("docker-compose.yml reads ${%s}, which .env.example does not show", name)
		}
	}
	files, err := filepath.Glob(filepath.Join(root, "playbooks", "library", "*.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no library files: %v", err)
	}
	var lib strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lib.Write(b)
	}
	secrets := names(libraryEnv, lib.String())
	if len(secrets) == 0 {
		t.Fatal("the library reads no env(): is the pattern right?")
	}
	for _, name := range secrets {
		if !documented(example, name) {
			t.Errorf("the library reads env(%q), which .env.example does not show", name)
		}
		if !strings.Contains(compose, "  "+name+": ${"+name+":-}") {
			t.Errorf("the library reads env(%q), which x-firebreak-env in docker-compose.yml does not pass to the worker", name)
		}
	}
}

// TestComposeTemporalVariables: the worker and serve get every TEMPORAL_*
// setting firebreak reads, except the inline-PEM ones (a file in the secrets
// directory does that job) and the older names.
func TestComposeTemporalVariables(t *testing.T) {
	compose := read(t, "docker-compose.yml")
	for _, name := range []string{
		temporalenv.EnvAddress, temporalenv.EnvNamespace, temporalenv.EnvAPIKey, temporalenv.EnvTLS,
		temporalenv.EnvTLSCertPath, temporalenv.EnvTLSKeyPath, temporalenv.EnvTLSCAPath,
		temporalenv.EnvTLSServerName, temporalenv.EnvTLSDisableHostVerification,
	} {
		if !strings.Contains(compose, "  "+name+": ${"+name+":-") {
			t.Errorf("x-firebreak-env in docker-compose.yml does not pass %s", name)
		}
	}
}

// TestDockerfileGoVersion: the builder image is the Go release go.mod asks
// for, so the image builds what CI tests.
func TestDockerfileGoVersion(t *testing.T) {
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(read(t, "go.mod"))
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}
	dockerfile := read(t, "Dockerfile")
	if !strings.Contains(dockerfile, "ARG GO_VERSION="+goVersion[1]+"\n") {
		t.Errorf("the Dockerfile's GO_VERSION is not go.mod's %s", goVersion[1])
	}
	if !strings.Contains(dockerfile, "-tags noembedded") || !strings.Contains(dockerfile, "CGO_ENABLED=0") {
		t.Error("the Dockerfile no longer builds a static binary without the embedded server")
	}
}

// dockerCompose returns the docker-compose command, skipping the test when
// there is none, except under CI=true, where it fails.
func dockerCompose(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("docker-compose is needed to check docker-compose.yml (apt-get install docker-compose): %v", err)
		}
		t.Skipf("no docker-compose to check docker-compose.yml (apt-get install docker-compose): %v", err)
	}
	return bin
}

// TestComposeConfig runs docker-compose config on docker-compose.yml without
// a .env (every variable has a default) and with .env.example as the .env,
// and checks the services each starts. No container runs.
func TestComposeConfig(t *testing.T) {
	bin := dockerCompose(t)
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	compose := func(envFile string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--project-directory", abs, "-f", filepath.Join(abs, "docker-compose.yml"), "--env-file", envFile}, args...)...)
		// Only what docker-compose needs: no TEMPORAL_* or secrets of
		// whoever runs the test.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker-compose --env-file %s %s: %v\n%s", envFile, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The check .ci/run makes: the file as it is, with no .env.
	if out := compose(empty, "config", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("docker-compose config -q without a .env said:\n%s", out)
	}
	for _, envFile := range []string{empty, filepath.Join(abs, ".env.example")} {
		config := compose(envFile, "config")
		services := serviceNames(config)
		want := []string{"postgresql", "serve", "temporal", "temporal-namespace", "temporal-schema", "temporal-ui", "worker"}
		if !slices.Equal(services, want) {
			t.Errorf("with %s, docker-compose has the services %v, want %v", filepath.Base(envFile), services, want)
		}
		// A password nobody chose is one everybody knows: left empty, the
		// postgres image refuses to initialise its volume, saying why.
		for _, m := range passwordLine.FindAllStringSubmatch(config, -1) {
			if v := strings.Trim(m[2], `'"`); v != "" {
				t.Errorf("with %s, %s defaults to %q: a deployment that forgets to set it runs on a password anyone can read here", filepath.Base(envFile), m[1], v)
			}
		}
		if serve := serviceBlock(config, "serve"); !profileSlack.MatchString(serve) {
			t.Errorf("serve is not in the profile slack, so a plain 'docker-compose up' starts it before its key exists:\n%s", serve)
		}
	}
}

// serviceNames returns the services in docker-compose config's output,
// sorted.
func serviceNames(config string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(config, "\n") {
		switch {
		case l == "services:":
			in = true
		case in && len(l) > 0 && l[0] != ' ':
			in = false
		case in && strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") && strings.HasSuffix(l, ":"):
			out = append(out, strings.TrimSuffix(strings.TrimSpace(l), ":"))
		}
	}
	slices.Sort(out)
	return out
}

// passwordLine matches a password variable in docker-compose config's
// output, with its value.
var passwordLine = regexp.MustCompile(`(?m)^\s+([A-Z_]*(?:PASSWORD|PWD)):\s*(.*)$`)

// profileSlack matches a service's profiles list holding only "slack".
var profileSlack = regexp.MustCompile(`(?m)^\s+profiles:\n\s+- "?slack"?\n`)

// serviceBlock returns the lines of service name in docker-compose config's
// output: from "  name:" to the next line indented as little.
func serviceBlock(config, name string) string {
	lines := strings.Split(config, "\n")
	for i, l := range lines {
		if l != "  "+name+":" {
			continue
		}
		end := i + 1
		for end < len(lines) && strings.HasPrefix(lines[end], "   ") {
			end++
		}
		return strings.Join(lines[i:end], "\n") + "\n"
	}
	return ""
}

// TestSchemaScriptResumesAHalfDoneSetup: a first start that created the
// database but stopped before setting up its schema (PostgreSQL restarted,
// the container was killed) must not leave a database every later start
// refuses. The script runs against a stand-in temporal-sql-tool that keeps
// the databases' state in files and behaves as the real one does: update-
// schema fails without the version tables setup-schema makes, and
// setup-schema -v 0.0 leaves a newer schema as it is.
func TestSchemaScriptResumesAHalfDoneSetup(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("no sh: %v", err)
	}
	bin, state := t.TempDir(), t.TempDir()
	tool := `#!/bin/sh
set -eu
db=; cmd=
while [ $# -gt 0 ]; do
	case $1 in
	--db) db=$2; shift 2 ;;
	create-database|setup-schema|update-schema) cmd=$1; shift ;;
	*) shift ;;
	esac
done
f=$STATE/$db
case $cmd in
create-database)
	if [ -e "$f" ]; then echo "pq: database \"$db\" already exists" >&2; exit 1; fi
	echo created >"$f" ;;
setup-schema)
	grep -q . "$f" || exit 1
	grep -q versioned "$f" || echo versioned >>"$f" ;;
update-schema)
	if ! grep -q versioned "$f"; then echo "pq: relation \"schema_version\" does not exist" >&2; exit 1; fi
	echo updated >>"$f" ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "temporal-sql-tool"), []byte(tool), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func() error {
		cmd := exec.Command(sh, filepath.Join(root, "deploy", "temporal", "schema.sh"))
		cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "STATE=" + state, "SQL_HOST=postgresql", "SQL_USER=temporal"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	}
	// The half-done first start: the main database exists, with no schema.
	if err := os.WriteFile(filepath.Join(state, "temporal"), []byte("created\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil {
		t.Fatalf("schema.sh after a first start that stopped halfway: %v", err)
	}
	if err := run(); err != nil {
		t.Fatalf("schema.sh on databases already set up: %v", err)
	}
}

// dockerignored reports whether .dockerignore's patterns keep path (slash
// separated, relative to the build context) out of the build, with
// Docker's rules as far as this file uses them: a pattern matches the
// path or one of its parent directories, and a leading **/ matches at any
// depth.
func dockerignored(patterns []string, path string) bool {
	parts := strings.Split(path, "/")
	for _, p := range patterns {
		p = strings.TrimSuffix(p, "/")
		anyDepth := strings.HasPrefix(p, "**/")
		p = strings.TrimPrefix(p, "**/")
		for start := 0; start < len(parts); start++ {
			if start > 0 && !anyDepth {
				break
			}
			for end := start + 1; end <= len(parts); end++ {
				if ok, _ := filepath.Match(p, strings.Join(parts[start:end], "/")); ok {
					return true
				}
			}
		}
	}
	return false
}

// TestDockerignoreKeepsSecretsOut: private keys (firebreak keygen writes
// ./ID.key wherever it is run) and .env files stay out of the build
// context wherever they are in the tree: the build stage copies the whole
// context, and its layers stay in the builder's cache.
func TestDockerignoreKeepsSecretsOut(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(read(t, ".dockerignore"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	for _, secret := range []string{
		".env", "slack.main.key", "secrets/client.pem", "org/slack.main.key",
		"playbooks/mine/person.alice.key", "org/person.alice.key.new", "deploy/.env",
	} {
		if !dockerignored(patterns, secret) {
			t.Errorf("%s would reach the Docker build context", secret)
		}
	}
	for _, needed := range []string{"go.mod", "cmd/firebreak/main.go", "playbooks/library/README.md"} {
		if dockerignored(patterns, needed) {
			t.Errorf("%s, which the build needs, is left out of the build context", needed)
		}
	}
}
