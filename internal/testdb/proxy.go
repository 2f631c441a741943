package testdb

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy between a client and a server that a test controls:
// it can cut the link to simulate an outage and restore it.
type Proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	hang  bool
	conns map[net.Conn]struct{}
	held  []net.Conn // client sides kept open, unanswered, while hanging
}

// NewProxy listens on a loopback port and forwards to target (host:port).
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	return NewProxyOn(t, "127.0.0.1:0", target)
}

// NewProxyOn is NewProxy listening on addr: a port that refused
// connections until now, as a database does while it starts.
func NewProxyOn(t testing.TB, addr, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.Restore()
		p.Cut()
	})
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Via rewrites a database URL to go through the proxy.
func (p *Proxy) Via(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		p.t.Fatal(err)
	}
	u.Host = p.Addr()
	return u.String()
}

// Cut closes every open connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

// Hang makes the link a black hole, the nastier outage: open connections
// and new ones stay open but nothing comes back, so only the client's own
// deadlines can end what it waits for.
func (p *Proxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hang = true
	for c := range p.conns {
		if c.LocalAddr().String() != p.Addr() { // the server side of a pair
			c.Close()
		} else {
			p.held = append(p.held, c)
		}
	}
	p.conns = map[net.Conn]struct{}{}
}

// Restore lets connections through again; connections held by Hang are
// closed.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.hang = false, false
	for _, c := range p.held {
		c.Close()
	}
	p.held = nil
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			p.mu.Lock()
			if p.hang {
				p.held = append(p.held, client)
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				return
			}
			if !p.track(client, server) {
				client.Close()
				server.Close()
				return
			}
			go func() { _, _ = io.Copy(server, client); server.Close() }()
			_, _ = io.Copy(client, server)
			// Hang closed the server side: the client's stays open and
			// unanswered, as behind a black hole, until Restore.
			p.mu.Lock()
			if p.hang {
				p.held = append(p.held, client)
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			client.Close()
		}()
	}
}
