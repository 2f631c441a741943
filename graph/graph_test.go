package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sprocketapi/sprocket/graph/generated"
	"github.com/vektah/gqlparser/v2/ast"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/graph/gid"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// gqlEnv is a GraphQL endpoint over a fresh database whose statements are
// counted.
type gqlEnv struct {
	t          *testing.T
	svc        *core.Service
	url        string
	statements atomic.Int64
}

func newGQL(t *testing.T, d string) *gqlEnv {
	t.Helper()
	return newGQLOn(t, testdb.Open(t, d))
}

// newGQLOn is newGQL over a database the test opened itself.
func newGQLOn(t *testing.T, db *database.DB) *gqlEnv {
	t.Helper()
	e := &gqlEnv{t: t}
	drv := dialect.DebugWithContext(db.Driver(), func(context.Context, ...any) { e.statements.Add(1) })
	client := ent.NewClient(ent.Driver(drv))
	e.svc = core.New(client, db.SQL, db.Dialect)
	srv := httptest.NewServer(app.GraphQL(e.svc, nil, gqlhttp.DefaultOptions()))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

type gqlResult struct {
	Data   json.RawMessage
	Errors []struct {
		Message    string
		Path       []any
		Extensions map[string]any
	}
}

// do runs a GraphQL operation and returns its result and the number of SQL
// statements it cost.
func (e *gqlEnv) do(query string, vars map[string]any) (gqlResult, int64) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	before := e.statements.Load()
	res, err := http.Post(e.url, "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out gqlResult
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		e.t.Fatalf("%d: %v", res.StatusCode, err)
	}
	return out, e.statements.Load() - before
}

// ok runs an operation that must succeed and decodes its data into v.
func (e *gqlEnv) ok(query string, vars map[string]any, v any) int64 {
	e.t.Helper()
	res, n := e.do(query, vars)
	if len(res.Errors) > 0 {
		e.t.Fatalf("errors: %+v", res.Errors)
	}
	if err := json.Unmarshal(res.Data, v); err != nil {
		e.t.Fatal(err)
	}
	return n
}

const dashboard = `query($n: Int!) { factories(first: $n) { edges { node { rowId name
	summary { count totalActual attainment }
	series(maxDataPoints: 10) { interval epochs actual goal }
	last: series(maxDataPoints: 4, aggregate: LAST) { actual }
} } } }`

type dashboardData struct {
	Factories struct {
		Edges []struct {
			Node struct {
				RowID   int64
				Summary struct{ Count int64 }
				Series  struct {
					Interval int64
					Epochs   []int64
					Actual   []float64
				}
				Last struct{ Actual []float64 }
			}
		}
	}
}

// TestDashboardCostsTheSameStatementsForOneOrFiftyFactories: series and
// summary are batched across the factories of a result (no N+1).
func TestDashboardCostsTheSameStatementsForOneOrFiftyFactories(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		e := newGQL(t, d)
		ctx := context.Background()
		for f := 0; f < 50; f++ {
			pts := make([]core.Point, 30)
			for i := range pts {
				pts[i] = core.Point{Time: int64(1_700_000_000 + i*60), Actual: float64(f + i), Goal: 10}
			}
			if _, err := e.svc.CreateFactory(ctx, core.FactoryInput{Points: pts}); err != nil {
				t.Fatal(err)
			}
		}
		var one, fifty dashboardData
		n1 := e.ok(dashboard, map[string]any{"n": 1}, &one)
		n50 := e.ok(dashboard, map[string]any{"n": 50}, &fifty)
		if len(one.Factories.Edges) != 1 || len(fifty.Factories.Edges) != 50 {
			t.Fatalf("got %d and %d factories", len(one.Factories.Edges), len(fifty.Factories.Edges))
		}
		if n1 != n50 {
			t.Errorf("1 factory cost %d statements, 50 cost %d", n1, n50)
		}
		t.Logf("statements for 1 and for 50 factories: %d, %d", n1, n50)
		for i, edge := range fifty.Factories.Edges {
			node := edge.Node
			if node.RowID != int64(i+1) || node.Summary.Count != 30 || len(node.Series.Epochs) == 0 || len(node.Series.Epochs) > 10 {
				t.Fatalf("factory %d: %+v", i, node)
			}
			if got, want := node.Last.Actual[len(node.Last.Actual)-1], float64(i+29); got != want {
				t.Errorf("factory %d: last value %v, want %v", i, got, want)
			}
		}
	})
}

func TestPointsConnectionPagesThroughAWindow(t *testing.T) {
	e := newGQL(t, testdb.Dialects[1])
	ctx := context.Background()
	pts := make([]core.Point, 120)
	for i := range pts {
		pts[i] = core.Point{Time: int64(1_700_000_000 + i*60), Actual: float64(i), Goal: 1}
	}
	f, err := e.svc.CreateFactory(ctx, core.FactoryInput{Points: pts})
	if err != nil {
		t.Fatal(err)
	}
	const q = `query($id: Int64!, $after: Cursor) { factoryByRowId(rowId: $id) {
		points(from: "2023-11-14T22:15:00Z", to: "2023-11-14T23:15:00Z", first: 25, after: $after) {
			totalCount edges { cursor node { epoch actual time } } pageInfo { hasNextPage endCursor } } } }`
	var got []int64
	var after any
	for page := 0; page < 10; page++ {
		var data struct {
			FactoryByRowId struct {
				Points struct {
					TotalCount int64
					Edges      []struct{ Node struct{ Epoch int64 } }
					PageInfo   struct {
						HasNextPage bool
						EndCursor   string
					}
				}
			}
		}
		e.ok(q, map[string]any{"id": f.ID, "after": after}, &data)
		p := data.FactoryByRowId.Points
		if p.TotalCount != 60 {
			t.Fatalf("totalCount %d, want 60", p.TotalCount)
		}
		for _, edge := range p.Edges {
			got = append(got, edge.Node.Epoch)
		}
		if !p.PageInfo.HasNextPage {
			break
		}
		after = p.PageInfo.EndCursor
	}
	if len(got) != 60 || got[0] != 1700000120 || got[59] != 1700000120+59*60 {
		t.Errorf("paged %d points: first %v", len(got), got[:min(3, len(got))])
	}
	// Newest first, only those at or above 100: the points 100..119.
	var desc struct {
		FactoryByRowId struct {
			Points struct {
				TotalCount int64
				Edges      []struct{ Node struct{ Actual float64 } }
			}
		}
	}
	e.ok(`query($id: Int64!) { factoryByRowId(rowId: $id) {
		points(first: 3, orderBy: {direction: DESC, field: TIME}, where: {actualGTE: 100}) {
			totalCount edges { node { actual } } } } }`, map[string]any{"id": f.ID}, &desc)
	p := desc.FactoryByRowId.Points
	if p.TotalCount != 20 || len(p.Edges) != 3 || p.Edges[0].Node.Actual != 119 || p.Edges[2].Node.Actual != 117 {
		t.Errorf("descending filtered page: %+v", p)
	}
}

func TestMutationsValidateAndNameTheField(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		e := newGQL(t, d)
		var created struct {
			CreateSprocket struct {
				ID    string
				RowID int64
			}
		}
		e.ok(`mutation { createSprocket(input: {teeth: 20, pitchDiameter: 10, outsideDiameter: 11, pitch: 2}) { id rowId } }`, nil, &created)
		id := created.CreateSprocket.ID
		var upd struct {
			UpdateSprocket struct {
				Teeth int
				Pitch float64
			}
		}
		e.ok(`mutation($id: ID!) { updateSprocket(id: $id, input: {teeth: 21}) { teeth pitch } }`, map[string]any{"id": id}, &upd)
		if upd.UpdateSprocket.Teeth != 21 || upd.UpdateSprocket.Pitch != 2 {
			t.Errorf("patch: %+v", upd)
		}
		var fac struct {
			CreateFactory struct {
				ID   string
				Name string
			}
		}
		e.ok(`mutation { createFactory(input: {points: [{time: "2026-01-01T00:00:00Z", actual: 1, goal: 2}]}) { id name } }`, nil, &fac)
		if fac.CreateFactory.Name != "Factory 1" {
			t.Errorf("factory name %q", fac.CreateFactory.Name)
		}
		var rec struct {
			RecordProduction struct{ Inserted, Updated int }
		}
		e.ok(`mutation($f: ID!) { recordProduction(factoryId: $f, mode: UPSERT, points: [
			{time: "2026-01-01T00:00:00Z", actual: 5, goal: 2}, {time: "2026-01-01T00:01:00Z", actual: 6, goal: 2}]) { inserted updated } }`,
			map[string]any{"f": fac.CreateFactory.ID}, &rec)
		if rec.RecordProduction.Inserted != 1 || rec.RecordProduction.Updated != 1 {
			t.Errorf("record: %+v", rec)
		}
		bad := []struct {
			name, query string
			vars        map[string]any
			code, field string
		}{
			// extensions.field is the argument path, whoever found the error
			// (scalar coercion, resolver or core): the argument's name, then
			// input fields after dots and list indexes in brackets.
			{"zero teeth", `mutation { createSprocket(input: {teeth: 0, pitchDiameter: 1, outsideDiameter: 1, pitch: 1}) { id } }`, nil, "BAD_USER_INPUT", "input.teeth"},
			{"a negative pitch diameter", `mutation { createSprocket(input: {teeth: 3, pitchDiameter: -1, outsideDiameter: 1, pitch: 1}) { id } }`, nil, "BAD_USER_INPUT", "input.pitchDiameter"},
			{"a negative pitch in a patch", `mutation($id: ID!) { updateSprocket(id: $id, input: {pitch: -1}) { id } }`, map[string]any{"id": id}, "BAD_USER_INPUT", "input.pitch"},
			{"a factory id to updateSprocket", `mutation($id: ID!) { updateSprocket(id: $id, input: {pitch: 1}) { id } }`, map[string]any{"id": fac.CreateFactory.ID}, "BAD_USER_INPUT", "id"},
			{"a malformed id to updateSprocket", `mutation { updateSprocket(id: "nope", input: {pitch: 1}) { id } }`, nil, "BAD_USER_INPUT", "id"},
			{"a factory id to deleteSprocket", `mutation($id: ID!) { deleteSprocket(id: $id) }`, map[string]any{"id": fac.CreateFactory.ID}, "BAD_USER_INPUT", "id"},
			{"an empty name", `mutation { createFactory(input: {name: ""}) { id } }`, nil, "BAD_USER_INPUT", "input.name"},
			{"a name too long on create", `mutation($n: String!) { createFactory(input: {name: $n}) { id } }`, map[string]any{"n": fmt.Sprintf("%0201d", 0)}, "BAD_USER_INPUT", "input.name"},
			{"a repeated time", `mutation { createFactory(input: {points: [{time: "2026-01-01T00:00:00Z", actual: 1, goal: 1}, {time: "2026-01-01T00:00:00Z", actual: 1, goal: 1}]}) { id } }`, nil, "BAD_USER_INPUT", "input.points[1].time"},
			{"a fractional second on create", `mutation { createFactory(input: {points: [{time: "2026-01-01T00:00:00Z", actual: 1, goal: 1}, {time: "2026-01-01T00:00:01.5Z", actual: 1, goal: 1}]}) { id } }`, nil, "BAD_USER_INPUT", "input.points[1].time"},
			{"an actual out of bounds on create", `mutation { createFactory(input: {points: [{time: "2026-01-01T00:00:00Z", actual: 1e300, goal: 1}]}) { id } }`, nil, "BAD_USER_INPUT", "input.points[0].actual"},
			{"a time that is no time on create", `mutation { createFactory(input: {points: [{time: "2026-01-01T00:00:00Z", actual: 1, goal: 1}, {time: "yesterday", actual: 1, goal: 1}]}) { id } }`, nil, "BAD_USER_INPUT", "input.points[1].time"},
			{"a time that is no time in a variable", `mutation($p: [PointInput!]) { createFactory(input: {points: $p}) { id } }`, map[string]any{"p": []any{map[string]any{"time": "yesterday", "actual": 1, "goal": 1}}}, "BAD_USER_INPUT", "input.points[0].time"},
			{"a name too long", `mutation($f: ID!, $n: String!) { updateFactory(id: $f, input: {name: $n}) { id } }`, map[string]any{"f": fac.CreateFactory.ID, "n": fmt.Sprintf("%0201d", 0)}, "BAD_USER_INPUT", "input.name"},
			{"a sprocket id to updateFactory", `mutation($f: ID!) { updateFactory(id: $f, input: {name: "x"}) { id } }`, map[string]any{"f": id}, "BAD_USER_INPUT", "id"},
			{"a sprocket id to deleteFactory", `mutation($f: ID!) { deleteFactory(id: $f) }`, map[string]any{"f": id}, "BAD_USER_INPUT", "id"},
			{"a fractional second", `mutation($f: ID!) { recordProduction(factoryId: $f, points: [{time: "2026-01-01T00:00:00.5Z", actual: 1, goal: 1}]) { inserted } }`, map[string]any{"f": fac.CreateFactory.ID}, "BAD_USER_INPUT", "points[0].time"},
			{"a repeated time in a batch", `mutation($f: ID!) { recordProduction(factoryId: $f, points: [{time: "2026-01-01T00:05:00Z", actual: 1, goal: 1}, {time: "2026-01-01T00:06:00Z", actual: 1, goal: 1}, {time: "2026-01-01T00:05:00Z", actual: 1, goal: 1}]) { inserted } }`, map[string]any{"f": fac.CreateFactory.ID}, "BAD_USER_INPUT", "points[2].time"},
			{"a goal out of bounds", `mutation($f: ID!) { recordProduction(factoryId: $f, points: [{time: "2026-01-01T00:05:00Z", actual: 1, goal: -1e300}]) { inserted } }`, map[string]any{"f": fac.CreateFactory.ID}, "BAD_USER_INPUT", "points[0].goal"},
			{"an empty batch", `mutation($f: ID!) { recordProduction(factoryId: $f, points: []) { inserted } }`, map[string]any{"f": fac.CreateFactory.ID}, "BAD_USER_INPUT", "points"},
			{"an existing time on append", `mutation($f: ID!) { recordProduction(factoryId: $f, points: [{time: "2026-01-01T00:01:00Z", actual: 1, goal: 1}]) { inserted } }`, map[string]any{"f": fac.CreateFactory.ID}, "CONFLICT", "points[0].time"},
			{"a sprocket id where a factory id belongs", `mutation($f: ID!) { recordProduction(factoryId: $f, points: [{time: "2026-01-01T00:09:00Z", actual: 1, goal: 1}]) { inserted } }`, map[string]any{"f": id}, "BAD_USER_INPUT", "factoryId"},
			{"maxDataPoints over the limit", `{ factories(first: 1) { edges { node { series(maxDataPoints: 10001) { epochs } } } } }`, nil, "BAD_USER_INPUT", "maxDataPoints"},
			{"a window backwards", `{ factories(first: 1) { edges { node { summary(from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z") { count } } } } }`, nil, "BAD_USER_INPUT", "to"},
			{"a page over the limit", `{ sprockets(first: 5000) { edges { node { id } } } }`, nil, "BAD_USER_INPUT", "first"},
			{"a points page over the limit", `query($f: ID!) { node(id: $f) { ... on Factory { points(last: 5000) { totalCount } } } }`, map[string]any{"f": fac.CreateFactory.ID}, "BAD_USER_INPUT", "last"},
		}
		for _, c := range bad {
			res, _ := e.do(c.query, c.vars)
			if len(res.Errors) == 0 {
				t.Errorf("%s: accepted", c.name)
				continue
			}
			ext := res.Errors[0].Extensions
			if ext["code"] != c.code || ext["field"] != c.field || len(res.Errors[0].Path) == 0 {
				t.Errorf("%s: got %+v, want code %s field %s and a path", c.name, res.Errors[0], c.code, c.field)
			}
		}
		// Nothing of the refused mutations was written.
		var check struct {
			Sprockets struct{ TotalCount int }
			Factories struct {
				Edges []struct {
					Node struct{ Summary struct{ Count int64 } }
				}
			}
		}
		e.ok(`{ sprockets { totalCount } factories { edges { node { summary { count } } } } }`, nil, &check)
		if check.Sprockets.TotalCount != 1 || len(check.Factories.Edges) != 1 || check.Factories.Edges[0].Node.Summary.Count != 2 {
			t.Errorf("state after refused mutations: %+v", check)
		}
	})
}

// TestNodesResolveInOneQueryAType: nodes(ids:) answers in the order asked,
// null for an id of no row, and costs one statement a type however many
// ids are asked for.
func TestNodesResolveInOneQueryAType(t *testing.T) {
	e := newGQL(t, testdb.Dialects[1])
	ctx := context.Background()
	var ids []string
	for i := 0; i < 3; i++ {
		f, err := e.svc.CreateFactory(ctx, core.FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.svc.CreateSprocket(ctx, core.SprocketInput{Teeth: 10 + i, PitchDiameter: 1, OutsideDiameter: 2, Pitch: 1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, gid.New(gid.Factory, f.ID).String(), gid.New(gid.Sprocket, s.ID).String())
	}
	missing := gid.New(gid.Factory, 9999).String()
	const q = `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Sprocket { teeth } ... on Factory { name } } }`
	var one, many struct{ Nodes []map[string]any }
	n1 := e.ok(q, map[string]any{"ids": ids[:1]}, &one)
	asked := append(append([]string{}, ids...), missing)
	n7 := e.ok(q, map[string]any{"ids": asked}, &many)
	if len(many.Nodes) != 7 || many.Nodes[6] != nil {
		t.Fatalf("nodes: %+v", many.Nodes)
	}
	for i, id := range ids {
		if many.Nodes[i]["id"] != id {
			t.Errorf("node %d: %v, want %s", i, many.Nodes[i], id)
		}
	}
	if n7 > n1+1 {
		t.Errorf("1 id cost %d statements, 7 ids of two types cost %d", n1, n7)
	}
}

// TestEveryFieldThatListsFactoriesBatchesTheirCharts: every field of the
// schema that can return several factories (a list, a connection, a list
// of nodes) costs the same statements for the charts of one factory as
// for fifty. A new such field fails here until it is added to the table,
// so it cannot go N+1 unnoticed.
func TestEveryFieldThatListsFactoriesBatchesTheirCharts(t *testing.T) {
	charts := `series(maxDataPoints: 10) { epochs actual } summary { count }
		m4: series(maxDataPoints: 12, aggregate: M4) { epochs actual } lttb: series(maxDataPoints: 10, aggregate: LTTB) { epochs actual }
		first: series(maxDataPoints: 10, aggregate: FIRST) { actual }`
	queries := map[string]string{
		"Query.factories": `query($n: Int!) { factories(first: $n) { edges { node { ` + charts + ` } } } }`,
		"Query.nodes":     `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Factory { ` + charts + ` } } }`,
	}
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	lists := func(typ *ast.Type) bool {
		if typ.Elem == nil {
			return typ.NamedType == "FactoryConnection"
		}
		return typ.Elem.Name() == "Factory" || typ.Elem.Name() == "Node"
	}
	var fields []string
	for _, def := range schema.Types {
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") || !lists(f.Type) {
				continue
			}
			name := def.Name + "." + f.Name
			fields = append(fields, name)
			if queries[name] == "" {
				t.Errorf("%s can return several factories: add a query through it to this test", name)
			}
		}
	}
	if len(fields) != len(queries) {
		t.Fatalf("fields that list factories: %v; the table has %d", fields, len(queries))
	}
	testdb.Each(t, func(t *testing.T, d string) {
		e := newGQL(t, d)
		ctx := context.Background()
		var ids []string
		for f := 0; f < 50; f++ {
			pts := []core.Point{{Time: 1_700_000_000, Actual: float64(f), Goal: 1}, {Time: 1_700_000_060, Actual: 1, Goal: 1}}
			fac, err := e.svc.CreateFactory(ctx, core.FactoryInput{Points: pts})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, gid.New("Factory", fac.ID).String())
		}
		for name, q := range queries {
			var v any
			n1 := e.ok(q, map[string]any{"n": 1, "ids": ids[:1]}, &v)
			n50 := e.ok(q, map[string]any{"n": 50, "ids": ids}, &v)
			if n1 != n50 {
				t.Errorf("%s: the charts of 1 factory cost %d statements, of 50 %d", name, n1, n50)
			}
		}
	})
}
