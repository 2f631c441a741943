// Package testdb gives tests a fresh, migrated database of either kind:
// a temporary SQLite file, or a PostgreSQL database created for the test
// and dropped after it. PostgreSQL is required: when it cannot be reached
// the test fails, it is never skipped.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	_ "github.com/lib/pq" // PostgreSQL driver

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

// URL returns a DATABASE_URL for a new, empty database of the dialect,
// removed when the test ends.
func URL(t testing.TB, d string) string {
	t.Helper()
	switch d {
	case dialect.SQLite:
		return filepath.Join(t.TempDir(), "test.db")
	case dialect.Postgres:
		return NewPostgres(t)
	}
	t.Fatalf("testdb: unknown dialect %q", d)
	return ""
}

// NewPostgres creates a PostgreSQL database for the test and returns its
// URL; the database is dropped (connections forced off) at cleanup.
func NewPostgres(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("testdb: PostgreSQL is required and is not reachable at %s: %v\n"+
			"start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set TEST_POSTGRES_URL",
			redact(AdminURL()), err)
	}
	name := fmt.Sprintf("sprocket_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, counter.Add(1))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
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
	u, err := url.Parse(AdminURL())
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open returns a migrated database of the dialect, closed at cleanup.
func Open(t testing.TB, d string) *database.DB {
	t.Helper()
	return OpenURL(t, URL(t, d), 8)
}

// OpenURL opens the database at url (a second connection to a test's
// database, one through a proxy, a replica's) with a pool of maxConns,
// migrates it, and closes it at cleanup.
func OpenURL(t testing.TB, url string, maxConns int) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: maxConns})
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
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
