package gqlhttp_test

import (
	"context"
	"encoding/json"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/graph"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// FuzzGraphQLEndpoint sends arbitrary bodies to /graphql over a real
// database with data in it. Whatever comes in, the answer is JSON, never a
// 5xx, and never shows internal text. Run longer with
//
//	go test -run '^$' -fuzz FuzzGraphQLEndpoint -fuzztime 5m ./graph/
func FuzzGraphQLEndpoint(f *testing.F) {
	for _, s := range []string{
		`{"query":"{ factories(first: 2) { edges { node { id rowId name summary { count attainment } series(maxDataPoints: 4) { epochs actual } } } } }"}`,
		`{"query":"{ factoryByRowId(rowId: 1) { points(first: 3) { totalCount edges { cursor node { time actual } } } } }"}`,
		`{"query":"mutation { createSprocket(input: {teeth: 0, pitchDiameter: 1, outsideDiameter: 1, pitch: 1}) { id } }"}`,
		`{"query":"mutation($f: ID!) { recordProduction(factoryId: $f, points: [{time: \"2026-01-01T00:00:00Z\", actual: 1, goal: 2}]) { inserted } }","variables":{"f":"RmFjdG9yeTox"}}`,
		`{"query":"{ node(id: \"!!\") { id } }"}`,
		`{"query":"{ sprockets(first: -1) { totalCount } }"}`,
		`{"query":"{ factories { edges { node { series(interval: 1, from: \"1970-01-01T00:00:00Z\", to: \"2100-01-01T00:00:00Z\") { epochs } } } } }"}`,
		`{"query":"query { __schema { types { name } } }"}`,
		`{"query":`, `[]`, `{"query":"{ a"}`,
	} {
		f.Add(s, "application/json")
		f.Add(s, "application/graphql-response+json")
	}
	db := testdb.Open(f, testdb.Dialects[0])
	client := db.Client()
	svc := core.New(client, db.SQL, db.Dialect)
	ctx := context.Background()
	if _, err := svc.CreateFactory(ctx, core.FactoryInput{Points: []core.Point{{Time: 1_700_000_000, Actual: 3, Goal: 4}, {Time: 1_700_000_060, Actual: 5, Goal: 4}}}); err != nil {
		f.Fatal(err)
	}
	h := gqlhttp.NewHandler(&graph.Resolver{Client: client, Service: svc}, gqlhttp.DefaultOptions())
	f.Fuzz(func(t *testing.T, body, accept string) {
		req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", accept)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q: status %d: %s", body, rec.Code, rec.Body)
		}
		if rec.Code == 406 {
			return // an Accept with neither JSON type
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%q: answer is not JSON: %q", body, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "INTERNAL_SERVER_ERROR") {
			t.Fatalf("%q: an internal error: %s", body, rec.Body)
		}
	})
}
