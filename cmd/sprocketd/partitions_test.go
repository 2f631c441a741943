package main

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestRetentionIsRefusedOnSQLite: SQLite has no partitions to drop, so a
// RETENTION stops the start-up with a message that names it.
func TestRetentionIsRefusedOnSQLite(t *testing.T) {
	env := map[string]string{"ENV": "testing", "DATABASE_URL": filepath.Join(t.TempDir(), "r.db"), "RETENTION": "90d"}
	err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "RETENTION needs PostgreSQL") {
		t.Errorf("got %v, want the refusal of RETENTION on SQLite", err)
	}
}

// TestStartUpCreatesTheMonthsAhead: sprocketd migrate on PostgreSQL leaves
// chart_data with the partitions of the previous, the current and the next
// PARTITIONS_AHEAD months, besides the default one.
func TestStartUpCreatesTheMonthsAhead(t *testing.T) {
	url := testdb.URL(t, dialect.Postgres)
	env := map[string]string{"ENV": "production", "DATABASE_URL": url, "PARTITIONS_AHEAD": "2"}
	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'chart_data'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	now := time.Now().UTC()
	want := []string{"chart_data_default"}
	for i := -1; i <= 2; i++ {
		want = append(want, time.Date(now.Year(), now.Month()+time.Month(i), 1, 0, 0, 0, 0, time.UTC).Format("chart_data_p200601"))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("partitions %v, want %v", got, want)
	}
}
