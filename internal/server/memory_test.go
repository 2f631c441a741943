package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
)

// The memory goal of one request, and of sixteen at once.
const (
	oneRequestBudget = 64 << 20
	sixteenBudget    = 300 << 20
)

// residentSampler follows the Go runtime's resident memory while requests
// run: what the runtime has mapped (/memory/classes/total:bytes) less what
// it has given back to the OS (/memory/classes/heap/released:bytes). That
// is every page of heap, stacks and runtime metadata the process may hold,
// so it bounds the RSS the Go code is responsible for (the process has no
// C allocations on PostgreSQL); pages mapped but never touched make it
// over-count, never under-count. It is read every 2 ms; the runtime only
// gives memory back in the background, slowly, so a peak lasts far longer
// than that.
type residentSampler struct {
	samples []metrics.Sample
	peak    atomic.Uint64
	stop    chan struct{}
	done    chan struct{}
}

func readResident(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

func newSamples() []metrics.Sample {
	return []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
}

// idleResident collects garbage, returns what it can to the OS and reads
// the resident figure: the baseline of a measurement.
func idleResident() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	return readResident(newSamples())
}

func startSampler() *residentSampler {
	s := &residentSampler{samples: newSamples(), stop: make(chan struct{}), done: make(chan struct{})}
	s.peak.Store(readResident(s.samples))
	go func() {
		defer close(s.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if v := readResident(s.samples); v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *residentSampler) finish() uint64 {
	close(s.stop)
	<-s.done
	if v := readResident(s.samples); v > s.peak.Load() {
		s.peak.Store(v)
	}
	return s.peak.Load()
}

// bodyOf is a request body made on the fly, so that the test's own
// memory stays out of the measurement: head, then unit n times (sep
// between), then tail.
type bodyOf struct {
	head, unit, sep, tail string
	n                     int
	// unitf, when set, makes unit i instead of unit; its units all have
	// the length of unitf(0).
	unitf func(i int) string
}

func (b bodyOf) size() int64 {
	unit := len(b.unit)
	if b.unitf != nil {
		unit = len(b.unitf(0))
	}
	n := int64(len(b.head) + len(b.tail) + b.n*unit)
	if b.n > 1 {
		n += int64((b.n - 1) * len(b.sep))
	}
	return n
}

func (b bodyOf) reader() io.Reader {
	return io.MultiReader(strings.NewReader(b.head), &repeater{unit: b.unit, unitf: b.unitf, sep: b.sep, n: b.n}, strings.NewReader(b.tail))
}

type repeater struct {
	unit, sep string
	unitf     func(int) string
	n, i      int
	pending   []byte
}

func (r *repeater) Read(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		if len(r.pending) == 0 {
			if r.i == r.n {
				break
			}
			if r.i > 0 {
				r.pending = append(r.pending[:0], r.sep...)
			}
			if r.unitf != nil {
				r.pending = append(r.pending, r.unitf(r.i)...)
			} else {
				r.pending = append(r.pending, r.unit...)
			}
			r.i++
		}
		c := copy(p[written:], r.pending)
		r.pending = r.pending[c:]
		written += c
	}
	if written == 0 {
		return 0, io.EOF
	}
	return written, nil
}

// memAnswer is what the test keeps of an answer: its status, size and
// first bytes.
type memAnswer struct {
	status int
	size   int64
	head   string
}

func (a memAnswer) code() string {
	var env struct {
		Errors []struct {
			Extensions struct{ Code string } `json:"extensions"`
		} `json:"errors"`
	}
	_ = json.Unmarshal([]byte(a.head), &env)
	if len(env.Errors) == 0 {
		return ""
	}
	return env.Errors[0].Extensions.Code
}

// postBody sends body to /graphql and reads the answer away.
func postBody(t *testing.T, url string, b bodyOf) memAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url+"/graphql", b.reader())
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = b.size()
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(res.Body, head)
	rest, _ := io.Copy(io.Discard, res.Body)
	return memAnswer{status: res.StatusCode, size: int64(n) + rest, head: string(head[:n])}
}

func queryBody(query string, vars string) bodyOf {
	q, _ := json.Marshal(query)
	if vars == "" {
		return bodyOf{head: `{"query":` + string(q) + `}`}
	}
	return bodyOf{head: `{"query":` + string(q) + `,"variables":` + vars + `}`}
}

// aliases writes n aliases of field.
func aliases(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s\n", i, field)
	}
	return b.String()
}

// TestHostileRequestsStayWithinTheMemoryBudget sends the shapes of the
// resource-budget issue to the real router over a PostgreSQL database,
// with the default settings, and checks each is refused (or answered)
// within the memory goal: no request raises the resident memory by more
// than 64 MB over idle, and sixteen at once keep it under 300 MB.
func TestHostileRequestsStayWithinTheMemoryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("long: seeds 200,000 points and measures memory request by request")
	}
	s := newTestServer(t, dialect.Postgres, nil)
	ctx := context.Background()
	// 100 factories of 2,000 points (the dashboard's worst case, a series
	// of 2,000 values each) and one of 1,000 for points(first: 1000).
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	pts := make([]core.Point, 2000)
	for i := range pts {
		pts[i] = core.Point{Time: start + int64(i)*60, Actual: float64(1000 + i), Goal: 1234.5}
	}
	for range 100 {
		if _, err := s.svc.CreateFactory(ctx, core.FactoryInput{Points: pts}); err != nil {
			t.Fatal(err)
		}
	}
	pointsQuery := func(n int) string {
		return "{ factoryByRowId(rowId: 1) {\n" +
			aliases(n, "points(first: 1000) { edges { node { time actual goal } } }") + "} }"
	}
	// Points of distinct times, one a second from 2027 (epoch 1798761600),
	// all written the same length; upserts, so that a request sent again
	// is accepted again.
	recordBody := func(mutation string, n int) bodyOf {
		q, _ := json.Marshal(mutation)
		return bodyOf{
			head: `{"query":` + string(q) + `,"variables":{"id":"RmFjdG9yeTox","points":[`,
			unitf: func(i int) string {
				return fmt.Sprintf(`{"time":%q,"actual":%d,"goal":32}`,
					time.Unix(1798761600+int64(i), 0).UTC().Format(time.RFC3339), 100000+i%100000)
			},
			sep: ",", n: n, tail: `]}}`,
		}
	}
	record := `mutation($id: ID!, $points: [PointInput!]!) { recordProduction(factoryId: $id, points: $points, mode: UPSERT) { inserted updated } }`
	create := `mutation($points: [PointInput!]!) { createFactory(input: {points: $points}) { id } }`
	mb := strings.Repeat("x", 1<<20)
	maxBody := int(testConfig(t).MaxBody)
	// The most points a GraphQL call takes: 4 values each within the
	// value budget, less the room for the rest.
	maxPoints := (gqlhttp.DefaultMaxVariableValues - 1000) / 4

	cases := []struct {
		name   string
		body   bodyOf
		status int
		code   string // of the first error; "" for none
	}{
		{"250 aliases of node(id: $x), $x of 1 MB", queryBody("query($x: ID!) {\n"+aliases(250, "node(id: $x) { id }")+"}",
			`{"x":"`+mb+`"}`), 200, "BAD_USER_INPUT"},
		{"300 aliases of points(first: 1000)", queryBody(pointsQuery(300), ""), 200, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"150 aliases of points(first: 1000), within the cost limit", queryBody(pointsQuery(150), ""), 200, "RESPONSE_TOO_LARGE"},
		{"a 30 MB body of {} in an unused variable", bodyOf{head: `{"query":"{ __typename }","variables":{"unused":[`,
			unit: "{}", sep: ",", n: 10_000_000, tail: "]}}"}, 413, "PAYLOAD_TOO_LARGE"},
		{"a body of MAX_BODY_BYTES of {} in an unused variable", bodyOf{head: `{"query":"{ __typename }","variables":{"unused":[`,
			unit: "{}", sep: ",", n: maxBody/3 - 100, tail: "]}}"}, 413, "PAYLOAD_TOO_LARGE"},
		{"a string of MAX_BODY_BYTES in an unused variable", bodyOf{head: `{"query":"{ __typename }","variables":{"unused":"`,
			unit: "y", n: maxBody - 100, tail: `"}}`}, 413, "PAYLOAD_TOO_LARGE"},
		{"a body of MAX_BODY_BYTES of strings of 1 MiB", bodyOf{head: `{"query":"{ __typename }","variables":{"unused":[`,
			unit: `"` + mb + `"`, sep: ",", n: maxBody>>20 - 1, tail: "]}}"}, 200, ""},
		{"a body of MAX_BODY_BYTES of 1,000 strings", bodyOf{head: `{"query":"{ __typename }","variables":{"unused":[`,
			unit: `"` + strings.Repeat("z", maxBody/1000-10) + `"`, sep: ",", n: 1000, tail: "]}}"}, 200, ""},
		{"1,000 aliases of __schema", queryBody("{\n"+aliases(1000, "__schema { types { name fields { name } } }")+"}", ""),
			200, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"the dashboard, 100 factories of 2,000 values", queryBody(`{ factories(first: 100) { totalCount edges { node { id rowId name
			summary { count totalActual totalGoal attainment }
			series(maxDataPoints: 1997, aggregate: AVG) { interval epochs actual goal } } } } }`, ""), 200, ""},
		{"the largest recordProduction", recordBody(record, maxPoints), 200, ""},
		{"the largest createFactory", recordBody(create, maxPoints), 200, ""},
		{"recordProduction of core.MaxRecordBatch points", recordBody(record, core.MaxRecordBatch), 413, "PAYLOAD_TOO_LARGE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idle := idleResident()
			smp := startSampler()
			a := postBody(t, s.url, c.body)
			peak := smp.finish()
			rise := int64(peak) - int64(idle)
			t.Logf("%s: %d, %d bytes, code %q; resident %.1f MB idle, %.1f MB peak (+%.1f MB)",
				c.name, a.status, a.size, a.code(), mbOf(idle), mbOf(peak), float64(rise)/(1<<20))
			if a.status != c.status || a.code() != c.code {
				t.Errorf("got %d, code %q: %.300s", a.status, a.code(), a.head)
			}
			if rise > oneRequestBudget {
				t.Errorf("resident memory rose %.1f MB, more than %d MB", float64(rise)/(1<<20), oneRequestBudget>>20)
			}
		})
	}

	t.Run("sixteen at once", func(t *testing.T) {
		for _, c := range cases {
			idle := idleResident()
			smp := startSampler()
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() { postBody(t, s.url, c.body) })
			}
			wg.Wait()
			peak := smp.finish()
			t.Logf("16 × %s: resident %.1f MB idle, %.1f MB peak", c.name, mbOf(idle), mbOf(peak))
			if peak > sixteenBudget {
				t.Errorf("16 × %s: resident memory peaked at %.1f MB, more than %d MB", c.name, mbOf(peak), sixteenBudget>>20)
			}
		}
	})
}

func mbOf(b uint64) float64 { return float64(b) / (1 << 20) }
