package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// refusingURL returns a PostgreSQL URL of a test database whose host is a
// loopback port that nothing listens on (connections are refused), and
// the real host:port behind it.
func refusingURL(t *testing.T) (dbURL, addr, target string) {
	t.Helper()
	u, err := url.Parse(testdb.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	target = u.Host
	u.Host = addr
	return u.String(), addr, target
}

// waitFor polls the log until it holds n lines containing s.
func waitFor(t *testing.T, logs *testlog.Buffer, s string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for strings.Count(logs.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the log did not show %q %d times within %v:\n%s", s, n, within, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeWaitsForTheDatabase: sprocketd started before its database
// (compose, Kubernetes) retries, logging each attempt, and serves once the
// port that refused connections accepts them, within DATABASE_WAIT.
// Without the wait it exited at once with "connection refused".
func TestServeWaitsForTheDatabase(t *testing.T) {
	dbURL, addr, target := refusingURL(t)
	var logs testlog.Buffer
	env := map[string]string{"ENV": "testing", "DATABASE_URL": dbURL, "DATABASE_WAIT": "30s", "PORT": "0", "HOST": "127.0.0.1"}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, &logs, func(a net.Addr) { addrc <- a })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sprocketd exited with %v", err)
		}
	}()
	waitFor(t, &logs, "database not reachable yet; retrying", 3, 15*time.Second)
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the retries do not say why:\n%s", logs.String())
	}
	testdb.NewProxyOn(t, addr, target)
	select {
	case a := <-addrc:
		res, err := http.Get("http://" + a.String() + "/readyz")
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("readyz: %v %v", res, err)
		}
		res.Body.Close()
	case err := <-done:
		t.Fatalf("sprocketd exited: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("sprocketd did not start once the database accepted connections:\n%s", logs.String())
	}
	waitFor(t, &logs, "database reachable", 1, time.Second)
}

// TestServeGivesUpAfterDatabaseWait: a database that stays unreachable
// ends the start-up after DATABASE_WAIT with an error that names it.
func TestServeGivesUpAfterDatabaseWait(t *testing.T) {
	dbURL, _, _ := refusingURL(t)
	var logs testlog.Buffer
	env := map[string]string{"ENV": "testing", "DATABASE_URL": dbURL, "DATABASE_WAIT": "1s"}
	start := time.Now()
	err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, &logs, nil)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_WAIT (1s") {
		t.Fatalf("want an error naming DATABASE_WAIT, got %v", err)
	}
	if took < time.Second || took > 5*time.Second {
		t.Errorf("gave up after %v, want about 1s", took)
	}
	if n := strings.Count(logs.String(), "database not reachable yet; retrying"); n < 2 {
		t.Errorf("%d retries logged, want at least 2:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "postgres@") && strings.Contains(logs.String(), "password") {
		t.Error("the log shows credentials")
	}
}
