package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestRequestsPastTheInFlightLimitAreRefusedAtOnce: with the limit
// reached, another request is answered 503 with Retry-After at once (not
// queued), in its route's error shape; health checks, metrics and
// subscriptions still get through; a slot freed serves again.
func TestRequestsPastTheInFlightLimitAreRefusedAtOnce(t *testing.T) {
	const limit = 2
	entered := make(chan struct{}, 16)
	release := make(chan struct{})
	h := inFlight(limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hold") != "" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))
	var wg sync.WaitGroup
	for range limit {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/factories?hold=1", nil))
		}()
		<-entered
	}
	for _, path := range []string{"/v1/sprockets/1", "/graphql"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "limit of 2 requests") {
			t.Errorf("%s past the limit: %d %v %s", path, rec.Code, rec.Header(), rec.Body)
		}
	}
	if rec := httptest.NewRecorder(); true {
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/graphql", nil))
		if !strings.Contains(rec.Body.String(), `"code":"SERVICE_UNAVAILABLE"`) {
			t.Errorf("GraphQL's refusal is not a GraphQL error: %s", rec.Body)
		}
	}
	sub := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	sub.Header.Set("Accept", "text/event-stream")
	for _, req := range []*http.Request{httptest.NewRequest(http.MethodGet, "/healthz", nil),
		httptest.NewRequest(http.MethodGet, "/readyz", nil), httptest.NewRequest(http.MethodGet, "/metrics", nil), sub} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("%s %v while saturated: %d", req.URL.Path, req.Header, rec.Code)
		}
	}
	close(release)
	wg.Wait()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/sprockets/1", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("after the slots were freed: %d", rec.Code)
	}
}
