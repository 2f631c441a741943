package bench_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/app/apptest"
	"github.com/sprocketapi/sprocket/internal/bench"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestRunCountsTheReadsStandbysServe: against a server with a standby,
// run reports for each workload how many reads the standby served, and
// rest-read-own-write reads every write back. The standby applies
// commits 100 ms late, so the harness's own set-up (it creates sprockets,
// then lists them) must send back the positions its writes answered.
func TestRunCountsTheReadsStandbysServe(t *testing.T) {
	c := testdb.NewCluster(t, "recovery_min_apply_delay = '100ms'")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db := testdb.OpenURL(t, c.PrimaryURL, 16)
	// A standby that has not replayed the migrations is of unknown
	// freshness and skipped: the run must not start before.
	c.WaitReplayed(t)
	set, err := replica.Open(ctx, db, []string{c.StandbyURL}, replica.Options{
		MaxLag: 2 * time.Second, Wait: time.Second, Interval: 50 * time.Millisecond, Pool: database.Options{MaxConns: 16},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	go set.Run(ctx)
	a := apptest.New(t, apptest.Config(t, nil), db, app.Options{Replicas: set})
	hs := httptest.NewServer(a.Handler)
	t.Cleanup(hs.Close)

	out := mustRun(t, "run", "--url", hs.URL, "--state", filepath.Join(t.TempDir(), "state.json"), "--json",
		"--workloads", "rest-sprocket-get,rest-read-own-write", "--sprockets", "10", "--clients", "4",
		"--duration", "1s", "--warmup", "200ms")
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Requests == 0 || r.Errors != 0 || r.StandbyReads == nil || *r.StandbyReads == 0 {
			t.Errorf("%s: %d requests, %d errors %v, standby reads %v", r.Workload, r.Requests, r.Errors, r.ErrorSamples, r.StandbyReads)
			continue
		}
		if r.Workload == "rest-sprocket-get" && *r.StandbyReads < r.Requests {
			t.Errorf("rest-sprocket-get: the standby served %d of %d reads and more", *r.StandbyReads, r.Requests)
		}
	}
}

// TestClusterStartsAPrimaryAndStandbys: `sprocketbench cluster` prints the
// URLs to export, of a primary and of standbys in recovery, and removes
// them when interrupted.
func TestClusterStartsAPrimaryAndStandbys(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, done := runInBackground(ctx, "cluster", "--durable=false", "--standbys", "2")
	m := awaitURLs(t, out, done, 60*time.Second)
	standbys := strings.Split(m[2], ",")
	if len(standbys) != 2 {
		t.Fatalf("standbys %q", m[2])
	}
	dir := regexp.MustCompile(`streaming in (\S+)`).FindStringSubmatch(out.String())
	for i, url := range append([]string{m[1]}, standbys...) {
		db, err := sql.Open("postgres", url)
		if err != nil {
			t.Fatal(err)
		}
		var recovering bool
		if err := db.QueryRow(`SELECT pg_is_in_recovery()`).Scan(&recovering); err != nil || recovering != (i > 0) {
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
