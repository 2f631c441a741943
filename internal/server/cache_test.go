package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/server"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestCachedFactoryAnswersFollowWritesOnEveryReplica: two servers with
// their own caches share one PostgreSQL database; a factory read (and so
// cached) on one, then written through the other, reads with the new
// points on both.
func TestCachedFactoryAnswersFollowWritesOnEveryReplica(t *testing.T) {
	url := testdb.URL(t, dialect.Postgres)
	ctx := context.Background()
	cfg := testConfig(t)
	replica := func() (*core.Service, string) {
		db := testdb.OpenURL(t, url, 4)
		svc := core.New(db.Client(), db.SQL, dialect.Postgres)
		hs := httptest.NewServer(server.New(server.Deps{Config: cfg, Service: svc}))
		t.Cleanup(hs.Close)
		return svc, hs.URL
	}
	svcA, a := replica()
	svcB, b := replica()
	f, err := svcA.CreateFactory(ctx, core.FactoryInput{Points: []core.Point{{Time: 1, Actual: 1, Goal: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(base string) string {
		srv := &testServer{t: t, url: base}
		got := srv.do("GET", fmt.Sprintf("/v1/factories/%d", f.ID), nil, nil)
		if got.status != 200 {
			t.Fatalf("%d %s", got.status, got.body)
		}
		return got.body
	}
	before := get(a)
	if again := get(a); again != before {
		t.Fatalf("the cached answer differs:\n%s\n%s", again, before)
	}
	if _, err := svcB.RecordProduction(ctx, f.ID, []core.Point{{Time: 2, Actual: 7, Goal: 8}}, false); err != nil {
		t.Fatal(err)
	}
	for name, base := range map[string]string{"the replica that cached": a, "the writer": b} {
		if body := get(base); !strings.Contains(body, `"time":[1,2]`) {
			t.Errorf("%s answers a stale series: %s", name, body)
		}
	}
	if _, err := svcA.RecordProduction(ctx, f.ID, []core.Point{{Time: 2, Actual: 9, Goal: 9}}, true); err != nil {
		t.Fatal(err)
	}
	if body := get(a); !strings.Contains(body, `"sprocket_production_actual":[1,9]`) {
		t.Errorf("after an upsert: %s", body)
	}
}

// TestLargeSeriesStreamColumnByColumnOnPostgres: a series of 260,000 points
// (past the column-streaming threshold) comes back whole and in order.
func TestLargeSeriesStreamColumnByColumnOnPostgres(t *testing.T) {
	t.Parallel() // no shared state; it mostly waits
	srv := newTestServer(t, dialect.Postgres, nil)
	const n = 260_000
	pts := make([]core.Point, n)
	for i := range pts {
		pts[i] = core.Point{Time: int64(n - i), Actual: float64(i % 13), Goal: 0.5} // inserted newest first
	}
	f, err := srv.svc.CreateFactory(context.Background(), core.FactoryInput{Points: pts})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.do("GET", fmt.Sprintf("/v1/factories/%d", f.ID), nil, nil)
	var body struct {
		ID        int
		ChartData struct {
			Time   []int64   `json:"time"`
			Actual []float64 `json:"sprocket_production_actual"`
			Goal   []float64 `json:"sprocket_production_goal"`
		} `json:"chart_data"`
	}
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.status != 200 {
		t.Fatalf("%d %v", got.status, err)
	}
	c := body.ChartData
	if body.ID != f.ID || len(c.Time) != n || len(c.Actual) != n || len(c.Goal) != n {
		t.Fatalf("id %d, %d/%d/%d values", body.ID, len(c.Time), len(c.Actual), len(c.Goal))
	}
	for i := 0; i < n; i++ {
		// Time i+1 was point n-1-i.
		if c.Time[i] != int64(i+1) || c.Actual[i] != float64((n-1-i)%13) || c.Goal[i] != 0.5 {
			t.Fatalf("value %d: time %d actual %v goal %v", i, c.Time[i], c.Actual[i], c.Goal[i])
		}
	}
}
