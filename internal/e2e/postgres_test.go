package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/workflows"
)

// The cluster path: the Temporal server as its own process on PostgreSQL,
// the database a Temporal cluster runs on, and workers apart from it that
// reach it over gRPC through the TEMPORAL_* variables, as in production.

// pgRole is the PostgreSQL role the tests' server connects as.
const pgRole = "temporal"

// postgresBinDir returns the newest /usr/lib/postgresql/*/bin holding
// initdb, postgres and pg_isready. Without one the test is skipped, or
// fails under CI=true, where the cluster path must be proven.
func postgresBinDir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(a) - pgMajor(b) })
	for i := len(dirs) - 1; i >= 0; i-- {
		ok := true
		for _, bin := range []string{"initdb", "postgres", "pg_isready"} {
			if _, err := os.Stat(filepath.Join(dirs[i], bin)); err != nil {
				ok = false
			}
		}
		if ok {
			return dirs[i]
		}
	}
	msg := "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install them (Debian: apt-get install -y postgresql) to prove the cluster path"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// pgMajor is the major version in a /usr/lib/postgresql/N/bin path.
func pgMajor(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// pgServer is a PostgreSQL server the test runs in a temporary data
// directory, on 127.0.0.1 only, and stops and removes at the end.
type pgServer struct {
	port     int
	password string
	log      string
}

// startPostgres initialises a cluster whose superuser is pgRole with a
// password (scram-sha-256 for every connection) and starts it on a free
// loopback port. As root, it runs as the postgres user, since PostgreSQL
// refuses to run as root.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bin := postgresBinDir(t)
	var cred *syscall.Credential
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs a postgres user to run as (the Debian package creates it): %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parents are private to root.
	base, err := os.MkdirTemp("", "firebreak-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if uid >= 0 {
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	pg := &pgServer{port: freePort(t), password: "pw-" + strconv.FormatInt(time.Now().UnixNano(), 36), log: filepath.Join(base, "postgres.log")}
	pwFile := filepath.Join(base, "pwfile")
	if err := os.WriteFile(pwFile, []byte(pg.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if uid >= 0 {
		if err := os.Chown(pwFile, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	command := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = base
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "LC_ALL=C", "LANG=C"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return cmd
	}
	data := filepath.Join(base, "data")
	initdb := command("initdb", "-D", data, "-U", pgRole, "--pwfile", pwFile, "--auth", "scram-sha-256", "-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	logFile, err := os.Create(pg.log)
	if err != nil {
		t.Fatal(err)
	}
	srv := command("postgres", "-D", data, "-p", strconv.Itoa(pg.port), "-k", base,
		"-c", "listen_addresses="+devserver.DefaultIP, "-c", "max_connections=200")
	srv.Stdout, srv.Stderr = logFile, logFile
	if err := srv.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start postgres: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = srv.Wait(); logFile.Close(); close(exited) }()
	t.Cleanup(func() {
		// Fast shutdown: roll back open transactions, then stop.
		_ = srv.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("PostgreSQL log:\n%s", tail(pg.log, 30))
		}
	})
	waitFor(t, "PostgreSQL to accept connections on port "+strconv.Itoa(pg.port), time.Minute, func() bool {
		select {
		case <-exited:
			t.Fatalf("postgres exited: %s", tail(pg.log, 20))
		default:
		}
		return command("pg_isready", "-q", "-h", devserver.DefaultIP, "-p", strconv.Itoa(pg.port)).Run() == nil
	})
	return pg
}

// devArgs are the arguments of `firebreak dev --no-worker --db postgres`
// on pg and frontend port port, with the databases db and db_visibility.
func (pg *pgServer) devArgs(port int, db string, more ...string) []string {
	return append([]string{"dev", "--no-worker", "--port", strconv.Itoa(port), "--ui-port", "0",
		"--db", "postgres", "--postgres-port", strconv.Itoa(pg.port), "--postgres-user", pgRole,
		"--postgres-db", db, "--postgres-visibility-db", db + "_visibility"}, more...)
}

// runDev runs `firebreak dev` with args and password to its end (it must
// fail), returning its output.
func runDev(t *testing.T, password string, args []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, firebreakBinary(t), args...)
	cmd.Env = cleanEnv("FIREBREAK_POSTGRES_PASSWORD=" + password)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("firebreak %s: want it to fail, got %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPostgresClusterFailover runs the Temporal server as its own process
// (`firebreak dev --no-worker --db postgres`, the schema set up with
// Temporal's own schema tool) on a real PostgreSQL, and two `firebreak
// worker` processes against it over gRPC. The incidents start while only
// the first worker runs, so each has begun on it; the second joins; once
// about half of the drill's effects are applied, the first is killed with
// SIGKILL the moment its next effect lands. The second must finish every
// incident: each completes with every answer in its timeline, every effect
// applied exactly once across both workers (they share one journal, as
// they share the systems they act on), and every incident still open at
// the kill finished by the second worker. Neither the server's nor the
// workers' output may show the database password.
//
// FIREBREAK_PG_RUNS sets the number of incidents (default 6, 3 with
// -short); FIREBREAK_CRASH_SEED the seed of the host counts.
func TestPostgresClusterFailover(t *testing.T) {
	defRuns := 6
	if testing.Short() {
		defRuns = 3
	}
	runs := envInt(t, "FIREBREAK_PG_RUNS", defRuns)
	seed, rng := chaosSeed(t)
	t.Logf("%d incidents, seed %d (replay: FIREBREAK_CRASH_SEED=%d FIREBREAK_PG_RUNS=%d)", runs, seed, seed, runs)
	began := time.Now()
	pg := startPostgres(t)
	t.Logf("PostgreSQL up on 127.0.0.1:%d after %s", pg.port, time.Since(began).Round(time.Millisecond))

	// The clear errors first: a wrong password, and no schema.
	out := runDev(t, "wrong-"+pg.password, pg.devArgs(freePort(t), "temporal", "--setup-schema"))
	if !strings.Contains(lastLine(out), "password authentication failed") || strings.Contains(out, pg.password) {
		t.Errorf("firebreak dev with a wrong password: want the error to name the failed authentication, and no password shown:\n%s", out)
	}
	t.Logf("firebreak dev with a wrong password says: %s", lastLine(out))
	out = runDev(t, pg.password, pg.devArgs(freePort(t), "temporal"))
	if !strings.Contains(lastLine(out), "--setup-schema") || strings.Contains(out, pg.password) {
		t.Errorf("firebreak dev on a database with no schema: want the error to suggest --setup-schema, and no password shown:\n%s", out)
	}
	t.Logf("firebreak dev with no schema says: %s", lastLine(out))

	port := freePort(t)
	addr := net.JoinHostPort(devserver.DefaultIP, strconv.Itoa(port))
	srv := newProc(t, "server", "Press Ctrl-C to stop.", pg.devArgs(port, "temporal", "--setup-schema", "--verbose"),
		"FIREBREAK_POSTGRES_PASSWORD="+pg.password)
	srv.start()
	t.Logf("Temporal server on PostgreSQL (schema set up) ready after %s", time.Since(began).Round(time.Millisecond))

	journal := filepath.Join(t.TempDir(), "simulation.jsonl")
	wa, wb := newWorker(t, addr, journal), newWorker(t, addr, journal)
	wa.name, wb.name = "worker-a", "worker-b"
	wa.start()
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: devserver.DefaultNamespace, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)

	d := newDrill(t, c, "PGFAIL", runs, rng, 4*time.Minute)
	want := 0
	for d.startNext() {
		want += len(drillEffects(d.runs[d.started-1].id, d.runs[d.started-1].hosts))
	}
	// Every incident has begun on worker A (its room is open).
	waitFor(t, "every incident to open its room on worker A", stepTimeout, func() bool {
		entries, _ := sim.ReadJournal(journal)
		open := map[string]bool{}
		for _, e := range entries {
			if e.Effect && e.Op == sim.OpOpenChannel {
				open[e.Incident] = true
			}
		}
		return len(open) == runs
	})
	wb.start()
	aIdentity := strconv.Itoa(wa.cmd.Process.Pid) + "@"

	// Mid-drill: half the effects applied, then the next one.
	waitFor(t, "half of the drill's effects", 2*time.Minute, func() bool {
		entries, _ := sim.ReadJournal(journal)
		return journalStats(entries).effects >= want/2
	})
	if _, done := waitChaos(journal, 10*time.Second, true, d.done); done {
		t.Fatal("the drill finished before worker A could be killed")
	}
	killedAt := time.Since(d.began)
	entries, _ := sim.ReadJournal(journal)
	atKill := journalStats(entries).effects
	wa.kill()

	// What worker A left behind: open incidents, and activities it held.
	var open []string
	lost := 0
	for _, r := range d.runs {
		desc, err := c.DescribeWorkflowExecution(context.Background(), workflows.IncidentWorkflowID(r.id), "")
		if err != nil {
			t.Fatal(err)
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			open = append(open, r.id)
		}
		for _, a := range desc.GetPendingActivities() {
			if a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED && strings.HasPrefix(a.GetLastWorkerIdentity(), aIdentity) {
				lost++
			}
		}
	}
	if len(open) == 0 {
		t.Fatal("no incident was open when worker A was killed")
	}

	st := d.finish(journal)
	total := time.Since(d.began)

	// Every incident open at the kill was finished by worker B.
	bIdentity := strconv.Itoa(wb.cmd.Process.Pid) + "@"
	for _, id := range open {
		first, last := workflowTaskWorkers(t, c, id)
		if !strings.HasPrefix(first, aIdentity) {
			t.Errorf("incident %s: first workflow task completed by %q, want worker A (%s...)", id, first, aIdentity)
		}
		if !strings.HasPrefix(last, bIdentity) {
			t.Errorf("incident %s: last workflow task completed by %q, want worker B (%s...)", id, last, bIdentity)
		}
	}

	for _, p := range []*proc{srv, wa, wb} {
		for i := 1; i <= p.starts; i++ {
			b, err := os.ReadFile(filepath.Join(p.logDir, fmt.Sprintf("%s-%03d.log", p.name, i)))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), pg.password) {
				t.Errorf("the %s's output shows the PostgreSQL password", p.name)
			}
		}
	}

	t.Logf("incidents %d (%d effects expected); worker A killed %s after the first start, with %d effects applied, %d incidents open and %d activities in its hands; all done after %s; answer retries %d",
		runs, want, killedAt.Round(time.Millisecond), atKill, len(open), lost, total.Round(time.Millisecond), d.retries())
	t.Logf("journal: attempts %d, effects %d, duplicate attempts absorbed by idempotency %d, failed attempts %d; whole test %s",
		st.attempts, st.effects, st.absorbed, st.failed, time.Since(began).Round(time.Millisecond))
}

// lastLine is the last line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// workflowTaskWorkers returns the identities that completed the first and
// the last workflow task of incident id.
func workflowTaskWorkers(t *testing.T, c client.Client, id string) (first, last string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, workflows.IncidentWorkflowID(id), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		if a := e.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			if first == "" {
				first = a.GetIdentity()
			}
			last = a.GetIdentity()
		}
	}
	return first, last
}
