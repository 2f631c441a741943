package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesAReadOnlySQLiteDatabase: serve on a SQLite database it
// cannot write fails at start-up with a message that says so, instead of
// starting, reporting ready and answering every write with a 500. As root
// (the tests' user) a chmod does not stop writes, so the database is
// opened with SQLite's mode=ro, which stops them for everyone; the file
// is made read-only as well, as an operator's mistake would.
func TestServeRefusesAReadOnlySQLiteDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	env := func(url string) func(string) string {
		return func(k string) string { return map[string]string{"ENV": "testing", "DATABASE_URL": url}[k] }
	}
	if err := run(context.Background(), []string{"migrate"}, env(path), io.Discard, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	vars := map[string]string{"ENV": "testing", "DATABASE_URL": "file:" + path + "?mode=ro", "PORT": "0", "HOST": "127.0.0.1"}
	err := run(ctx, []string{"serve"}, func(k string) string { return vars[k] }, io.Discard, io.Discard, func(a net.Addr) {
		t.Errorf("serve started listening on %v", a)
		cancel()
	})
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("serve on a read-only database: got %v, want a start-up error that says it is not writable", err)
	}
}
