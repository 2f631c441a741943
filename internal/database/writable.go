package database

import (
	"context"
	"fmt"
	"time"

	"entgo.io/ent/dialect"
)

// CheckWritable makes sure the service will be able to write: on SQLite,
// a read-only database file, a directory where the WAL and shared-memory
// files cannot be created, mode=ro or PRAGMA query_only all let a server
// start, read and report ready, and then fail every write with a 500. It
// creates a table in a transaction and rolls it back, which needs the
// write lock and a write to the journal, and changes nothing.
//
// PostgreSQL is not probed: the primary's writability is the operator's
// (a standby refuses writes with a coded, retryable error of its own).
func (db *DB) CheckWritable(ctx context.Context) error {
	if db.Dialect != dialect.SQLite {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	fail := func(err error) error {
		return fmt.Errorf("the SQLite database is not writable (check that the file and its directory are writable by this user, and that the URL does not set mode=ro or _query_only): %w", err)
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE sprocketd_write_probe (x INTEGER)`); err != nil {
		return fail(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sprocketd_write_probe (x) VALUES (1)`); err != nil {
		return fail(err)
	}
	if err := tx.Rollback(); err != nil {
		return fail(err)
	}
	return nil
}
