package gqlhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestTheAnswerBudgetStopsAnOperationWhileItResolves: an answer over
// MaxResponseBytes is one RESPONSE_TOO_LARGE error with "data": null, on
// both databases, and a smaller page answers.
func TestTheAnswerBudgetStopsAnOperationWhileItResolves(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			opts := gqlhttp.DefaultOptions()
			opts.MaxResponseBytes = 256 << 10
			e := newEndpoint(t, d, opts)
			pts := make([]core.Point, 1000)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
			for i := range pts {
				pts[i] = core.Point{Time: start + int64(i), Actual: 1, Goal: 2}
			}
			if _, err := e.svc.CreateFactory(context.Background(), core.FactoryInput{Points: pts}); err != nil {
				t.Fatal(err)
			}
			// 1,000 point edges count about 3 MB; 50 about 160 KB.
			big := `{ factoryByRowId(rowId: 1) { points(first: 1000) { edges { node { time actual goal } } } } }`
			a := e.query(big)
			if a.status != 200 || a.code() != gqlhttp.CodeResponseTooLarge || len(a.Errors) != 1 || string(a.Data) != "null" ||
				!strings.Contains(a.Errors[0].Message, "262144 bytes") {
				t.Errorf("over the budget: %d %.400s", a.status, a.raw)
			}
			e.mustQuery(`{ factoryByRowId(rowId: 1) { points(first: 50) { edges { node { time actual goal } } } } }`)
		})
	}
}

// TestACostlySeriesIsRefusedBeforeItRuns: the cost counts maxDataPoints,
// first and aliases, and says the cost and the limit.
func TestACostlySeriesIsRefusedBeforeItRuns(t *testing.T) {
	e := newEndpoint(t, testdb.Dialects[0], gqlhttp.DefaultOptions())
	e.seed()
	q := "{ factories(first: 100) { edges { node {" + strings.Repeat(" series(maxDataPoints: 10000) { actual }", 1) + " } } } }"
	a := e.query(q)
	if a.code() != gqlhttp.CodeComplexityLimit || a.hasData ||
		!strings.Contains(a.Errors[0].Message, "costs 2000300, more than the limit of 1000000") {
		t.Errorf("%.400s", a.raw)
	}
	e.mustQuery("{ factories(first: 10) { edges { node { series(maxDataPoints: 10000) { actual } } } } }")
}

// TestABodyOfTooManyValuesIsRefused: the values of a body are counted as
// it is read; past MaxVariableValues the answer is 413 PAYLOAD_TOO_LARGE,
// over POST and in a GET's variables; a string over MaxStringBytes too.
func TestABodyOfTooManyValuesIsRefused(t *testing.T) {
	opts := gqlhttp.DefaultOptions()
	opts.MaxVariableValues = 100
	opts.MaxStringBytes = 1000
	e := newEndpoint(t, testdb.Dialects[0], opts)
	list := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat("{},", n), ",") + "]" }
	h := map[string]string{"Content-Type": "application/json"}
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"100 values: the body, query, variables, a list of 96", `{"query": "{ __typename }", "variables": {"unused": ` + list(96) + `}}`, 200, ""},
		{"101 values", `{"query": "{ __typename }", "variables": {"unused": ` + list(97) + `}}`, 413, "PAYLOAD_TOO_LARGE"},
		{"member names are not values", `{"query": "{ __typename }", "variables": {"unused": {` +
			strings.TrimSuffix(strings.Repeat(`"k": 1,`, 90), ",") + `}}}`, 200, ""},
		{"a string of 1,000 bytes", `{"query": "{ __typename }", "variables": {"s": "` + strings.Repeat("é", 500) + `"}}`, 200, ""},
		{"a string of 1,001 bytes", `{"query": "{ __typename }", "variables": {"s": "` + strings.Repeat("x", 1001) + `"}}`, 413, "PAYLOAD_TOO_LARGE"},
		{"escaped quotes stay in the string", `{"query": "{ __typename }", "variables": {"s": "\"{[1,2,3]}\""}}`, 200, ""},
		{"still malformed JSON", `{"query": "{ __typename }", "variables": {"s": 1,}}`, 400, "BAD_REQUEST"},
		{"trailing data", `{"query": "{ __typename }"} {}`, 400, "BAD_REQUEST"},
		{"variables that are not an object", `{"query": "{ __typename }", "variables": [1]}`, 400, "BAD_REQUEST"},
	} {
		a := e.exchange(http.MethodPost, "", h, c.body)
		if a.status != c.status || a.code() != c.code {
			t.Errorf("%s: %d %.300s", c.name, a.status, a.raw)
		}
	}
	a := e.exchange(http.MethodGet, "?query="+url.QueryEscape("{ __typename }")+"&variables="+url.QueryEscape(`{"unused": `+list(100)+`}`), nil, "")
	if a.status != 413 || a.code() != "PAYLOAD_TOO_LARGE" {
		t.Errorf("GET: %d %.300s", a.status, a.raw)
	}
	// The largest recordProduction of the defaults goes through.
	d := newEndpoint(t, testdb.Dialects[0], gqlhttp.DefaultOptions())
	d.seed()
	n := (gqlhttp.DefaultMaxVariableValues - 1000) / 4
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"time": %q, "actual": 1, "goal": 2}`, time.Unix(1767225600+int64(i), 0).UTC().Format(time.RFC3339))
	}
	body := `{"query": "mutation($p: [PointInput!]!) { recordProduction(factoryId: \"RmFjdG9yeTox\", points: $p) { inserted } }", "variables": {"p": [` + b.String() + `]}}`
	if a := d.exchange(http.MethodPost, "", h, body); a.status != 200 || len(a.Errors) > 0 || !strings.Contains(a.raw, fmt.Sprintf(`"inserted":%d`, n)) {
		t.Errorf("%d points: %d %.300s", n, a.status, a.raw)
	}
}
