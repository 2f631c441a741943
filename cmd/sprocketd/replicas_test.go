package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// gql posts a GraphQL operation and decodes its data into v.
func gql(t *testing.T, base, query string, vars map[string]any, v any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	res, err := http.Post(base+"/graphql", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data   json.RawMessage
		Errors []map[string]any
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
		t.Fatalf("%s: %v %v", query, err, out.Errors)
	}
	if v != nil {
		if err := json.Unmarshal(out.Data, v); err != nil {
			t.Fatal(err)
		}
	}
}

// subscribe opens a server-sent-events subscription and returns its data
// events as they come; the channel closes when the stream ends.
func subscribe(t *testing.T, base, query string, vars map[string]any) <-chan string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("subscribe: %d %s", res.StatusCode, b)
	}
	events := make(chan string, 100)
	ready := make(chan struct{})
	go func() {
		defer close(events)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		first := true
		for sc.Scan() {
			line := sc.Text()
			if first {
				// gqlgen writes ":\n\n" when the stream opens.
				close(ready)
				first = false
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				events <- data
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the subscription stream did not open")
	}
	return events
}

func next(t *testing.T, events <-chan string) string {
	t.Helper()
	select {
	case e, ok := <-events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	return ""
}

// TestSubscribersOnOneReplicaSeePointsRecordedThroughAnother runs two
// sprocketd processes' worth of servers on one PostgreSQL database.
func TestSubscribersOnOneReplicaSeePointsRecordedThroughAnother(t *testing.T) {
	url := testdb.URL(t, dialect.Postgres)
	a := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": url})
	b := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": url})
	var created struct{ CreateFactory struct{ ID string } }
	gql(t, b, `mutation { createFactory(input: {name: "Plant 7"}) { id } }`, nil, &created)
	id := created.CreateFactory.ID
	events := subscribe(t, a, `subscription($f: ID!) { productionRecorded(factoryId: $f) { epoch actual goal } }`, map[string]any{"f": id})
	waitSubscribed(t, a)
	gql(t, b, `mutation($f: ID!) { recordProduction(factoryId: $f, points: [
		{time: "2026-05-01T00:00:00Z", actual: 30, goal: 32}, {time: "2026-05-01T00:01:00Z", actual: 31, goal: 32}]) { inserted } }`,
		map[string]any{"f": id}, nil)
	for _, want := range []string{`"epoch":1777593600,"actual":30,"goal":32`, `"epoch":1777593660,"actual":31,"goal":32`} {
		if e := next(t, events); !strings.Contains(e, want) {
			t.Errorf("event %s, want %s", e, want)
		}
	}
}

// TestShutdownCompletesSubscriptionsAndExitsCleanly: on SIGTERM (here the
// context), open subscriptions are completed and run returns nil.
func TestShutdownCompletesSubscriptionsAndExitsCleanly(t *testing.T) {
	env := map[string]string{"ENV": "testing", "DATABASE_URL": testdb.URL(t, dialect.SQLite), "PORT": "0", "HOST": "127.0.0.1"}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, io.Discard, func(a net.Addr) { addrc <- a })
	}()
	base := "http://" + (<-addrc).String()
	var created struct{ CreateFactory struct{ ID string } }
	gql(t, base, `mutation { createFactory(input: {}) { id } }`, nil, &created)
	events := subscribe(t, base, `subscription($f: ID!) { productionRecorded(factoryId: $f) { epoch } }`, map[string]any{"f": created.CreateFactory.ID})
	waitSubscribed(t, base)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v, want a clean exit", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop within 30 s")
	}
	for e := range events { // the stream must end, not hang
		if strings.Contains(e, "errors") {
			t.Errorf("the subscription ended with an error: %s", e)
		}
	}
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// waitSubscribed waits until the server counts one open subscription: a
// stream opens before its subscription is registered.
func waitSubscribed(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(metricsText(t, base), "sprocket_graphql_subscriptions_active 1") {
		if time.Now().After(deadline) {
			t.Fatal("the subscription was not registered within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
