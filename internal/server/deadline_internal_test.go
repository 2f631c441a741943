package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOnlySubscriptionsEscapeTheDeadline: the stream headers lift the
// request deadline on /graphql only, where a subscription may follow;
// on any other route they change nothing.
func TestOnlySubscriptionsEscapeTheDeadline(t *testing.T) {
	for _, c := range []struct {
		path, header, value string
		bounded             bool
	}{
		{"/v1/factories", "Accept", "text/event-stream", true},
		{"/v1/factories/1", "Upgrade", "websocket", true},
		{"/graphiql", "Accept", "text/event-stream", true},
		{"/graphql", "Accept", "application/json", true},
		{"/graphql", "Accept", "text/event-stream", false},
		{"/graphql", "Upgrade", "websocket", false},
	} {
		var bounded atomic.Bool
		h := deadline(fixed(time.Second))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, has := r.Context().Deadline()
			bounded.Store(has)
		}))
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		req.Header.Set(c.header, c.value)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if bounded.Load() != c.bounded {
			t.Errorf("%s with %s: %s: deadline %v, want %v", c.path, c.header, c.value, bounded.Load(), c.bounded)
		}
	}
}

// TestAStuckHandlerIsAnsweredAtItsDeadline: a handler that ignores its
// context (as a driver blocked on a black-holed database does) does not
// hold the client: deadline answers 503 with Retry-After, in the route's
// error shape, and drops what the handler writes later. A handler that
// has begun its answer is left to finish it.
func TestAStuckHandlerIsAnsweredAtItsDeadline(t *testing.T) {
	t.Parallel() // no shared state; it mostly waits
	const d = 200 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	stuck := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("begin") != "" {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "begun ")
			time.Sleep(2 * d)
			_, _ = io.WriteString(w, "and finished")
			return
		}
		w.Header().Set("X-Half", "set before the deadline")
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "too late")
	})
	srv := httptest.NewServer(deadline(fixed(d))(stuck))
	defer srv.Close()
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/factories", http.StatusServiceUnavailable, `{"message":"The request did not finish within its deadline; try again shortly."}`},
		{"/graphql", http.StatusOK, `"code":"SERVICE_UNAVAILABLE"`},
	} {
		start := time.Now()
		res, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		if res.StatusCode != c.status || res.Header.Get("Retry-After") == "" ||
			!strings.Contains(string(body), c.want) || res.Header.Get("X-Half") != "" {
			t.Errorf("%s: %d %v %s", c.path, res.StatusCode, res.Header, body)
		}
		if took > d+deadlineGrace+300*time.Millisecond {
			t.Errorf("%s: answered after %v, deadline %v", c.path, took, d)
		}
	}
	res, err := http.Get(srv.URL + "/v1/stream?begin=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "begun and finished" {
		t.Errorf("an answer begun before the deadline: %d %q", res.StatusCode, body)
	}
}

// TestAPanicPastTheDeadlineMiddlewareStillReachesTheRecoverer: the
// handler runs in its own goroutine; its panic is raised again in the
// request's.
func TestAPanicPastTheDeadlineMiddlewareStillReachesTheRecoverer(t *testing.T) {
	h := recoverer(deadline(fixed(time.Second))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/sprockets/1", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

// TestReadinessAnswersInTimeAndPingsOnce: /readyz's ping gives up at its
// timeout even when the ping itself never returns (a black-holed
// database), and concurrent checks share one ping.
func TestReadinessAnswersInTimeAndPingsOnce(t *testing.T) {
	t.Parallel() // no shared state; it mostly waits
	var pings atomic.Int32
	block := make(chan struct{})
	defer close(block)
	ready := readiness(func(context.Context) error {
		pings.Add(1)
		<-block // ignores its context, like a driver stuck on a read
		return nil
	})
	start := time.Now()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ready(context.Background()); err == nil {
				t.Error("ready while the database does not answer")
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took > readyTimeout+500*time.Millisecond {
		t.Errorf("readiness answered after %v", took)
	}
	if n := pings.Load(); n != 1 {
		t.Errorf("%d pings in flight at once, want 1", n)
	}
}

func fixed(d time.Duration) func(*http.Request) time.Duration {
	return func(*http.Request) time.Duration { return d }
}

// TestDownloadsHaveTheirOwnDeadline: the legacy downloads (every
// factory's series, or one's) get DOWNLOAD_TIMEOUT; everything else,
// their neighbours included, DB_TIMEOUT.
func TestDownloadsHaveTheirOwnDeadline(t *testing.T) {
	for _, c := range []struct {
		method, path string
		download     bool
	}{
		{"GET", "/v1/factories", true},
		{"GET", "/v1/factories/", true},
		{"GET", "/v1/factories/12", true},
		{"HEAD", "/v1/factories/12", true},
		{"POST", "/v1/factories", false},
		{"PUT", "/v1/factories/12", false},
		{"GET", "/v1/factories/12/x", false},
		{"GET", "/v1/factoriesx", false},
		{"GET", "/v1/sprockets", false},
		{"GET", "/graphql", false},
	} {
		if got := isDownload(httptest.NewRequest(c.method, c.path, nil)); got != c.download {
			t.Errorf("%s %s: download %v, want %v", c.method, c.path, got, c.download)
		}
	}
	limit := requestDeadline(10*time.Second, time.Minute)
	if got := limit(httptest.NewRequest("GET", "/v1/factories/3", nil)); got != time.Minute {
		t.Errorf("a download's deadline: %v, want DOWNLOAD_TIMEOUT", got)
	}
	if got := limit(httptest.NewRequest("GET", "/v1/sprockets/3", nil)); got != 10*time.Second {
		t.Errorf("another request's deadline: %v, want DB_TIMEOUT", got)
	}
	if got := requestDeadline(time.Minute, time.Second)(httptest.NewRequest("GET", "/v1/factories", nil)); got != time.Minute {
		t.Errorf("a download's deadline shorter than DB_TIMEOUT: %v", got)
	}
}
