package gqlhttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// TestAFactoryWithDataOutOfRangeFailsAlone: a factory whose stored points
// (written by an earlier version, beyond today's bounds) overflow their
// aggregates fails only its own chart fields, with DATA_OUT_OF_RANGE; the
// other factories of the same batched dashboard query get their data. On
// PostgreSQL the batched statement itself fails (SQLSTATE 22003) and is
// run again one factory at a time; SQLite sums to infinity.
func TestAFactoryWithDataOutOfRangeFailsAlone(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		e := newEndpoint(t, d, gqlhttp.DefaultOptions())
		ctx := context.Background()
		const t0 = 1_767_225_600 // 2026-01-01T00:00:00Z
		for f := 0; f < 3; f++ {
			pts := []core.Point{{Time: t0 + 60, Actual: float64(f + 1), Goal: 2}, {Time: t0 + 120, Actual: 1, Goal: 2}}
			if _, err := e.svc.CreateFactory(ctx, core.FactoryInput{Points: pts}); err != nil {
				t.Fatal(err)
			}
		}
		// Factory 2 gets two points of 1e308 in one hour, and the
		// rollups an earlier version would have stored for them.
		inf := "'Infinity'"
		if d == dialect.SQLite {
			inf = "9e999"
		}
		for _, q := range []string{
			fmt.Sprintf(`INSERT INTO chart_data (factory_id, "time", actual, goal) VALUES (2, %d, 1e308, 1), (2, %d, 1e308, 1)`, t0+600, t0+660),
			fmt.Sprintf(`UPDATE rollups SET sum_actual = %s, max_actual = 1e308, n = n + 2 WHERE factory_id = 2`, inf),
		} {
			if _, err := e.db.SQL.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		logs := testlog.Capture(t, slog.LevelDebug)
		queries := map[string]string{
			"whole series": `{ factories(first: 10) { edges { node { rowId
				series(maxDataPoints: 10) { actual } summary { count totalActual } } } } }`,
			"window of raw points": `{ factories(first: 10) { edges { node { rowId
				series(from: "2026-01-01T00:00:30Z", to: "2026-01-01T00:59:00Z", interval: 1800) { actual }
				summary(from: "2026-01-01T00:00:30Z", to: "2026-01-01T00:59:00Z") { count totalActual } } } } }`,
		}
		for name, q := range queries {
			a := e.query(q)
			var data struct {
				Factories struct {
					Edges []struct {
						Node *struct {
							RowID   int64
							Series  struct{ Actual []float64 }
							Summary struct{ Count int64 }
						}
					}
				}
			}
			if err := json.Unmarshal(a.Data, &data); err != nil || len(data.Factories.Edges) != 3 {
				t.Fatalf("%s: %v %s", name, err, a.raw)
			}
			for i, edge := range data.Factories.Edges {
				if i == 1 {
					if edge.Node != nil {
						t.Errorf("%s: factory 2 has data: %+v", name, edge.Node)
					}
					continue
				}
				if edge.Node == nil || edge.Node.Summary.Count != 2 || len(edge.Node.Series.Actual) == 0 {
					t.Errorf("%s: factory %d lost its data: %s", name, i+1, a.raw)
				}
			}
			if len(a.Errors) == 0 {
				t.Fatalf("%s: no error: %s", name, a.raw)
			}
			for _, err := range a.Errors {
				if err.Extensions["code"] != "DATA_OUT_OF_RANGE" || fmt.Sprint(err.Path[:4]) != "[factories edges 1 node]" {
					t.Errorf("%s: error %+v", name, err)
				}
			}
		}
		l := logs.String()
		if strings.Contains(l, "level=ERROR") || !strings.Contains(l, "stored data out of range") {
			t.Errorf("logs:\n%s", l)
		}
		if d == dialect.Postgres && !strings.Contains(l, "overflow") {
			t.Errorf("PostgreSQL did not refuse the statement:\n%s", l)
		}
	})
}
