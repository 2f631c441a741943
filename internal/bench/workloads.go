package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// workload is one kind of request the harness sends.
type workload struct {
	name    string
	about   string
	graphql bool // needs /graphql: skipped on a /v1-only server
	prepare func(ctx context.Context, t *target) (*plan, error)
}

// workloads are all the workloads, in the order run runs them.
var workloads = []workload{
	{name: "rest-sprocket-get", about: "GET /v1/sprockets/{id}, a random existing id", prepare: prepareSprocketGet},
	{name: "rest-sprocket-list", about: "GET /v1/sprockets", prepare: prepareSprocketList},
	{name: "rest-factory-small", about: "GET /v1/factories/{id} of a factory of --small-points points", prepare: prepareFactoryGet("small")},
	{name: "rest-factory-large", about: "GET /v1/factories/{id} of a factory of --large-points points", prepare: prepareFactoryGet("large")},
	{name: "gql-series", about: "a factory's series over its whole range in at most 1,000 buckets", graphql: true, prepare: prepareSeries},
	{name: "gql-series-day", about: "a factory's series over one day in at most 500 buckets", graphql: true, prepare: prepareSeriesDay},
	{name: "gql-dashboard", about: "factories(first: 20), each with a series of at most 500 buckets", graphql: true, prepare: prepareDashboard},
	{name: "gql-series-m4", about: "a factory's M4 series over its whole range, at most 1,000 values", graphql: true, prepare: prepareSeriesAgg("M4")},
	{name: "gql-series-lttb", about: "a factory's LTTB series over its whole range, at most 1,000 values", graphql: true, prepare: prepareSeriesAgg("LTTB")},
	{name: "gql-series-first", about: "a factory's FIRST series over its whole range in at most 1,000 buckets", graphql: true, prepare: prepareSeriesAgg("FIRST")},
	{name: "gql-series-last", about: "a factory's LAST series over its whole range in at most 1,000 buckets", graphql: true, prepare: prepareSeriesAgg("LAST")},
	{name: "gql-series-day-m4", about: "a factory's M4 series over one day, at most 500 values", graphql: true, prepare: prepareSeriesDayAgg("M4")},
	{name: "gql-points", about: "a factory's first 100 points (points(first: 100)), no window", graphql: true, prepare: preparePoints(false)},
	{name: "gql-points-day", about: "a factory's first 1,000 points from the start of a random day (points(from:, first: 1000))", graphql: true, prepare: preparePoints(true)},
	{name: "gql-dashboard-m4", about: "factories(first: 20), each with an M4 series of at most 500 values", graphql: true, prepare: prepareDashboardAgg("M4")},
	{name: "gql-record", about: "recordProduction of 100 new points (APPEND), a scratch factory per client", graphql: true, prepare: prepareRecord("gql-record", 100)},
	{name: "fair-sprocket-get", about: "GET /v1/sprockets/{id} while --hostile-clients loop --hostile-query (and /healthz, /readyz are probed)", graphql: true, prepare: prepareFair},
	{name: "rest-read-own-write", about: "PUT /v1/sprockets/{id} (a sprocket per client), then GET it at once with the answer's Sprocket-LSN (a missed write is an error)", prepare: prepareReadOwnWrite},
	{name: "bulk-ingest", about: "recordProduction of --ingest-batch new points (APPEND), a scratch factory per client", graphql: true, prepare: prepareRecord("bulk-ingest", 0)},
}

func workloadNames() []string {
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.name
	}
	return names
}

// selectWorkloads parses --workloads: a comma-separated list, or "all".
func selectWorkloads(list string) ([]workload, error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return workloads, nil
	}
	var out []workload
	var unknown []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, w := range workloads {
			if w.name == name {
				out = append(out, w)
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown workload(s) %s; the workloads are: %s", strings.Join(unknown, ", "), strings.Join(workloadNames(), ", "))
	}
	if len(out) == 0 {
		return nil, errors.New("--workloads names no workload")
	}
	return out, nil
}

func prepareSprocketGet(ctx context.Context, t *target) (*plan, error) {
	ids, err := t.sprockets(ctx)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(ids))
	for i, id := range ids {
		paths[i] = fmt.Sprintf("/v1/sprockets/%d", id)
	}
	return &plan{op: func(ctx context.Context, w *worker) (int64, int, error) {
		n, err := t.get(ctx, w, paths[w.rng.IntN(len(paths))])
		return n, 0, err
	}}, nil
}

func prepareSprocketList(ctx context.Context, t *target) (*plan, error) {
	if _, err := t.sprockets(ctx); err != nil {
		return nil, err
	}
	return &plan{op: func(ctx context.Context, w *worker) (int64, int, error) {
		n, err := t.get(ctx, w, "/v1/sprockets")
		return n, 0, err
	}}, nil
}

func prepareFactoryGet(kind string) func(ctx context.Context, t *target) (*plan, error) {
	return func(ctx context.Context, t *target) (*plan, error) {
		n := t.o.smallPoints
		if kind == "large" {
			n = t.o.largePoints
		}
		ref, err := t.fixedFactory(ctx, kind, n)
		if err != nil {
			return nil, err
		}
		p := fmt.Sprintf("/v1/factories/%d", ref.RowID)
		return &plan{op: func(ctx context.Context, w *worker) (int64, int, error) {
			n, err := t.get(ctx, w, p)
			return n, 0, err
		}}, nil
	}
}

// graphqlPlan posts one of bodies (chosen at random) per request; an
// answer with errors counts as an error.
func graphqlPlan(t *target, bodies [][]byte) *plan {
	return &plan{op: func(ctx context.Context, w *worker) (int64, int, error) {
		body := bodies[0]
		if len(bodies) > 1 {
			body = bodies[w.rng.IntN(len(bodies))]
		}
		_, err := t.c.fetch(ctx, http.MethodPost, "/graphql", body, "application/json", &w.buf)
		if err == nil {
			err = checkGraphQL(w.buf.Bytes())
		}
		return int64(w.buf.Len()), 0, err
	}}
}

func mustBody(query string, vars map[string]any) []byte {
	b, err := json.Marshal(gqlRequest{Query: query, Variables: vars})
	if err != nil {
		panic(err)
	}
	return b
}

// seriesAnswer is what the series workloads ask for.
type seriesAnswer struct {
	Epochs []int64   `json:"epochs"`
	Actual []float64 `json:"actual"`
	Goal   []float64 `json:"goal"`
}

func (s seriesAnswer) check(most int) error {
	n := len(s.Epochs)
	if n == 0 || n > most || len(s.Actual) != n || len(s.Goal) != n {
		return fmt.Errorf("a series of %d/%d/%d values, want from 1 to %d of each", n, len(s.Actual), len(s.Goal), most)
	}
	return nil
}

// checkSeries sends body once and checks the series it answers.
func checkSeries(ctx context.Context, t *target, body []byte, most int) error {
	var out struct {
		F *struct {
			Series seriesAnswer `json:"series"`
		} `json:"factoryByRowId"`
	}
	if err := t.c.graphqlRaw(ctx, body, &out); err != nil {
		return err
	}
	if out.F == nil {
		return errors.New("factoryByRowId answered null")
	}
	return out.F.Series.check(most)
}

const seriesQuery = `query Series($id: Int64!) { factoryByRowId(rowId: $id) { series(maxDataPoints: 1000) { epochs actual goal } } }`

func prepareSeries(ctx context.Context, t *target) (*plan, error) {
	return prepareSeriesOf(ctx, t, seriesQuery)
}

// withAggregate adds aggregate: agg to the series field of query.
func withAggregate(query, agg string) string {
	return strings.Replace(query, "maxDataPoints: ", "aggregate: "+agg+", maxDataPoints: ", 1)
}

// prepareSeriesAgg is gql-series with aggregate agg.
func prepareSeriesAgg(agg string) func(ctx context.Context, t *target) (*plan, error) {
	return func(ctx context.Context, t *target) (*plan, error) {
		return prepareSeriesOf(ctx, t, withAggregate(seriesQuery, agg))
	}
}

// prepareSeriesDayAgg is gql-series-day with aggregate agg.
func prepareSeriesDayAgg(agg string) func(ctx context.Context, t *target) (*plan, error) {
	return func(ctx context.Context, t *target) (*plan, error) {
		return prepareSeriesDayOf(ctx, t, withAggregate(seriesDayQuery, agg))
	}
}

// prepareDashboardAgg is gql-dashboard with aggregate agg.
func prepareDashboardAgg(agg string) func(ctx context.Context, t *target) (*plan, error) {
	return func(ctx context.Context, t *target) (*plan, error) {
		return prepareDashboardOf(ctx, t, withAggregate(dashboardQuery, agg))
	}
}

func prepareSeriesOf(ctx context.Context, t *target, query string) (*plan, error) {
	fs, err := t.seriesFactories(ctx)
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(fs))
	for i, f := range fs {
		bodies[i] = mustBody(query, map[string]any{"id": f.ref.RowID})
	}
	if err := checkSeries(ctx, t, bodies[0], 1000); err != nil {
		return nil, err
	}
	return graphqlPlan(t, bodies), nil
}

const seriesDayQuery = `query SeriesDay($id: Int64!, $from: Time!, $to: Time!) { factoryByRowId(rowId: $id) { series(from: $from, to: $to, maxDataPoints: 500) { epochs actual goal } } }`

// prepareSeriesDay asks for whole days of the factories' data (at most
// 4,096 distinct requests, chosen at random).
func prepareSeriesDay(ctx context.Context, t *target) (*plan, error) {
	return prepareSeriesDayOf(ctx, t, seriesDayQuery)
}

func prepareSeriesDayOf(ctx context.Context, t *target, query string) (*plan, error) {
	fs, err := t.seriesFactories(ctx)
	if err != nil {
		return nil, err
	}
	var bodies [][]byte
	for _, f := range fs {
		span := int64(f.ref.Points) * f.ref.StepSeconds
		days := max(span/day, 1)
		days = min(days, max(4096/int64(len(fs)), 1))
		for d := range days {
			from := f.ref.Start.Add(time.Duration(d*day) * time.Second)
			bodies = append(bodies, mustBody(query, map[string]any{
				"id": f.ref.RowID, "from": from.Format(time.RFC3339), "to": from.Add(24 * time.Hour).Format(time.RFC3339),
			}))
		}
	}
	if err := checkSeries(ctx, t, bodies[0], 500); err != nil {
		return nil, err
	}
	return graphqlPlan(t, bodies), nil
}

const (
	pointsQuery    = `query Points($id: Int64!) { factoryByRowId(rowId: $id) { points(first: 100) { edges { node { time actual goal } } } } }`
	pointsDayQuery = `query PointsDay($id: Int64!, $from: Time!) { factoryByRowId(rowId: $id) { points(from: $from, first: 1000) { edges { node { time actual goal } } } } }`
)

// preparePoints asks for a page of the series factories' points: their
// first 100, or (fromDays) 1,000 from the start of a random day of their
// data (at most 4,096 distinct requests).
func preparePoints(fromDays bool) func(ctx context.Context, t *target) (*plan, error) {
	return func(ctx context.Context, t *target) (*plan, error) {
		fs, err := t.seriesFactories(ctx)
		if err != nil {
			return nil, err
		}
		var bodies [][]byte
		for _, f := range fs {
			if !fromDays {
				bodies = append(bodies, mustBody(pointsQuery, map[string]any{"id": f.ref.RowID}))
				continue
			}
			days := max(int64(f.ref.Points)*f.ref.StepSeconds/day, 1)
			days = min(days, max(4096/int64(len(fs)), 1))
			for d := range days {
				from := f.ref.Start.Add(time.Duration(d*day) * time.Second)
				bodies = append(bodies, mustBody(pointsDayQuery, map[string]any{"id": f.ref.RowID, "from": from.Format(time.RFC3339)}))
			}
		}
		return graphqlPlan(t, bodies), nil
	}
}

const dashboardQuery = `query Dashboard { factories(first: 20) { edges { node { rowId name series(maxDataPoints: 500) { epochs actual goal } } } } }`

func prepareDashboard(ctx context.Context, t *target) (*plan, error) {
	return prepareDashboardOf(ctx, t, dashboardQuery)
}

func prepareDashboardOf(ctx context.Context, t *target, query string) (*plan, error) {
	// The dashboard shows the first 20 factories, whatever they are; make
	// sure there is data to show when the server is empty.
	if _, err := t.seriesFactories(ctx); err != nil {
		return nil, err
	}
	body := mustBody(query, nil)
	var out struct {
		Factories struct {
			Edges []struct {
				Node struct {
					RowID  int64        `json:"rowId"`
					Series seriesAnswer `json:"series"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"factories"`
	}
	if err := t.c.graphqlRaw(ctx, body, &out); err != nil {
		return nil, err
	}
	if len(out.Factories.Edges) == 0 {
		return nil, errors.New("factories(first: 20) answered no factory")
	}
	for _, e := range out.Factories.Edges {
		// A factory without points has an empty series: allowed here.
		if s := e.Node.Series; len(s.Epochs) > 0 {
			if err := s.check(500); err != nil {
				return nil, fmt.Errorf("factory %d: %w", e.Node.RowID, err)
			}
		}
	}
	return graphqlPlan(t, [][]byte{body}), nil
}

// prepareRecord gives each client a scratch factory of its own and
// appends batch new points a request to it (0: --ingest-batch); the
// factories are deleted afterwards.
func prepareRecord(name string, batch int) func(ctx context.Context, t *target) (*plan, error) {
	return func(ctx context.Context, t *target) (*plan, error) {
		if batch == 0 {
			batch = t.o.ingestBatch
		}
		refs, err := t.scratchFactories(ctx, name, t.o.clients)
		if err != nil {
			return nil, err
		}
		return &plan{
			before: func(w *worker) {
				s := series{seed: t.o.seed, index: 2000 + w.index, start: defaultStart.Unix(), step: 60}
				w.body = s.appendRecordBody(w.body[:0], refs[w.index].ID, w.seq*batch, batch)
			},
			op: func(ctx context.Context, w *worker) (int64, int, error) {
				_, err := t.c.fetch(ctx, http.MethodPost, "/graphql", w.body, "application/json", &w.buf)
				if err == nil {
					err = checkGraphQL(w.buf.Bytes())
				}
				return int64(w.buf.Len()), batch, err
			},
			cleanup: func(ctx context.Context) error { return t.deleteFactories(ctx, refs) },
		}, nil
	}
}
