package gqlhttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/graph"
	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// closeStatus reads from c until it is closed and returns the close code
// and how long that took.
func closeStatus(t *testing.T, c *websocket.Conn, within time.Duration) (websocket.StatusCode, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the socket was still open after %v", within)
			}
			return websocket.CloseStatus(err), time.Since(start)
		}
	}
}

// TestWebSocketsWithoutConnectionInitAreClosedWith4408: a socket that
// sends no connection_init is closed at the deadline with 4408, also with
// PROTECT_READS; one that initialises in time stays open past it.
func TestWebSocketsWithoutConnectionInitAreClosedWith4408(t *testing.T) {
	t.Parallel() // its own server and databases; no shared state
	const deadline = 400 * time.Millisecond
	const token = "a-long-enough-ws-token"
	tokens, _ := auth.NewTokens([]string{token}, nil)
	for _, protect := range []bool{false, true} {
		t.Run(fmt.Sprintf("protectReads=%v", protect), func(t *testing.T) {
			opts := gqlhttp.DefaultOptions()
			opts.WSInitTimeout = deadline
			if protect {
				opts.Tokens, opts.ProtectReads = tokens, true
			}
			e := newEndpoint(t, testdb.Dialects[0], opts)

			silent, _ := dialWS(t, e, "")
			code, took := closeStatus(t, silent, 5*time.Second)
			if code != 4408 {
				t.Errorf("close code %d, want 4408", code)
			}
			if took < deadline-50*time.Millisecond || took > deadline+2*time.Second {
				t.Errorf("closed after %v, want about %v", took, deadline)
			}

			// A socket that initialises in time is not closed at the
			// deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, _ := dialWS(t, e, "")
			init := wsMessage{Type: "connection_init"}
			if protect {
				init.Payload = json.RawMessage(`{"Authorization": "Bearer ` + token + `"}`)
			}
			if err := wsjson.Write(ctx, conn, init); err != nil {
				t.Fatal(err)
			}
			if m := next(ctx, t, conn); m.Type != "connection_ack" {
				t.Fatalf("after connection_init: %+v", m)
			}
			time.Sleep(deadline + 200*time.Millisecond)
			if err := wsjson.Write(ctx, conn, wsMessage{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"{ __typename }"}`)}); err != nil {
				t.Fatal(err)
			}
			if m := next(ctx, t, conn); m.Type != "next" || !strings.Contains(string(m.Payload), "Query") {
				t.Errorf("after the deadline, an initialised socket answered %+v", m)
			}
		})
	}
}

// TestAWebSocketWithAnInvalidTokenIsClosedWith4403 under PROTECT_READS.
func TestAWebSocketWithAnInvalidTokenIsClosedWith4403(t *testing.T) {
	tokens, _ := auth.NewTokens([]string{"a-long-enough-ws-token"}, nil)
	opts := gqlhttp.DefaultOptions()
	opts.Tokens, opts.ProtectReads = tokens, true
	e := newEndpoint(t, testdb.Dialects[0], opts)
	conn, _ := dialWS(t, e, "")
	if err := wsjson.Write(context.Background(), conn, wsMessage{Type: "connection_init"}); err != nil {
		t.Fatal(err)
	}
	if code, _ := closeStatus(t, conn, 5*time.Second); code != 4403 {
		t.Errorf("close code %d, want 4403", code)
	}
}

// TestWebSocketUpgradesBeyondTheLimitGet503: with WS_MAX_CONNECTIONS open
// sockets, an upgrade is refused with 503, Retry-After and a coded JSON
// error; once one closes, a new one is accepted.
func TestWebSocketUpgradesBeyondTheLimitGet503(t *testing.T) {
	opts := gqlhttp.DefaultOptions()
	opts.WSMaxConnections = 2
	e := newEndpoint(t, testdb.Dialects[0], opts)
	first, _ := dialWS(t, e, "")
	dialWS(t, e, "")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err == nil || res == nil {
		t.Fatalf("a third socket was accepted (err %v)", err)
	}
	body, _ := io.ReadAll(res.Body)
	var doc struct {
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("status %d, Retry-After %q, Content-Type %q", res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"))
	}
	if json.Unmarshal(body, &doc) != nil || len(doc.Errors) != 1 || doc.Errors[0].Extensions.Code != "SERVICE_UNAVAILABLE" ||
		!strings.Contains(doc.Errors[0].Message, "limit") {
		t.Errorf("body %s", body)
	}

	first.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err == nil {
			c.CloseNow()
			break
		}
		if res == nil || res.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after a socket closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hubEndpoint is an endpoint whose subscriptions are served by a real hub:
// in-process on SQLite, LISTEN/NOTIFY on PostgreSQL.
type hubEndpoint struct {
	*endpoint
	hub interface {
		graph.Live
		core.Notifier
		Subscribers() int
		SetBuffer(int)
		Close() error
	}
	factory   int    // a factory's row id
	factoryID string // and its global id
}

func newHubEndpoint(t *testing.T, d string, opts gqlhttp.Options) *hubEndpoint {
	t.Helper()
	url := testdb.URL(t, d)
	db := testdb.OpenURL(t, url, 8)
	client := db.Client()
	svc := core.New(client, db.SQL, db.Dialect)
	h := &hubEndpoint{}
	if d == dialect.Postgres {
		p, err := live.NewPostgres(url, client, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		h.hub = p
	} else {
		h.hub = live.NewLocal()
	}
	t.Cleanup(func() { h.hub.Close() })
	svc.SetNotifier(h.hub)
	srv := httptest.NewServer(app.GraphQL(svc, h.hub, opts))
	t.Cleanup(srv.Close)
	h.endpoint = &endpoint{t: t, db: db, svc: svc, url: srv.URL}
	f, err := svc.CreateFactory(context.Background(), core.FactoryInput{Name: "North"})
	if err != nil {
		t.Fatal(err)
	}
	h.factory = f.ID
	var ids struct{ FactoryByRowID struct{ ID string } }
	if err := json.Unmarshal(h.mustQuery(fmt.Sprintf("{ factoryByRowId(rowId: %d) { id } }", f.ID)).Data, &ids); err != nil {
		t.Fatal(err)
	}
	h.factoryID = ids.FactoryByRowID.ID
	return h
}

// subscribe opens a socket subscribed (id "s") to the factory's points,
// registered with the hub when it returns.
func (h *hubEndpoint) subscribe(ctx context.Context) *websocket.Conn {
	h.t.Helper()
	before := h.hub.Subscribers()
	conn, _ := dialWS(h.t, h.endpoint, "")
	conn.SetReadLimit(1 << 20)
	if err := wsjson.Write(ctx, conn, wsMessage{Type: "connection_init"}); err != nil {
		h.t.Fatal(err)
	}
	if m := next(ctx, h.t, conn); m.Type != "connection_ack" {
		h.t.Fatalf("after connection_init: %+v", m)
	}
	payload, _ := json.Marshal(map[string]any{
		"query":     "subscription($f: ID!) { productionRecorded(factoryId: $f) { epoch } }",
		"variables": map[string]any{"f": h.factoryID},
	})
	if err := wsjson.Write(ctx, conn, wsMessage{ID: "s", Type: "subscribe", Payload: payload}); err != nil {
		h.t.Fatal(err)
	}
	for h.hub.Subscribers() == before {
		if ctx.Err() != nil {
			h.t.Fatal("the subscription did not reach the hub")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return conn
}

// record records n points at distinct times from first on.
func (h *hubEndpoint) record(first, n int) {
	h.t.Helper()
	pts := make([]core.Point, n)
	for i := range pts {
		pts[i] = core.Point{Time: int64(1_700_000_000 + (first+i)*60), Actual: 1, Goal: 2}
	}
	if _, err := h.svc.RecordProduction(context.Background(), h.factory, pts, false); err != nil {
		h.t.Fatal(err)
	}
}

// streamEnd is what a subscriber read: the distinct epochs it got, and the
// code of the error that ended the stream ("" for none) and whether a
// complete followed.
type streamEnd struct {
	epochs    map[int64]bool
	code, msg string
	completed bool
}

// readStream reads the subscription's messages, answering pings, until it
// has want points, or the stream ends; it fails after 30 s.
func readStream(t *testing.T, conn *websocket.Conn, want int) streamEnd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := streamEnd{epochs: map[int64]bool{}}
	for want <= 0 || len(got.epochs) < want {
		var m wsMessage
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			t.Fatalf("after %d points: %v", len(got.epochs), err)
		}
		switch m.Type {
		case "ping":
			_ = wsjson.Write(ctx, conn, wsMessage{Type: "pong"})
		case "pong":
		case "next":
			var r struct {
				Data *struct {
					ProductionRecorded struct{ Epoch int64 }
				}
				Errors []struct {
					Message    string
					Extensions struct{ Code string }
				}
			}
			if err := json.Unmarshal(m.Payload, &r); err != nil {
				t.Fatalf("%s: %v", m.Payload, err)
			}
			if r.Data != nil {
				got.epochs[r.Data.ProductionRecorded.Epoch] = true
			}
			if len(r.Errors) > 0 {
				got.code, got.msg = r.Errors[0].Extensions.Code, r.Errors[0].Message
			}
		case "complete":
			got.completed = true
			return got
		default:
			t.Fatalf("unexpected %s %s", m.Type, m.Payload)
		}
	}
	return got
}

// TestAFastSubscriberReceivesLargeBatches: a subscriber that keeps reading
// gets every point of a 5,000-point batch and of 40 batches of 1,000
// recorded side by side (one after the other on SQLite), on both
// databases.
func TestAFastSubscriberReceivesLargeBatches(t *testing.T) {
	t.Parallel() // its own server and databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		h := newHubEndpoint(t, d, gqlhttp.DefaultOptions())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn := h.subscribe(ctx)

		h.record(0, 5000)
		if got := readStream(t, conn, 5000); len(got.epochs) != 5000 || got.code != "" || got.completed {
			t.Fatalf("after one batch of 5,000: %d points, end %q %v", len(got.epochs), got.code, got.completed)
		}

		writers := 1
		if d == dialect.Postgres {
			writers = 8
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for b := w; b < 40; b += writers {
					h.record(10_000+b*1000, 1000)
				}
			})
		}
		got := readStream(t, conn, 40_000)
		wg.Wait()
		if len(got.epochs) != 40_000 || got.code != "" || got.completed {
			t.Errorf("after 40 batches of 1,000: %d points, end %q %v", len(got.epochs), got.code, got.completed)
		}
	})
}

// TestASubscriberThatDoesNotReadGetsSubscriberTooSlow: once a subscriber
// falls more than the buffer behind, it is ended with a coded error before
// complete, on both databases.
func TestASubscriberThatDoesNotReadGetsSubscriberTooSlow(t *testing.T) {
	t.Parallel() // its own server and databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		h := newHubEndpoint(t, d, gqlhttp.DefaultOptions())
		h.hub.SetBuffer(1000)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn := h.subscribe(ctx)
		// The socket is not read: its buffers fill, the hub's queue
		// with them, and the subscriber is dropped.
		batches := 0
		for h.hub.Subscribers() > 0 {
			if batches == 100 {
				t.Fatal("100 batches of 2,000 points did not overflow a subscriber that reads nothing")
			}
			h.record(batches*2000, 2000)
			batches++
			time.Sleep(10 * time.Millisecond) // Postgres: let the listener catch up
		}
		got := readStream(t, conn, 0)
		if got.code != string(live.CodeTooSlow) || !strings.Contains(got.msg, "efetch") || !got.completed {
			t.Errorf("after %d batches: %d points, then %q %q, complete %v", batches, len(got.epochs), got.code, got.msg, got.completed)
		}
		if len(got.epochs) >= batches*2000 {
			t.Errorf("all %d points arrived: nothing was dropped", len(got.epochs))
		}
	})
}

// TestDeletingAFactoryEndsItsSubscriptions with NOT_FOUND, after the
// points recorded before (on SQLite), on both databases.
func TestDeletingAFactoryEndsItsSubscriptions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		h := newHubEndpoint(t, d, gqlhttp.DefaultOptions())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn := h.subscribe(ctx)
		h.record(0, 3)
		if err := h.svc.DeleteFactory(ctx, h.factory); err != nil {
			t.Fatal(err)
		}
		got := readStream(t, conn, 0)
		// On PostgreSQL, points are read back when their notice
		// arrives, and may be gone with the factory by then.
		if (len(got.epochs) != 3 && d == dialect.SQLite) || len(got.epochs) > 3 || got.code != "NOT_FOUND" || !strings.Contains(got.msg, "deleted") || !got.completed {
			t.Errorf("got %d points, then %q %q, complete %v", len(got.epochs), got.code, got.msg, got.completed)
		}
		if n := h.hub.Subscribers(); n != 0 {
			t.Errorf("%d subscribers left", n)
		}
	})
}

// TestAWebSocketRunsAtMostWSMaxSubscriptionsOperations: a subscribe beyond
// the limit gets an error message coded TOO_MANY_SUBSCRIPTIONS and the
// others go on; once one completes, a new one is accepted; an id in use
// closes the socket with 4409.
func TestAWebSocketRunsAtMostWSMaxSubscriptionsOperations(t *testing.T) {
	opts := gqlhttp.DefaultOptions()
	opts.WSMaxSubscriptions = 2
	h := newHubEndpoint(t, testdb.Dialects[0], opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _ := dialWS(t, h.endpoint, "")
	if err := wsjson.Write(ctx, conn, wsMessage{Type: "connection_init"}); err != nil {
		t.Fatal(err)
	}
	if m := next(ctx, t, conn); m.Type != "connection_ack" {
		t.Fatalf("after connection_init: %+v", m)
	}
	payload, _ := json.Marshal(map[string]any{
		"query":     "subscription($f: ID!) { productionRecorded(factoryId: $f) { epoch } }",
		"variables": map[string]any{"f": h.factoryID},
	})
	subscribe := func(id string) {
		t.Helper()
		if err := wsjson.Write(ctx, conn, wsMessage{ID: id, Type: "subscribe", Payload: payload}); err != nil {
			t.Fatal(err)
		}
	}
	subscribe("a")
	subscribe("b")
	subscribe("c")
	m := next(ctx, t, conn)
	var errs []struct {
		Message    string
		Extensions struct{ Code string }
	}
	if m.Type != "error" || m.ID != "c" || json.Unmarshal(m.Payload, &errs) != nil || len(errs) != 1 ||
		errs[0].Extensions.Code != gqlhttp.CodeTooManySubscriptions || !strings.Contains(errs[0].Message, "2") {
		t.Fatalf("the third subscribe got %s %s %s", m.Type, m.ID, m.Payload)
	}
	for h.hub.Subscribers() < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	if n := h.hub.Subscribers(); n != 2 {
		t.Fatalf("%d subscriptions run, want 2", n)
	}
	// The two go on.
	h.record(0, 1)
	seen := map[string]bool{}
	for len(seen) < 2 {
		m := next(ctx, t, conn)
		if m.Type != "next" {
			t.Fatalf("got %+v", m)
		}
		seen[m.ID] = true
	}
	// Completing one frees its slot.
	if err := wsjson.Write(ctx, conn, wsMessage{ID: "a", Type: "complete"}); err != nil {
		t.Fatal(err)
	}
	if m := next(ctx, t, conn); m.Type != "complete" || m.ID != "a" {
		t.Fatalf("after complete: %+v", m)
	}
	subscribe("d")
	for h.hub.Subscribers() < 2 {
		if ctx.Err() != nil {
			t.Fatal("the subscribe after a complete did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// An id in use closes the socket.
	subscribe("b")
	if code, _ := closeStatus(t, conn, 5*time.Second); code != 4409 {
		t.Errorf("a reused id: close code %d, want 4409", code)
	}
}

// TestBudgetDefaultsAgreeWithTheConfiguration: sprocketd's defaults
// (config) are graph's and live's.
func TestBudgetDefaultsAgreeWithTheConfiguration(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d := gqlhttp.DefaultOptions()
	if cfg.WSInitTimeout != d.WSInitTimeout || cfg.WSMaxConnections != d.WSMaxConnections ||
		cfg.WSMaxSubscriptions != d.WSMaxSubscriptions || cfg.LiveBufferPoints != live.DefaultBuffer {
		t.Errorf("config %+v, graph %+v, live buffer %d", cfg, d, live.DefaultBuffer)
	}
}
