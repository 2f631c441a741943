package core

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/lib/pq"

	"github.com/sprocketapi/sprocket/internal/database"
)

// TestAFailureToConnectIsUnavailableUnlessTheServerRefusedUs: opening a
// connection fails during a failover with errors of every kind (a refused
// dial, lib/pq's untyped "session is read-only" for a host that takes no
// writes): all are unavailable, and a write that met them is lost and
// tried again. A wrong password or a missing database is the
// configuration's fault: neither, so the start-up fails at once and writes
// are not retried for nothing.
func TestAFailureToConnectIsUnavailableUnlessTheServerRefusedUs(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	readOnly := errors.New("session is read-only")
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"every host refused", fmt.Errorf("pq: could not connect to any of the hosts:\n%w", errors.Join(refused, refused)), true},
		{"no host takes writes", fmt.Errorf("pq: could not connect to any of the hosts:\n%w", errors.Join(readOnly, readOnly)), true},
		{"one host down, one read-only", errors.Join(refused, readOnly), true},
		{"wrong password", &pq.Error{Code: "28P01"}, false},
		{"no such database", &pq.Error{Code: "3D000"}, false},
		{"too many connections", &pq.Error{Code: "53300"}, true},
	} {
		err := &database.ConnectError{Err: c.err}
		if got := isUnavailable(err); got != c.want {
			t.Errorf("%s: unavailable %v, want %v", c.name, got, c.want)
		}
		if got := isLost(err); got != c.want {
			t.Errorf("%s: lost %v, want %v", c.name, got, c.want)
		}
	}
	if isUnavailable(readOnly) {
		t.Error("an untyped error outside a ConnectError counts as unavailable")
	}
}
