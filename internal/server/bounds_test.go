package server_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

type gqlAnswer struct {
	Data   json.RawMessage
	Errors []struct {
		Message    string
		Path       []any
		Extensions map[string]any
	}
}

// gql posts a GraphQL request with variables and decodes the answer.
func (s *testServer) gql(query string, vars map[string]any) (int, gqlAnswer) {
	s.t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	got := s.do("POST", "/graphql", jsonHeaders(), ptr(string(b)))
	var a gqlAnswer
	if err := json.Unmarshal([]byte(got.body), &a); err != nil {
		s.t.Fatalf("not a GraphQL answer: %d %.300s", got.status, got.body)
	}
	return got.status, a
}

// wantGQLRefusal checks that a GraphQL answer is one BAD_USER_INPUT whose
// message says each of texts.
func wantGQLRefusal(t *testing.T, status int, a gqlAnswer, texts ...string) {
	t.Helper()
	if len(a.Errors) == 0 {
		t.Fatalf("accepted (%d): %s", status, a.Data)
	}
	e := a.Errors[0]
	if code := e.Extensions["code"]; code != "BAD_USER_INPUT" && code != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("code %v, want BAD_USER_INPUT: %s", code, e.Message)
	}
	for _, text := range texts {
		if !strings.Contains(e.Message, text) {
			t.Errorf("message %q does not say %q", e.Message, text)
		}
	}
	if len(e.Message) > 400 {
		t.Errorf("message is %d bytes long", len(e.Message))
	}
}

// TestTheValueDomainIsTheSameOnRESTAndGraphQL: values and times outside
// the domain (|actual|, |goal| <= 2^53; times a JavaScript Date holds,
// -271821-04-20T00:00:00Z to +275760-09-13T00:00:00Z), names with
// control characters or invalid UTF-8, and chart arguments whose bucket
// arithmetic could overflow are refused with a clear 400 / BAD_USER_INPUT
// and change nothing, on both interfaces and both databases; values at the
// very edges of the domain are stored, and every read of them works.
func TestTheValueDomainIsTheSameOnRESTAndGraphQL(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		srv := newTestServer(t, d, nil)
		if got := srv.do("POST", "/v1/factories", jsonHeaders(), ptr(factoryBody("[1, 2]", "[2, 3]", "[3600, 3601]"))); got.status != 201 {
			t.Fatalf("setup: %d %s", got.status, got.body)
		}
		if got := srv.do("POST", "/v1/sprockets", jsonHeaders(), ptr(`{"teeth": 5, "pitch_diameter": 1, "outside_diameter": 2, "pitch": 1}`)); got.status != 201 {
			t.Fatalf("setup: %d %s", got.status, got.body)
		}
		state := func() string {
			return srv.do("GET", "/v1/sprockets", nil, nil).body + srv.do("GET", "/v1/factories", nil, nil).body
		}
		before := state()
		named := func(name string) string {
			return `{"factory": {"name": ` + name + `, "chart_data": {"sprocket_production_actual": [], "sprocket_production_goal": [], "time": []}}}`
		}
		longKey := strings.Repeat("k", 20000)
		for _, c := range []struct{ name, method, path, body, message string }{
			{"two points of 1e308 in one hour", "POST", "/v1/factories", factoryBody("[1e308, 1e308]", "[1, 1]", "[7200, 7201]"), "factory.chart_data.sprocket_production_actual[0] must be from -9007199254740992 to 9007199254740992"},
			{"a goal just past 2^53", "POST", "/v1/factories", factoryBody("[1]", "[9007199254740994]", "[7200]"), "factory.chart_data.sprocket_production_goal[0] must be from -9007199254740992 to 9007199254740992"},
			{"an actual just below -2^53", "POST", "/v1/factories", factoryBody("[1, -9007199254740994]", "[1, 1]", "[7200, 7201]"), "factory.chart_data.sprocket_production_actual[1] must be from -9007199254740992 to 9007199254740992"},
			{"time MaxInt64", "POST", "/v1/factories", factoryBody("[1]", "[1]", "[9223372036854775807]"), "factory.chart_data.time[0] must be from -8640000000000"},
			{"time MinInt64", "POST", "/v1/factories", factoryBody("[1]", "[1]", "[-9223372036854775808]"), "factory.chart_data.time[0] must be from -8640000000000"},
			{"time one past the end", "POST", "/v1/factories", factoryBody("[1, 1]", "[1, 1]", "[0, 8640000000001]"), "factory.chart_data.time[1] must be from -8640000000000 (-271821-04-20T00:00:00Z) to 8640000000000 (+275760-09-13T00:00:00Z)"},
			{"time one before the start", "POST", "/v1/factories", factoryBody("[1, 1]", "[1, 1]", "[0, -8640000000001]"), "factory.chart_data.time[1] must be from -8640000000000 (-271821-04-20T00:00:00Z) to 8640000000000 (+275760-09-13T00:00:00Z)"},
			{"time 1e20, beyond int64", "POST", "/v1/factories", factoryBody("[1]", "[1]", "[1e20]"), "factory.chart_data.time[0] must be from -8640000000000"},
			{"teeth 1e308", "POST", "/v1/sprockets", `{"teeth": 1e308, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`, "teeth must be a whole number from 1 to 2147483647"},
			{"teeth -1e308", "PUT", "/v1/sprockets/1", `{"teeth": -1e308, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`, "teeth must be a whole number from 1 to 2147483647"},
			{"teeth 2^63", "POST", "/v1/sprockets", `{"teeth": 9223372036854775808, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`, "teeth must be a whole number from 1 to 2147483647"},
			{"a name with NUL", "POST", "/v1/factories", named(`"a\u0000b"`), "name must not contain control characters"},
			{"a name with a newline", "POST", "/v1/factories", named(`"a\nb"`), "name must not contain control characters"},
			{"a name of invalid UTF-8", "POST", "/v1/factories", named("\"bad \xff\""), "not valid UTF-8"},
			{"201 × é", "POST", "/v1/factories", named(`"` + strings.Repeat("é", 201) + `"`), "at most 200 characters"},
			{"a 20,000-character unknown field", "POST", "/v1/sprockets", `{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1, "` + longKey + `": 1}`, `Unknown field: "kkkk`},
		} {
			t.Run(c.name, func(t *testing.T) {
				got := srv.do(c.method, c.path, jsonHeaders(), ptr(c.body))
				if got.status != 400 {
					t.Fatalf("status %d, want 400: %.300s", got.status, got.body)
				}
				var m struct{ Message string }
				if err := json.Unmarshal([]byte(got.body), &m); err != nil {
					t.Fatalf("not a JSON message: %.300q", got.body)
				}
				if !strings.Contains(m.Message, c.message) {
					t.Errorf("message %q does not say %q", m.Message, c.message)
				}
				if len(m.Message) > 300 {
					t.Errorf("message is %d bytes long: the input is echoed", len(m.Message))
				}
			})
		}
		if after := state(); after != before {
			t.Fatalf("refused REST requests changed the data:\n%s\n%s", before, after)
		}

		// GraphQL: the same refusals, by the same core.
		const record = `mutation($id: ID!, $p: [PointInput!]!) { recordProduction(factoryId: $id, points: $p) { inserted } }`
		const create = `mutation($in: CreateFactoryInput!) { createFactory(input: $in) { rowId } }`
		status, a := srv.gql(`{ factories(first: 1) { edges { node { id } } } }`, nil)
		var ids struct {
			Factories struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		if err := json.Unmarshal(a.Data, &ids); err != nil || len(ids.Factories.Edges) != 1 {
			t.Fatalf("listing factories: %d %s %v", status, a.Data, a.Errors)
		}
		fid := ids.Factories.Edges[0].Node.ID
		pt := func(tm string, actual, goal float64) map[string]any {
			return map[string]any{"time": tm, "actual": actual, "goal": goal}
		}
		// The input each refusal names (points[0].time when not listed).
		gqlFields := map[string]string{
			"two points of 1e308": "points[0].actual", "a goal of -1e16": "points[0].goal", "a goal just past 2^53": "points[1].goal",
			"a name with NUL": "input.name", "201 × é": "input.name", "a series window past the end": "from",
			"series maxDataPoints 0": "maxDataPoints", "a series interval past the span of the domain": "interval",
			"series interval MaxInt64 from before the epoch": "interval", "series interval 0": "interval", "series interval negative": "interval",
		}
		for _, c := range []struct {
			name  string
			query string
			vars  map[string]any
			texts []string
		}{
			{"two points of 1e308", record, map[string]any{"id": fid, "p": []any{pt("1970-01-01T02:00:00Z", 1e308, 1), pt("1970-01-01T02:00:01Z", 1e308, 1)}}, []string{"points[0].actual", "±2^53"}},
			{"a goal of -1e16", record, map[string]any{"id": fid, "p": []any{pt("1970-01-01T02:00:00Z", 1, -1e16)}}, []string{"points[0].goal", "±2^53"}},
			{"a goal just past 2^53", record, map[string]any{"id": fid, "p": []any{pt("1970-01-01T02:00:00Z", 1, 1), pt("1970-01-01T02:00:01Z", 1, 9007199254740994)}}, []string{"points[1].goal", "±2^53"}},
			{"a time one second past the end", record, map[string]any{"id": fid, "p": []any{pt("+275760-09-13T00:00:01Z", 1, 1)}}, []string{"-271821-04-20T00:00:00Z to +275760-09-13T00:00:00Z"}},
			{"a time whose offset takes it past the end", record, map[string]any{"id": fid, "p": []any{pt("+275760-09-13T00:00:00-00:01", 1, 1)}}, []string{"-271821-04-20T00:00:00Z to +275760-09-13T00:00:00Z"}},
			{"a time one second before the start", record, map[string]any{"id": fid, "p": []any{pt("-271821-04-19T23:59:59Z", 1, 1)}}, []string{"-271821-04-20T00:00:00Z to +275760-09-13T00:00:00Z"}},
			{"a time whose offset takes it before the start", record, map[string]any{"id": fid, "p": []any{pt("-271821-04-20T00:00:00+00:01", 1, 1)}}, []string{"-271821-04-20T00:00:00Z to +275760-09-13T00:00:00Z"}},
			{"year -000000", record, map[string]any{"id": fid, "p": []any{pt("-000000-01-01T00:00:00Z", 1, 1)}}, []string{"RFC 3339", "+053025-06-14T08:53:20Z"}},
			{"a five-digit year", record, map[string]any{"id": fid, "p": []any{pt("+53025-06-14T08:53:20Z", 1, 1)}}, []string{"RFC 3339"}},
			{"an empty time", record, map[string]any{"id": fid, "p": []any{pt("", 1, 1)}}, []string{"RFC 3339"}},
			{"a series window past the end", `{ factories { edges { node { series(from: "+275760-09-13T00:00:01Z") { epochs } } } } }`, nil, []string{"-271821-04-20T00:00:00Z to +275760-09-13T00:00:00Z"}},
			{"a series interval past the span of the domain", fmt.Sprintf(`{ factories { edges { node { series(interval: %d) { epochs } } } } }`, core.MaxInterval+1), nil, []string{"interval must be from 1 to 17280000000001"}},
			{"a name with NUL", create, map[string]any{"in": map[string]any{"name": "a\x00b"}}, []string{"control characters"}},
			{"201 × é", create, map[string]any{"in": map[string]any{"name": strings.Repeat("é", 201)}}, []string{"at most 200 characters"}},
			{"series interval MaxInt64 from before the epoch", `{ factories { edges { node { series(interval: 9223372036854775807, from: "1969-12-31T23:59:59Z") { epochs } } } } }`, nil, []string{"interval must be from 1 to"}},
			{"series interval 0", `{ factories { edges { node { series(interval: 0) { epochs } } } } }`, nil, []string{"interval must be from 1 to"}},
			{"series interval negative", `{ factories { edges { node { series(interval: -9223372036854775808) { epochs } } } } }`, nil, []string{"interval must be from 1 to"}},
			{"series maxDataPoints 0", `{ factories { edges { node { series(maxDataPoints: 0) { epochs } } } } }`, nil, []string{"maxDataPoints must be from 2 to"}},
		} {
			t.Run("graphql "+c.name, func(t *testing.T) {
				status, a := srv.gql(c.query, c.vars)
				wantGQLRefusal(t, status, a, c.texts...)
				// The refusal names the input: extensions.field.
				want, ok := gqlFields[c.name]
				if !ok {
					want = "points[0].time"
				}
				if got := a.Errors[0].Extensions["field"]; got != want {
					t.Errorf("extensions.field %v, want %s (path %v)", got, want, a.Errors[0].Path)
				}
			})
		}
		if after := state(); after != before {
			t.Fatalf("refused GraphQL requests changed the data:\n%s\n%s", before, after)
		}

		// The edges of the domain are accepted on REST and served by
		// every GraphQL read as Times the API's own input takes back.
		// 2^53, 2^53-1 and a 13-digit time are the legacy service's.
		if got := srv.do("POST", "/v1/factories", jsonHeaders(), ptr(
			`{"factory": {"name": "`+strings.Repeat("é", 150)+`", "chart_data": {"sprocket_production_actual": [9007199254740992, 9007199254740992, -9007199254740992, 2147483648, 9007199254740992], "sprocket_production_goal": [-9007199254740992, 9007199254740992, 9007199254740992, 9007199254740991, 9007199254740992], "time": [-8640000000000, -8639999999999, 0, 1611194818000, 8640000000000]}}}`)); got.status != 201 {
			t.Fatalf("the edges of the domain: %d %s", got.status, got.body)
		}
		q := fmt.Sprintf(`{ factories { edges { node { id name
			points(first: 10) { edges { node { time epoch actual goal } } }
			day: series(interval: 86400, from: "+275760-09-12T00:00:00Z") { from to times epochs actual counts }
			widest: series(interval: %d, from: "-271821-04-20T00:00:00Z", to: "+275760-09-13T00:00:00.5Z") { from to times counts }
			week: series(interval: 604800, to: "-271821-05-01T00:00:00Z", aggregate: SUM) { times actual }
			m4: series(maxDataPoints: 8, aggregate: M4) { times }
			summary { count totalActual totalGoal firstTime lastTime attainment } } } } }`, core.MaxInterval)
		status, a = srv.gql(q, nil)
		if len(a.Errors) > 0 {
			t.Fatalf("reads of the domain's edges failed: %d %v", status, a.Errors)
		}
		var res struct {
			Factories struct {
				Edges []struct {
					Node struct {
						ID, Name string
						Points   struct {
							Edges []struct {
								Node struct {
									Time         string
									Epoch        int64
									Actual, Goal float64
								}
							}
						}
						Day struct {
							From, To string
							Times    []string
						}
						Widest struct {
							From, To string
							Times    []string
							Counts   []int64
						}
						Week struct {
							Times  []string
							Actual []float64
						}
						M4      struct{ Times []string }
						Summary struct {
							Count                  int64
							TotalActual, TotalGoal float64
							FirstTime, LastTime    string
						}
					}
				}
			}
		}
		if err := json.Unmarshal(a.Data, &res); err != nil {
			t.Fatal(err)
		}
		edge := res.Factories.Edges[1].Node
		if edge.Name != strings.Repeat("é", 150) {
			t.Errorf("name %q", edge.Name)
		}
		// Sums past 2^53 round (in any order of summation), but stay
		// finite; this one's actuals add up exactly.
		if edge.Summary.Count != 5 || edge.Summary.TotalActual != 2*(1<<53)+2147483648 || math.Abs(edge.Summary.TotalGoal-(3*(1<<53)-1)) > 4 ||
			edge.Summary.FirstTime != "-271821-04-20T00:00:00Z" || edge.Summary.LastTime != "+275760-09-13T00:00:00Z" {
			t.Errorf("summary %+v", edge.Summary)
		}
		wantPoints := []string{"-271821-04-20T00:00:00Z", "-271821-04-20T00:00:01Z", "1970-01-01T00:00:00Z", "+053026-09-25T04:06:40Z", "+275760-09-13T00:00:00Z"}
		if n := len(edge.Points.Edges); n != len(wantPoints) {
			t.Fatalf("%d points", n)
		}
		for i, want := range wantPoints {
			if p := edge.Points.Edges[i].Node; p.Time != want {
				t.Errorf("point %d is at %q (%d), want %q", i, p.Time, p.Epoch, want)
			}
		}
		if p := edge.Points.Edges[3].Node; p.Epoch != 1611194818000 || p.Actual != 2147483648 || p.Goal != 9007199254740991 {
			t.Errorf("the legacy point %+v", p)
		}
		// Buckets are aligned on the epoch: the widest interval makes two,
		// the first starting before the domain and reported from its
		// start, the second at the epoch.
		if len(edge.Widest.Counts) != 2 || edge.Widest.Counts[0] != 2 || edge.Widest.Counts[1] != 3 ||
			edge.Widest.Times[0] != "-271821-04-20T00:00:00Z" || edge.Widest.Times[1] != "1970-01-01T00:00:00Z" ||
			edge.Widest.From != "-271821-04-20T00:00:00Z" || edge.Widest.To != "+275760-09-13T00:00:00Z" {
			t.Errorf("the widest series %+v", edge.Widest)
		}
		if edge.Day.From != "+275760-09-12T00:00:00Z" || edge.Day.To != "+275760-09-13T00:00:00Z" || len(edge.Day.Times) != 1 || edge.Day.Times[0] != "+275760-09-13T00:00:00Z" {
			t.Errorf("the last day %+v", edge.Day)
		}
		if len(edge.Week.Times) != 1 || edge.Week.Times[0] != "-271821-04-20T00:00:00Z" || edge.Week.Actual[0] != 2*(1<<53) {
			t.Errorf("the first week %+v", edge.Week)
		}
		var times []string
		for _, p := range edge.Points.Edges {
			times = append(times, p.Node.Time)
		}
		times = append(times, edge.Day.From, edge.Day.To, edge.Widest.From, edge.Widest.To, edge.Summary.FirstTime, edge.Summary.LastTime)
		times = append(append(append(append(times, edge.Day.Times...), edge.Widest.Times...), edge.Week.Times...), edge.M4.Times...)
		for _, tm := range times {
			// Every Time served is one the API takes as input.
			status, a := srv.gql(`query($t: Time!) { factories { edges { node { summary(from: $t) { count } } } } }`, map[string]any{"t": tm})
			if len(a.Errors) > 0 {
				t.Errorf("the API refuses its own Time %q: %d %v", tm, status, a.Errors)
			}
		}

		// GraphQL input takes the edges and the year boundaries in both
		// forms, and serves them back as it writes Times.
		status, a = srv.gql(record, map[string]any{"id": edge.ID, "p": []any{
			pt("-271821-04-20T00:00:02Z", -9007199254740992, 9007199254740992),
			pt("+275760-09-12T23:59:59Z", 9007199254740992, -9007199254740991),
			pt("0000-01-01T00:00:00Z", 1, 1),
			pt("-000001-12-31T23:59:59Z", 1, 1),
			pt("9999-12-31T23:59:59Z", 1, 1),
			pt("+010000-01-01T00:00:00Z", 1, 1),
			pt("+053025-06-14T10:53:20+02:00", 1, 1),
		}})
		if len(a.Errors) > 0 || !strings.Contains(string(a.Data), `"inserted":7`) {
			t.Fatalf("recording the edges over GraphQL: %d %s %v", status, a.Data, a.Errors)
		}
		status, a = srv.gql(`query($id: ID!) { node(id: $id) { ... on Factory { points(first: 20) { edges { node { time } } } } } }`, map[string]any{"id": edge.ID})
		want := `{"node":{"points":{"edges":[{"node":{"time":"-271821-04-20T00:00:00Z"}},{"node":{"time":"-271821-04-20T00:00:01Z"}},{"node":{"time":"-271821-04-20T00:00:02Z"}},` +
			`{"node":{"time":"-000001-12-31T23:59:59Z"}},{"node":{"time":"+000000-01-01T00:00:00Z"}},{"node":{"time":"1970-01-01T00:00:00Z"}},{"node":{"time":"9999-12-31T23:59:59Z"}},` +
			`{"node":{"time":"+010000-01-01T00:00:00Z"}},{"node":{"time":"+053025-06-14T08:53:20Z"}},{"node":{"time":"+053026-09-25T04:06:40Z"}},{"node":{"time":"+275760-09-12T23:59:59Z"}},{"node":{"time":"+275760-09-13T00:00:00Z"}}]}}}`
		if len(a.Errors) > 0 || string(a.Data) != want {
			t.Errorf("the points after recording: %d %v\n%s\nwant\n%s", status, a.Errors, a.Data, want)
		}
	})
}
