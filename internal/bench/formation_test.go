package bench_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

// TestFailoverMeasuresAPlannedFailover: `sprocketbench failover` runs a
// sprocketd binary on a formation of its own and reports, for a planned
// failover, writes acknowledged before and after it, none failed, none
// lost or stored twice, and what the subscription saw.
func TestFailoverMeasuresAPlannedFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("long: builds sprocketd and runs it through a planned failover (about 40 s)")
	}
	bin := filepath.Join(t.TempDir(), "sprocketd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/sprocketapi/sprocket/cmd/sprocketd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := mustRun(t, "failover", "--sprocketd", bin, "--durable=false", "--events", "planned", "--before", "1s", "--after", "1s", "--json")
	var reps []bench.FailoverReport
	if err := json.Unmarshal([]byte(out), &reps); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(reps) != 1 {
		t.Fatalf("%d reports: %s", len(reps), out)
	}
	r := reps[0]
	if r.Event != "pg_autoctl perform failover" || r.Acknowledged < 10 || r.Failed != 0 || r.Lost != 0 || r.Duplicated != 0 ||
		r.LongestGapSeconds <= 0 || r.Subscription == "silent" || r.Subscription == "" {
		t.Errorf("report: %+v", r)
	}
}

// TestFailoverRefusesBadFlags: the binary is required, the events known.
func TestFailoverRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"failover"},
		{"failover", "--sprocketd", "/bin/true", "--events", "planned,explode"},
		{"failover", "--sprocketd", "/bin/true", "--writers", "0"},
	} {
		if err := bench.Run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
}
