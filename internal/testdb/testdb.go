// Package testdb gives tests a fresh, migrated database of either kind:
// a temporary SQLite file, or a PostgreSQL database created for the test
// and dropped after it, each a copy of a migrated template. PostgreSQL is required: when it cannot be reached
// the test fails, it is never skipped.
package testdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/lib/pq" // PostgreSQL driver

	"github.com/sprocketapi/sprocket/internal/database"
)

// Dialects are the databases every storage test runs on.
var Dialects = []string{dialect.SQLite, dialect.Postgres}

// Each runs test once on every database of Dialects, as a subtest named
// after it: the one way a test runs on every database.
func Each(t *testing.T, test func(t *testing.T, d string)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(Name(d), func(t *testing.T) { test(t, d) })
	}
}

// EachBench is Each for benchmarks.
func EachBench(b *testing.B, bench func(b *testing.B, d string)) {
	b.Helper()
	for _, d := range Dialects {
		b.Run(Name(d), func(b *testing.B) { bench(b, d) })
	}
}

// AdminURL is the PostgreSQL server tests create their databases on:
// TEST_POSTGRES_URL, or the local server with trust auth.
func AdminURL() string {
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var counter atomic.Int64

// URL returns a DATABASE_URL for a new, migrated database of the dialect
// (a copy of the migrated template: see template.go), removed when the
// test ends.
func URL(t testing.TB, d string) string {
	t.Helper()
	switch d {
	case dialect.SQLite:
		body, err := sqliteTemplate()
		if err != nil {
			t.Fatalf("testdb: the SQLite template: %v", err)
		}
		file := filepath.Join(t.TempDir(), "test.db")
		if err := os.WriteFile(file, body, 0o600); err != nil {
			t.Fatalf("testdb: %v", err)
		}
		return file
	case dialect.Postgres:
		return newPostgres(t, true)
	}
	t.Fatalf("testdb: unknown dialect %q", d)
	return ""
}

// EmptyURL returns a DATABASE_URL for a new, empty database of the
// dialect, removed when the test ends: for tests of the migrations.
func EmptyURL(t testing.TB, d string) string {
	t.Helper()
	switch d {
	case dialect.SQLite:
		return filepath.Join(t.TempDir(), "test.db")
	case dialect.Postgres:
		return newPostgres(t, false)
	}
	t.Fatalf("testdb: unknown dialect %q", d)
	return ""
}

// NewPostgres creates an empty PostgreSQL database for the test (see
// newPostgres) and returns its URL.
func NewPostgres(t testing.TB) string {
	t.Helper()
	return newPostgres(t, false)
}

// newPostgres creates a PostgreSQL database for the test, a copy of the
// migrated template when migrated, and returns its URL; the database is
// dropped (connections forced off) at cleanup.
func newPostgres(t testing.TB, migrated bool) string {
	t.Helper()
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("testdb: PostgreSQL is required and is not reachable at %s: %v\n"+
			"start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set TEST_POSTGRES_URL",
			redact(AdminURL()), err)
	}
	name := fmt.Sprintf("sprocket_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, counter.Add(1))
	if err := createDatabase(ctx, admin, name, migrated); err != nil {
		admin.Close()
		t.Fatalf("testdb: creating %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: dropping %s: %v", name, err)
		}
		admin.Close()
	})
	return databaseURL(name)
}

// createDatabase creates database name, empty or as a copy of the
// template.
func createDatabase(ctx context.Context, admin *sql.DB, name string, migrated bool) error {
	if !migrated {
		_, err := admin.ExecContext(ctx, "CREATE DATABASE "+name)
		return err
	}
	for try := 0; ; try++ {
		tmpl, err := postgresTemplate(ctx, admin)
		if err != nil {
			return err
		}
		_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl)
		if pe, ok := errors.AsType[*pq.Error](err); ok && pe.Code == "3D000" && try == 0 {
			forgetTemplate() // dropped meanwhile (stale to another process): build it again
			continue
		}
		return err
	}
}

// databaseURL is AdminURL with the database name.
func databaseURL(name string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		return AdminURL() // unparsable: the connection fails and says why
	}
	u.Path = "/" + name
	return u.String()
}

// Open returns a migrated database of the dialect, closed at cleanup.
func Open(t testing.TB, d string) *database.DB {
	t.Helper()
	return open(t, URL(t, d), 8, false)
}

// OpenURL opens the database at url (a second connection to a test's
// database, one through a proxy, a replica's) with a pool of maxConns,
// migrates it, and closes it at cleanup.
func OpenURL(t testing.TB, url string, maxConns int) *database.DB {
	t.Helper()
	return open(t, url, maxConns, true)
}

func open(t testing.TB, url string, maxConns int, migrate bool) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: maxConns})
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if !migrate {
		return db
	}
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return db
}

// Name is a subtest name for the dialect.
func Name(d string) string {
	if d == dialect.SQLite {
		return "sqlite"
	}
	return strings.ToLower(d)
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}
