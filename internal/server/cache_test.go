package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
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
	cfg, _ := config.Load(func(k string) string { return map[string]string{"ENV": "testing"}[k] })
	replica := func() (*core.Service, string) {
		db, err := database.Open(ctx, url, database.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		svc := core.New(db.Client(), dialect.Postgres)
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
