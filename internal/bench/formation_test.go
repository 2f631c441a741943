package bench_test

import (
	"context"
	"io"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/bench"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// TestFailoverClusterStartsAFormation: `sprocketbench failover-cluster`
// prints a DATABASE_URL that reaches the primary and a DATABASE_READ_URL
// that reaches its standby (both in pg_autoctl's multi-host form), and
// removes the formation when interrupted.
func TestFailoverClusterStartsAFormation(t *testing.T) {
	if testing.Short() {
		t.Skip("long: starts a pg_auto_failover formation (about 8 s)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, done := runInBackground(ctx, "failover-cluster", "--durable=false")
	m := awaitURLs(t, out, done, 2*time.Minute)
	if !regexp.MustCompile(`^postgres://postgres@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/sprocket\?target_session_attrs=read-write`).MatchString(m[1]) {
		t.Errorf("DATABASE_URL %q is not pg_autoctl's multi-host form", m[1])
	}
	dir := regexp.MustCompile(`formation in (\S+):`).FindStringSubmatch(out.String())
	for i, url := range m[1:] {
		db, err := database.Open(ctx, url, database.Options{MaxConns: 1})
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		var recovering bool
		if err := db.SQL.QueryRow(`SELECT pg_is_in_recovery()`).Scan(&recovering); err != nil || recovering != (i == 1) {
			t.Errorf("%s: in recovery %v (%v)", url, recovering, err)
		}
		db.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if dir == nil {
		t.Fatal("no directory printed")
	}
	if _, err := os.Stat(dir[1]); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the interrupt (%v)", dir[1], err)
	}
}

// runInBackground runs sprocketbench with args until ctx ends; its output
// is read while it runs, its error arrives on done.
func runInBackground(ctx context.Context, args ...string) (*testlog.Buffer, <-chan error) {
	var out testlog.Buffer // written by the command while the test reads it
	done := make(chan error, 1)
	go func() { done <- bench.Run(ctx, args, &out, io.Discard) }()
	return &out, done
}

// awaitURLs waits for the DATABASE_URL and DATABASE_READ_URL a cluster
// command prints, and returns them after the whole match.
func awaitURLs(t *testing.T, out *testlog.Buffer, done <-chan error, within time.Duration) []string {
	t.Helper()
	urls := regexp.MustCompile(`export DATABASE_URL='([^']+)'\nexport DATABASE_READ_URL='([^']+)'`)
	deadline := time.Now().Add(within)
	for {
		if m := urls.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		select {
		case err := <-done:
			t.Fatalf("the command ended: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URLs within %v:\n%s", within, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
