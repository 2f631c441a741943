package gqlhttp_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/telemetry"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/web/graphiql"
)

// TestOperationMetricsHaveBoundedLabels: 1,000 distinct operation names
// make one series ("other"), while the known and the configured names
// keep their own.
func TestOperationMetricsHaveBoundedLabels(t *testing.T) {
	m := telemetry.NewMetrics("test", nil, nil)
	opts := gqlhttp.DefaultOptions()
	opts.Metrics = m
	opts.MetricOperations = []string{"Custom"}
	e := newEndpoint(t, testdb.Dialects[0], opts)
	for i := range 1000 {
		name := fmt.Sprintf("Op%d", i)
		if a := e.post("", map[string]any{"query": "query " + name + " { __typename }", "operationName": name}); a.status != 200 {
			t.Fatalf("%s: %d %s", name, a.status, a.raw)
		}
	}
	for _, name := range []string{"Dashboard", "Custom", ""} {
		q := "query " + name + " { __typename }"
		if a := e.post("", map[string]any{"query": q, "operationName": name}); a.status != 200 {
			t.Fatalf("%s: %d %s", name, a.status, a.raw)
		}
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "sprocket_graphql_operations_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "operation" {
					got[l.GetValue()] += s.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{"other": 1000, "Dashboard": 1, "Custom": 1, "anonymous": 1}
	if !maps.Equal(got, want) {
		t.Errorf("operation label values %v, want %v", got, want)
	}
}

// TestKnownOperationsListTheBuiltInClientsOperations: every operation the
// dashboard's sources and GraphiQL's default tabs name is in
// gqlhttp.KnownOperations, so that their metrics keep their names.
func TestKnownOperationsListTheBuiltInClientsOperations(t *testing.T) {
	named := regexp.MustCompile(`\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)\s*[({]`)
	var sources []string
	files, _ := filepath.Glob("../web/dashboard/src/*.js")
	if len(files) == 0 {
		t.Fatal("no dashboard sources found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, string(b))
	}
	for _, tab := range graphiql.DefaultTabs {
		sources = append(sources, tab.Query)
	}
	found := 0
	for _, s := range sources {
		for _, m := range named.FindAllStringSubmatch(s, -1) {
			found++
			if !slices.Contains(gqlhttp.KnownOperations, m[1]) {
				t.Errorf("operation %s is not in gqlhttp.KnownOperations", m[1])
			}
		}
	}
	if found < 8 {
		t.Errorf("found only %d named operations in the built-in clients", found)
	}
}
