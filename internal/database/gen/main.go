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
	"strings"
	"time"

	atlas "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/sqltool"
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
	manual := flag.String("manual", "", "write these statements as a migration of -dialect, for a change the ent schema cannot express")
	only := flag.String("dialect", "", "with -manual: postgres or sqlite3")
	flag.Parse()
	ctx := context.Background()
	var err error
	if *manual != "" {
		err = writeManual(*root, *only, *name, *manual)
	} else {
		err = run(ctx, *name, *root)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// writeManual adds a hand-written forward migration and updates atlas.sum.
func writeManual(root, d, name, stmts string) error {
	if d != dialect.Postgres && d != dialect.SQLite {
		return fmt.Errorf("-dialect must be postgres or sqlite3")
	}
	dir, err := atlas.NewLocalDir(filepath.Join(root, database.MigrationDir(d)))
	if err != nil {
		return err
	}
	version := time.Now().UTC().Format("20060102150405")
	if err := dir.WriteFile(version+"_"+name+".up.sql", []byte("-- hand-written: "+name+"\n"+strings.TrimSpace(stmts)+"\n")); err != nil {
		return err
	}
	sum, err := dir.Checksum()
	if err != nil {
		return err
	}
	return atlas.WriteSumFile(dir, sum)
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
		local, err := atlas.NewLocalDir(filepath.Join(root, database.MigrationDir(t.dialect)))
		if err != nil {
			db.Close()
			return err
		}
		m, err := schema.NewMigrate(entsql.OpenDB(t.dialect, db), append(database.SchemaOptions(t.dialect),
			schema.WithDir(local),
			schema.WithFormatter(forwardOnly{}),
			schema.WithMigrationMode(schema.ModeReplay),
			schema.WithDialect(t.dialect),
			schema.WithDropColumn(true),
			schema.WithDropIndex(true),
		)...)
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

// forwardOnly writes a plan as golang-migrate's forward file alone
// (<version>_<name>.up.sql): the migrations are applied forward only (see
// migrations/README.md). The reverse atlas plans for SQLite undoes a
// table's rebuild by dropping the table it copied to (new_rollups), which
// no longer exists once the forward file has run.
type forwardOnly struct{}

func (forwardOnly) Format(plan *atlas.Plan) ([]atlas.File, error) {
	files, err := sqltool.GolangMigrateFormatter.Format(plan)
	if err != nil {
		return nil, err
	}
	var out []atlas.File
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".down.sql") {
			out = append(out, f)
		}
	}
	return out, nil
}
