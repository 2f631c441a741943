package database

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// stallDialer makes PostgreSQL connections that give up on a read that
// waits longer than stall. lib/pq does not end a query's blocked read when
// the query's context ends (it sends a cancel request on a new connection,
// which an unanswering server never acts on), so without this a request
// could wait on a hung database until TCP gave up, minutes later. Reads of
// a healthy query, even a long stream, each come in well under stall.
// With conns set, its connections are tracked there (see Conns).
type stallDialer struct {
	net.Dialer
	stall time.Duration
	conns *Conns
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
	if d.conns != nil && d.conns.refusing.Load() {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errCut}
	}
	c, err := d.Dialer.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	sc := &stallConn{Conn: c, stall: d.stall, conns: d.conns}
	if d.conns != nil {
		d.conns.add(sc)
	}
	return sc, nil
}

// stallConn sets a read deadline before every read: stall from now, or
// the deadline its user set (lib/pq's connect_timeout) when sooner.
type stallConn struct {
	net.Conn
	stall time.Duration
	conns *Conns
	// until is the deadline the user set (unix nanoseconds, 0: none), and
	// reading when the read under way began (0: none).
	until   atomic.Int64
	reading atomic.Int64
}

func (c *stallConn) Read(p []byte) (int, error) {
	now := time.Now()
	dl := now.Add(c.stall)
	if u := c.until.Load(); u != 0 && u < dl.UnixNano() {
		dl = time.Unix(0, u)
	}
	if err := c.Conn.SetReadDeadline(dl); err != nil {
		return 0, err
	}
	c.reading.Store(now.UnixNano())
	n, err := c.Conn.Read(p)
	c.reading.Store(0)
	return n, err
}

func (c *stallConn) SetDeadline(t time.Time) error {
	c.setUntil(t)
	return c.Conn.SetDeadline(t)
}

func (c *stallConn) SetReadDeadline(t time.Time) error {
	c.setUntil(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *stallConn) setUntil(t time.Time) {
	if t.IsZero() {
		c.until.Store(0)
	} else {
		c.until.Store(t.UnixNano())
	}
}

func (c *stallConn) Close() error {
	if c.conns != nil {
		c.conns.remove(c)
	}
	return c.Conn.Close()
}

// Conns are the open connections of a pool (Options.Conns), so that a
// server found frozen can have the reads that wait on it ended at once
// instead of at the stall limit: a stopped PostgreSQL (SIGSTOP, a hung
// machine) accepts TCP connections and answers nothing, and lib/pq waits
// on it whatever the statement's context says. The zero value is ready.
type Conns struct {
	mu       sync.Mutex
	open     map[*stallConn]struct{}
	refusing atomic.Bool
}

// errCut is the error of a connection Conns refused.
var errCut = cutError{}

type cutError struct{}

func (cutError) Error() string {
	return "the server was found not answering: connections to it are cut"
}
func (cutError) Timeout() bool   { return true }
func (cutError) Temporary() bool { return true }

func (cs *Conns) add(c *stallConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.open == nil {
		cs.open = make(map[*stallConn]struct{})
	}
	cs.open[c] = struct{}{}
}

func (cs *Conns) remove(c *stallConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.open, c)
}

// Waiting reports whether a read has waited on the server for longer
// than d.
func (cs *Conns) Waiting(d time.Duration) bool {
	return cs.each(d, func(*stallConn) {}) > 0
}

// Cut closes every connection whose read has waited longer than d, so
// that the read fails at once, and refuses new connections until Restore.
// It returns how many it closed.
func (cs *Conns) Cut(d time.Duration) int {
	cs.refusing.Store(true)
	return cs.each(d, func(c *stallConn) { _ = c.Conn.Close() })
}

// Restore lets new connections be made again.
func (cs *Conns) Restore() { cs.refusing.Store(false) }

// each calls fn on every connection whose read has waited longer than d,
// and counts them.
func (cs *Conns) each(d time.Duration, fn func(*stallConn)) int {
	since := time.Now().Add(-d).UnixNano()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := 0
	for c := range cs.open {
		if r := c.reading.Load(); r != 0 && r < since {
			fn(c)
			n++
		}
	}
	return n
}
