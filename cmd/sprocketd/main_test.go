package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// start runs sprocketd serve on port 0 with env and returns its base URL;
// the server is stopped (and must exit cleanly) at cleanup.
func start(t *testing.T, env map[string]string) string {
	t.Helper()
	env["PORT"] = "0"
	env["HOST"] = "127.0.0.1"
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard,
			func(a net.Addr) { addrc <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sprocketd exited with %v", err)
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a.String()
	case err := <-done:
		t.Fatalf("sprocketd did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("sprocketd did not start within a minute")
	}
	return ""
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

type factories struct {
	Factories []struct {
		ID        int `json:"id"`
		ChartData struct {
			Time []int64 `json:"time"`
		} `json:"chart_data"`
	} `json:"factories"`
}

// TestDevelopmentServesTheSeedData is the first README command: with no
// configuration, sprocketd serves three seeded factories of 20 points.
func TestDevelopmentServesTheSeedData(t *testing.T) {
	base := start(t, map[string]string{"DATABASE_URL": filepath.Join(t.TempDir(), "dev.db")})
	var f factories
	getJSON(t, base+"/v1/factories", &f)
	if len(f.Factories) != 3 {
		t.Fatalf("%d factories, want 3", len(f.Factories))
	}
	for _, fa := range f.Factories {
		if len(fa.ChartData.Time) != 20 {
			t.Errorf("factory %d has %d points, want 20", fa.ID, len(fa.ChartData.Time))
		}
	}
	var s struct{ Sprockets []map[string]any }
	getJSON(t, base+"/v1/sprockets", &s)
	if len(s.Sprockets) != 3 {
		t.Errorf("%d sprockets, want 3", len(s.Sprockets))
	}
}

// TestTestingStartsEmptyOnPostgres: ENV=testing never seeds.
func TestTestingStartsEmptyOnPostgres(t *testing.T) {
	base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": testdb.URL(t, dialect.Postgres)})
	var f factories
	getJSON(t, base+"/v1/factories", &f)
	if len(f.Factories) != 0 {
		t.Errorf("ENV=testing seeded %d factories", len(f.Factories))
	}
	res, err := http.Get(base + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Errorf("readyz: %v %v", res, err)
	}
}

func TestProductionRequiresDatabaseURL(t *testing.T) {
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"ENV": "production"}[k]
	}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("got %v, want an error that names DATABASE_URL", err)
	}
}

// TestMigrateAndSeedRunInProductionWithoutTokens: migrate only migrates
// and seed loads the seed data, as deploy steps in production, where no API
// token is set because neither command serves anything; serve still
// refuses that configuration.
func TestMigrateAndSeedRunInProductionWithoutTokens(t *testing.T) {
	url := testdb.EmptyURL(t, dialect.Postgres)
	env := func(k string) string { return map[string]string{"ENV": "production", "DATABASE_URL": url}[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, env, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "_init ") || !strings.HasPrefix(out.String(), "applied ") {
		t.Errorf("migrate said %q", out.String())
	}
	var f factories
	base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": url})
	getJSON(t, base+"/v1/factories", &f)
	if len(f.Factories) != 0 {
		t.Errorf("%d factories after migrate, want none", len(f.Factories))
	}
	out.Reset()
	if err := run(context.Background(), []string{"seed"}, env, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "seeded 3 factories (60 points) and 3 sprockets") {
		t.Errorf("seed said %q", out.String())
	}
	getJSON(t, base+"/v1/factories", &f)
	if len(f.Factories) != 3 {
		t.Errorf("%d factories after seed, want 3", len(f.Factories))
	}
	err := run(context.Background(), []string{"serve"}, env, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "API_TOKENS") {
		t.Errorf("serve in production without tokens: got %v, want an error that names API_TOKENS", err)
	}
}

// TestSeedFillsOnlyAnEmptyDatabase runs seed twice at once and then once
// more on each database: one copy of the seed data is stored, and the runs
// that found data say so and succeed.
func TestSeedFillsOnlyAnEmptyDatabase(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		url := testdb.URL(t, d)
		env := func(k string) string { return map[string]string{"ENV": "production", "DATABASE_URL": url}[k] }
		if err := run(context.Background(), []string{"migrate"}, env, io.Discard, io.Discard, nil); err != nil {
			t.Fatal(err)
		}
		seedOnce := func() (string, error) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"seed"}, env, &out, io.Discard, nil)
			return out.String(), err
		}
		type result struct {
			out string
			err error
		}
		results := make(chan result, 2)
		for range 2 {
			go func() { out, err := seedOnce(); results <- result{out, err} }()
		}
		runs := []result{<-results, <-results}
		out, err := seedOnce()
		runs = append(runs, result{out, err})
		seeded := 0
		for _, r := range runs {
			switch {
			case r.err != nil:
				t.Errorf("seed failed: %v", r.err)
			case strings.Contains(r.out, "seeded 3 factories"):
				seeded++
			case !strings.Contains(r.out, "nothing seeded"):
				t.Errorf("seed said %q", r.out)
			}
		}
		if seeded != 1 {
			t.Errorf("%d of 3 seed runs seeded, want 1", seeded)
		}
		base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": url})
		var f factories
		getJSON(t, base+"/v1/factories", &f)
		var s struct{ Sprockets []map[string]any }
		getJSON(t, base+"/v1/sprockets", &s)
		if len(f.Factories) != 3 || len(s.Sprockets) != 3 {
			t.Errorf("%d factories and %d sprockets after three seeds, want 3 and 3", len(f.Factories), len(s.Sprockets))
		}
	})
}

// TestHealthcheckAsksReadyz: the command exits cleanly for a ready server
// and fails for one that answers 503, one that does not answer in time and
// an address where nothing listens.
func TestHealthcheckAsksReadyz(t *testing.T) {
	t.Parallel() // no shared state; it mostly waits
	healthcheck := func(base string) (string, error) {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"ENV": "testing", "HOST": "0.0.0.0", "PORT": u.Port()}
		var out bytes.Buffer
		err = run(context.Background(), []string{"healthcheck"}, func(k string) string { return env[k] }, &out, io.Discard, nil)
		return out.String(), err
	}

	ready := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": filepath.Join(t.TempDir(), "h.db")})
	if out, err := healthcheck(ready); err != nil || !strings.HasPrefix(out, "ready: http://127.0.0.1:") {
		t.Errorf("a ready server: %q, %v", out, err)
	}

	var asked atomic.Value
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.Path)
		http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer unready.Close()
	if _, err := healthcheck(unready.URL); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a server answering 503: got %v, want an error", err)
	}
	if p, _ := asked.Load().(string); p != "/readyz" {
		t.Errorf("the healthcheck asked for %q, want /readyz", p)
	}

	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	began := time.Now()
	if _, err := healthcheck(stuck.URL); err == nil {
		t.Error("a server that never answers passed the healthcheck")
	}
	if d := time.Since(began); d > healthcheckTimeout+2*time.Second {
		t.Errorf("the healthcheck of a server that never answers took %v", d)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stopped := "http://" + ln.Addr().String()
	ln.Close()
	if _, err := healthcheck(stopped); err == nil {
		t.Error("an address where nothing listens passed the healthcheck")
	}
}

func TestVersionAndUnknownCommands(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, io.Discard, nil); err != nil || !strings.HasPrefix(out.String(), "sprocketd ") {
		t.Errorf("version: %q %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard, nil); err == nil {
		t.Error("an unknown command was accepted")
	}
}

// TestSecretsNeverReachTheLog runs the server with a password in its
// DATABASE_URL and an API token, makes an authenticated write and a
// refused one, and checks that neither secret appears in the log.
func TestSecretsNeverReachTheLog(t *testing.T) {
	u, _ := url.Parse(testdb.URL(t, dialect.Postgres))
	u.User = url.UserPassword("postgres", "s3cret-db-password") // trust auth ignores it
	const token = "s3cret-api-token-0123456789"
	env := map[string]string{"ENV": "testing", "DATABASE_URL": u.String(), "API_TOKENS": token,
		"LOG_LEVEL": "debug", "PORT": "0", "HOST": "127.0.0.1"}
	var logs testlog.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &logs, func(a net.Addr) { addrc <- a })
	}()
	base := "http://" + (<-addrc).String()
	for _, tok := range []string{token, "wrong-token-0123456789"} {
		req, _ := http.NewRequest("POST", base+"/v1/sprockets", strings.NewReader(`{"teeth":1,"pitch_diameter":1,"outside_diameter":2,"pitch":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "msg=request") {
		t.Fatalf("no access log was written:\n%s", out)
	}
	for _, secret := range []string{"s3cret-db-password", token, "wrong-token-0123456789"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %q:\n%s", secret, out)
		}
	}
}
