package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/testdb"
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

// TestMigrateAndSeedCommands: migrate only migrates; seed loads the seed
// data whatever ENV says.
func TestMigrateAndSeedCommands(t *testing.T) {
	url := testdb.URL(t, dialect.Postgres)
	env := func(k string) string { return map[string]string{"ENV": "testing", "DATABASE_URL": url}[k] }
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, env, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "_init ") || !strings.HasPrefix(out.String(), "applied ") {
		t.Errorf("migrate said %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"seed"}, env, &out, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "seeded 3 factories (60 points) and 3 sprockets") {
		t.Errorf("seed said %q", out.String())
	}
	base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": url})
	var f factories
	getJSON(t, base+"/v1/factories", &f)
	if len(f.Factories) != 3 {
		t.Errorf("%d factories after seed, want 3", len(f.Factories))
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
	var logs syncBuffer
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
