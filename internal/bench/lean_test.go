package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLeanConnReadsEveryKindOfAnswer drives a real net/http server through
// one lean connection: fixed-length and chunked bodies, an error status,
// a server that closes the connection after an answer, and one that drops
// idle connections between requests. Every answer's size is exact, and the
// token goes with every request.
func TestLeanConnReadsEveryKindOfAnswer(t *testing.T) {
	var dials atomic.Int32
	var auth atomic.Value
	mux := http.NewServeMux()
	mux.HandleFunc("/fixed", func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		fmt.Fprint(w, "0123456789")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 3 {
			fmt.Fprint(w, strings.Repeat("x", 5000))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"Sprocket not found"}`, http.StatusNotFound)
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, "bye")
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = countingListener{srv.Listener, &dials}
	srv.Start()
	defer srv.Close()

	l := newLeanConn(newClient(srv.URL, "s3cret", nil), 5*time.Second)
	if l == nil {
		t.Fatal("no lean connection for a plain HTTP URL")
	}
	defer l.close()
	ctx := context.Background()
	for _, c := range []struct {
		path   string
		size   int64
		status int
	}{
		{"/fixed", 10, 0},
		{"/chunked", 15000, 0},
		{"/missing", 33, http.StatusNotFound},
		{"/fixed", 10, 0},
		{"/close", 3, 0},
		{"/fixed", 10, 0},
	} {
		n, err := l.get(ctx, c.path)
		if n != c.size || statusOf(err) != c.status || (c.status == 0 && err != nil) {
			t.Errorf("GET %s: %d bytes, %v; want %d bytes, status %d", c.path, n, err, c.size, c.status)
		}
	}
	if got := dials.Load(); got != 2 {
		t.Errorf("%d connections for 6 requests, one closed by the server; want 2", got)
	}
	if got := auth.Load(); got != "Bearer s3cret" {
		t.Errorf("Authorization %q", got)
	}

	// The server drops the idle connection: the next request redials once.
	srv.CloseClientConnections()
	time.Sleep(10 * time.Millisecond)
	if n, err := l.get(ctx, "/fixed"); n != 10 || err != nil {
		t.Errorf("after the server closed the idle connection: %d bytes, %v", n, err)
	}
	if got := dials.Load(); got != 3 {
		t.Errorf("%d connections, want 3", got)
	}

	if newLeanConn(newClient("https://example.test", "", nil), time.Second) != nil {
		t.Error("a lean connection for HTTPS; want net/http to handle it")
	}
}

// countingListener counts the connections a server accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
