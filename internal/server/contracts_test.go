package server_test

import (
	"net/http"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/api"
)

// TestTheSchemaIsServedAlsoWithoutIntrospection: GET
// /graphql/schema.graphql answers the published SDL when introspection is
// off, so that clients never depend on the repository for it.
func TestTheSchemaIsServedAlsoWithoutIntrospection(t *testing.T) {
	srv := newTestServer(t, dialect.SQLite, map[string]string{"GRAPHQL_INTROSPECTION": "false"})
	intro := srv.do(http.MethodPost, "/graphql", jsonHeaders(), ptr(`{"query":"{ __schema { queryType { name } } }"}`))
	if !strings.Contains(intro.body, "errors") {
		t.Fatalf("introspection is not off: %s", intro.body)
	}
	got := srv.do(http.MethodGet, "/graphql/schema.graphql", nil, nil)
	if got.status != http.StatusOK || got.body != string(api.SchemaGraphQL) {
		t.Fatalf("GET /graphql/schema.graphql: %d, %d bytes; want 200 and api/schema.graphql", got.status, len(got.body))
	}
	if ct := got.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	wantDocument(t, srv, "/graphql/schema.graphql", got)
}

// TestTheOpenAPIDocumentIsServed: GET /v1/openapi.json answers the
// embedded document, the one route added to the legacy contract.
func TestTheOpenAPIDocumentIsServed(t *testing.T) {
	srv := newTestServer(t, dialect.SQLite, nil)
	got := srv.do(http.MethodGet, "/v1/openapi.json", nil, nil)
	if got.status != http.StatusOK || got.body != string(api.OpenAPI) {
		t.Fatalf("GET /v1/openapi.json: %d, %d bytes; want 200 and api/openapi.json", got.status, len(got.body))
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	wantDocument(t, srv, "/v1/openapi.json", got)
}

// wantDocument checks what both contract routes share: HEAD, an ETag that
// answers 304, and a 405 with Allow for a write.
func wantDocument(t *testing.T, srv *testServer, path string, got response) {
	t.Helper()
	etag := got.header.Get("ETag")
	if etag == "" {
		t.Fatalf("%s: no ETag", path)
	}
	if again := srv.do(http.MethodGet, path, map[string]string{"If-None-Match": etag}, nil); again.status != http.StatusNotModified {
		t.Errorf("%s with If-None-Match: %d, want 304", path, again.status)
	}
	if head := srv.do(http.MethodHead, path, nil, nil); head.status != http.StatusOK || head.body != "" || head.header.Get("Content-Length") != got.header.Get("Content-Length") {
		t.Errorf("HEAD %s: %d, %q, Content-Length %q", path, head.status, head.body, head.header.Get("Content-Length"))
	}
	if post := srv.do(http.MethodPost, path, jsonHeaders(), ptr(`{}`)); post.status != http.StatusMethodNotAllowed || post.header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("POST %s: %d, Allow %q", path, post.status, post.header.Get("Allow"))
	}
}
