package database_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	atlas "ariga.io/atlas/sql/migrate"

	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestMigrationsMatchSchema applies the committed migrations to an empty
// database and asks ent what it would still change to reach the schema:
// nothing, or the schema and the migrations disagree (run
// `go run ./internal/database/gen -name <change>`).
func TestMigrationsMatchSchema(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		db := testdb.Open(t, d)
		ctx := context.Background()
		var buf bytes.Buffer
		if err := db.Client().Schema.WriteTo(ctx, &buf, database.SchemaOptions(d)...); err != nil {
			t.Fatal(err)
		}
		stmts := regexp.MustCompile(`(?m)^\s*(CREATE|ALTER|DROP|INSERT|UPDATE)\b`).FindAllString(buf.String(), -1)
		if len(stmts) > 0 {
			t.Errorf("the ent schema differs from the migrations; it would run:\n%s", buf.String())
		}
		// Migrating again applies nothing.
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Errorf("second migration: %v %v", again, err)
		}
	})
}

// TestMigrationFilesAreUnedited: atlas.sum pins every migration file, so
// a schema change must be a new file.
func TestMigrationFilesAreUnedited(t *testing.T) {
	for _, d := range testdb.Dialects {
		dir, err := atlas.NewLocalDir(filepath.Join(database.MigrationDir(d)))
		if err != nil {
			t.Fatal(err)
		}
		if err := atlas.Validate(dir); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// TestMigrationsAreForwardOnly: every migration is a forward (.up.sql)
// file. The reverse files atlas wrote for SQLite dropped the tables that
// a rebuild copies to (new_rollups), gone once the forward file has run,
// and no hand-written migration had one: a rollback restores a backup, or
// is a new forward migration.
func TestMigrationsAreForwardOnly(t *testing.T) {
	for _, d := range testdb.Dialects {
		entries, err := os.ReadDir(database.MigrationDir(d))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Name() != "atlas.sum" && !strings.HasSuffix(e.Name(), ".up.sql") {
				t.Errorf("%s: %s is not a forward migration", d, e.Name())
			}
		}
	}
}
