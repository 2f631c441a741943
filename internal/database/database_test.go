package database

import (
	"strings"
	"testing"
)

func TestParseAcceptsEveryDocumentedForm(t *testing.T) {
	cases := []struct {
		in, dialect, dsnPrefix string
	}{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres", "postgres://u:secret@h"},
		{"postgresql://u@h/db", "postgres", "postgresql://u@h/db"},
		{"sprocket.db", "sqlite3", "file:sprocket.db?"},
		{"/var/lib/s.db", "sqlite3", "file:/var/lib/s.db?"},
		{"file:x.db?cache=private", "sqlite3", "file:x.db?"},
		{"sqlite:///tmp/x.db", "sqlite3", "file:/tmp/x.db?"},
		{"sqlite://x.db", "sqlite3", "file:x.db?"},
		{":memory:", "sqlite3", "file:sprocket-mem-"},
	}
	for _, c := range cases {
		tg, err := Parse(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if tg.Dialect != c.dialect || !strings.HasPrefix(tg.DSN, c.dsnPrefix) {
			t.Errorf("%s: got %s %s", c.in, tg.Dialect, tg.DSN)
		}
		if tg.Dialect == "sqlite3" && !strings.Contains(tg.DSN, "_fk=1") {
			t.Errorf("%s: foreign keys are off: %s", c.in, tg.DSN)
		}
		if strings.Contains(tg.Safe, "secret") {
			t.Errorf("%s: the safe form shows the password: %s", c.in, tg.Safe)
		}
	}
	for _, bad := range []string{"", "mysql://x", "redis://h"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// TestPostgresConnectionsRunWithoutJIT: JIT compilation cost more than the
// chart queries it was meant to speed up.
func TestPostgresConnectionsRunWithoutJIT(t *testing.T) {
	tg, err := Parse("postgres://u@h/db?sslmode=disable")
	if err != nil || !strings.Contains(tg.DSN, "jit=off") || !strings.Contains(tg.DSN, "binary_parameters=yes") {
		t.Fatalf("%v %v", tg.DSN, err)
	}
	tg, _ = Parse("postgres://u@h/db?jit=on")
	if !strings.Contains(tg.DSN, "jit=on") || strings.Contains(tg.DSN, "jit=off") {
		t.Errorf("an explicit jit setting was overridden: %s", tg.DSN)
	}
}
