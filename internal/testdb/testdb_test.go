package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/database"
)

// migrationsOf returns the migrations recorded in the database at url.
func migrationsOf(t *testing.T, url string) int {
	t.Helper()
	db, err := database.Open(context.Background(), url, database.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEachTestGetsItsOwnMigratedDatabase: URL gives a database with every
// migration applied and nothing to apply, a copy of its own (a write to one
// is not in another), also to tests that ask at the same time; EmptyURL an
// empty one; and the PostgreSQL template takes no connections.
func TestEachTestGetsItsOwnMigratedDatabase(t *testing.T) {
	Each(t, func(t *testing.T, d string) {
		ctx := context.Background()
		urls := make([]string, 4)
		var wg sync.WaitGroup
		for i := range urls {
			wg.Go(func() { urls[i] = URL(t, d) })
		}
		wg.Wait()
		files, err := database.Migrations.ReadDir(database.MigrationDir(d))
		if err != nil {
			t.Fatal(err)
		}
		ups := 0
		for _, f := range files {
			if len(f.Name()) > 7 && f.Name()[len(f.Name())-7:] == ".up.sql" {
				ups++
			}
		}
		for i, u := range urls {
			if n := migrationsOf(t, u); n != ups {
				t.Fatalf("copy %d records %d migrations, want %d", i, n, ups)
			}
		}
		first := OpenURL(t, urls[0], 2) // migrates: nothing to apply
		if _, err := first.SQL.ExecContext(ctx, `INSERT INTO sprockets (created_at, updated_at, teeth, pitch_diameter, outside_diameter, pitch) `+
			`VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1, 1, 1, 1)`); err != nil {
			t.Fatal(err)
		}
		second := OpenURL(t, urls[1], 2)
		var n int
		if err := second.SQL.QueryRow(`SELECT COUNT(*) FROM sprockets`).Scan(&n); err != nil || n != 0 {
			t.Errorf("another copy holds %d sprockets (%v)", n, err)
		}
		empty, err := sql.Open(map[string]string{dialect.SQLite: "sqlite3", dialect.Postgres: "postgres"}[d], EmptyURL(t, d))
		if err != nil {
			t.Fatal(err)
		}
		defer empty.Close()
		if err := empty.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err == nil {
			t.Errorf("EmptyURL has schema_migrations")
		}
		if d == dialect.Postgres {
			name, err := templateName()
			if err != nil {
				t.Fatal(err)
			}
			var allow, isTemplate bool
			if err := second.SQL.QueryRow(`SELECT datallowconn, datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&allow, &isTemplate); err != nil || allow || !isTemplate {
				t.Errorf("template %s: allows connections %v, is a template %v (%v)", name, allow, isTemplate, err)
			}
		}
	})
}

// adminDB is a connection to the server's admin database, closed after
// the test's other cleanups.
func adminDB(t *testing.T) *sql.DB {
	t.Helper()
	admin, err := sql.Open("postgres", AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return admin
}

func exists(t *testing.T, admin *sql.DB, name string) bool {
	t.Helper()
	var ok bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func dropAtCleanup(t *testing.T, admin *sql.DB, name string) {
	t.Cleanup(func() {
		_, _ = admin.Exec("ALTER DATABASE " + name + " WITH IS_TEMPLATE false")
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Error(err)
		}
	})
}

// TestTwoProcessesBuildingTheTemplateLeaveOne: builds of one template at
// once (as two test processes would make) both succeed and leave the
// template, and no build behind.
func TestTwoProcessesBuildingTheTemplateLeaveOne(t *testing.T) {
	if testing.Short() {
		t.Skip("long: builds a template twice")
	}
	ctx := context.Background()
	admin := adminDB(t)
	name := fmt.Sprintf("%stest_%d", templatePrefix, time.Now().UnixNano())
	dropAtCleanup(t, admin, name)
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- buildTemplate(ctx, admin, name) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var builds int
	if err := admin.QueryRow(`SELECT COUNT(*) FROM pg_database WHERE datname LIKE $1`,
		fmt.Sprintf(`sprocket\_template\_build\_%%\_%d\_%%`, os.Getpid())).Scan(&builds); err != nil || builds != 0 || !exists(t, admin, name) {
		t.Errorf("after two builds: %d builds left (%v), the template exists: %v", builds, err, exists(t, admin, name))
	}
}

// TestAMissingTemplateIsLookedUpAgainAndStaleOnesDropped: a copy from a
// template that is gone (another process dropped it as stale) looks it up
// again and succeeds; templates of other migrations unused for a week and
// builds an hour old are dropped, a template used this week is kept.
func TestAMissingTemplateIsLookedUpAgainAndStaleOnesDropped(t *testing.T) {
	ctx := context.Background()
	admin := adminDB(t)
	current, err := templateName()
	if err != nil {
		t.Fatal(err)
	}
	pgTemplate.Lock()
	pgTemplate.name = templatePrefix + "gone"
	pgTemplate.Unlock()
	if migrationsOf(t, URL(t, dialect.Postgres)) == 0 {
		t.Error("no migrations in the copy")
	}
	old := fmt.Sprintf("%sold_%d", templatePrefix, time.Now().UnixNano())
	recent := fmt.Sprintf("%srecent_%d", templatePrefix, time.Now().UnixNano())
	leftover := fmt.Sprintf("%sbuild_%d_1_1", templatePrefix, time.Now().Add(-2*time.Hour).Unix())
	for _, n := range []string{old, recent, leftover} {
		if _, err := admin.Exec("CREATE DATABASE " + n); err != nil {
			t.Fatal(err)
		}
		dropAtCleanup(t, admin, n)
	}
	for n, at := range map[string]time.Time{old: time.Now().Add(-8 * 24 * time.Hour), recent: time.Now().Add(-24 * time.Hour)} {
		if _, err := admin.Exec(fmt.Sprintf(`COMMENT ON DATABASE %s IS 'used %d'`, n, at.Unix())); err != nil {
			t.Fatal(err)
		}
	}
	dropStaleTemplates(ctx, admin, current)
	if exists(t, admin, old) || !exists(t, admin, recent) || exists(t, admin, leftover) || !exists(t, admin, current) {
		t.Errorf("after dropping the stale ones: old %v, recent %v, leftover build %v, current %v",
			exists(t, admin, old), exists(t, admin, recent), exists(t, admin, leftover), exists(t, admin, current))
	}
}

// BenchmarkANewDatabase is what a test pays for its database, from the
// request to a usable pool, copied from the template or, as before,
// created empty and migrated (dropping it, the same for both, is left
// out). Figures: docs/development.md.
func BenchmarkANewDatabase(b *testing.B) {
	for _, d := range Dialects {
		for _, copied := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/template=%v", Name(d), copied), func(b *testing.B) {
				URL(b, d) // the template is made once per process: not timed
				for b.Loop() {
					if copied {
						db := Open(b, d)
						_ = db.SQL.Ping()
						continue
					}
					db := OpenURL(b, EmptyURL(b, d), 8)
					_ = db.SQL.Ping()
				}
			})
		}
	}
}
