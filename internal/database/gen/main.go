// Command gen writes a new versioned migration for each database from the
// difference between the ent schema and the committed migrations, which it
// replays on a scratch database first. It writes nothing when they agree.
//
//	go run ./internal/database/gen -name add_rollups
//
// It needs PostgreSQL (POSTGRES_URL, default the local server) for a
// scratch database that it creates and drops.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"time"

	atlas "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"

	"github.com/sprocketapi/sprocket/ent/migrate"
	"github.com/sprocketapi/sprocket/internal/database"
)

func main() {
	name := flag.String("name", "changes", "name of the migration")
	root := flag.String("dir", "internal/database", "directory that holds migrations/")
	flag.Parse()
	ctx := context.Background()
	if err := run(ctx, *name, *root); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, name, root string) error {
	pg := os.Getenv("POSTGRES_URL")
	if pg == "" {
		pg = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	admin, err := sql.Open("postgres", pg)
	if err != nil {
		return err
	}
	defer admin.Close()
	scratch := fmt.Sprintf("sprocket_gen_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+scratch); err != nil {
		return fmt.Errorf("creating scratch database: %w", err)
	}
	defer admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+scratch+" WITH (FORCE)") //nolint:errcheck
	u, err := url.Parse(pg)
	if err != nil {
		return err
	}
	u.Path = "/" + scratch

	targets := []struct{ dialect, driver, dsn string }{
		{dialect.Postgres, "postgres", u.String()},
		{dialect.SQLite, "sqlite3", "file:gen?mode=memory&cache=shared&_fk=1"},
	}
	for _, t := range targets {
		db, err := sql.Open(t.driver, t.dsn)
		if err != nil {
			return err
		}
		dir, err := atlas.NewLocalDir(filepath.Join(root, database.MigrationDir(t.dialect)))
		if err != nil {
			db.Close()
			return err
		}
		m, err := schema.NewMigrate(entsql.OpenDB(t.dialect, db),
			schema.WithDir(dir),
			schema.WithMigrationMode(schema.ModeReplay),
			schema.WithDialect(t.dialect),
			schema.WithDropColumn(true),
			schema.WithDropIndex(true),
		)
		if err != nil {
			db.Close()
			return err
		}
		err = m.NamedDiff(ctx, name, migrate.Tables...)
		db.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", t.dialect, err)
		}
	}
	return nil
}
