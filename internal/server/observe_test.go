package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/server"
	"github.com/sprocketapi/sprocket/internal/telemetry"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// TestRequestsAreLoggedWithTheirIDAndCounted: every answer carries an
// X-Request-ID (the client's when sane), the access log line carries it
// with the route pattern, and /metrics counts the request.
func TestRequestsAreLoggedWithTheirIDAndCounted(t *testing.T) {
	db := testdb.Open(t, testdb.Dialects[0])
	cfg := testConfig(t)
	var logs testlog.Buffer
	log := telemetry.NewLogger(&logs, "json", slog.LevelInfo)
	m := telemetry.NewMetrics("test", db.SQL, nil)
	srv := httptest.NewServer(server.New(server.Deps{Config: cfg, Service: core.New(db.Client(), db.SQL, db.Dialect), Logger: log, Metrics: m}))
	defer srv.Close()

	get := func(path, id string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if got := get("/v1/sprockets/7", "abc-123").Header.Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("sane request id not echoed: %q", got)
	}
	// Replaced by a fresh id: 32 hex digits (which may spell "bad" by chance,
	// so the test looks at the form, not for the word).
	if got := get("/v1/sprockets", "bad id;"+strings.Repeat("x", 200)).Header.Get("X-Request-ID"); len(got) != 32 || strings.Trim(got, "0123456789abcdef") != "" {
		t.Errorf("insane request id was not replaced: %q", got)
	}
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"request_id":"abc-123"`) {
			line = l
		}
	}
	for _, want := range []string{`"route":"/v1/sprockets/{id}"`, `"status":404`, `"method":"GET"`, `"bytes":`, `"duration":`} {
		if !strings.Contains(line, want) {
			t.Errorf("access log line %q lacks %s", line, want)
		}
	}
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`sprocket_http_requests_total{method="GET",route="/v1/sprockets/{id}",status="404"} 1`,
		`sprocket_http_request_duration_seconds_bucket{method="GET",route="/v1/sprockets",`,
		`sprocket_build_info{version="test"} 1`,
		`go_sql_open_connections{db_name="sprocket"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
