package database_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/sprocketapi/sprocket/internal/database"
)

// TestAConnectionWhoseServerDeclinedSSLIsClosed: with sslmode=prefer (the
// URI pg_autoctl prints for a formation without SSL), lib/pq asks for SSL,
// and when the server declines it dials again without SSL, leaving the
// first connection open; the server's backend then waits for a startup
// packet until authentication_timeout, and a fast shutdown (a planned
// failover stops the old primary) waits for it. The pool's dialer closes
// it at once. A fake server declines SSL and watches the first connection.
func TestAConnectionWhoseServerDeclinedSSLIsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := make(chan error, 1)
	go func() {
		first, err := ln.Accept()
		if err != nil {
			closed <- err
			return
		}
		defer first.Close()
		request := make([]byte, 8)
		if _, err := io.ReadFull(first, request); err != nil {
			closed <- err
			return
		}
		if _, err := first.Write([]byte{'N'}); err != nil {
			closed <- err
			return
		}
		go func() { // lib/pq's second try, without SSL: refused
			if second, err := ln.Accept(); err == nil {
				second.Close()
			}
		}()
		_ = first.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := first.Read(make([]byte, 1)); err != io.EOF {
			closed <- fmt.Errorf("the first connection is still open: %v", err)
			return
		}
		closed <- nil
	}()
	c, err := pq.NewConnector(fmt.Sprintf("postgres://u@%s/db?sslmode=prefer", ln.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	c.Dialer(database.Dialer(0, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if conn, err := c.Connect(ctx); err == nil {
		conn.Close()
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
}
