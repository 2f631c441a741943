package graph_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// connection is a cursor connection as a test pages it: the query (with
// $c for the cursor and $arg naming after or before), and where its page
// is in the answer.
type connection struct {
	name  string
	query func(arg string) string // a query of one page of 2, given $c
	path  []any                   // the connection's field path
	page  func(data json.RawMessage) connPage
}

type connPage struct {
	Edges    []struct{ Cursor string }
	PageInfo struct{ StartCursor, EndCursor string }
}

// cursorBytes is base64 (unpadded, as entgql writes it) of raw msgpack.
func cursorBytes(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// cursorOf encodes v as a cursor.
func cursorOf(t *testing.T, v any) string {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return cursorBytes(b)
}

// decodeCursor is the map a cursor holds.
func decodeCursor(t *testing.T, c string) map[string]any {
	t.Helper()
	b, err := base64.RawStdEncoding.DecodeString(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := msgpack.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTamperedCursorsAreBadUserInputOnEveryConnection: a cursor that is
// not one the connection could have returned — bad base64 or msgpack,
// bytes after it, a map or list or value of the wrong type or count for
// the order of the query, an id of the wrong type or missing, keys added
// or missing, values no column holds (huge, NaN, NUL, beyond the time
// domain) — is refused as BAD_USER_INPUT "Invalid cursor" on the
// argument's path (extensions.field after or before), on every connection
// and every order field (read from the schema), on both databases, with
// nothing logged at ERROR; the connections' own cursors still page.
func TestTamperedCursorsAreBadUserInputOnEveryConnection(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		e := newGQL(t, d)
		ctx := context.Background()
		for i := range 3 {
			if _, err := e.svc.CreateSprocket(ctx, core.SprocketInput{Teeth: 20 + i, PitchDiameter: 10 + float64(i), OutsideDiameter: 11, Pitch: 2.5}); err != nil {
				t.Fatal(err)
			}
			pts := []core.Point{{Time: 1_700_000_000 + int64(i), Actual: 1, Goal: 2}, {Time: 1_700_000_100, Actual: 3, Goal: 2}, {Time: 1_700_000_200, Actual: 1, Goal: 1}}
			if _, err := e.svc.CreateFactory(ctx, core.FactoryInput{Name: fmt.Sprintf("F%d", 3-i), Points: pts}); err != nil {
				t.Fatal(err)
			}
		}
		logs := testlog.Capture(t, slog.LevelDebug)

		var conns []connection
		rows := func(field, typ string) {
			var schema struct {
				Type struct{ EnumValues []struct{ Name string } } `json:"__type"`
			}
			e.ok(fmt.Sprintf(`{ __type(name: %q) { enumValues { name } } }`, typ+"OrderField"), nil, &schema)
			var orders []string
			for _, v := range schema.Type.EnumValues {
				orders = append(orders, v.Name)
			}
			if len(orders) < 3 {
				t.Fatalf("%s order fields: %v", typ, orders)
			}
			orderArgs := []string{""} // no orderBy
			for _, o := range orders {
				orderArgs = append(orderArgs, fmt.Sprintf("orderBy: [{field: %s}]", o), fmt.Sprintf("orderBy: [{field: %s, direction: DESC}]", o))
			}
			orderArgs = append(orderArgs, fmt.Sprintf("orderBy: [{field: %s}, {field: %s, direction: DESC}]", orders[len(orders)-1], orders[0]))
			for _, o := range orderArgs {
				conns = append(conns, connection{
					name: field + "(" + o + ")",
					query: func(arg string) string {
						size := "first"
						if arg == "before" {
							size = "last"
						}
						return fmt.Sprintf(`query($c: Cursor) { %s(%s: 2, %s: $c, %s) { edges { cursor } pageInfo { startCursor endCursor } } }`, field, size, arg, o)
					},
					path: []any{field},
					page: func(data json.RawMessage) connPage {
						var p map[string]connPage
						if err := json.Unmarshal(data, &p); err != nil {
							t.Fatal(err)
						}
						return p[field]
					},
				})
			}
		}
		rows("factories", "Factory")
		rows("sprockets", "Sprocket")
		for _, dir := range []string{"ASC", "DESC"} {
			conns = append(conns, connection{
				name: "points(" + dir + ")",
				query: func(arg string) string {
					size := "first"
					if arg == "before" {
						size = "last"
					}
					return fmt.Sprintf(`query($c: Cursor) { factoryByRowId(rowId: 1) { points(%s: 2, %s: $c, orderBy: {direction: %s}) {
						edges { cursor } pageInfo { startCursor endCursor } } } }`, size, arg, dir)
				},
				path: []any{"factoryByRowId", "points"},
				page: func(data json.RawMessage) connPage {
					var p struct{ FactoryByRowId struct{ Points connPage } }
					if err := json.Unmarshal(data, &p); err != nil {
						t.Fatal(err)
					}
					return p.FactoryByRowId.Points
				},
			})
		}

		valueOfEveryKind := []any{"F1", int64(20), 2.5, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), true, nil, []any{1}, map[string]any{"a": 1}}
		kindOf := func(v any) string {
			switch v.(type) {
			case string:
				return "string"
			case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
				return "int"
			case float32, float64:
				return "float"
			case time.Time:
				return "time"
			}
			return fmt.Sprintf("%T", v)
		}
		for _, c := range conns {
			for _, arg := range []string{"after", "before"} {
				// The connection's own cursor, from its first page, fetches
				// the page beyond it.
				res, _ := e.do(c.query(arg), map[string]any{"c": nil})
				if len(res.Errors) > 0 {
					t.Fatalf("%s: %+v", c.name, res.Errors)
				}
				first := c.page(res.Data)
				if len(first.Edges) != 2 {
					t.Fatalf("%s %s: a page of %d", c.name, arg, len(first.Edges))
				}
				edge := first.PageInfo.EndCursor
				if arg == "before" {
					edge = first.PageInfo.StartCursor
				}
				res, _ = e.do(c.query(arg), map[string]any{"c": edge})
				if len(res.Errors) > 0 {
					t.Fatalf("%s %s its own cursor: %+v", c.name, arg, res.Errors)
				}
				if next := c.page(res.Data); len(next.Edges) == 0 || slices.ContainsFunc(next.Edges, func(x struct{ Cursor string }) bool {
					return x.Cursor == first.Edges[0].Cursor || x.Cursor == first.Edges[1].Cursor
				}) {
					t.Errorf("%s %s its own cursor: %+v then %+v", c.name, arg, first, next)
				}

				good := decodeCursor(t, edge)
				values, _ := good["v"].([]any)
				id := good["i"]
				with := func(change func(m map[string]any)) string {
					m := map[string]any{}
					for k, v := range good {
						m[k] = v
					}
					if values != nil {
						m["v"] = slices.Clone(values)
					}
					change(m)
					return cursorOf(t, m)
				}
				raw, _ := base64.RawStdEncoding.DecodeString(edge)
				shapes := map[string]string{
					"empty":                   "",
					"bad base64":              "!!not*base64",
					"bad msgpack":             cursorBytes([]byte{0xc1}),
					"truncated":               cursorBytes(raw[:len(raw)-1]),
					"bytes after it":          cursorBytes(append(slices.Clone(raw), 0)),
					"an array":                cursorOf(t, []any{id, values}),
					"a string":                cursorOf(t, "cursor"),
					"id a string":             with(func(m map[string]any) { m["i"] = "1" }),
					"id a float":              with(func(m map[string]any) { m["i"] = 1.5 }),
					"id nil":                  with(func(m map[string]any) { m["i"] = nil }),
					"id beyond int64":         with(func(m map[string]any) { m["i"] = uint64(math.MaxUint64) }),
					"no id":                   with(func(m map[string]any) { delete(m, "i") }),
					"an extra key":            with(func(m map[string]any) { m["x"] = 1 }),
					"values a map":            with(func(m map[string]any) { m["v"] = map[string]any{"a": 1} }),
					"values a list of a list": with(func(m map[string]any) { m["v"] = []any{[]any{1, 2}} }),
					"values a scalar":         with(func(m map[string]any) { m["v"] = 5 }),
					"values one more":         with(func(m map[string]any) { m["v"] = append(slices.Clone(values), "x") }),
				}
				if padded := base64.StdEncoding.EncodeToString(raw); padded != edge {
					shapes["padded base64"] = padded
				}
				if strings.HasPrefix(c.name, "points") {
					shapes["values on a points cursor"] = with(func(m map[string]any) { m["v"] = []any{} })
					shapes["a time before the domain"] = with(func(m map[string]any) { m["i"] = core.MinTime - 1 })
					shapes["a time after the domain"] = with(func(m map[string]any) { m["i"] = core.MaxTime + 1 })
					shapes["the largest id"] = with(func(m map[string]any) { m["i"] = int64(math.MaxInt64) })
				} else {
					shapes["id 0"] = with(func(m map[string]any) { m["i"] = 0 })
					shapes["id negative"] = with(func(m map[string]any) { m["i"] = -5 })
				}
				if len(values) > 0 {
					shapes["no values"] = with(func(m map[string]any) { delete(m, "v") })
					shapes["values nil"] = with(func(m map[string]any) { m["v"] = nil })
					shapes["values one fewer"] = with(func(m map[string]any) { m["v"] = values[:len(values)-1] })
					for j, v := range values {
						k := kindOf(v)
						for _, w := range valueOfEveryKind {
							if kindOf(w) != k {
								shapes[fmt.Sprintf("value %d a %s for a %s", j, kindOf(w), k)] = with(func(m map[string]any) { m["v"].([]any)[j] = w })
							}
						}
						var huge []any
						switch k {
						case "string":
							huge = []any{strings.Repeat("é", core.MaxNameLength+1), "a\x00b", "a\xffb"}
						case "int":
							huge = []any{uint64(math.MaxInt64) + 1}
						case "float":
							huge = []any{math.NaN(), math.Inf(1), math.Inf(-1)}
						case "time":
							huge = []any{time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)}
						}
						for n, h := range huge {
							shapes[fmt.Sprintf("value %d a %s no column holds (%d)", j, k, n)] = with(func(m map[string]any) { m["v"].([]any)[j] = h })
						}
					}
				} else if !strings.HasPrefix(c.name, "points") {
					shapes["a value unordered"] = with(func(m map[string]any) { m["v"] = []any{"F1"} })
				}
				for name, cursor := range shapes {
					res, _ := e.do(c.query(arg), map[string]any{"c": cursor})
					wantPath := fmt.Sprint(append(slices.Clone(c.path), arg))
					if len(res.Errors) != 1 || res.Errors[0].Extensions["code"] != "BAD_USER_INPUT" ||
						res.Errors[0].Extensions["field"] != arg || fmt.Sprint(res.Errors[0].Path) != wantPath ||
						!strings.HasPrefix(res.Errors[0].Message, "Invalid cursor") {
						t.Errorf("%s %s %s: %+v", c.name, arg, name, res.Errors)
					}
				}
			}
		}
		if l := logs.String(); strings.Contains(l, "level=ERROR") || strings.Contains(l, "INTERNAL") {
			t.Errorf("logged:\n%.3000s", l)
		}
	})
}
