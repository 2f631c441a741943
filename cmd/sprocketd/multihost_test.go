package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestServeTakesTheURLPgAutoctlPrints: DATABASE_URL in pg_autoctl show
// uri's form, two hosts before the path (the first refusing connections,
// the second the test's server), with target_session_attrs=read-write and
// sslmode=prefer: sprocketd starts, writes and reads. lib/pq alone was
// handed "127.0.0.1:<port>:5432" and start-up failed ("no such host").
func TestServeTakesTheURLPgAutoctlPrints(t *testing.T) {
	refusing, closed, target := refusingURL(t)
	u, err := url.Parse(refusing)
	if err != nil {
		t.Fatal(err)
	}
	multi := fmt.Sprintf("postgres://%s@%s,%s%s?target_session_attrs=read-write&sslmode=prefer", u.User, closed, target, u.Path)
	base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": multi})
	if code, body, _ := do(t, "POST", base+"/v1/sprockets", "", `{"teeth": 31, "pitch_diameter": 5, "outside_diameter": 6, "pitch": 1}`); code != 201 {
		t.Fatalf("POST /v1/sprockets: %d %s", code, body)
	}
	var s struct{ Sprockets []struct{ Teeth int } }
	getJSON(t, base+"/v1/sprockets", &s)
	if len(s.Sprockets) != 1 || s.Sprockets[0].Teeth != 31 {
		t.Errorf("read back %+v", s.Sprockets)
	}
}

// TestServeFailsAtOnceWhenTheServerRefusesUs: a database that does not
// exist (like a wrong password) is the configuration's fault, not an
// unreachable server: start-up ends at once instead of retrying for
// DATABASE_WAIT.
func TestServeFailsAtOnceWhenTheServerRefusesUs(t *testing.T) {
	u, err := url.Parse(testdb.URL(t, dialect.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/sprocket_no_such_database"
	env := map[string]string{"ENV": "testing", "DATABASE_URL": u.String(), "DATABASE_WAIT": "30s", "PORT": "0"}
	began := time.Now()
	err = run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v, want the server's refusal", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("start-up took %v to give up, as if the database were unreachable", took)
	}
}
