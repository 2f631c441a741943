package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// The tests of slow and silent peers: a standby that stops answering, a
// standby whose replay stops.

// timedClient bounds a test's requests, so that a server that hangs fails
// the test instead of holding it.
var timedClient = &http.Client{Timeout: 30 * time.Second}

// outcome is one request as a client saw it.
type outcome struct {
	what   string
	status int
	took   time.Duration
	err    error
	body   string
}

func (o outcome) String() string {
	return fmt.Sprintf("%s: %d after %v (%v) %.200s", o.what, o.status, o.took.Round(time.Millisecond), o.err, o.body)
}

// timed sends a request and reads its answer whole.
func timed(what, method, url, lsn, body string) outcome {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return outcome{what: what, err: err}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if lsn != "" {
		req.Header.Set(replica.Header, lsn)
	}
	began := time.Now()
	res, err := timedClient.Do(req)
	if err != nil {
		return outcome{what: what, took: time.Since(began), err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	o := outcome{what: what, status: res.StatusCode, took: time.Since(began), err: err, body: string(b)}
	if err == nil && res.StatusCode == 200 && strings.Contains(o.body, `"errors"`) {
		o.err = fmt.Errorf("GraphQL errors")
	}
	return o
}

func gqlBody(query string, vars map[string]any) string {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return string(b)
}

// TestAFrozenStandbyCostsReadsNeitherErrorsNorSeconds: the standby's
// processes are stopped (SIGSTOP) for 13 s, longer than DB_TIMEOUT and the
// pool's stall limit, while clients read (single sprockets, lists, a
// factory's download, GraphQL charts, reads carrying a write's position)
// and write. No read fails and none waits over 3 s: the reads waiting on
// the standby are cut and served by the primary, the later ones go there
// at once, and the standby serves reads again once it answers.
func TestAFrozenStandbyCostsReadsNeitherErrorsNorSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("long: freezes a standby for 13 s")
	}
	t.Parallel()
	c := testdb.NewCluster(t)
	base := start(t, standbyEnv(c))
	sprocket, _ := createSprocket(t, base, 7)
	var created struct {
		CreateFactory struct {
			ID    string
			RowID int64 `json:"rowId"`
		}
	}
	gql(t, base, `mutation { createFactory(input: {name: "Plant 1", points: [
		{time: "2026-01-01T00:00:00Z", actual: 1, goal: 2}, {time: "2026-01-01T00:01:00Z", actual: 3, goal: 4}]}) { id rowId } }`, nil, &created)
	factory := created.CreateFactory
	c.WaitReplayed(t)
	eventually(t, 10*time.Second, "the standby is up", func() bool { return metric(t, base, standbyUp) == 1 })

	var lsn atomic.Value // the latest write's position
	lsn.Store("")
	reads := []func() outcome{
		func() outcome {
			return timed("GET sprocket", "GET", fmt.Sprintf("%s/v1/sprockets/%d", base, sprocket), "", "")
		},
		func() outcome { return timed("GET sprockets", "GET", base+"/v1/sprockets", "", "") },
		func() outcome {
			return timed("GET factory", "GET", fmt.Sprintf("%s/v1/factories/%d", base, factory.RowID), "", "")
		},
		func() outcome {
			return timed("chart", "POST", base+"/graphql", "", gqlBody(`query($id: ID!) { node(id: $id) { ... on Factory {
				summary { count } series(maxDataPoints: 100) { actual goal } } } }`, map[string]any{"id": factory.ID}))
		},
		func() outcome {
			return timed("GET sprocket after a write", "GET", fmt.Sprintf("%s/v1/sprockets/%d", base, sprocket), lsn.Load().(string), "")
		},
	}
	var mu sync.Mutex
	var failed []outcome
	var slowest outcome
	counts := map[string]int{}
	note := func(o outcome, phase string) {
		mu.Lock()
		defer mu.Unlock()
		counts[phase]++
		if o.err != nil || o.status != 200 {
			failed = append(failed, o)
		}
		if o.took > slowest.took {
			slowest = o
		}
	}
	phase := atomic.Value{}
	phase.Store("before")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				note(reads[i%len(reads)](), phase.Load().(string))
			}
		})
	}
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(gqlBody(
				`mutation($f: ID!, $t: Time!) { recordProduction(factoryId: $f, points: [{time: $t, actual: 5, goal: 6}]) { inserted } }`,
				map[string]any{"f": factory.ID, "t": time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)})))
			req.Header.Set("Content-Type", "application/json")
			began := time.Now()
			res, err := timedClient.Do(req)
			o := outcome{what: "recordProduction", err: err}
			if err == nil {
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				o.status, o.body = res.StatusCode, string(b)
				if l := res.Header.Get(replica.Header); l != "" {
					lsn.Store(l)
				}
			}
			o.took = time.Since(began)
			note(o, "writes")
		}
	})

	time.Sleep(time.Second)
	phase.Store("frozen")
	c.FreezeStandby(t, 0)
	frozeAt := time.Now()
	var markedDown time.Duration
	for time.Since(frozeAt) < 13*time.Second {
		if markedDown == 0 && metric(t, base, standbyUp) == 0 {
			markedDown = time.Since(frozeAt)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.ThawStandby(t, 0)
	phase.Store("thawed")
	eventually(t, 10*time.Second, "the standby is up again", func() bool { return metric(t, base, standbyUp) == 1 })
	before := metric(t, base, `sprocket_replica_reads_total{standby="1"}`)
	eventually(t, 10*time.Second, "the standby serves reads again", func() bool {
		return metric(t, base, `sprocket_replica_reads_total{standby="1"}`) > before+10
	})
	close(stop)
	wg.Wait()

	t.Logf("requests: %v; slowest %v; cut reads %v; marked down %v after the freeze", counts, slowest,
		metric(t, base, "sprocket_replica_cut_reads_total"), markedDown.Round(time.Millisecond))
	if markedDown == 0 || markedDown > 3*time.Second {
		t.Errorf("the frozen standby was marked down %v after the freeze (0: never), want within 3 s", markedDown)
	}
	for i, o := range failed {
		if i == 10 {
			t.Errorf("… and %d more", len(failed)-10)
			break
		}
		t.Errorf("failed: %v", o)
	}
	if slowest.took > 3*time.Second {
		t.Errorf("the slowest request took over 3 s: %v", slowest)
	}
	if counts["frozen"] < 100 {
		t.Errorf("only %d reads were answered while the standby was frozen", counts["frozen"])
	}
}

// TestReadsAreNeverStalerThanTheMaxLag: with the standby's replay paused,
// a write is missed by reads routed to the standby right after it, and
// seen by every read sent DATABASE_READ_MAX_LAG after it was answered,
// whatever moment of the check interval the write fell in: the bound is
// the documented one, not the bound plus the intervals at which the
// primary's position is sampled and the standby checked.
func TestReadsAreNeverStalerThanTheMaxLag(t *testing.T) {
	t.Parallel()
	c := testdb.NewCluster(t)
	const maxLag = time.Second
	base := start(t, standbyEnv(c, "DATABASE_READ_MAX_LAG", maxLag.String(), "DATABASE_READ_CHECK_INTERVAL", "400ms"))
	createSprocket(t, base, 1)
	c.WaitReplayed(t)
	eventually(t, 10*time.Second, "the standby is up", func() bool { return metric(t, base, standbyUp) == 1 })
	standby, err := sql.Open("postgres", c.StandbyURL)
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close()
	replay := func(on bool) {
		t.Helper()
		q := `SELECT pg_wal_replay_pause()`
		if on {
			q = `SELECT pg_wal_replay_resume()`
		}
		if _, err := standby.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	defer replay(true)

	for round := range 3 {
		// A standby fresh again, then paused.
		replay(true)
		c.WaitReplayed(t)
		eventually(t, 10*time.Second, "the standby is fresh", func() bool {
			return metric(t, base, `sprocket_replica_lag_seconds{standby="1"}`) < 0.5
		})
		replay(false)
		id, _ := createSprocket(t, base, 10+round)
		answered := time.Now()
		url := fmt.Sprintf("%s/v1/sprockets/%d", base, id)
		stale, late, lastStale := 0, 0, time.Duration(0)
		for time.Since(answered) < maxLag+800*time.Millisecond {
			sent := time.Since(answered)
			o := timed("GET", "GET", url, "", "")
			switch {
			case o.status == http.StatusNotFound:
				stale++
				lastStale = sent
				if sent >= maxLag {
					late++
				}
			case o.status != 200:
				t.Fatalf("round %d: %v", round, o)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("round %d: %d stale reads, the last sent %v after the write", round, stale, lastStale.Round(time.Millisecond))
		if late > 0 {
			t.Errorf("round %d: %d reads sent %v or more after the write was answered missed it, the last %v after",
				round, late, maxLag, lastStale.Round(time.Millisecond))
		}
		if stale == 0 {
			t.Errorf("round %d: no read missed the write: the standby served none, and the test proves nothing", round)
		}
	}
}
