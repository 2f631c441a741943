package database

import (
	"bytes"
	"context"
	"net"
	"time"
)

// lib/pq 1.12 with sslmode=prefer (what `pg_autoctl show uri` prints for a
// formation without SSL) asks the server for SSL, and when the server
// declines ('N') it dials the host again without SSL and leaves the first
// connection open. On the server that connection is a backend waiting for
// a startup packet until authentication_timeout (a minute by default),
// and a fast shutdown waits for it: a planned failover, which stops the
// old primary, took a minute instead of seconds under load. declinedDialer
// closes a connection as soon as the server has declined SSL on it:
// lib/pq never uses such a connection again (prefer dials anew, require
// and the verify modes fail).

// sslRequest is the SSLRequest message: its length, 8, and the code
// 80877103.
var sslRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

// contextDialer is what declinedDialer wraps: net.Dialer, stallDialer.
type contextDialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

type declinedDialer struct{ inner contextDialer }

func (d declinedDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d declinedDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d declinedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.inner.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &declinedConn{Conn: c}, nil
}

// declinedConn watches a connection's first message and the first answer
// to it: an SSLRequest answered 'N' closes the connection.
type declinedConn struct {
	net.Conn
	state int // 0: nothing sent yet; 1: an SSLRequest awaits its answer; 2: no longer watched
}

func (c *declinedConn) Write(p []byte) (int, error) {
	if c.state == 0 {
		c.state = 2
		if bytes.Equal(p, sslRequest) {
			c.state = 1
		}
	}
	return c.Conn.Write(p)
}

func (c *declinedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.state == 1 && n > 0 {
		c.state = 2
		if n == 1 && p[0] == 'N' {
			_ = c.Conn.Close()
		}
	}
	return n, err
}
