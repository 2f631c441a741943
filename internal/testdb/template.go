package testdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"

	"github.com/sprocketapi/sprocket/internal/database"
)

// A test's database is a copy of a migrated template, not an empty
// database migrated again: running the migrations took as long as creating
// the database itself.
//
// On PostgreSQL the template is a database named after a hash of the
// migrations (templateName), built once by the first test process that
// needs it and kept on the server for the next runs and for the other
// processes of this run: it takes no connections (ALLOW_CONNECTIONS false),
// so that CREATE DATABASE … TEMPLATE, which refuses a template anyone is
// connected to, can always copy it, and many tests copy it at once. A
// process that builds it does so under a name of its own and renames it
// when it is complete; when another process got there first, it drops its
// copy. Templates of other migrations (other branches, earlier versions)
// are dropped after a week unused; leftover builds of processes that died
// after an hour.
//
// On SQLite the template is the bytes of a migrated database file, made
// once per test process and written into each test's temporary directory.

// templatePrefix names the template databases; builds add "build_".
const templatePrefix = "sprocket_template_"

// staleTemplate is how long a template of other migrations is kept unused,
// staleBuild how long a build may take before it counts as left behind.
const (
	staleTemplate = 7 * 24 * time.Hour
	staleBuild    = time.Hour
)

// templateName is the PostgreSQL template of the current migrations.
func templateName() (string, error) {
	h := sha256.New()
	dir := database.MigrationDir(dialect.Postgres)
	err := fs.WalkDir(database.Migrations, dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		body, err := database.Migrations.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path.Base(p), len(body))
		h.Write(body)
		return nil
	})
	if err != nil {
		return "", err
	}
	return templatePrefix + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// pgTemplate is the template this process copies, once it knows it.
var pgTemplate struct {
	sync.Mutex
	name string
}

// postgresTemplate returns the name of the template of the current
// migrations on the server admin is connected to, building it when it is
// missing.
func postgresTemplate(ctx context.Context, admin *sql.DB) (string, error) {
	pgTemplate.Lock()
	defer pgTemplate.Unlock()
	if pgTemplate.name != "" {
		return pgTemplate.name, nil
	}
	name, err := templateName()
	if err != nil {
		return "", err
	}
	var exists bool
	if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if err := buildTemplate(ctx, admin, name); err != nil {
			return "", fmt.Errorf("building the template %s: %w", name, err)
		}
	}
	// Marked used, then the stale ones go: a failure of either costs
	// nothing but garbage, and is not the test's.
	_, _ = admin.ExecContext(ctx, usedComment(name))
	dropStaleTemplates(ctx, admin, name)
	pgTemplate.name = name
	return name, nil
}

// usedComment marks template name used now.
func usedComment(name string) string {
	return fmt.Sprintf(`COMMENT ON DATABASE %s IS 'sprocket tests'' template, used %d'`, name, time.Now().Unix())
}

// forgetTemplate makes the next copy look for the template again (another
// process dropped it).
func forgetTemplate() {
	pgTemplate.Lock()
	defer pgTemplate.Unlock()
	pgTemplate.name = ""
}

var buildCounter atomic.Int64

// buildTemplate migrates a new database and renames it name.
func buildTemplate(ctx context.Context, admin *sql.DB, name string) error {
	build := fmt.Sprintf("%sbuild_%d_%d_%d", templatePrefix, time.Now().Unix(), os.Getpid(), buildCounter.Add(1))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+build); err != nil {
		return err
	}
	drop := func() {
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), "ALTER DATABASE "+build+" WITH IS_TEMPLATE false")
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+build+" WITH (FORCE)")
	}
	db, err := database.Open(ctx, databaseURL(build), database.Options{MaxConns: 1})
	if err != nil {
		drop()
		return err
	}
	_, err = db.Migrate(ctx)
	db.Close()
	if err != nil {
		drop()
		return err
	}
	for _, q := range []string{
		usedComment(build),
		"ALTER DATABASE " + build + " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + build + "'",
		"ALTER DATABASE " + build + " RENAME TO " + name,
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			drop()
			if pe, ok := errors.AsType[*pq.Error](err); ok && pe.Code == "42P04" {
				return nil // duplicate_database: another process built it first
			}
			return err
		}
	}
	return nil
}

// dropStaleTemplates drops the templates of other migrations unused for
// staleTemplate, and builds older than staleBuild.
func dropStaleTemplates(ctx context.Context, admin *sql.DB, current string) {
	rows, err := admin.QueryContext(ctx, `SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database `+
		`WHERE datname LIKE $1 AND datname <> $2`, strings.ReplaceAll(templatePrefix, "_", `\_`)+"%", current)
	if err != nil {
		return
	}
	var stale []string
	now := time.Now()
	for rows.Next() {
		var name, comment string
		if rows.Scan(&name, &comment) != nil {
			break
		}
		if rest, ok := strings.CutPrefix(name, templatePrefix+"build_"); ok {
			at, err := strconv.ParseInt(strings.SplitN(rest, "_", 2)[0], 10, 64)
			if err == nil && now.Sub(time.Unix(at, 0)) > staleBuild {
				stale = append(stale, name)
			}
			continue
		}
		_, used, _ := strings.Cut(comment, "used ")
		at, err := strconv.ParseInt(used, 10, 64)
		if err != nil || now.Sub(time.Unix(at, 0)) > staleTemplate {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		// Another process may be copying it: then DROP waits for the
		// copy, and that process builds the template again next time.
		_, _ = admin.ExecContext(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(name)+" WITH IS_TEMPLATE false")
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name))
	}
}

// sqliteTemplate is a migrated SQLite database file, made once.
var sqliteTemplate = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "sprocket-testdb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "template.db")
	ctx := context.Background()
	db, err := database.Open(ctx, file, database.Options{MaxConns: 1})
	if err != nil {
		return nil, err
	}
	_, err = db.Migrate(ctx)
	if err == nil {
		// Everything into the file itself, which is all that is copied.
		_, err = db.SQL.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(file)
})
