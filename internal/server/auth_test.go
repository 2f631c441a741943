package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/app/apptest"
	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

const token = "a-long-enough-test-token"

func authServer(t *testing.T, protectReads bool) *testServer {
	t.Helper()
	db := testdb.Open(t, testdb.Dialects[0])
	cfg := testConfig(t)
	tokens, err := auth.NewTokens(nil, []string{auth.Hash(token)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ProtectReads = protectReads
	a := apptest.New(t, cfg, db, app.Options{Tokens: tokens})
	hs := httptest.NewServer(a.Handler)
	t.Cleanup(hs.Close)
	return &testServer{t: t, handler: a.Handler, svc: a.Service, url: hs.URL}
}

// TestWritesNeedATokenWhenTokensAreConfigured: REST writes and GraphQL
// mutations without a valid token are refused with 401 (GraphQL: code
// UNAUTHENTICATED) and change nothing; reads stay open; a wrong token is
// refused everywhere; the right one writes.
func TestWritesNeedATokenWhenTokensAreConfigured(t *testing.T) {
	srv := authServer(t, false)
	bearer := func(tok string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + tok}
	}
	cases := []struct {
		name, method, path string
		headers            map[string]string
		body               string
		status             int
		challenge          bool
	}{
		{"a REST create without a token", "POST", "/v1/sprockets", jsonHeaders(), goodSprocket, 401, true},
		{"a REST create with a wrong token", "POST", "/v1/sprockets", bearer("not-the-token-at-all"), goodSprocket, 401, true},
		{"a REST update without a token", "PUT", "/v1/sprockets/1", jsonHeaders(), goodSprocket, 401, true},
		{"a read without a token", "GET", "/v1/sprockets", nil, "", 200, false},
		{"a read with a wrong token", "GET", "/v1/sprockets", bearer("not-the-token-at-all"), "", 401, true},
		{"a GraphQL mutation without a token", "POST", "/graphql", jsonHeaders(), `{"query":"mutation { createSprocket(input: {teeth: 5, pitchDiameter: 1, outsideDiameter: 2, pitch: 1}) { id } }"}`, 200, false},
		{"a GraphQL mutation with a wrong token", "POST", "/graphql", bearer("not-the-token-at-all"), `{"query":"mutation { createSprocket(input: {teeth: 5, pitchDiameter: 1, outsideDiameter: 2, pitch: 1}) { id } }"}`, 401, true},
		{"a GraphQL query without a token", "POST", "/graphql", jsonHeaders(), `{"query":"{ sprockets { totalCount } }"}`, 200, false},
		{"health without a token", "GET", "/readyz", nil, "", 200, false},
	}
	for _, c := range cases {
		var body *string
		if c.body != "" {
			body = ptr(c.body)
		}
		got := srv.do(c.method, c.path, c.headers, body)
		if got.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, got.status, c.status, got.body)
		}
		if c.challenge != (got.header.Get("WWW-Authenticate") != "") {
			t.Errorf("%s: WWW-Authenticate %q", c.name, got.header.Get("WWW-Authenticate"))
		}
		if c.path == "/graphql" && c.status != 200 || strings.Contains(c.name, "GraphQL mutation without") {
			if !strings.Contains(got.body, `"UNAUTHENTICATED"`) {
				t.Errorf("%s: no UNAUTHENTICATED code: %s", c.name, got.body)
			}
		}
	}
	if n := srv.do("GET", "/v1/sprockets", nil, nil).body; n != "{\"sprockets\":[]}\n" {
		t.Fatalf("refused writes changed the state: %s", n)
	}
	if got := srv.do("POST", "/v1/sprockets", bearer(token), ptr(goodSprocket)); got.status != http.StatusCreated {
		t.Errorf("with the token: %d %s", got.status, got.body)
	}
	got := srv.do("POST", "/graphql", bearer(token), ptr(`{"query":"mutation { createSprocket(input: {teeth: 5, pitchDiameter: 1, outsideDiameter: 2, pitch: 1}) { rowId } }"}`))
	if !strings.Contains(got.body, `"rowId":2`) {
		t.Errorf("GraphQL mutation with the token: %s", got.body)
	}
}

func TestProtectedReadsNeedATokenToo(t *testing.T) {
	srv := authServer(t, true)
	if got := srv.do("GET", "/v1/sprockets", nil, nil); got.status != 401 || got.header.Get("WWW-Authenticate") == "" {
		t.Errorf("read without a token: %d", got.status)
	}
	if got := srv.do("GET", "/v1/sprockets", map[string]string{"Authorization": "Bearer " + token}, nil); got.status != 200 {
		t.Errorf("read with the token: %d", got.status)
	}
	for _, open := range []string{"/healthz", "/", "/graphiql"} {
		if got := srv.do("GET", open, nil, nil); got.status != 200 {
			t.Errorf("%s must stay open (it holds no data): %d", open, got.status)
		}
	}
	// A WebSocket upgrade goes through to the GraphQL layer, which checks
	// the token of connection_init (graph's tests cover that).
	if got := srv.do("GET", "/graphql", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, nil); got.status == 401 {
		t.Errorf("the WebSocket upgrade was refused before its connection_init: %d %s", got.status, got.body)
	}
}
