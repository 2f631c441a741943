package core

import (
	"database/sql/driver"
	"errors"
	"net"
	"syscall"
)

// isUnavailable reports whether err says the database could not be reached,
// as opposed to a query that failed on a healthy database.
func isUnavailable(err error) bool {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, driver.ErrBadConn),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &opErr),
		errors.As(err, &netErr):
		return true
	}
	return false
}
