package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sprocketapi/sprocket/api"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// contract is the OpenAPI document of /v1 (api/openapi.json), loaded and
// validated as OpenAPI 3.1, with a router over its operations.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

func loadContract(t *testing.T) contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("api/openapi.json: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		t.Fatalf("api/openapi.json is OpenAPI %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.json is not a valid OpenAPI 3.1 document: %v", err)
	}
	version, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Info.Version != strings.TrimSpace(string(version)) {
		t.Errorf("api/openapi.json info.version %q, want the VERSION file's %q", doc.Info.Version, strings.TrimSpace(string(version)))
	}
	// The document's server is "/", the host that serves it; kin-openapi's
	// router matches servers against absolute URLs, so route by path alone.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return contract{doc: doc, router: router}
}

var validation = &openapi3filter.Options{
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	MultiError:         true,
}

// request builds the request the document is asked about.
func request(method, path string, headers map[string]string, body *string) *http.Request {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(*body)
	}
	req := httptest.NewRequest(method, "http://localhost"+path, r)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// The document names application/json; the server reads the
	// application/*+json types the same way, as its description says.
	if mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err == nil && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json") {
		req.Header.Set("Content-Type", mime.FormatMediaType("application/json", params))
	}
	return req
}

// check validates one exchange: the request against its operation (a
// request the document refuses must be refused by the server too: the
// document is never stricter than the server), and our answer against
// the operation's answers (status, required headers, body). A request
// with no route must be our 404, a method the route lacks our 405.
// It returns the request's validation error.
func (c contract) check(t *testing.T, label string, req *http.Request, got response) error {
	t.Helper()
	route, params, err := c.router.FindRoute(req)
	if err == nil && len(req.URL.Path) > 1 && strings.HasSuffix(req.URL.Path, "/") {
		// kin-openapi's router ignores a trailing slash; the document's
		// paths (and the server's) have none.
		err = routers.ErrPathNotFound
	}
	switch {
	case err != nil && c.hasPath(req):
		if got.status != http.StatusMethodNotAllowed || got.header.Get("Allow") == "" {
			t.Errorf("%s: the document has no %s for the path; the server answered %d (Allow %q), want 405 with Allow", label, req.Method, got.status, got.header.Get("Allow"))
		}
		c.wantMessage(t, label, got)
		return err
	case err != nil:
		if got.status != http.StatusNotFound {
			t.Errorf("%s: the document has no route (%v); the server answered %d, want 404", label, err, got.status)
		}
		c.wantMessage(t, label, got)
		return err
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: validation}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && got.status < 400 {
		t.Errorf("%s: the document refuses the request but the server answered %d:\n%v", label, got.status, reqErr)
	}
	op := route.Operation
	resp := op.Responses.Status(got.status)
	if resp == nil {
		t.Errorf("%s: status %d is not documented for %s %s", label, got.status, req.Method, route.Path)
		return reqErr
	}
	for name, h := range resp.Value.Headers {
		if h.Value.Required && got.header.Get(name) == "" {
			t.Errorf("%s: %d without the required header %s", label, got.status, name)
		}
	}
	if req.Method == http.MethodHead || got.status == http.StatusNotModified {
		// kin-openapi validates neither; they have no body.
		if got.body != "" {
			t.Errorf("%s: %s answered a body", label, req.Method)
		}
		return reqErr
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: got.status, Header: got.header, Options: validation}
	out.SetBodyBytes([]byte(got.body))
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s: our %d answer does not validate:\n%v\nbody: %.300s", label, got.status, err, got.body)
	}
	return reqErr
}

// hasPath reports whether the document has req's path with another method.
func (c contract) hasPath(req *http.Request) bool {
	other := req.Clone(context.Background())
	other.Method = http.MethodOptions
	_, _, err := c.router.FindRoute(other)
	return err == nil && !strings.HasSuffix(req.URL.Path, "/")
}

// wantMessage validates a body against the Message schema: the answers
// no operation describes (404 for an unknown path, 405).
func (c contract) wantMessage(t *testing.T, label string, got response) {
	t.Helper()
	if err := c.validateBody("Message", got.body); err != nil {
		t.Errorf("%s: %d body is not a Message: %v", label, got.status, err)
	}
}

func (c contract) validateBody(schema, body string) error {
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return err
	}
	return c.doc.Components.Schemas[schema].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// recorded validates the legacy service's own answer where the contract
// keeps it (JSON answers of every kind but clean-error, which records the
// legacy service's crashes and HTML pages that we replaced): its status
// must be documented and its body valid. It returns the body's
// validation error.
func (c contract) recorded(t *testing.T, label string, req *http.Request, e exchange, translate func(kind string, v any) any) error {
	t.Helper()
	route, _, err := c.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s: the legacy service answered %d for a request the document has no operation for: %v", label, e.Status, err)
		return nil
	}
	resp := route.Operation.Responses.Status(e.Status)
	if resp == nil {
		t.Errorf("%s: the legacy status %d is not documented for %s %s", label, e.Status, e.Method, route.Path)
		return nil
	}
	media := resp.Value.Content.Get("application/json")
	if media == nil {
		if e.ResponseIsText && string(e.Response) != `""` {
			t.Errorf("%s: the legacy answer has a body the document does not describe", label)
		}
		return nil
	}
	var v any
	if err := json.Unmarshal(e.Response, &v); err != nil {
		t.Errorf("%s: %v", label, err)
		return nil
	}
	// Rows we refused to create (the legacy service stored garbage) are
	// left out, as TestLegacyReferenceExchanges leaves them out.
	v = translate(kindOf(e.Path), v)
	return media.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors())
}

// TestOpenAPIDescribesEveryLegacyExchange replays the 191 recorded legacy
// exchanges (TestLegacyReferenceExchanges' replay) on SQLite and
// PostgreSQL and validates each against api/openapi.json with
// kin-openapi: our answer always; the recorded request; and the recorded
// legacy answer wherever the contract keeps it. The one expected
// difference in recorded answers is the deliberate one: the legacy 201
// body has no "id" (ours adds it; Created requires it).
func TestOpenAPIDescribesEveryLegacyExchange(t *testing.T) {
	c := loadContract(t)
	exchanges := loadExchanges(t)
	testdb.Each(t, func(t *testing.T, d string) {
		srv := newTestServer(t, d, nil)
		r := newReplay(t, srv)
		var refusedByDoc, recordedChecked, createdWithoutID int
		r.observe = func(e exchange, path string, gone bool, got response) {
			label := fmt.Sprintf("%s (%s %s)", e.Name, e.Method, e.Path)
			if c.check(t, label, request(e.Method, path, e.RequestHeaders, e.requestBody()), got) != nil {
				refusedByDoc++
			}
			if e.CheckKind == "clean-error" || e.ResponseIsText && e.Method != http.MethodOptions ||
				strings.Contains(e.Name, "[") && r.refused[e.Case] || gone {
				// The legacy service's crash pages, and what it showed
				// after storing what we refuse: not the contract.
				return
			}
			recordedChecked++
			err := c.recorded(t, label, request(e.Method, e.Path, e.RequestHeaders, e.requestBody()), e, r.translate)
			switch {
			case e.Status == http.StatusCreated:
				if err == nil || !strings.Contains(err.Error(), `property "id" is missing`) {
					t.Errorf("%s: the legacy 201 body should lack only the id we add; validation said: %v", label, err)
				}
				createdWithoutID++
			case err != nil:
				t.Errorf("%s: the recorded legacy answer does not validate:\n%v", label, err)
			}
		}
		for i, e := range exchanges {
			r.check(fmt.Sprintf("#%d %s", i, e.Name), e)
		}
		if recordedChecked < 100 || refusedByDoc < 50 {
			t.Errorf("checked %d recorded answers and %d requests the document refuses: fewer than the recording holds", recordedChecked, refusedByDoc)
		}
		t.Logf("%d exchanges: %d recorded answers validated (%d legacy 201s without id), %d requests refused by the document and by the server",
			len(exchanges), recordedChecked, createdWithoutID, refusedByDoc)
	})
}

// TestOpenAPIDescribesTheLiveAnswers validates what the recording does
// not hold: the answers of a server with tokens (401, 413, 415, HEAD,
// OPTIONS, 304, the document itself), each status one the document lists
// for its operation.
func TestOpenAPIDescribesTheLiveAnswers(t *testing.T) {
	c := loadContract(t)
	srv := authServer(t, false)
	auth := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + token}
	sprocket := `{"teeth":20,"pitch_diameter":10.0,"outside_diameter":11.0,"pitch":2.0}`
	factory := `{"factory":{"name":"Plant 9","chart_data":{"sprocket_production_actual":[32,29.5],"sprocket_production_goal":[32,30],"time":[1611194818,1611194878]}}}`
	big := `{"factory":{"chart_data":{"sprocket_production_actual":[],"sprocket_production_goal":[],"time":[]}},"pad":"` + strings.Repeat("x", 9<<20) + `"}`
	etag := srv.do(http.MethodGet, "/v1/openapi.json", nil, nil).header.Get("ETag")
	cases := []struct {
		method, path string
		headers      map[string]string
		body         *string
		status       int
	}{
		{http.MethodPost, "/v1/sprockets", jsonHeaders(), &sprocket, http.StatusUnauthorized},
		{http.MethodPost, "/v1/sprockets", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer a-wrong-but-long-test-token"}, &sprocket, http.StatusUnauthorized},
		{http.MethodPost, "/v1/sprockets", auth, &sprocket, http.StatusCreated},
		{http.MethodPost, "/v1/factories", auth, &factory, http.StatusCreated},
		{http.MethodPost, "/v1/factories", auth, &big, http.StatusRequestEntityTooLarge},
		{http.MethodPost, "/v1/factories", map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer " + token}, &factory, http.StatusUnsupportedMediaType},
		{http.MethodPut, "/v1/sprockets/1", auth, ptr(`{"teeth":21,"pitch_diameter":"10.5","outside_diameter":11,"pitch":2,"id":1,"note":"ignored"}`), http.StatusOK},
		{http.MethodPut, "/v1/sprockets/1", auth, ptr(`{"teeth":21,"pitch_diameter":10.5,"outside_diameter":11,"pitch":2,"id":2}`), http.StatusBadRequest},
		{http.MethodGet, "/v1/sprockets", nil, nil, http.StatusOK},
		{http.MethodGet, "/v1/sprockets/1", nil, nil, http.StatusOK},
		{http.MethodGet, "/v1/factories", nil, nil, http.StatusOK},
		{http.MethodGet, "/v1/factories/1", nil, nil, http.StatusOK},
		{http.MethodHead, "/v1/factories/1", nil, nil, http.StatusOK},
		{http.MethodHead, "/v1/sprockets/9", nil, nil, http.StatusNotFound},
		{http.MethodOptions, "/v1/sprockets/1", map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "PUT"}, nil, http.StatusOK},
		{http.MethodGet, "/v1/openapi.json", nil, nil, http.StatusOK},
		{http.MethodGet, "/v1/openapi.json", map[string]string{"If-None-Match": etag}, nil, http.StatusNotModified},
		{http.MethodHead, "/v1/openapi.json", nil, nil, http.StatusOK},
		{http.MethodDelete, "/v1/openapi.json", auth, nil, http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		label := tc.method + " " + tc.path
		got := srv.do(tc.method, tc.path, tc.headers, tc.body)
		if got.status != tc.status {
			t.Errorf("%s: %d, want %d: %s", label, got.status, tc.status, got.body)
			continue
		}
		reqErr := c.check(t, label, request(tc.method, tc.path, tc.headers, tc.body), got)
		if got.status < 300 && reqErr != nil {
			t.Errorf("%s: the server accepted a request the document refuses: %v", label, reqErr)
		}
	}
	if !bytes.Contains(api.OpenAPI, []byte(`"/v1/openapi.json"`)) {
		t.Error("the document does not describe its own route")
	}
}
