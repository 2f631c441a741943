package gqlhttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"github.com/sprocketapi/sprocket/graph/gid"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// TestNumberLiteralsBeyondGoRangeAreBadUserInput: a number literal that
// no Go number holds, given to a custom scalar (Int64, Time) or through a
// fragment, is refused like the same number in a variable — a
// BAD_USER_INPUT field error with path and extensions.field — with no
// panic and nothing logged at ERROR; Int and Float literals are refused by
// validation. The same documents give the same answers a second time (the
// cached document is not changed).
func TestNumberLiteralsBeyondGoRangeAreBadUserInput(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			e := newEndpoint(t, d, gqlhttp.DefaultOptions())
			e.seed()
			logs := testlog.Capture(t, slog.LevelDebug)
			cases := []struct {
				name, query string
				vars        map[string]any
				code, field string
				path        []any
			}{
				{"a huge Int64 literal", `{ factoryByRowId(rowId: 99999999999999999999999) { id } }`, nil,
					"BAD_USER_INPUT", "rowId", []any{"factoryByRowId", "rowId"}},
				{"a huge Float literal for Int64", `{ factoryByRowId(rowId: 1e400) { id } }`, nil,
					"BAD_USER_INPUT", "rowId", []any{"factoryByRowId", "rowId"}},
				{"a huge Time literal in a fragment", `{ ...F } fragment F on Query { factoryByRowId(rowId: 1) { ...G } }
					fragment G on Factory { points(from: 99999999999999999999999) { totalCount } }`, nil,
					"BAD_USER_INPUT", "from", []any{"factoryByRowId", "points", "from"}},
				{"a huge Int64 variable", `query($r: Int64!) { factoryByRowId(rowId: $r) { id } }`, map[string]any{"r": json.Number("99999999999999999999999")},
					"BAD_USER_INPUT", "rowId", []any{"factoryByRowId", "rowId"}},
				{"a huge Int variable", `query($n: Int) { factories(first: $n) { totalCount } }`, map[string]any{"n": json.Number("99999999999999999999")},
					"BAD_USER_INPUT", "", []any{"variable", "n"}},
				{"a huge Int literal", `{ factoryByRowId(rowId: 1) { points(first: 99999999999999999999) { totalCount } } }`, nil,
					"GRAPHQL_VALIDATION_FAILED", "", nil},
				{"a huge Float literal for Int", `{ factoryByRowId(rowId: 1) { series(maxDataPoints: 1e400) { interval } } }`, nil,
					"GRAPHQL_VALIDATION_FAILED", "", nil},
			}
			for round := 0; round < 2; round++ {
				for _, c := range cases {
					a := e.post("", map[string]any{"query": c.query, "variables": c.vars})
					if a.status != http.StatusOK || a.code() != c.code {
						t.Errorf("%s: %d %s", c.name, a.status, a.raw)
						continue
					}
					got := a.Errors[0]
					if f, _ := got.Extensions["field"].(string); f != c.field || fmt.Sprint(got.Path) != fmt.Sprint(c.path) {
						t.Errorf("%s: field %q path %v, want %q %v", c.name, f, got.Path, c.field, c.path)
					}
					if strings.Contains(got.Message, "strconv") || strings.Contains(got.Message, "9223372036854775807") {
						t.Errorf("%s: message %q", c.name, got.Message)
					}
				}
			}
			if l := logs.String(); strings.Contains(l, "level=ERROR") || strings.Contains(l, "panic") {
				t.Errorf("logged:\n%s", l)
			}
			// The server still answers a valid query with the same shape.
			e.mustQuery(`{ factoryByRowId(rowId: 1) { id points(from: "2026-01-01T00:00:00Z") { totalCount } } }`)
		})
	}
}

// TestASubscriptionSelectsOneRootField: two root fields, even two aliases
// of the same field, are a validation error (the specification's "Single
// root field" rule) over POST, SSE and WebSocket.
func TestASubscriptionSelectsOneRootField(t *testing.T) {
	e := newLiveEndpoint(t, testdb.Dialects[0], gqlhttp.DefaultOptions(), oneShotLive{{Time: 1_700_000_000, Actual: 1, Goal: 1}})
	e.seed()
	id := gid.New(gid.Factory, 1).String()
	queries := []string{
		fmt.Sprintf(`subscription { a: productionRecorded(factoryId: %q) { epoch } b: productionRecorded(factoryId: %q) { epoch } }`, id, id),
		fmt.Sprintf(`subscription { productionRecorded(factoryId: %q) { epoch } ... on Subscription { b: productionRecorded(factoryId: %q) { epoch } } }`, id, id),
		fmt.Sprintf(`subscription { productionRecorded(factoryId: %q) { epoch } __typename }`, id),
	}
	for _, q := range queries {
		if a := e.query(q); a.status != http.StatusOK || a.code() != "GRAPHQL_VALIDATION_FAILED" || a.hasData {
			t.Errorf("POST %s: %d %s", q, a.status, a.raw)
		}
		h := map[string]string{"Accept": "text/event-stream", "Content-Type": "application/json"}
		body, _ := json.Marshal(map[string]any{"query": q})
		a := e.exchange(http.MethodPost, "", h, string(body))
		if !strings.Contains(a.raw, `"code":"GRAPHQL_VALIDATION_FAILED"`) || strings.Contains(a.raw, "INTERNAL_SERVER_ERROR") {
			t.Errorf("SSE %s: %d %s", q, a.status, a.raw)
		}

		conn, _ := dialWS(t, e, "")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := wsjson.Write(ctx, conn, wsMessage{Type: "connection_init"}); err != nil {
			t.Fatal(err)
		}
		if m := next(ctx, t, conn); m.Type != "connection_ack" {
			t.Fatalf("after connection_init: %+v", m)
		}
		payload, _ := json.Marshal(map[string]any{"query": q})
		if err := wsjson.Write(ctx, conn, wsMessage{ID: "s", Type: "subscribe", Payload: payload}); err != nil {
			t.Fatal(err)
		}
		if m := next(ctx, t, conn); m.Type != "error" || !strings.Contains(string(m.Payload), `"code":"GRAPHQL_VALIDATION_FAILED"`) {
			t.Errorf("WebSocket %s: %s %s", q, m.Type, m.Payload)
		}
		cancel()
	}
	// One root field still streams.
	a := e.exchange(http.MethodPost, "", map[string]string{"Accept": "text/event-stream", "Content-Type": "application/json"},
		fmt.Sprintf(`{"query":"subscription { productionRecorded(factoryId: \"%s\") { epoch } }"}`, id))
	if !strings.Contains(a.raw, `"epoch":1700000000`) {
		t.Errorf("one root field: %s", a.raw)
	}
}

// TestAnInvalidCursorSaysSo: a cursor that does not decode is
// BAD_USER_INPUT "Invalid cursor" naming the argument, literal or variable,
// without the encoding's internals.
func TestAnInvalidCursorSaysSo(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			e := newEndpoint(t, d, gqlhttp.DefaultOptions())
			e.seed()
			cases := []struct {
				query string
				vars  map[string]any
				field string
			}{
				{`{ factories(after: "abc") { totalCount } }`, nil, "after"},
				{`{ sprockets(before: "Zm9v") { totalCount } }`, nil, "before"},
				{`query($c: Cursor) { factoryByRowId(rowId: 1) { points(first: 2, after: $c) { totalCount } } }`, map[string]any{"c": "not a cursor"}, "after"},
				{`query($c: Cursor) { factories(after: $c) { totalCount } }`, map[string]any{"c": strings.Repeat("A", 1<<20)}, "after"},
			}
			for _, c := range cases {
				a := e.post("", map[string]any{"query": c.query, "variables": c.vars})
				if a.code() != "BAD_USER_INPUT" || a.Errors[0].Extensions["field"] != c.field ||
					!strings.Contains(strings.ToLower(a.Errors[0].Message), "invalid cursor") ||
					strings.Contains(a.raw, "msgpack") || strings.Contains(a.raw, "decod") || len(a.raw) > 1000 {
					t.Errorf("%s: %.600s", c.query, a.raw)
				}
			}
			// A cursor the API gave back still works.
			var page struct {
				Factories struct{ PageInfo struct{ EndCursor string } }
			}
			if err := json.Unmarshal(e.mustQuery(`{ factories(first: 1) { edges { cursor } pageInfo { endCursor } } }`).Data, &page); err != nil {
				t.Fatal(err)
			}
			if page.Factories.PageInfo.EndCursor == "" {
				t.Fatalf("no end cursor: %s", e.mustQuery(`{ factories(first: 1) { edges { cursor } pageInfo { endCursor } } }`).raw)
			}
			e.mustQuery(fmt.Sprintf(`{ factories(after: %q) { totalCount } }`, page.Factories.PageInfo.EndCursor))
		})
	}
}

// TestAHugeIDIsQuotedShort: an id of 10 MB is refused with at most about
// 100 of its characters quoted, as a literal or in a variable, in queries
// and mutations.
func TestAHugeIDIsQuotedShort(t *testing.T) {
	t.Parallel() // its own server and databases; no shared state
	opts := gqlhttp.DefaultOptions()
	// Over the defaults' body limit and string bound, which refuse such
	// an id before decoding it (PAYLOAD_TOO_LARGE): raised, to see how a
	// resolver quotes it.
	opts.MaxBodyBytes, opts.MaxStringBytes = 32<<20, 16<<20
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			e := newEndpoint(t, d, opts)
			e.seed()
			huge := strings.Repeat("x", 10<<20)
			cases := []struct {
				query string
				vars  map[string]any
				field string
			}{
				{`{ node(id: "` + huge + `") { id } }`, nil, "id"},
				{`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": huge}, "id"},
				{`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{"RmFjdG9yeTox", huge}}, "ids[1]"},
				{`mutation($id: ID!) { updateFactory(id: $id, input: {name: "x"}) { id } }`, map[string]any{"id": huge}, "id"},
				{`mutation($id: ID!) { deleteSprocket(id: $id) }`, map[string]any{"id": huge}, "id"},
				{`mutation($id: ID!) { recordProduction(factoryId: $id, points: []) { inserted } }`, map[string]any{"id": huge}, "factoryId"},
			}
			for _, c := range cases {
				a := e.post("", map[string]any{"query": c.query, "variables": c.vars})
				if a.code() != "BAD_USER_INPUT" || a.Errors[0].Extensions["field"] != c.field || len(a.raw) > 1000 ||
					!strings.Contains(a.Errors[0].Message, `"`+strings.Repeat("x", 100)+`"…`) {
					t.Errorf("%.60s: %d bytes: %.400s", c.query, len(a.raw), a.raw)
				}
			}
		})
	}
}
