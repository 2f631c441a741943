package database

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/ent/dialect"
)

// openEmpty opens a new, empty database of dialect d (no migration
// applied), closed at cleanup: the upgrade tests migrate it step by step.
func openEmpty(t *testing.T, d string) *DB {
	t.Helper()
	url := filepath.Join(t.TempDir(), "up.db")
	if d == dialect.Postgres {
		url = newPostgres(t)
	}
	db, err := Open(context.Background(), url, Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestUpgradingKeepsTheData applies the migrations in two steps with data
// in between, on both databases: a later migration (SQLite rebuilds a table
// to change it) must keep every row, points included.
func TestUpgradingKeepsTheData(t *testing.T) {
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			db := openEmpty(t, d)
			first, err := db.migrateUpTo(ctx, "20261129025340_init")
			if err != nil || len(first) != 1 {
				t.Fatalf("first step: %v %v", first, err)
			}
			for _, q := range []string{
				`INSERT INTO factories (id, created_at, updated_at, name) VALUES (1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'Factory 1')`,
				`INSERT INTO chart_data (factory_id, "time", actual, goal) VALUES (1, 10, 1, 2), (1, 20, 3, 4)`,
			} {
				if _, err := db.SQL.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			rest, err := db.Migrate(ctx)
			if err != nil || len(rest) == 0 {
				t.Fatalf("second step: %v %v", rest, err)
			}
			var factories, points, rollups int
			if err := db.SQL.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM factories), (SELECT COUNT(*) FROM chart_data), (SELECT COUNT(*) FROM rollups)`).Scan(&factories, &points, &rollups); err != nil {
				t.Fatal(err)
			}
			if factories != 1 || points != 2 || rollups != 2 {
				t.Errorf("after upgrading: %d factories, %d points, %d rollups; want 1, 2, 2 (one hourly and one daily)", factories, points, rollups)
			}
			var fk int
			if d == dialect.SQLite {
				if err := db.SQL.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
					t.Errorf("foreign keys are off after migrating (%d, %v)", fk, err)
				}
			}
		})
	}
}

// newPostgres creates a scratch database (internal/testdb cannot be used
// here: it imports this package).
func newPostgres(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("TEST_POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	db, err := sql.Open("postgres", admin)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("sprocket_upgrade_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		t.Fatalf("PostgreSQL is required: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}
