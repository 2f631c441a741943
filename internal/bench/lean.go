package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// leanConn is one worker's own keep-alive connection for the REST GET
// workloads. net/http's Transport runs two goroutines a connection and
// hands every request and answer between them over channels; on two cores
// shared with the server and the database that cost about as much CPU a
// request as the server's own work (docs/performance.md), CPU the
// measured server then lacked. A lean connection writes the request and
// reads the answer in the worker's own goroutine with net/http's parser
// (http.ReadResponse), as C load generators such as wrk do.
type leanConn struct {
	host    string // host:port to dial
	header  string // the request's fixed header lines after the request line
	timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
}

// newLeanConn returns a connection to c's server, or nil when c's base URL
// is not plain HTTP (then discard goes through net/http).
func newLeanConn(c *client, timeout time.Duration) *leanConn {
	u, err := url.Parse(c.base)
	if err != nil || u.Scheme != "http" || u.Path != "" {
		return nil
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	h := "Host: " + u.Host + "\r\nUser-Agent: sprocketbench\r\n"
	if c.token != "" {
		h += "Authorization: Bearer " + c.token + "\r\n"
	}
	return &leanConn{host: host, header: h + "\r\n", timeout: timeout}
}

func (l *leanConn) close() {
	if l.conn != nil {
		_ = l.conn.Close()
		l.conn = nil
	}
}

// get sends GET path and reads the answer to the end, returning its body's
// size. A connection the server closed while idle is redialled once.
func (l *leanConn) get(ctx context.Context, path string) (int64, error) {
	reused := l.conn != nil
	n, err := l.exchange(ctx, path)
	if err != nil && reused && errors.Is(err, errStale) {
		n, err = l.exchange(ctx, path)
	}
	return n, err
}

// errStale is a kept-alive connection that the server had closed before
// the request: nothing was answered, so the request can be sent again.
var errStale = errors.New("stale keep-alive connection")

func (l *leanConn) exchange(ctx context.Context, path string) (int64, error) {
	if l.conn == nil {
		d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", l.host)
		if err != nil {
			return 0, err
		}
		l.conn = conn
		l.br = bufio.NewReaderSize(conn, 16<<10)
		l.bw = bufio.NewWriterSize(conn, 4<<10)
	}
	if l.timeout > 0 {
		_ = l.conn.SetDeadline(time.Now().Add(l.timeout))
	}
	_, _ = l.bw.WriteString("GET ")
	_, _ = l.bw.WriteString(path)
	_, _ = l.bw.WriteString(" HTTP/1.1\r\n")
	_, _ = l.bw.WriteString(l.header)
	if err := l.bw.Flush(); err != nil {
		l.close()
		return 0, errStale
	}
	if _, err := l.br.Peek(1); err != nil {
		l.close()
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return 0, errStale
		}
		return 0, err
	}
	res, err := http.ReadResponse(l.br, nil)
	if err != nil {
		l.close()
		return 0, err
	}
	var n int64
	if res.StatusCode < 200 || res.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		rest, _ := io.Copy(io.Discard, res.Body)
		n = int64(len(b)) + rest
		err = &httpError{http.MethodGet, path, res.StatusCode, snippet(b)}
	} else {
		n, err = io.Copy(io.Discard, res.Body)
	}
	_ = res.Body.Close()
	if (err != nil && statusOf(err) == 0) || res.Close {
		l.close()
	}
	return n, err
}

// get GETs path for worker w and discards the answer, on the worker's own
// lean connection when the target speaks plain HTTP.
func (t *target) get(ctx context.Context, w *worker, path string) (int64, error) {
	l, ok := w.lean[t]
	if !ok {
		if w.lean == nil {
			w.lean = map[*target]*leanConn{}
		}
		l = newLeanConn(t.c, t.o.timeout)
		w.lean[t] = l
	}
	if l == nil {
		return t.c.discard(ctx, http.MethodGet, path, nil, "")
	}
	return l.get(ctx, path)
}
