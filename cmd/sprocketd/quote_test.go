package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestHugeClientValuesAreQuotedShort: a 900,000-character Sprocket-LSN (on
// REST, GraphQL and a WebSocket upgrade), path, method and field name come
// back in their error messages cut to 100 characters, on a server with a
// (primary listed as) standby, so that Sprocket-LSN is read.
func TestHugeClientValuesAreQuotedShort(t *testing.T) {
	url := testdb.URL(t, dialect.Postgres)
	base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": url, "DATABASE_READ_URL": url})
	huge := strings.Repeat("7", 900_000)
	cases := []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
	}{
		{"Sprocket-LSN on REST", "GET", "/v1/sprockets", "", http.Header{replica.Header: {huge}}, 400},
		{"Sprocket-LSN on GraphQL", "POST", "/graphql", `{"query":"{ __typename }"}`, http.Header{replica.Header: {huge}}, 400},
		{"Sprocket-LSN on a WebSocket upgrade", "GET", "/graphql", "", http.Header{replica.Header: {huge},
			"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Sec-Websocket-Protocol": {"graphql-transport-ws"}}, 400},
		{"a path", "GET", "/" + huge, "", nil, 404},
		{"a method", "X" + strings.Repeat("Y", 800_000), "/v1/sprockets", "", nil, 405},
		{"a field name", "POST", "/graphql", `{"query":"{ f` + huge + ` }"}`, nil, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.header {
				req.Header[k] = v
			}
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var msg struct {
				Message string
				Errors  []struct{ Message string }
			}
			if err := json.Unmarshal(b, &msg); err != nil {
				t.Fatalf("%d %.300s", res.StatusCode, b)
			}
			m := msg.Message
			if len(msg.Errors) > 0 {
				m = msg.Errors[0].Message
			}
			if res.StatusCode != c.status || !strings.Contains(m, `"…`) || len(m) > 3*apperr.QuoteLimit {
				t.Errorf("%d, %d bytes: %.400s", res.StatusCode, len(b), b)
			}
		})
	}
	// A WebSocket client sees the refusal too.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{replica.Header: {huge}}})
	if err == nil || res == nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("a WebSocket with a huge Sprocket-LSN: %v", err)
	}
}
