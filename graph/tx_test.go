package graph_test

import (
	"bytes"
	"encoding/json"
	"entgo.io/ent/dialect"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/graph/gid"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestMutationsThatDeadlockAreRunAgain: mutations that write two factories
// in opposite orders deadlock on PostgreSQL (each holds one factory's lock
// and waits for the other's; PostgreSQL ends one after deadlock_timeout,
// 1 s by default). The loser's whole operation is run again in a new
// transaction, within the core's bounded attempts: every answer is a
// success or, when the collisions persist, SERVICE_UNAVAILABLE with
// Retry-After, never an internal error, and the stored points are exactly
// those of the acknowledged operations. On SQLite, writers queue.
func TestMutationsThatDeadlockAreRunAgain(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		// PostgreSQL looks for deadlocks after deadlock_timeout (1 s by
		// default); a superuser's connection may shorten it, so that the
		// test waits for each deadlock a tenth as long.
		url := testdb.URL(t, d)
		if d == dialect.Postgres {
			url += "&deadlock_timeout=100ms"
		}
		e := newGQLOn(t, testdb.OpenURL(t, url, 8))
		ctx := t.Context()
		var ids [2]string
		var rows [2]int
		for i := range ids {
			f, err := e.svc.CreateFactory(ctx, core.FactoryInput{})
			if err != nil {
				t.Fatal(err)
			}
			rows[i] = f.ID
			ids[i] = gid.New("Factory", f.ID).String()
		}
		const mutation = `mutation($a: ID!, $b: ID!, $p: [PointInput!]!, $q: [PointInput!]!) {
			a: recordProduction(factoryId: $a, points: $p) { inserted }
			b: recordProduction(factoryId: $b, points: $q) { inserted }
		}`
		const clients, rounds = 2, 8
		var wg sync.WaitGroup
		errs := make(chan string, clients*rounds)
		var mu sync.Mutex
		acked, busy := 0, 0
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := range rounds {
					// Half the clients write factory 0 then 1, the
					// others 1 then 0; every point has its own time.
					a, b := ids[0], ids[1]
					if c%2 == 1 {
						a, b = b, a
					}
					tm := func(k int) string {
						return time.Unix(int64(((c*rounds+r)*2+k)*10), 0).UTC().Format(time.RFC3339)
					}
					vars := map[string]any{"a": a, "b": b,
						"p": []map[string]any{{"time": tm(0), "actual": 1, "goal": 1}},
						"q": []map[string]any{{"time": tm(1), "actual": 1, "goal": 1}}}
					body, _ := json.Marshal(map[string]any{"query": mutation, "variables": vars})
					res, err := http.Post(e.url, "application/json", bytes.NewReader(body))
					if err != nil {
						errs <- err.Error()
						continue
					}
					var out gqlResult
					err = json.NewDecoder(res.Body).Decode(&out)
					res.Body.Close()
					mu.Lock()
					switch {
					case err == nil && len(out.Errors) == 0:
						acked++
					case err == nil && out.Errors[0].Extensions["code"] == "SERVICE_UNAVAILABLE" && res.Header.Get("Retry-After") != "":
						busy++
						for _, e := range out.Errors[1:] {
							if e.Extensions["code"] != "NOT_EXECUTED" {
								errs <- fmt.Sprintf("client %d round %d: after a failed field: %+v", c, r, e)
							}
						}
					default:
						errs <- fmt.Sprintf("client %d round %d: %v %+v", c, r, err, out.Errors)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for msg := range errs {
			t.Error(msg)
		}
		var total int64
		for _, id := range rows {
			n, err := e.svc.CountPoints(ctx, id, core.PointsQuery{})
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		t.Logf("%d acknowledged, %d SERVICE_UNAVAILABLE", acked, busy)
		if total != int64(2*acked) {
			t.Fatalf("%d points stored, want %d (2 for each of %d acknowledged mutations)", total, 2*acked, acked)
		}
		if acked < clients*rounds*3/4 {
			t.Fatalf("only %d of %d mutations succeeded: deadlocked ones are not run again", acked, clients*rounds)
		}
	})
}
