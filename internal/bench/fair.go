package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// hostileQuery is the default of --hostile-query: the most expensive shape
// the default limits accept that the harness knows of, four M4 series of
// 1,000 values over the largest factory (M4 reads raw points; each alias
// is a resolver of its own, run concurrently).
const hostileQuery = `query Hostile($id: Int64!) {
  a: factoryByRowId(rowId: $id) { series(maxDataPoints: 1000, aggregate: M4) { epochs actual goal } }
  b: factoryByRowId(rowId: $id) { series(maxDataPoints: 1000, aggregate: M4) { epochs actual goal } }
  c: factoryByRowId(rowId: $id) { series(maxDataPoints: 1000, aggregate: M4) { epochs actual goal } }
  d: factoryByRowId(rowId: $id) { series(maxDataPoints: 1000, aggregate: M4) { epochs actual goal } }
}`

// Background is what ran beside a measured workload: hostile clients
// looping an expensive query, and a prober of /healthz and /readyz.
type Background struct {
	HostileClients  int            `json:"hostile_clients"`
	HostileRequests int64          `json:"hostile_requests"`
	HostileOutcomes map[string]int `json:"hostile_outcomes"` // "ok", or the first error code
	HealthChecks    int64          `json:"health_checks"`
	HealthFailures  int64          `json:"health_failures"`
	HealthMaxMs     float64        `json:"health_max_ms"`
}

// prepareFair measures GET /v1/sprockets/{id} while --hostile-clients
// clients send --hostile-query in a loop: the server's budgets should keep
// the cheap request fast and the health checks answering.
func prepareFair(ctx context.Context, t *target) (*plan, error) {
	get, err := prepareSprocketGet(ctx, t)
	if err != nil {
		return nil, err
	}
	fs, err := t.seriesFactories(ctx)
	if err != nil {
		return nil, err
	}
	largest := slices.MaxFunc(fs, func(a, b seriesFactory) int { return a.ref.Points - b.ref.Points })
	body := mustBody(t.o.hostileQuery, map[string]any{"id": largest.ref.RowID})
	// The query must be accepted: refused by a limit, it would cost the
	// server nothing and prove nothing.
	if err := t.c.graphqlRaw(ctx, body, nil); err != nil && !strings.Contains(err.Error(), "SERVICE_UNAVAILABLE") {
		return nil, fmt.Errorf("the hostile query is not accepted: %w", err)
	}
	bg := &Background{HostileClients: t.o.hostileClients, HostileOutcomes: map[string]int{}}
	hctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var requests, checks, failures atomic.Int64
	var worst atomic.Int64
	for range t.o.hostileClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for hctx.Err() == nil {
				_, err := t.c.fetch(hctx, http.MethodPost, "/graphql", body, "application/json", &buf)
				if hctx.Err() != nil {
					return
				}
				if err == nil {
					err = checkGraphQL(buf.Bytes())
				}
				requests.Add(1)
				outcome := "ok"
				var ge gqlErrors
				switch {
				case errors.As(err, &ge) && len(ge) > 0:
					outcome, _ = ge[0].Extensions["code"].(string)
				case err != nil:
					outcome = "transport"
				}
				mu.Lock()
				bg.HostileOutcomes[outcome]++
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var buf bytes.Buffer
		for i := 0; hctx.Err() == nil; i++ {
			path := "/healthz"
			if i%2 == 1 {
				path = "/readyz"
			}
			start := time.Now()
			_, err := t.c.fetch(hctx, http.MethodGet, path, nil, "", &buf)
			if hctx.Err() != nil {
				return
			}
			took := time.Since(start)
			checks.Add(1)
			if err != nil {
				failures.Add(1)
			}
			if int64(took) > worst.Load() {
				worst.Store(int64(took))
			}
			select {
			case <-hctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	get.cleanup = func(context.Context) error {
		stop()
		wg.Wait()
		bg.HostileRequests, bg.HealthChecks, bg.HealthFailures = requests.Load(), checks.Load(), failures.Load()
		bg.HealthMaxMs = float64(worst.Load()) / float64(time.Millisecond)
		return nil
	}
	get.background = func() *Background { return bg }
	return get, nil
}
