package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/app/apptest"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// liveServer is the real router, wired as sprocketd wires it, with
// subscriptions served by a real hub (LISTEN/NOTIFY on PostgreSQL) and
// the metrics on.
type liveServer struct {
	*testServer
	hub       app.Hub
	factory   int    // a factory's row id
	factoryID string // and its global id
}

func newLiveServer(t *testing.T, d string, env map[string]string) *liveServer {
	t.Helper()
	url := testdb.URL(t, d)
	a := apptest.New(t, testConfigWith(t, env), testdb.OpenURL(t, url, 8), app.Options{Version: "test"})
	s := &liveServer{hub: a.Hub}
	svc := a.Service
	hs := httptest.NewServer(a.Handler)
	t.Cleanup(hs.Close)
	s.testServer = &testServer{t: t, handler: a.Handler, svc: svc, url: hs.URL}
	f, err := svc.CreateFactory(context.Background(), core.FactoryInput{Name: "North"})
	if err != nil {
		t.Fatal(err)
	}
	got := s.do("POST", "/graphql", jsonHeaders(), ptr(fmt.Sprintf(`{"query":"{ factoryByRowId(rowId: %d) { id } }"}`, f.ID)))
	var ids struct {
		Data struct{ FactoryByRowID struct{ ID string } }
	}
	if err := json.Unmarshal([]byte(got.body), &ids); err != nil || ids.Data.FactoryByRowID.ID == "" {
		t.Fatalf("%d %s", got.status, got.body)
	}
	s.factory, s.factoryID = f.ID, ids.Data.FactoryByRowID.ID
	return s
}

// metric is the value of the /metrics sample whose line starts with
// series (a name and its labels), and whether there is one.
func (s *liveServer) metric(series string) (float64, bool) {
	s.t.Helper()
	body := s.do("GET", "/metrics", nil, nil).body
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f, true
			}
		}
	}
	return 0, false
}

// waitSubscribers waits until the hub has n subscribers.
func (s *liveServer) waitSubscribers(n int, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for s.hub.Subscribers() != n {
		if time.Now().After(deadline) {
			s.t.Fatalf("%d subscribers, want %d", s.hub.Subscribers(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscription is the document of a subscription to the factory's
// points, followed by a comment that makes it size bytes long, unique by
// tag (so that no cache can share it).
func subscription(size int, tag string) string {
	q := "subscription($f: ID!) { productionRecorded(factoryId: $f) { epoch actual } } #" + tag + " "
	if n := size - len(q); n > 0 {
		q += strings.Repeat("c", n)
	}
	return q
}

// wsMsg is a graphql-transport-ws message.
type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialInitialised opens a graphql-transport-ws socket and initialises it.
func (s *liveServer) dialInitialised(ctx context.Context) *websocket.Conn {
	s.t.Helper()
	c := s.dial(ctx)
	if err := wsjson.Write(ctx, c, wsMsg{Type: "connection_init"}); err != nil {
		s.t.Fatal(err)
	}
	if m := s.nextMessage(ctx, c); m.Type != "connection_ack" {
		s.t.Fatalf("after connection_init: %+v", m)
	}
	return c
}

func (s *liveServer) dial(ctx context.Context) *websocket.Conn {
	s.t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.url, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		s.t.Fatal(err)
	}
	c.SetReadLimit(4 << 20)
	s.t.Cleanup(func() { c.CloseNow() })
	return c
}

// nextMessage reads the next message that is not a ping or pong.
func (s *liveServer) nextMessage(ctx context.Context, c *websocket.Conn) wsMsg {
	s.t.Helper()
	for {
		var m wsMsg
		if err := wsjson.Read(ctx, c, &m); err != nil {
			s.t.Fatal(err)
		}
		if m.Type == "ping" {
			_ = wsjson.Write(ctx, c, wsMsg{Type: "pong"})
			continue
		}
		if m.Type != "pong" {
			return m
		}
	}
}

// readAll reads c's messages in the background, answering pings, and
// hands the others on; the channel is closed when c is.
func readAll(c *websocket.Conn) <-chan wsMsg {
	out := make(chan wsMsg, 1024)
	go func() {
		defer close(out)
		ctx := context.Background()
		for {
			var m wsMsg
			if err := wsjson.Read(ctx, c, &m); err != nil {
				return
			}
			switch m.Type {
			case "ping":
				_ = wsjson.Write(ctx, c, wsMsg{Type: "pong"})
			case "pong":
			default:
				out <- m
			}
		}
	}()
	return out
}

// subscribeWS sends a subscribe message of query with the factory as $f.
func (s *liveServer) subscribeWS(ctx context.Context, c *websocket.Conn, id, query string) {
	s.t.Helper()
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"f": s.factoryID}})
	if err := wsjson.Write(ctx, c, wsMsg{ID: id, Type: "subscribe", Payload: payload}); err != nil {
		s.t.Fatal(err)
	}
}

// firstErrorCode is the code of the first error of a GraphQL result or
// error payload ("" for none).
func firstErrorCode(payload []byte) (code, message string) {
	var r struct {
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if json.Unmarshal(payload, &r) != nil || len(r.Errors) == 0 {
		var list []struct {
			Message    string
			Extensions struct{ Code string }
		}
		if json.Unmarshal(payload, &list) != nil || len(list) == 0 {
			return "", ""
		}
		return list[0].Extensions.Code, list[0].Message
	}
	return r.Errors[0].Extensions.Code, r.Errors[0].Message
}

// sseStream is an open server-sent events answer.
type sseStream struct {
	res *http.Response
	r   *bufio.Reader
}

// openSSE posts subscription(size, tag) (with the factory as $f) for
// server-sent events and returns the open stream, or the whole answer when
// it is not a stream. The body is made as it is sent, so that the test's
// own memory stays out of the measurement.
func (s *liveServer) openSSE(ctx context.Context, client *http.Client, size int, tag string) (*sseStream, int, string) {
	s.t.Helper()
	q := subscription(0, tag)
	const unit = 1 << 10
	body := bodyOf{head: `{"query":"` + q, unit: strings.Repeat("c", unit), n: max(0, size-len(q)) / unit,
		tail: `","variables":{"f":"` + s.factoryID + `"}}`}
	req, err := http.NewRequestWithContext(ctx, "POST", s.url+"/graphql", body.reader())
	if err != nil {
		s.t.Fatal(err)
	}
	req.ContentLength = body.size()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return nil, res.StatusCode, string(b)
	}
	s.t.Cleanup(func() { res.Body.Close() })
	return &sseStream{res: res, r: bufio.NewReader(res.Body)}, res.StatusCode, ""
}

// openManySSE opens n streams of subscriptions of size bytes, senders at
// a time; one refused with 503 SERVICE_UNAVAILABLE is sent again (a
// moment later, where a client would wait Retry-After), and counted.
func (s *liveServer) openManySSE(ctx context.Context, n, senders, size int) (streams []*sseStream, retried int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	streams = make([]*sseStream, n)
	var retries atomic.Int64
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for i := w; i < n; i += senders {
				for {
					st, status, body := s.openSSE(ctx, client, size, fmt.Sprint(i))
					if code, _ := firstErrorCode([]byte(body)); status == http.StatusServiceUnavailable &&
						code == "SERVICE_UNAVAILABLE" && ctx.Err() == nil {
						retries.Add(1)
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if st == nil {
						s.t.Errorf("subscription %d: %d %s", i, status, body)
						return
					}
					streams[i] = st
					break
				}
			}
		})
	}
	wg.Wait()
	return streams, int(retries.Load())
}

// event reads the stream's next event ("next" or "complete") and its data;
// comments (keep-alives) are skipped.
func (e *sseStream) event() (string, string, error) {
	var name, data string
	for {
		line, err := e.r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if name != "" {
				return name, data, nil
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// The memory goal of an attack on what the server holds over time: its
// peak stays within this much of idle.
const heldAttackBudget = 300 << 20

// heldMeter measures an attack as the memory tests do: the resident
// memory's peak above idle while it runs (residentSampler), and the heap
// still held after it, after a collection.
type heldMeter struct {
	idle, heapBefore uint64
	smp              *residentSampler
}

func startHeld() *heldMeter {
	m := &heldMeter{idle: idleResident(), heapBefore: heldAfterGC()}
	m.smp = startSampler()
	return m
}

// check ends the measurement of what, an attack of n items, and checks
// the goal: the peak within heldAttackBudget of idle, and at most perItem
// bytes held for each item afterwards (0: not checked).
func (m *heldMeter) check(t *testing.T, what string, n int, perItem int64) {
	t.Helper()
	peak := m.smp.finish()
	held := int64(heldAfterGC()) - int64(m.heapBefore)
	t.Logf("%s: resident %.1f MB idle, %.1f MB peak; %.1f MB held after GC (%.1f KB each of %d)",
		what, mbOf(m.idle), mbOf(peak), float64(held)/(1<<20), float64(held)/float64(n)/1024, n)
	if rise := int64(peak) - int64(m.idle); rise > heldAttackBudget {
		t.Errorf("%s: resident memory rose %.1f MB, more than %d MB", what, float64(rise)/(1<<20), heldAttackBudget>>20)
	}
	if perItem > 0 && held/int64(n) > perItem {
		t.Errorf("%s: each holds %d bytes after GC, more than %d", what, held/int64(n), perItem)
	}
}

// heldAfterGC is the heap in use after a collection: what is still held.
func heldAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
