package database

import (
	"context"
	sqldriver "database/sql/driver"

	"github.com/lib/pq"
)

// ConnectError is the failure to open a new PostgreSQL connection: no host
// of the URL could be reached, or none was one target_session_attrs
// accepts (during a failover, the old primary is gone and the standby not
// yet promoted: lib/pq reports "session is read-only" for each host, an
// error of no type). Nothing was sent on it, so whatever was to run can
// run again.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return "connecting to the database: " + e.Err.Error() }

func (e *ConnectError) Unwrap() error { return e.Err }

// connector is lib/pq's, with its failures to connect told apart
// (ConnectError).
type connector struct{ *pq.Connector }

func (c connector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, &ConnectError{Err: err}
	}
	return conn, nil
}
