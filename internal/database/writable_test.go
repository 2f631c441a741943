package database

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadOnlySQLiteIsRefusedAtStartUp: a database the service can read
// but not write fails CheckWritable with a clear message. Tests run as
// root, which chmod does not stop, so read-only-ness is made the ways
// root cannot write either: SQLite's mode=ro and PRAGMA query_only. A
// writable database passes, and the probe leaves nothing behind.
func TestReadOnlySQLiteIsRefusedAtStartUp(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckWritable(ctx); err != nil {
		t.Fatalf("a writable database is refused: %v", err)
	}
	var n int
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'sprocketd_write_probe'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the probe left its table behind (%d, %v)", n, err)
	}
	db.Close()
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{"file:" + path + "?mode=ro", "file:" + path + "?_query_only=1"} {
		db, err := Open(ctx, url, Options{})
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		// Migrations are up to date: nothing to write, so they pass and
		// would not have noticed.
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatalf("%s: migrate: %v", url, err)
		}
		err = db.CheckWritable(ctx)
		if err == nil || !strings.Contains(err.Error(), "not writable") {
			t.Errorf("%s: want a clear refusal, got %v", url, err)
		}
		db.Close()
	}
}
