package ent

// This file is written by hand: entc leaves the files it does not generate
// alone. It reaches the database/sql handles under a client or a
// transaction, for the few statements ent cannot express (COPY) or should
// not rebuild on every call (the prepared statement of a hot read).

import (
	"database/sql"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/sprocketapi/sprocket/ent/sprocket"
)

// SQLDB returns the database/sql pool c runs on, or nil when c does not
// run on database/sql (or is a transaction's client). Debug drivers are
// looked through: statements sent on the pool are not logged by them.
func (c *Client) SQLDB() *sql.DB {
	drv := c.driver
	for {
		switch d := drv.(type) {
		case *dialect.DebugDriver:
			drv = d.Driver
		case *entsql.Driver:
			db, _ := d.ExecQuerier.(*sql.DB)
			return db
		default:
			return nil
		}
	}
}

// SQLTx returns the database/sql transaction under tx, or nil when tx does
// not run on database/sql. Like SQLDB, it looks through debug drivers.
func (tx *Tx) SQLTx() *sql.Tx {
	td, ok := tx.driver.(*txDriver)
	if !ok {
		return nil
	}
	t := td.tx
	for {
		switch x := t.(type) {
		case *dialect.DebugTx:
			t = x.Tx
		case *entsql.Tx:
			st, _ := x.ExecQuerier.(*sql.Tx)
			return st
		default:
			return nil
		}
	}
}

// ScanSprockets reads rows whose columns are sprocket.Columns, in that
// order, into sprockets bound to c, as c's own queries return them.
func (c *Client) ScanSprockets(rows *sql.Rows) ([]*Sprocket, error) {
	var out []*Sprocket
	for rows.Next() {
		sp := &Sprocket{config: c.config}
		values, err := sp.scanValues(sprocket.Columns)
		if err != nil {
			return nil, err
		}
		if err := rows.Scan(values...); err != nil {
			return nil, err
		}
		if err := sp.assignValues(sprocket.Columns, values); err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}
