package gqlhttp

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/sprocketapi/sprocket/graph"

	"github.com/sprocketapi/sprocket/internal/web/graphiql"
)

// dashboardQuery returns one of the dashboard's queries (an exported
// constant of internal/web/dashboard/src/factories.js), read from the
// source itself so that the cost tests follow the dashboard as it changes.
func dashboardQuery(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile("../web/dashboard/src/factories.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)export const " + name + " = `([^`]*)`;").FindSubmatch(src)
	if m == nil {
		t.Fatalf("factories.js exports no query %s", name)
	}
	return string(m[1])
}

func costOf(t *testing.T, query string, vars map[string]any) int {
	t.Helper()
	es := graph.NewSchema(nil, nil)
	doc, err := gqlparser.LoadQueryWithRules(es.Schema(), query, rules.NewDefaultRules())
	if err != nil {
		t.Fatalf("%.80s: %v", query, err)
	}
	return operationCost(doc.Operations[0], vars, boundsOf(es.Schema()), graph.Pricing{})
}

func aliased(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s\n", i, field)
	}
	return b.String()
}

// TestCosts: what the default limit lets through and what it refuses,
// with the cost of each (the figures in handler.go's and complexity.go's
// comments).
func TestCosts(t *testing.T) {
	limit := DefaultComplexityLimit
	pass := []struct {
		name  string
		query string
		vars  map[string]any
		want  int // 0: not checked
	}{
		{"GraphiQL's introspection query", introspection.Query, nil, 0},
		{"the dashboard at 1,997 values a chart", dashboardQuery(t, "DASHBOARD"),
			map[string]any{"first": 100, "maxDataPoints": 1997, "aggregate": "AVG"}, 100 * (12 + 5*1997)},
		{"the dashboard at 1,997 values a chart, M4 (its default)", dashboardQuery(t, "DASHBOARD"),
			map[string]any{"first": 100, "maxDataPoints": 1997, "aggregate": "M4"}, 0},
		{"the dashboard's zoom at 10,000 values", dashboardQuery(t, "ZOOM"),
			map[string]any{"id": "x", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "maxDataPoints": 10000, "aggregate": "AVG"}, 1 + 1 + 5*10000},
		{"the dashboard's zoom at 10,000 values, M4", dashboardQuery(t, "ZOOM"),
			map[string]any{"id": "x", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z", "maxDataPoints": 10000, "aggregate": "M4"}, 0},
		{"the dashboard's sprockets", `{ sprockets(first: 1000) { totalCount edges { node { id rowId teeth pitchDiameter outsideDiameter pitch } } } }`, nil, 1000 * 10},
		{"an hour in buckets of a minute", `{ factories(first: 1) { edges { node { series(from: "2026-01-01T00:00:00Z", to: "2026-01-01T01:00:00Z", interval: 60) { actual } } } } }`, nil, 1 + 1 + 1 + 2*62},
		{"a page of points by default", `{ factoryByRowId(rowId: 1) { points { edges { node { time actual goal } } } } }`, nil, 1 + 100*6},
		{"nodes of three ids", `{ nodes(ids: ["a", "b", "c"]) { id } }`, nil, 3 * 2},
		// M4 returns up to four points a bucket.
		{"an hour of M4 in buckets of a minute", `{ factories(first: 1) { edges { node { series(from: "2026-01-01T00:00:00Z", to: "2026-01-01T01:00:00Z", interval: 60, aggregate: M4) { actual } } } } }`, nil, 1 + 1 + 1 + 2*4*62},
		{"M4 at two values", `{ factoryByRowId(rowId: 1) { series(maxDataPoints: 2, aggregate: M4) { actual } } }`, nil, 1 + 2*8},
		{"M4 at 1,000 values", `{ factoryByRowId(rowId: 1) { series(maxDataPoints: 1000, aggregate: M4) { actual } } }`, nil, 1 + 2*1000},
	}
	for _, tab := range graphiql.DefaultTabs {
		pass = append(pass, struct {
			name  string
			query string
			vars  map[string]any
			want  int
		}{"GraphiQL tab " + tab.Name, tab.Query, nil, 0})
	}
	for _, c := range pass {
		got := costOf(t, c.query, c.vars)
		t.Logf("%s: %d", c.name, got)
		if got > limit || (c.want != 0 && got != c.want) {
			t.Errorf("%s: cost %d, want %d within %d", c.name, got, c.want, limit)
		}
	}
	refuse := []struct{ name, query string }{
		{"300 aliases of points(first: 1000)", "{ factoryByRowId(rowId: 1) {\n" + aliased(300, "points(first: 1000) { edges { node { time actual goal } } }") + "} }"},
		{"1,000 aliases of __schema", "{\n" + aliased(1000, "__schema { types { name fields { name } } }") + "}"},
		{"50 aliases of a deep __schema", "{\n" + aliased(50, "__schema { types { name kind fields { name args { name type { name } } type { name ofType { name } } } } }") + "}"},
		{"the dashboard at 10,000 values a chart", dashboardQuery(t, "DASHBOARD")},
		{"factories of a thousand with their points", `{ factories(first: 1000) { edges { node { points(first: 1000) { edges { node { time } } } } } } }`},
		{"nodes of 1,000 ids with series", `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Factory { series(maxDataPoints: 1000) { actual } } } }`},
	}
	ids := make([]any, 1000)
	for i := range ids {
		ids[i] = "x"
	}
	for _, c := range refuse {
		got := costOf(t, c.query, map[string]any{"first": 100, "ids": ids, "maxDataPoints": 10000, "aggregate": "M4"})
		t.Logf("%s: %d", c.name, got)
		if got <= limit {
			t.Errorf("%s: cost %d, within the limit %d", c.name, got, limit)
		}
	}
}
