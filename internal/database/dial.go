package database

import (
	"context"
	"net"
	"time"
)

// stallDialer makes PostgreSQL connections that give up on a read that
// waits longer than stall. lib/pq does not end a query's blocked read when
// the query's context ends (it sends a cancel request on a new connection,
// which an unanswering server never acts on), so without this a request
// could wait on a hung database until TCP gave up, minutes later. Reads of
// a healthy query, even a long stream, each come in well under stall.
type stallDialer struct {
	net.Dialer
	stall time.Duration
}

func (d stallDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d stallDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d stallDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return stallConn{Conn: c, stall: d.stall}, nil
}

// stallConn sets a read deadline before every read.
type stallConn struct {
	net.Conn
	stall time.Duration
}

func (c stallConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.stall)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}
