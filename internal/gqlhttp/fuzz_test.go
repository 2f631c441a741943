package gqlhttp_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// FuzzGraphQLEndpoint sends arbitrary bodies to /graphql over a real
// database with data in it. Whatever comes in, the answer is JSON, never a
// 5xx, and never shows internal text. Run longer with
//
//	go test -run '^$' -fuzz FuzzGraphQLEndpoint -fuzztime 5m ./internal/gqlhttp/
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
		// Value extremes, huge integer literals, names with control
		// characters, times at and past the edges of the domain.
		`{"query":"{ factoryByRowId(rowId: 99999999999999999999999) { id } }"}`,
		`{"query":"{ sprockets(first: 99999999999999999999) { totalCount } }"}`,
		`{"query":"{ factoryByRowId(rowId: 1) { series(maxDataPoints: 1e400) { epochs } } }"}`,
		`{"query":"{ factoryByRowId(rowId: 1) { series(interval: 9223372036854775807, from: \"1969-12-31T23:59:59Z\") { epochs } } }"}`,
		`{"query":"mutation($f: ID!) { recordProduction(factoryId: $f, points: [{time: \"+275760-09-13T00:00:00Z\", actual: 1e308, goal: -1e308}]) { inserted } }","variables":{"f":"RmFjdG9yeTox"}}`,
		`{"query":"mutation($f: ID!, $p: [PointInput!]!) { recordProduction(factoryId: $f, points: $p) { inserted } }","variables":{"f":"RmFjdG9yeTox","p":[{"time":"-271821-04-19T23:59:59Z","actual":9007199254740993,"goal":0}]}}`,
		`{"query":"mutation { createFactory(input: {name: \"a\\u0000b\"}) { id } }"}`,
		`{"query":"mutation($n: String) { createFactory(input: {name: $n}) { id } }","variables":{"n":"x\u0007\u001b[2J"}}`,
		`{"query":"mutation { createSprocket(input: {teeth: 99999999999999999999, pitchDiameter: 1e308, outsideDiameter: 1, pitch: 1}) { id } }"}`,
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
	h := app.GraphQL(svc, nil, gqlhttp.DefaultOptions())
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
