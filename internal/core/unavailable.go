package core

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// isUnavailable reports whether err says the database could not be reached
// or dropped the connection, as opposed to a query that failed on a healthy
// database. Driver errors are classified by type and SQLSTATE, never by
// their text.
func isUnavailable(err error) bool {
	var netErr net.Error
	var state interface{ SQLState() string }
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return true
	case errors.As(err, &state):
		// 08: connection exception; 57P01-57P03: the server is shutting
		// down or starting; 53300: too many connections.
		code := state.SQLState()
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
	}
	return false
}
