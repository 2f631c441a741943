package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/app/apptest"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// testServer is the real router over a fresh database.
type testServer struct {
	t       testing.TB
	handler http.Handler
	svc     *core.Service
	url     string // a real HTTP server over handler
}

func newTestServer(t testing.TB, dialect string, env map[string]string) *testServer {
	t.Helper()
	a := apptest.New(t, testConfigWith(t, env), testdb.Open(t, dialect), app.Options{})
	hs := httptest.NewServer(a.Handler)
	t.Cleanup(hs.Close)
	return &testServer{t: t, handler: a.Handler, svc: a.Service, url: hs.URL}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request over HTTP to the real router. A nil body sends none.
func (s *testServer) do(method, path string, headers map[string]string, body *string) response {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(*body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.url+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func ptr(s string) *string { return &s }

func jsonHeaders() map[string]string { return map[string]string{"Content-Type": "application/json"} }

// testConfig is the configuration of ENV=testing.
func testConfig(t testing.TB) config.Config {
	t.Helper()
	return testConfigWith(t, nil)
}

// testConfigWith is the configuration of ENV=testing and env.
func testConfigWith(t testing.TB, env map[string]string) config.Config {
	t.Helper()
	return apptest.Config(t, env)
}
