package database

import (
	"context"
	"database/sql"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// NewDriver returns ent's SQL driver over pool, whose transactions also
// tell their *sql.Tx to a slot in the context they begin with (see
// WithTxSlot): the core needs it for the statements ent cannot express
// (COPY), and ent gives no public way to it. Only public ent APIs are
// used: a transaction is ent's own entsql.Tx over the *sql.Tx.
func NewDriver(d string, pool *sql.DB) dialect.Driver {
	return &driver{Driver: entsql.OpenDB(d, pool), pool: pool}
}

type driver struct {
	*entsql.Driver
	pool *sql.DB
}

func (d *driver) Tx(ctx context.Context) (dialect.Tx, error) { return d.BeginTx(ctx, nil) }

func (d *driver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	tx, err := d.pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if s, ok := ctx.Value(slotKey{}).(*txSlot); ok {
		s.tx = tx
	}
	return &entsql.Tx{Conn: entsql.Conn{ExecQuerier: tx}, Tx: tx}, nil
}

type txSlot struct{ tx *sql.Tx }

type slotKey struct{}

// WithTxSlot returns a context in which a transaction begun by a
// NewDriver driver leaves its *sql.Tx, for SQLTx.
func WithTxSlot(ctx context.Context) context.Context {
	return context.WithValue(ctx, slotKey{}, &txSlot{})
}

// SQLTx returns the *sql.Tx of the transaction begun with ctx's slot, or
// nil.
func SQLTx(ctx context.Context) *sql.Tx {
	if s, ok := ctx.Value(slotKey{}).(*txSlot); ok {
		return s.tx
	}
	return nil
}
