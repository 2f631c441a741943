package replica

import (
	"context"
	"database/sql"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/core"
)

// fullDriver is what database.NewDriver's drivers offer: ent's driver, the
// raw statements the core runs (ent's sql/execquery) and transactions
// with options.
type fullDriver interface {
	dialect.Driver
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error)
}

// fallbackDriver is a standby's driver: a statement (or a transaction's
// BEGIN) that the standby cannot serve because it is unreachable, shutting
// down or cancelled the statement in a conflict with recovery is marked
// down and run again on the primary, so that the request in hand does not
// fail for it and the next ones skip the standby. Only reads reach it
// (the core sends writes to its writer), and a read runs again safely.
// A failure inside a begun transaction is the caller's: its snapshot is
// gone.
type fallbackDriver struct {
	own, primary fullDriver
	set          *Set
	standby      *Standby
}

var _ fullDriver = (*fallbackDriver)(nil)

// elsewhere reports whether err is the standby's failure, not the
// statement's: then the primary may serve it.
func (d *fallbackDriver) elsewhere(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || !(core.IsUnavailable(err) || core.IsTransient(err)) {
		return false
	}
	d.set.markDown(d.standby, "a read failed on it", err)
	d.set.fallbacks.WithLabelValues(ReasonError).Inc()
	return true
}

func (d *fallbackDriver) Exec(ctx context.Context, query string, args, v any) error {
	err := d.own.Exec(ctx, query, args, v)
	if d.elsewhere(ctx, err) {
		return d.primary.Exec(ctx, query, args, v)
	}
	return err
}

func (d *fallbackDriver) Query(ctx context.Context, query string, args, v any) error {
	err := d.own.Query(ctx, query, args, v)
	if d.elsewhere(ctx, err) {
		return d.primary.Query(ctx, query, args, v)
	}
	return err
}

func (d *fallbackDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := d.own.ExecContext(ctx, query, args...)
	if d.elsewhere(ctx, err) {
		return d.primary.ExecContext(ctx, query, args...)
	}
	return res, err
}

func (d *fallbackDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := d.own.QueryContext(ctx, query, args...)
	if d.elsewhere(ctx, err) {
		return d.primary.QueryContext(ctx, query, args...)
	}
	return rows, err
}

func (d *fallbackDriver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

func (d *fallbackDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := d.own.BeginTx(ctx, opts)
	if d.elsewhere(ctx, err) {
		return d.primary.BeginTx(ctx, opts)
	}
	return tx, err
}

// Close leaves the pools to their owners.
func (d *fallbackDriver) Close() error { return nil }

func (d *fallbackDriver) Dialect() string { return d.own.Dialect() }
