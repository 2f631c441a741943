package server_test

import (
	"encoding/json"
	"fmt"
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
// the domain (|actual|, |goal| <= 1e15; years 0001-9999), names with
// control characters or invalid UTF-8, and chart arguments whose bucket
// arithmetic could overflow are refused with a clear 400 / BAD_USER_INPUT
// and change nothing, on both interfaces and both databases; values at the
// very edges of the domain are stored, and every read of them works.
func TestTheValueDomainIsTheSameOnRESTAndGraphQL(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
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
				{"two points of 1e308 in one hour", "POST", "/v1/factories", factoryBody("[1e308, 1e308]", "[1, 1]", "[7200, 7201]"), "points[0].actual must be from -1e15 to 1e15"},
				{"a goal just past 1e15", "POST", "/v1/factories", factoryBody("[1]", "[1000000000000001]", "[7200]"), "points[0].goal must be from -1e15 to 1e15"},
				{"time MaxInt64", "POST", "/v1/factories", factoryBody("[1]", "[1]", "[9223372036854775807]"), "points[0].time must be from -62135596800"},
				{"time MinInt64", "POST", "/v1/factories", factoryBody("[1]", "[1]", "[-9223372036854775808]"), "points[0].time must be from -62135596800"},
				{"time in year 10000", "POST", "/v1/factories", factoryBody("[1, 1]", "[1, 1]", "[0, 253402300800]"), "points[1].time must be from -62135596800 (0001-01-01T00:00:00Z) to 253402300799 (9999-12-31T23:59:59Z)"},
				{"time 1e20, beyond int64", "POST", "/v1/factories", factoryBody("[1]", "[1]", "[1e20]"), "points[0].time must be from -62135596800"},
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
			for _, c := range []struct {
				name  string
				query string
				vars  map[string]any
				texts []string
			}{
				{"two points of 1e308", record, map[string]any{"id": fid, "p": []any{pt("1970-01-01T02:00:00Z", 1e308, 1), pt("1970-01-01T02:00:01Z", 1e308, 1)}}, []string{"points[0].actual", "1e15"}},
				{"a goal of -1e16", record, map[string]any{"id": fid, "p": []any{pt("1970-01-01T02:00:00Z", 1, -1e16)}}, []string{"points[0].goal", "1e15"}},
				{"a time whose offset makes it year 10000", record, map[string]any{"id": fid, "p": []any{pt("9999-12-31T23:59:59-01:00", 1, 1)}}, []string{"0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"}},
				{"a time whose offset makes it year 0", record, map[string]any{"id": fid, "p": []any{pt("0001-01-01T00:00:00+01:00", 1, 1)}}, []string{"0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"}},
				{"an empty time", record, map[string]any{"id": fid, "p": []any{pt("", 1, 1)}}, []string{"RFC 3339"}},
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
				})
			}
			if after := state(); after != before {
				t.Fatalf("refused GraphQL requests changed the data:\n%s\n%s", before, after)
			}

			// The edges of the domain are accepted on REST and served by
			// every GraphQL read as Times the API's own input takes back.
			if got := srv.do("POST", "/v1/factories", jsonHeaders(), ptr(
				`{"factory": {"name": "`+strings.Repeat("é", 150)+`", "chart_data": {"sprocket_production_actual": [1e15, 1e15, -1e15, 1e15], "sprocket_production_goal": [-1e15, 1e15, 1e15, 1e15], "time": [-62135596800, -62135596799, 0, 253402300799]}}}`)); got.status != 201 {
				t.Fatalf("the edges of the domain: %d %s", got.status, got.body)
			}
			q := fmt.Sprintf(`{ factories { edges { node { name
				points(first: 10) { edges { node { time epoch actual } } }
				day: series(interval: 86400, from: "9999-12-01T00:00:00Z") { from to times epochs actual counts }
				widest: series(interval: %d, from: "0001-01-01T00:00:00Z", to: "9999-12-31T23:59:59.5Z") { from to times counts }
				week: series(interval: 604800, to: "0001-03-01T00:00:00Z", aggregate: SUM) { times actual }
				m4: series(maxDataPoints: 8, aggregate: M4) { times }
				summary { count totalActual firstTime lastTime attainment } } } } }`, core.MaxInterval)
			status, a = srv.gql(q, nil)
			if len(a.Errors) > 0 {
				t.Fatalf("reads of the domain's edges failed: %d %v", status, a.Errors)
			}
			var res struct {
				Factories struct {
					Edges []struct {
						Node struct {
							Name   string
							Points struct {
								Edges []struct{ Node struct{ Time string } }
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
							Week    struct{ Times []string }
							M4      struct{ Times []string }
							Summary struct {
								Count               int64
								TotalActual         float64
								FirstTime, LastTime string
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
			if edge.Summary.Count != 4 || edge.Summary.TotalActual != 2e15 || edge.Summary.FirstTime != "0001-01-01T00:00:00Z" || edge.Summary.LastTime != "9999-12-31T23:59:59Z" {
				t.Errorf("summary %+v", edge.Summary)
			}
			// Buckets are aligned on the epoch: the widest interval makes two,
			// the first starting before year 1 and reported from its start.
			if len(edge.Widest.Counts) != 2 || edge.Widest.Counts[0]+edge.Widest.Counts[1] != 4 ||
				edge.Widest.Times[0] != "0001-01-01T00:00:00Z" || edge.Widest.To != "9999-12-31T23:59:59Z" {
				t.Errorf("the widest series %+v", edge.Widest)
			}
			if edge.Day.To != "9999-12-31T23:59:59Z" || len(edge.Day.Times) != 1 || edge.Day.Times[0] != "9999-12-31T00:00:00Z" {
				t.Errorf("the last day %+v", edge.Day)
			}
			if len(edge.Week.Times) != 1 || edge.Week.Times[0] != "0001-01-01T00:00:00Z" {
				t.Errorf("the first week %+v", edge.Week)
			}
			var times []string
			for _, p := range edge.Points.Edges {
				times = append(times, p.Node.Time)
			}
			times = append(times, edge.Day.From, edge.Day.To, edge.Widest.From, edge.Widest.To)
			times = append(append(append(append(times, edge.Day.Times...), edge.Widest.Times...), edge.Week.Times...), edge.M4.Times...)
			for _, tm := range times {
				// Every Time served is one the API takes as input.
				status, a := srv.gql(`query($t: Time!) { factories { edges { node { summary(from: $t) { count } } } } }`, map[string]any{"t": tm})
				if len(a.Errors) > 0 {
					t.Errorf("the API refuses its own Time %q: %d %v", tm, status, a.Errors)
				}
			}
		})
	}
}
