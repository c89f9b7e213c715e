package devserver

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestPostgresOptions(t *testing.T) {
	p, err := (&Postgres{User: "temporal", Password: "hunter2"}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "postgres://temporal@127.0.0.1:5432/temporal"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if p.VisibilityDatabase != DefaultPostgresVisibilityDatabase {
		t.Errorf("visibility database %q", p.VisibilityDatabase)
	}
	for _, bad := range []Postgres{
		{},
		{User: "t", Port: 70000},
		{User: "t", Database: "same", VisibilityDatabase: "same"},
		{User: "t", Database: "temporal; drop table x"},
		{User: "t", VisibilityDatabase: "9lives"},
		{User: "ops team"},
		{User: "ops%zz"},
		{User: "ops:admin"},
		{User: "ops/x"},
		{User: "t", Host: "db host"},
		{User: "t", Host: "evil/db?sslmode=disable"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	for _, good := range []Postgres{{User: "temporal@server"}, {User: "t", Host: "::1"}, {User: "t", Host: "db-1.plant.example"}} {
		if _, err := good.withDefaults(); err != nil {
			t.Errorf("%+v refused: %v", good, err)
		}
	}
	if _, err := (Options{Postgres: &Postgres{User: "t"}, Ephemeral: true}).withDefaults(); err == nil {
		t.Error("Postgres with Ephemeral accepted")
	}
}

func TestRedact(t *testing.T) {
	err := redact(errors.New(`dial postgres://temporal:p%40ss@host/db: refused (p@ss)`), "p@ss")
	if strings.Contains(err.Error(), "p@ss") || strings.Contains(err.Error(), "p%40ss") {
		t.Errorf("password left in %q", err)
	}
	plain := errors.New("no password here")
	if redact(plain, "secret") != plain {
		t.Error("an error without the password was rewrapped")
	}
}

// TestPostgresLogsNoPassword: a connection URL that does not parse makes
// the driver's error quote it, password and all, and the SQL layer logs
// that error before returning; neither the log nor the error may show the
// password. (withDefaults refuses such a user; this goes around it.)
func TestPostgresLogsNoPassword(t *testing.T) {
	const password = "hunter2-s3cret"
	var logs bytes.Buffer
	logger := serverLogger{log: slog.New(slog.NewTextHandler(&logs, nil))}
	p := &Postgres{Host: "127.0.0.1", Port: 1, User: "ops team", Password: password,
		Database: DefaultPostgresDatabase, VisibilityDatabase: DefaultPostgresVisibilityDatabase}
	_, err := preparePostgres(p, "default", logger)
	if err == nil {
		t.Fatal("a user the URL cannot carry was accepted")
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("the error shows the password: %v", err)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the log shows the password:\n%s", logs.String())
	}
	if logs.Len() == 0 {
		t.Error("nothing logged: the test no longer sees the SQL layer's log")
	}
}
