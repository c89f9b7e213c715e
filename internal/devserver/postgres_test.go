package devserver

import (
	"errors"
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
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
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
