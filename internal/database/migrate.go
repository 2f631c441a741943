package database

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"ariga.io/atlas/sql/postgres"
	atlasschema "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
)

// Migrations holds the versioned migrations, one directory a dialect,
// generated from the ent schema by `go run ./internal/database/gen` and
// committed; atlas.sum guards them against edits.
//
//go:embed migrations
var Migrations embed.FS

// MigrationDir returns the directory of the dialect's migrations within
// Migrations.
func MigrationDir(d string) string {
	if d == dialect.Postgres {
		return "migrations/postgres"
	}
	return "migrations/sqlite"
}

// migrationLockID is the PostgreSQL advisory lock that serialises replicas
// migrating at the same time ("sprock" in ASCII).
const migrationLockID = 0x737072_6f636b

// Migrate applies, in order and each in its own transaction, the migrations
// that the database has not recorded yet, and returns their versions.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	return db.migrateUpTo(ctx, "")
}

// migrateUpTo applies the pending migrations up to and including version
// stop ("" for all).
func (db *DB) migrateUpTo(ctx context.Context, stop string) ([]string, error) {
	files, err := migrationFiles(db.Dialect)
	if err != nil {
		return nil, err
	}
	pool := db.SQL
	if db.Dialect == dialect.Postgres {
		// A migration statement may work long before it answers (a
		// backfill), past the pool's stall limit: it gets a connection
		// of its own without one.
		own, err := Open(ctx, db.url, Options{MaxConns: 1, Stall: -1})
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		defer own.Close()
		pool = own.SQL
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if db.Dialect == dialect.Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
			return nil, fmt.Errorf("migrate: taking the migration lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID) //nolint:errcheck
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version VARCHAR(255) PRIMARY KEY,
		applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return nil, fmt.Errorf("migrate: creating schema_migrations: %w", err)
	}
	done := map[string]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: reading schema_migrations: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	insert := "INSERT INTO schema_migrations (version) VALUES (?)"
	if db.Dialect == dialect.Postgres {
		insert = "INSERT INTO schema_migrations (version) VALUES ($1)"
	}
	var applied []string
	// SQLite changes a table by rebuilding it, and dropping the old table
	// with foreign keys enforced would cascade its deletes to the rows that
	// refer to it; PRAGMA foreign_keys is ignored inside a transaction, so
	// it is turned off around each migration and the keys are checked
	// before the commit.
	sqlite := db.Dialect == dialect.SQLite
	if sqlite {
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = off"); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = on") //nolint:errcheck
	}
	for _, f := range files {
		version := strings.TrimSuffix(path.Base(f), ".up.sql")
		if done[version] {
			continue
		}
		if stop != "" && version > stop {
			break
		}
		body, err := Migrations.ReadFile(f)
		if err != nil {
			return applied, fmt.Errorf("migrate: %w", err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return applied, fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			_ = tx.Rollback()
			return applied, fmt.Errorf("migrate: applying %s: %w", version, err)
		}
		if sqlite {
			if err := foreignKeyCheck(ctx, tx); err != nil {
				_ = tx.Rollback()
				return applied, fmt.Errorf("migrate: %s: %w", version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, insert, version); err != nil {
			_ = tx.Rollback()
			return applied, fmt.Errorf("migrate: recording %s: %w", version, err)
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("migrate: committing %s: %w", version, err)
		}
		applied = append(applied, version)
	}
	return applied, nil
}

// migrationFiles lists the dialect's migration files (forward only:
// .up.sql) in version order.
func migrationFiles(d string) ([]string, error) {
	dir := MigrationDir(d)
	entries, err := fs.ReadDir(Migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".up.sql") {
			files = append(files, path.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

// SchemaOptions are the options under which the ent schema becomes each
// database's tables. On PostgreSQL chart_data has no foreign key to
// factories: checking it row by row made bulk inserts three times slower,
// so the core guards the reference instead (it locks the factory row FOR
// KEY SHARE once per batch, and deletes a factory's points with it).
//
// Also on PostgreSQL, chart_data is partitioned by range of "time" and
// neither it nor rollups has a primary key (migrations partition_chart_data
// and rollups_without_primary_key; see partition.go): a unique key of a
// partitioned table must hold the partition key, and every unique key
// keeps factory_id so that the tables can be distributed by factory
// (Citus). Their unique (factory_id, …) indexes are their keys, and the id
// columns stay (ent reads them back) as plain identity columns. ent cannot
// express either, so keysAsMigrated hides exactly these differences from
// the diff.
func SchemaOptions(d string) []schema.MigrateOption {
	if d == dialect.Postgres {
		return []schema.MigrateOption{schema.WithForeignKeys(false), schema.WithDiffHook(keysAsMigrated)}
	}
	return nil
}

// keysAsMigrated is the diff hook of SchemaOptions on PostgreSQL: the
// comparison ignores the partition key of chart_data, and leaves ent's
// primary key on id out of the desired chart_data and rollups when the
// database's table has none. Anything else about them, and every other
// table, is compared as ent sees it.
func keysAsMigrated(next schema.Differ) schema.Differ {
	return schema.DiffFunc(func(current, desired *atlasschema.Schema) ([]atlasschema.Change, error) {
		for _, name := range []string{"chart_data", "rollups"} {
			cur, ok := current.Table(name)
			if !ok {
				continue
			}
			attrs := make([]atlasschema.Attr, 0, len(cur.Attrs))
			for _, a := range cur.Attrs {
				if _, ok := a.(*postgres.Partition); !ok || name != "chart_data" {
					attrs = append(attrs, a)
				}
			}
			cur.Attrs = attrs
			if want, ok := desired.Table(name); ok && cur.PrimaryKey == nil {
				want.PrimaryKey = nil
			}
		}
		return next.Diff(current, desired)
	})
}

// foreignKeyCheck fails when a SQLite migration left a row referring to
// nothing.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		return fmt.Errorf("it leaves rows whose foreign keys refer to nothing")
	}
	return rows.Err()
}
