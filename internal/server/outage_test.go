package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/app/apptest"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestDatabaseOutageIsAnsweredAndSurvived cuts the link to PostgreSQL in
// the middle of a mixed load: requests answer 503 with Retry-After within
// their deadline (none hangs), no factory is half-written, acknowledged
// writes are all there, and the service recovers by itself once the link
// is back.
func TestDatabaseOutageIsAnsweredAndSurvived(t *testing.T) {
	if testing.Short() {
		t.Skip("long: cuts the database link under load, twice")
	}
	t.Run("connections refused", func(t *testing.T) { outage(t, (*testdb.Proxy).Cut) })
	t.Run("black hole", func(t *testing.T) { outage(t, (*testdb.Proxy).Hang) })
}

func outage(t *testing.T, cut func(*testdb.Proxy)) {
	direct := testdb.URL(t, dialect.Postgres)
	u, _ := url.Parse(direct)
	proxy := testdb.NewProxy(t, u.Host)
	ctx := context.Background()
	const requestTimeout = 2 * time.Second
	// The pool gives up on a read stalled 2 s past the request deadline,
	// as sprocketd's does (DB_TIMEOUT + 2 s): answers must not wait for it.
	db, err := database.Open(ctx, proxy.Via(direct), database.Options{MaxConns: 8, Stall: requestTimeout + 2*time.Second, StatementTimeout: requestTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	a := apptest.New(t, cfg, db, app.Options{RequestTimeout: requestTimeout})
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	client := &http.Client{Timeout: 30 * time.Second}

	const points = 40
	body := func(n int) string {
		var a, tm []string
		for i := 0; i < points; i++ {
			a = append(a, fmt.Sprint(i))
			tm = append(tm, fmt.Sprint(n*1000+i))
		}
		return fmt.Sprintf(`{"factory":{"name":"load %d","chart_data":{"sprocket_production_actual":[%s],"sprocket_production_goal":[%s],"time":[%s]}}}`,
			n, strings.Join(a, ","), strings.Join(a, ","), strings.Join(tm, ","))
	}

	var (
		mu       sync.Mutex
		acked    = map[int]bool{} // factory ids the service acknowledged
		statuses = map[int]int{}
		slowest  time.Duration
		seq      atomic.Int64
		bad      []string
	)
	record := func(status int, d time.Duration, note string) {
		mu.Lock()
		defer mu.Unlock()
		statuses[status]++
		slowest = max(slowest, d)
		if note != "" && len(bad) < 10 {
			bad = append(bad, note)
		}
	}
	work := func(stop <-chan struct{}) {
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := int(seq.Add(1))
			start := time.Now()
			var res *http.Response
			var err error
			graphQL := n%5 == 1
			switch {
			case graphQL:
				res, err = client.Post(srv.URL+"/graphql", "application/json",
					strings.NewReader(`{"query":"{ factories(first: 3) { totalCount edges { node { rowId summary { count } } } } }"}`))
			case n%3 == 0:
				res, err = client.Get(srv.URL + "/v1/sprockets")
			default:
				res, err = client.Post(srv.URL+"/v1/factories", "application/json", strings.NewReader(body(n)))
			}
			d := time.Since(start)
			if err != nil {
				record(-1, d, err.Error())
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			note := ""
			if graphQL {
				// GraphQL answers 200; an outage is an error with its code.
				var g struct {
					Errors []struct{ Extensions map[string]any }
				}
				if err := json.Unmarshal(b, &g); err != nil || res.StatusCode != http.StatusOK {
					note = fmt.Sprintf("GraphQL: %d %s", res.StatusCode, b)
				} else if len(g.Errors) > 0 {
					if g.Errors[0].Extensions["code"] != "SERVICE_UNAVAILABLE" || res.Header.Get("Retry-After") == "" {
						note = "GraphQL error other than SERVICE_UNAVAILABLE with Retry-After: " + string(b)
					}
					record(http.StatusServiceUnavailable, d, note)
					continue
				}
				record(res.StatusCode, d, note)
				continue
			}
			switch res.StatusCode {
			case http.StatusOK:
			case http.StatusCreated:
				var c struct{ ID int }
				_ = json.Unmarshal(b, &c)
				mu.Lock()
				acked[c.ID] = true
				mu.Unlock()
			case http.StatusServiceUnavailable:
				if res.Header.Get("Retry-After") == "" || !json.Valid(b) {
					note = "503 without Retry-After or JSON: " + string(b)
				}
			default:
				note = fmt.Sprintf("status %d: %s", res.StatusCode, b)
			}
			record(res.StatusCode, d, note)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); work(stop) }()
	}
	time.Sleep(1500 * time.Millisecond) // load before the outage
	cut(proxy)
	time.Sleep(3 * time.Second) // the outage
	readyStart := time.Now()
	readyDuringOutage, _ := client.Get(srv.URL + "/readyz")
	readyTook := time.Since(readyStart)
	proxy.Restore()
	time.Sleep(1500 * time.Millisecond) // recovery under load
	close(stop)
	wg.Wait()

	t.Logf("statuses %v, slowest %v, acknowledged writes %d", statuses, slowest, len(acked))
	if len(bad) > 0 {
		t.Errorf("unexpected answers: %q", bad)
	}
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Error("the outage produced no 503: was the link really cut?")
	}
	if statuses[-1] > 0 {
		t.Errorf("%d requests failed at the transport level", statuses[-1])
	}
	if slowest > requestTimeout+500*time.Millisecond {
		t.Errorf("a request took %v, beyond its %v deadline", slowest, requestTimeout)
	}
	if readyDuringOutage == nil || readyDuringOutage.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %v", readyDuringOutage)
	}
	if readyTook > 2500*time.Millisecond {
		t.Errorf("/readyz during the outage answered after %v, want within 2 s", readyTook)
	}

	// Recovered: a write goes through without a restart.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := client.Post(srv.URL+"/v1/factories", "application/json", strings.NewReader(body(999999)))
		if err == nil && res.StatusCode == http.StatusCreated {
			var c struct{ ID int }
			_ = json.NewDecoder(res.Body).Decode(&c)
			res.Body.Close()
			acked[c.ID] = true
			break
		}
		if res != nil {
			res.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("the service did not recover within 10 s of the database coming back")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Every factory has all its points or does not exist; every
	// acknowledged one exists.
	check := testdb.OpenURL(t, direct, 2)
	rows, err := check.SQL.QueryContext(ctx, `SELECT f.id, COUNT(c.id) FROM factories f LEFT JOIN chart_data c ON c.factory_id = f.id GROUP BY f.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[int]bool{}
	for rows.Next() {
		var id, n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
		if n != points {
			t.Errorf("factory %d has %d of its %d points", id, n, points)
		}
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged factory %d is missing", id)
		}
	}
}
