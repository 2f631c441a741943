package core

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/mattn/go-sqlite3"

	"github.com/sprocketapi/sprocket/internal/database"
)

// Driver errors are classified here, by type and SQLSTATE (or SQLite's
// result code), never by their text.

// sqlState returns the SQLSTATE of a PostgreSQL error in err's chain, or "".
func sqlState(err error) string {
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		return state.SQLState()
	}
	return ""
}

// isUnavailable reports whether err says the database could not be reached
// or dropped the connection, as opposed to a query that failed on a healthy
// database.
func isUnavailable(err error) bool {
	var connectErr *database.ConnectError
	if errors.As(err, &connectErr) {
		return !isRefusal(err)
	}
	var netErr net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return true
	}
	// 08: connection exception; 57P01-57P03: the server is shutting down or
	// starting; 53300: too many connections.
	code := sqlState(err)
	return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
}

// isRefusal reports whether a server refused the connection for good: a
// wrong user or password (28), a database that does not exist (3D).
// Trying again does not help; the configuration must change.
func isRefusal(err error) bool {
	code := sqlState(err)
	return strings.HasPrefix(code, "28") || strings.HasPrefix(code, "3D")
}

// isLost reports whether err says the connection to PostgreSQL failed:
// what a client meets while the primary goes away and a standby takes its
// place (a standby's refusal to write, 25006, is not one: connections are
// only opened to a server that takes writes, target_session_attrs=
// read-write, and pg_auto_failover restarts an old primary to demote it,
// ending its sessions; a URL that names a standby alone is a mistake to
// answer at once). A
// transaction that met it before its COMMIT was sent did not commit (the
// server rolls back a transaction whose connection ends), so it can run
// again on the new primary; one that met it at COMMIT may have committed.
// A timeout is not a loss: the database answers slowly, it is not gone.
func isLost(err error) bool {
	var connectErr *database.ConnectError
	if errors.As(err, &connectErr) {
		return !isRefusal(err) // nothing was sent
	}
	var netErr net.Error
	if isTimeout(err) || errors.Is(err, context.Canceled) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return false
	}
	return isUnavailable(err)
}

// isTimeout reports whether err is a statement that ran out of time: the
// request's deadline, or PostgreSQL cancelling it (57014: lib/pq cancels a
// running statement when its context ends; statement_timeout does too).
func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || sqlState(err) == "57014"
}

// isTransient reports whether err is a failure that the same transaction,
// run again from its start, is likely not to meet: PostgreSQL's deadlock
// (40P01) and serialisation failure (40001), and a unique violation (23505)
// raised by a write whose probe found the times free (see errRacedAppend).
// InTx retries these a bounded number of times.
func isTransient(err error) bool {
	switch sqlState(err) {
	case "40P01", "40001":
		return true
	}
	return errors.Is(err, errRacedAppend)
}

// isBusy reports whether SQLite stayed locked by another connection for
// its whole busy timeout.
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// isReadOnly reports whether the database refused a write because it (or
// the file holding it) is read-only: SQLite's SQLITE_READONLY, PostgreSQL's
// 25006 (a hot standby, or default_transaction_read_only).
func isReadOnly(err error) bool {
	var se sqlite3.Error
	return (errors.As(err, &se) && se.Code == sqlite3.ErrReadonly) || sqlState(err) == "25006"
}

// isUniqueViolation reports whether err is a driver's unique-key refusal
// (ent's builders report theirs as ent.ConstraintError; raw statements, such
// as COPY, report the driver's).
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint {
		return true
	}
	return sqlState(err) == "23505"
}

// IsUnavailable reports whether err says the database could not be
// reached or dropped the connection (see isUnavailable).
func IsUnavailable(err error) bool { return isUnavailable(err) }
