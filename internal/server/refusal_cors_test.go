package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/server"
)

// TestRefusalsCarryCORSHeaders: a browser on an allowed origin can read
// the server's refusals (and their Retry-After): past MAX_IN_FLIGHT, at a
// deadline takeover, and for a body over MAX_BODY_BYTES, as well as an
// ordinary answer.
func TestRefusalsCarryCORSHeaders(t *testing.T) {
	const allowed = "http://127.0.0.1:3000"
	cfg := testConfig(t)
	cfg.MaxInFlight = 1
	cfg.MaxBody = 16
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	gql := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			entered <- struct{}{}
			<-release // ignores its context, as a driver blocked on a dead link
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{}}`))
	})
	h := server.New(server.Deps{Config: cfg, GraphQL: gql, RequestTimeout: 200 * time.Millisecond})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release)

	send := func(method, path, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Origin", allowed)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	check := func(what string, res *http.Response, status int) {
		t.Helper()
		if res.StatusCode != status || res.Header.Get("Access-Control-Allow-Origin") != allowed ||
			!strings.Contains(res.Header.Get("Access-Control-Expose-Headers"), "Retry-After") {
			t.Errorf("%s: %d, want %d; Access-Control-Allow-Origin %q, Expose-Headers %q", what, res.StatusCode, status,
				res.Header.Get("Access-Control-Allow-Origin"), res.Header.Get("Access-Control-Expose-Headers"))
		}
	}

	check("an ordinary answer", send(http.MethodPost, "/graphql", `{}`), http.StatusOK)
	check("a body over MAX_BODY_BYTES", send(http.MethodPost, "/graphql", strings.Repeat(" ", 64)+`{}`), http.StatusRequestEntityTooLarge)

	held := make(chan *http.Response, 1)
	go func() { held <- send(http.MethodPost, "/graphql?hold=1", `{}`) }()
	<-entered
	res := send(http.MethodPost, "/graphql", `{}`)
	check("past MAX_IN_FLIGHT", res, http.StatusServiceUnavailable)
	if res.Header.Get("Retry-After") == "" {
		t.Error("past MAX_IN_FLIGHT: no Retry-After")
	}
	// The held request is answered by the deadline takeover (GraphQL: 200
	// with SERVICE_UNAVAILABLE).
	select {
	case res := <-held:
		check("a deadline takeover", res, http.StatusOK)
		if res.Header.Get("Retry-After") == "" {
			t.Error("a deadline takeover: no Retry-After")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held request was not answered at its deadline")
	}
}
