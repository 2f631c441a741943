package gqlhttp_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/graph"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// endpoint is NewHandler over a fresh database, served by httptest.
type endpoint struct {
	t   *testing.T
	db  *database.DB
	svc *core.Service
	url string
}

func newEndpoint(t *testing.T, dialect string, opts gqlhttp.Options) *endpoint {
	t.Helper()
	return newLiveEndpoint(t, dialect, opts, nil)
}

// newLiveEndpoint is newEndpoint with subscriptions served by live.
func newLiveEndpoint(t *testing.T, dialect string, opts gqlhttp.Options, live graph.Live) *endpoint {
	t.Helper()
	db := testdb.Open(t, dialect)
	client := db.Client()
	svc := core.New(client, db.SQL, db.Dialect)
	srv := httptest.NewServer(app.GraphQL(svc, live, opts))
	t.Cleanup(srv.Close)
	return &endpoint{t: t, db: db, svc: svc, url: srv.URL}
}

// seed adds one sprocket and one factory.
func (e *endpoint) seed() {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.svc.CreateSprocket(ctx, core.SprocketInput{Teeth: 20, PitchDiameter: 10, OutsideDiameter: 11, Pitch: 2}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.CreateFactory(ctx, core.FactoryInput{Name: "North"}); err != nil {
		e.t.Fatal(err)
	}
}

type gqlError struct {
	Message    string
	Path       []any
	Extensions map[string]any
}

// answer is an HTTP response with its GraphQL body decoded.
type answer struct {
	status  int
	header  http.Header
	raw     string
	hasData bool
	Data    json.RawMessage
	Errors  []gqlError
}

func (a answer) code() string {
	if len(a.Errors) == 0 {
		return ""
	}
	c, _ := a.Errors[0].Extensions["code"].(string)
	return c
}

func (a answer) mediaType() string {
	mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type"))
	return mt
}

// exchange sends one request to the endpoint; target is appended to its URL.
func (e *endpoint) exchange(method, target string, header map[string]string, body string) answer {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+target, r)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{status: res.StatusCode, header: res.Header, raw: string(b)}
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) == nil {
		_, a.hasData = probe["data"]
		if err := json.Unmarshal(b, &a); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, target, err, b)
		}
	}
	return a
}

// post sends a GraphQL request as JSON with the given Accept ("" for none).
func (e *endpoint) post(accept string, request map[string]any) answer {
	e.t.Helper()
	b, err := json.Marshal(request)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.exchange(http.MethodPost, "", headers(accept, "application/json"), string(b))
}

func (e *endpoint) query(q string) answer {
	e.t.Helper()
	return e.post("", map[string]any{"query": q})
}

// mustQuery runs q and fails the test on any error.
func (e *endpoint) mustQuery(q string) answer {
	e.t.Helper()
	a := e.query(q)
	if a.status != http.StatusOK || len(a.Errors) > 0 || !a.hasData {
		e.t.Fatalf("%s: %d %s", q, a.status, a.raw)
	}
	return a
}

func headers(accept, contentType string) map[string]string {
	h := map[string]string{}
	if accept != "" {
		h["Accept"] = accept
	}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return h
}

const (
	acceptJSON     = "application/json"
	acceptResponse = "application/graphql-response+json, application/json;q=0.9"
	mediaResponse  = "application/graphql-response+json"
)

// TestStatusCodesAndMediaTypesFollowTheGraphQLOverHTTPSpec: a request
// error answers 200 in application/json and 400 in
// application/graphql-response+json, without a data entry; executed
// operations answer 200 in both; transport errors have their own status.
func TestStatusCodesAndMediaTypesFollowTheGraphQLOverHTTPSpec(t *testing.T) {
	const secret = "do-not-echo-7731"
	type want struct {
		status  int
		code    string
		hasData bool
	}
	cases := []struct {
		name                 string
		method, target, body string
		contentType          string
		json, response       want // by Accept: application/json (or none), graphql-response+json
		allow                string
	}{
		{name: "a valid query", method: "POST", body: `{"query":"{ sprockets(first: 1) { totalCount } }"}`, contentType: "application/json",
			json: want{200, "", true}, response: want{200, "", true}},
		{name: "a syntax error", method: "POST", body: `{"query":"{ sprockets(first: 1) { "}`, contentType: "application/json",
			json: want{200, "GRAPHQL_PARSE_FAILED", false}, response: want{400, "GRAPHQL_PARSE_FAILED", false}},
		{name: "a validation error", method: "POST", body: `{"query":"{ noSuchField }"}`, contentType: "application/json",
			json: want{200, "GRAPHQL_VALIDATION_FAILED", false}, response: want{400, "GRAPHQL_VALIDATION_FAILED", false}},
		{name: "an unknown operation name", method: "POST", body: `{"query":"query A { __typename }","operationName":"B"}`, contentType: "application/json",
			json: want{200, "GRAPHQL_VALIDATION_FAILED", false}, response: want{400, "GRAPHQL_VALIDATION_FAILED", false}},
		{name: "a variable of the wrong type", method: "POST", body: `{"query":"query($n: Int!) { sprockets(first: $n) { totalCount } }","variables":{"n":"ten"}}`, contentType: "application/json",
			json: want{200, "BAD_USER_INPUT", false}, response: want{400, "BAD_USER_INPUT", false}},
		{name: "a field error from ent's pagination", method: "POST", body: `{"query":"{ sprockets(first: 1, last: 1) { totalCount } }"}`, contentType: "application/json",
			json: want{200, "BAD_USER_INPUT", true}, response: want{200, "BAD_USER_INPUT", true}},
		{name: "an argument its scalar refuses", method: "POST", body: `{"query":"{ node(id: \"not-an-id\") { id } }"}`, contentType: "application/json",
			json: want{200, "BAD_USER_INPUT", true}, response: want{200, "BAD_USER_INPUT", true}},
		{name: "a field error from the core", method: "POST", body: `{"query":"{ sprockets(first: 100000) { totalCount } }"}`, contentType: "application/json",
			json: want{200, "BAD_USER_INPUT", true}, response: want{200, "BAD_USER_INPUT", true}},
		{name: "malformed JSON", method: "POST", body: `{"query": "{ __typename }", "` + secret + `"}`, contentType: "application/json",
			json: want{400, "BAD_REQUEST", false}, response: want{400, "BAD_REQUEST", false}},
		{name: "a query that is not a string", method: "POST", body: `{"query": ["` + secret + `"]}`, contentType: "application/json",
			json: want{400, "BAD_REQUEST", false}, response: want{400, "BAD_REQUEST", false}},
		{name: "a body that is not an object", method: "POST", body: `"` + secret + `"`, contentType: "application/json",
			json: want{400, "BAD_REQUEST", false}, response: want{400, "BAD_REQUEST", false}},
		{name: "no query", method: "POST", body: `{"variables":{}}`, contentType: "application/json",
			json: want{400, "BAD_REQUEST", false}, response: want{400, "BAD_REQUEST", false}},
		{name: "a text/plain body", method: "POST", body: `{"query":"{ __typename }"}`, contentType: "text/plain",
			json: want{415, "UNSUPPORTED_MEDIA_TYPE", false}, response: want{415, "UNSUPPORTED_MEDIA_TYPE", false}},
		{name: "a JSON type of the +json family", method: "POST", body: `{"query":"{ sprockets(first: 1) { totalCount } }"}`, contentType: "application/graphql+json",
			json: want{200, "", true}, response: want{200, "", true}},
		{name: "no content type", method: "POST", body: `{"query":"{ __typename }"}`,
			json: want{415, "UNSUPPORTED_MEDIA_TYPE", false}, response: want{415, "UNSUPPORTED_MEDIA_TYPE", false}},
		{name: "a query over GET", method: "GET", target: "?query=" + url.QueryEscape("{ sprockets(first: 1) { totalCount } }"),
			json: want{200, "", true}, response: want{200, "", true}},
		{name: "a validation error over GET", method: "GET", target: "?query=" + url.QueryEscape("{ noSuchField }"),
			json: want{200, "GRAPHQL_VALIDATION_FAILED", false}, response: want{400, "GRAPHQL_VALIDATION_FAILED", false}},
		{name: "a mutation over GET", method: "GET", target: "?query=" + url.QueryEscape("mutation { __typename }"),
			json: want{405, "METHOD_NOT_ALLOWED", false}, response: want{405, "METHOD_NOT_ALLOWED", false}, allow: "POST"},
		{name: "a subscription over GET", method: "GET", target: "?query=" + url.QueryEscape(`subscription { productionRecorded(factoryId: "x") { time } }`),
			json: want{405, "METHOD_NOT_ALLOWED", false}, response: want{405, "METHOD_NOT_ALLOWED", false}, allow: "POST"},
		{name: "variables over GET that are not JSON", method: "GET", target: "?query=" + url.QueryEscape("{ __typename }") + "&variables=" + secret,
			json: want{400, "BAD_REQUEST", false}, response: want{400, "BAD_REQUEST", false}},
		{name: "a subscription over a plain POST", method: "POST", body: `{"query":"subscription { productionRecorded(factoryId: \"x\") { time } }"}`, contentType: "application/json",
			json: want{400, "BAD_REQUEST", false}, response: want{400, "BAD_REQUEST", false}},
		{name: "PUT", method: "PUT", body: `{"query":"{ __typename }"}`, contentType: "application/json",
			json: want{405, "METHOD_NOT_ALLOWED", false}, response: want{405, "METHOD_NOT_ALLOWED", false}, allow: "GET, POST"},
	}
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			e := newEndpoint(t, d, gqlhttp.DefaultOptions())
			e.seed()
			for _, c := range cases {
				for _, accept := range []string{"", acceptJSON, acceptResponse} {
					w, media := c.json, "application/json"
					if accept == acceptResponse {
						w, media = c.response, mediaResponse
					}
					if c.name == "PUT" {
						media = "application/json" // answered before negotiation
					}
					a := e.exchange(c.method, c.target, headers(accept, c.contentType), c.body)
					if a.status != w.status || a.code() != w.code || a.hasData != w.hasData || a.mediaType() != media {
						t.Errorf("%s (Accept %q): got %d %s, code %q, data %v; want %d %s, code %q, data %v\n%s",
							c.name, accept, a.status, a.mediaType(), a.code(), a.hasData, w.status, media, w.code, w.hasData, a.raw)
					}
					if c.allow != "" && a.header.Get("Allow") != c.allow {
						t.Errorf("%s: Allow %q, want %q", c.name, a.header.Get("Allow"), c.allow)
					}
					if strings.Contains(a.raw, secret) {
						t.Errorf("%s: the answer echoes the request: %s", c.name, a.raw)
					}
				}
			}
		})
	}
}

// TestAcceptIsNegotiatedWithItsQValues: the most preferred of the two JSON
// media types wins; wildcards alone get application/json; a client that
// accepts neither gets 406.
func TestAcceptIsNegotiatedWithItsQValues(t *testing.T) {
	e := newEndpoint(t, testdb.Dialects[0], gqlhttp.DefaultOptions())
	cases := []struct {
		accept, media string
		status        int
	}{
		{"application/graphql-response+json", mediaResponse, 200},
		{"application/json;q=0.5, application/graphql-response+json", mediaResponse, 200},
		{"application/graphql-response+json;q=0.2, application/json", "application/json", 200},
		{"application/json, application/graphql-response+json", mediaResponse, 200},
		{"*/*", "application/json", 200},
		{"application/*;q=0.8, text/html", "application/json", 200},
		{"text/html, application/graphql-response+json;q=0", "application/json", 406},
		{"text/html", "application/json", 406},
	}
	for _, c := range cases {
		a := e.post(c.accept, map[string]any{"query": "{ __typename }"})
		if a.status != c.status || a.mediaType() != c.media {
			t.Errorf("Accept %q: got %d %s, want %d %s", c.accept, a.status, a.mediaType(), c.status, c.media)
		}
		if c.status == 406 && a.code() != "NOT_ACCEPTABLE" {
			t.Errorf("Accept %q: code %q", c.accept, a.code())
		}
	}
}

// TestABodyOverTheLimitIsRefusedWith413: with and without Content-Length,
// and a body under the limit still works.
func TestABodyOverTheLimitIsRefusedWith413(t *testing.T) {
	opts := gqlhttp.DefaultOptions()
	opts.MaxBodyBytes = 1024
	e := newEndpoint(t, testdb.Dialects[0], opts)
	big := fmt.Sprintf(`{"query":"{ __typename }","variables":{"pad":%q}}`, strings.Repeat("x", 2000))

	a := e.exchange(http.MethodPost, "", headers("", "application/json"), big)
	if a.status != http.StatusRequestEntityTooLarge || a.code() != "PAYLOAD_TOO_LARGE" || strings.Contains(a.raw, "xxxx") {
		t.Errorf("with Content-Length: %d %s", a.status, a.raw)
	}

	// Chunked: the limit is found while reading.
	req, _ := http.NewRequest(http.MethodPost, e.url, io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "PAYLOAD_TOO_LARGE") {
		t.Errorf("chunked: %d %s", res.StatusCode, body)
	}

	e.mustQuery("{ sprockets(first: 1) { totalCount } }")
}

// TestLimitsRefuseOperationsWithTheirCodes: depth, complexity and tokens,
// each refused before execution with its code (and 400 in
// graphql-response+json), while an operation within them runs.
func TestLimitsRefuseOperationsWithTheirCodes(t *testing.T) {
	opts := gqlhttp.DefaultOptions()
	opts.DepthLimit = 3
	// Each field costs 1 plus its selections, times its list size; the
	// introspection case costs 45.
	opts.ComplexityLimit = 100
	opts.TokenLimit = 60
	cases := []struct {
		name, query, code string
	}{
		{"within every limit", `{ factories(first: 1) { totalCount } }`, ""},
		{"a depth at the limit", `{ factories(first: 1) { pageInfo { hasNextPage } } }`, ""},
		{"four levels", `{ factories(first: 1) { edges { node { name } } } }`, "DEPTH_LIMIT_EXCEEDED"},
		{"four levels through a fragment", `{ factories(first: 1) { ...F } } fragment F on FactoryConnection { edges { node { name } } }`, "DEPTH_LIMIT_EXCEEDED"},
		{"four levels through an inline fragment", `{ node(id: "x") { ... on Factory { points { edges { cursor } } } } }`, "DEPTH_LIMIT_EXCEEDED"},
		{"introspection, exempt from the depth limit", `{ __type(name: "Factory") { fields { type { ofType { name } } } } }`, ""},
		{"two aliases of sixty rows (cost 240)", `{ a: sprockets(first: 60) { totalCount } b: sprockets(first: 60) { totalCount } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"more tokens than the limit", "{ __typename " + strings.Repeat("__typename ", 60) + "}", "GRAPHQL_PARSE_FAILED"},
	}
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			e := newEndpoint(t, d, opts)
			e.seed()
			for _, c := range cases {
				for _, accept := range []string{acceptJSON, acceptResponse} {
					a := e.post(accept, map[string]any{"query": c.query})
					status := 200
					if c.code != "" && accept == acceptResponse {
						status = 400
					}
					if a.status != status || a.code() != c.code || a.hasData != (c.code == "") {
						t.Errorf("%s (%s): got %d, code %q: %s", c.name, accept, a.status, a.code(), a.raw)
					}
				}
			}
		})
	}
}

// TestTheIntrospectionQueryPassesTheDefaultLimits: GraphiQL's query (as
// graphql-js and gqlgen write it) nests ten deep and has hundreds of
// fields; the defaults let it through.
func TestTheIntrospectionQueryPassesTheDefaultLimits(t *testing.T) {
	e := newEndpoint(t, testdb.Dialects[0], gqlhttp.DefaultOptions())
	for _, q := range []string{introspection.Query, introspection.NewQuery(introspection.QueryOptions{OneOf: true})} {
		a := e.mustQuery(q)
		var data struct {
			Schema struct {
				QueryType struct{ Name string }
				Types     []struct{ Name string }
			} `json:"__schema"`
		}
		if err := json.Unmarshal(a.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.Schema.QueryType.Name != "Query" || len(data.Schema.Types) < 20 {
			t.Errorf("introspection: %+v", data.Schema)
		}
	}
}

// TestIntrospectionCanBeTurnedOff: with Introspection false, __schema and
// __type are refused as a validation error; __typename still works.
func TestIntrospectionCanBeTurnedOff(t *testing.T) {
	for _, on := range []bool{true, false} {
		opts := gqlhttp.DefaultOptions()
		opts.Introspection = on
		e := newEndpoint(t, testdb.Dialects[0], opts)
		for _, q := range []string{
			`{ __schema { queryType { name } } }`,
			`{ __type(name: "Sprocket") { name } }`,
			`query { ...Q } fragment Q on Query { __schema { queryType { name } } }`,
		} {
			a := e.query(q)
			switch {
			case on && (len(a.Errors) > 0 || !a.hasData):
				t.Errorf("introspection on: %s: %s", q, a.raw)
			case !on && (a.code() != "GRAPHQL_VALIDATION_FAILED" || a.hasData):
				t.Errorf("introspection off: %s: %s", q, a.raw)
			}
		}
		e.mustQuery(`{ __typename }`)
	}
}

// TestAutomaticPersistedQueriesRoundTrip: an unknown hash asks for the
// query; the query with its hash runs and is stored; then the hash alone
// runs it, over POST and GET. A wrong hash is refused.
func TestAutomaticPersistedQueriesRoundTrip(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			e := newEndpoint(t, d, gqlhttp.DefaultOptions())
			e.seed()
			q := "{ sprockets(first: 5) { totalCount } }"
			sum := sha256.Sum256([]byte(q))
			ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}

			a := e.post(acceptJSON, map[string]any{"extensions": ext})
			if a.status != 200 || a.code() != "PERSISTED_QUERY_NOT_FOUND" || a.Errors[0].Message != "PersistedQueryNotFound" {
				t.Fatalf("hash only, first: %d %s", a.status, a.raw)
			}
			if a := e.post(acceptResponse, map[string]any{"extensions": ext}); a.status != 400 || a.code() != "PERSISTED_QUERY_NOT_FOUND" {
				t.Errorf("hash only, first, graphql-response+json: %d %s", a.status, a.raw)
			}
			want := `{"sprockets":{"totalCount":1}}`
			if a := e.post(acceptJSON, map[string]any{"query": q, "extensions": ext}); len(a.Errors) > 0 || string(a.Data) != want {
				t.Fatalf("query and hash: %s", a.raw)
			}
			if a := e.post(acceptJSON, map[string]any{"extensions": ext}); len(a.Errors) > 0 || string(a.Data) != want {
				t.Errorf("hash only, then: %s", a.raw)
			}
			extJSON, _ := json.Marshal(ext)
			if a := e.exchange(http.MethodGet, "?extensions="+url.QueryEscape(string(extJSON)), nil, ""); len(a.Errors) > 0 || string(a.Data) != want {
				t.Errorf("hash only over GET: %s", a.raw)
			}
			wrong := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": strings.Repeat("0", 64)}}
			if a := e.post(acceptJSON, map[string]any{"query": q, "extensions": wrong}); a.code() != "BAD_REQUEST" || a.hasData {
				t.Errorf("wrong hash: %s", a.raw)
			}
		})
	}
}

// TestInternalErrorsAreLoggedAndNotShown: with the database closed, a
// query and a mutation (whose transaction cannot start) answer a generic
// error with a code; the cause is logged once per error, never shown.
func TestInternalErrorsAreLoggedAndNotShown(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			e := newEndpoint(t, d, gqlhttp.DefaultOptions())
			e.seed()
			e.mustQuery("{ sprockets(first: 1) { edges { node { id } } } }")
			logs := testlog.Capture(t, slog.LevelDebug)
			if err := e.db.Close(); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				"{ sprockets(first: 1) { edges { node { id teeth } } } }",
				`{ factoryByRowId(rowId: 1) { name } }`,
				"mutation { __typename }",
			} {
				before := strings.Count(logs.String(), "level=ERROR")
				a := e.query(q)
				if a.status != 200 || len(a.Errors) != 1 {
					t.Fatalf("%s: %d %s", q, a.status, a.raw)
				}
				if code := a.code(); code != "INTERNAL_SERVER_ERROR" && code != "SERVICE_UNAVAILABLE" {
					t.Errorf("%s: code %q", q, code)
				}
				lower := strings.ToLower(a.raw)
				for _, leak := range []string{"sql", "closed", "database", "transaction", "driver", "pq:"} {
					if strings.Contains(lower, leak) {
						t.Errorf("%s: the answer says %q: %s", q, leak, a.raw)
					}
				}
				if a.code() == "INTERNAL_SERVER_ERROR" && a.Errors[0].Message != "internal server error" {
					t.Errorf("%s: message %q", q, a.Errors[0].Message)
				}
				logged := logs.String()
				if n := strings.Count(logged, "level=ERROR") - before; n != 1 || !strings.Contains(logged, "database is closed") {
					t.Errorf("%s: %d log records, want 1 with the cause:\n%s", q, n, logged)
				}
			}
		})
	}
}

// TestAMutationRunsInOneTransaction: when the second field of a mutation
// fails, the first one's write is rolled back.
func TestAMutationRunsInOneTransaction(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			e := newEndpoint(t, d, gqlhttp.DefaultOptions())
			a := e.query(`mutation {
				a: createSprocket(input: {teeth: 20, pitchDiameter: 10, outsideDiameter: 11, pitch: 2}) { id }
				b: createSprocket(input: {teeth: 0, pitchDiameter: 10, outsideDiameter: 11, pitch: 2}) { id } }`)
			if a.code() != "BAD_USER_INPUT" || a.Errors[0].Extensions["field"] != "input.teeth" {
				t.Fatalf("got %s", a.raw)
			}
			if a := e.mustQuery("{ sprockets { totalCount } }"); string(a.Data) != `{"sprockets":{"totalCount":0}}` {
				t.Errorf("after the failed mutation: %s", a.Data)
			}
		})
	}
}

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialWS opens a graphql-transport-ws connection with the given Origin
// ("" for none) and returns it, or the HTTP status of the refusal.
func dialWS(t *testing.T, e *endpoint, origin string) (*websocket.Conn, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http"), &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: h,
	})
	if err != nil {
		if res == nil {
			t.Fatal(err)
		}
		return nil, res.StatusCode
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, http.StatusSwitchingProtocols
}

// next reads the next message that is not a keep-alive.
func next(ctx context.Context, t *testing.T, c *websocket.Conn) wsMessage {
	t.Helper()
	for {
		var m wsMessage
		if err := wsjson.Read(ctx, c, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type != "ping" && m.Type != "pong" {
			return m
		}
	}
}

// TestWebSocketsSpeakGraphQLTransportWSAndCheckTheOrigin: a connection
// from the same origin, a configured one, or no browser at all is
// accepted and runs a query; a foreign origin is refused with 403.
func TestWebSocketsSpeakGraphQLTransportWSAndCheckTheOrigin(t *testing.T) {
	opts := gqlhttp.DefaultOptions()
	opts.AllowedOrigins = []string{"http://localhost:3000"}
	e := newEndpoint(t, testdb.Dialects[0], opts)
	e.seed()
	cases := []struct {
		origin string
		status int
	}{
		{"http://localhost:3000", http.StatusSwitchingProtocols},
		{e.url, http.StatusSwitchingProtocols},
		{"", http.StatusSwitchingProtocols},
		{"https://evil.example", http.StatusForbidden},
		{"http://localhost:3001", http.StatusForbidden},
	}
	for _, c := range cases {
		conn, status := dialWS(t, e, c.origin)
		if status != c.status {
			t.Errorf("origin %q: status %d, want %d", c.origin, status, c.status)
			continue
		}
		if conn == nil {
			continue
		}
		if p := conn.Subprotocol(); p != "graphql-transport-ws" {
			t.Fatalf("subprotocol %q", p)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := wsjson.Write(ctx, conn, wsMessage{Type: "connection_init"}); err != nil {
			t.Fatal(err)
		}
		if m := next(ctx, t, conn); m.Type != "connection_ack" {
			t.Fatalf("after connection_init: %+v", m)
		}
		payload, _ := json.Marshal(map[string]any{"query": "{ sprockets(first: 1) { edges { node { teeth } } } }"})
		if err := wsjson.Write(ctx, conn, wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
			t.Fatal(err)
		}
		m := next(ctx, t, conn)
		if m.Type != "next" || m.ID != "1" || !strings.Contains(string(m.Payload), `"teeth":20`) {
			t.Errorf("origin %q: got %+v (%s)", c.origin, m, m.Payload)
		}
		if m := next(ctx, t, conn); m.Type != "complete" || m.ID != "1" {
			t.Errorf("origin %q: got %+v, want complete", c.origin, m)
		}
		conn.Close(websocket.StatusNormalClosure, "")
		cancel()
	}

	// "*" lets any origin in.
	opts.AllowedOrigins = []string{"*"}
	open := newEndpoint(t, testdb.Dialects[0], opts)
	if _, status := dialWS(t, open, "https://elsewhere.example"); status != http.StatusSwitchingProtocols {
		t.Errorf(`with "*": status %d`, status)
	}
}

// oneShotLive delivers the given points to the first subscriber, then ends
// the stream.
type oneShotLive []core.Point

func (l oneShotLive) Subscribe(ctx context.Context, _ int) (<-chan live.Batch, error) {
	ch := make(chan live.Batch, 1)
	ch <- live.Batch{Points: l}
	close(ch)
	return ch, nil
}

// TestASubscriptionStreamsOverWebSocket: each point is a "next" message and
// the end of the stream a "complete".
func TestASubscriptionStreamsOverWebSocket(t *testing.T) {
	live := oneShotLive{{Time: 1_700_000_000, Actual: 3, Goal: 4}, {Time: 1_700_000_060, Actual: 5, Goal: 4}}
	e := newLiveEndpoint(t, testdb.Dialects[0], gqlhttp.DefaultOptions(), live)
	e.seed()
	var ids struct {
		Factories struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	if err := json.Unmarshal(e.mustQuery("{ factories(first: 1) { edges { node { id } } } }").Data, &ids); err != nil || len(ids.Factories.Edges) != 1 {
		t.Fatalf("factory id: %v %+v", err, ids)
	}
	conn, _ := dialWS(t, e, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wsjson.Write(ctx, conn, wsMessage{Type: "connection_init"}); err != nil {
		t.Fatal(err)
	}
	if m := next(ctx, t, conn); m.Type != "connection_ack" {
		t.Fatalf("after connection_init: %+v", m)
	}
	payload, _ := json.Marshal(map[string]any{
		"query":     "subscription($f: ID!) { productionRecorded(factoryId: $f) { epoch actual } }",
		"variables": map[string]any{"f": ids.Factories.Edges[0].Node.ID},
	})
	if err := wsjson.Write(ctx, conn, wsMessage{ID: "s", Type: "subscribe", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"data":{"productionRecorded":{"epoch":1700000000,"actual":3}}}`, `{"data":{"productionRecorded":{"epoch":1700000060,"actual":5}}}`} {
		if m := next(ctx, t, conn); m.Type != "next" || string(m.Payload) != want {
			t.Errorf("got %s %s, want next %s", m.Type, m.Payload, want)
		}
	}
	if m := next(ctx, t, conn); m.Type != "complete" || m.ID != "s" {
		t.Errorf("got %+v, want complete", m)
	}
}

// TestServerSentEventsRunAQueryAndRefuseAMalformedBodyQuietly.
func TestServerSentEventsRunAQueryAndRefuseAMalformedBodyQuietly(t *testing.T) {
	e := newEndpoint(t, testdb.Dialects[0], gqlhttp.DefaultOptions())
	e.seed()
	h := map[string]string{"Accept": "text/event-stream", "Content-Type": "application/json"}
	a := e.exchange(http.MethodPost, "", h, `{"query":"{ sprockets(first: 1) { totalCount } }"}`)
	if a.status != 200 || !strings.Contains(a.raw, "event: next") || !strings.Contains(a.raw, `"totalCount":1`) {
		t.Errorf("query: %d %s", a.status, a.raw)
	}
	a = e.exchange(http.MethodPost, "", h, `{"query": "do-not-echo-7731`)
	if a.status != 400 || a.code() != "BAD_REQUEST" || strings.Contains(a.raw, "do-not-echo") {
		t.Errorf("malformed: %d %s", a.status, a.raw)
	}
}

// TestDefaultsAgreeWithTheConfiguration: sprocketd's defaults (config) are
// graph's.
func TestDefaultsAgreeWithTheConfiguration(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d := gqlhttp.DefaultOptions()
	if cfg.GraphQLIntrospection != d.Introspection || cfg.GraphQLComplexityLimit != d.ComplexityLimit ||
		cfg.GraphQLDepthLimit != d.DepthLimit || cfg.GraphQLTokenLimit != d.TokenLimit || cfg.MaxBody != d.MaxBodyBytes {
		t.Errorf("config %+v, graph %+v", cfg, d)
	}
	// OptionsFromConfig carries every budget over: a setting it forgot
	// would leave the server on a zero value, or the default whatever the
	// configuration says.
	o := gqlhttp.OptionsFromConfig(cfg)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"ComplexityLimit", o.ComplexityLimit, d.ComplexityLimit}, {"DepthLimit", o.DepthLimit, d.DepthLimit},
		{"TokenLimit", o.TokenLimit, d.TokenLimit}, {"MaxBodyBytes", o.MaxBodyBytes, d.MaxBodyBytes},
		{"MaxResponseBytes", o.MaxResponseBytes, d.MaxResponseBytes}, {"ResponsePoolBytes", o.ResponsePoolBytes, d.ResponsePoolBytes},
		{"CostInFlight", o.CostInFlight, d.CostInFlight}, {"MaxVariableValues", o.MaxVariableValues, d.MaxVariableValues},
		{"WSInitTimeout", o.WSInitTimeout, d.WSInitTimeout}, {"WSMaxConnections", o.WSMaxConnections, d.WSMaxConnections},
		{"WSMaxSubscriptions", o.WSMaxSubscriptions, d.WSMaxSubscriptions},
		{"MaxStreams", o.MaxStreams, d.MaxStreams}, {"StreamMemoryBytes", o.StreamMemoryBytes, d.StreamMemoryBytes},
		{"QueryCacheBytes", o.QueryCacheBytes, d.QueryCacheBytes}, {"APQCacheBytes", o.APQCacheBytes, d.APQCacheBytes},
		{"OperationTimeout", o.OperationTimeout, cfg.DBTimeout}, {"OperationConns", o.OperationConns, cfg.DBOperationConns},
	} {
		if c.got != c.want {
			t.Errorf("OptionsFromConfig(the defaults).%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
