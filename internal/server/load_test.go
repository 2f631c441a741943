package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/server"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestMixedLoadLosesAndInventsNothing drives a real server on PostgreSQL
// with 256 concurrent clients for a few seconds of mixed reads and writes,
// then proves that every acknowledged write is stored, exactly once, that
// nothing unacknowledged was stored, and that no request got a 5xx.
func TestMixedLoadLosesAndInventsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 256 clients for 4 s on PostgreSQL")
	}
	const clients = 256
	const duration = 4 * time.Second
	url := testdb.URL(t, dialect.Postgres)
	ctx := context.Background()
	db := testdb.OpenURL(t, url, 16)
	svc := core.New(db.Client(), db.SQL, db.Dialect)
	srv := httptest.NewServer(server.New(server.Deps{Config: testConfig(t), Service: svc}))
	defer srv.Close()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}

	// Each client owns one sprocket, which it updates with growing teeth.
	owned := make([]int, clients)
	for i := range owned {
		s, err := svc.CreateSprocket(ctx, core.SprocketInput{Teeth: 1, PitchDiameter: 1, OutsideDiameter: 2, Pitch: 1})
		if err != nil {
			t.Fatal(err)
		}
		owned[i] = s.ID
	}

	type result struct {
		factories map[int]string // acknowledged factory id -> name
		sprockets map[int]bool   // acknowledged created sprockets
		teeth     int            // last acknowledged teeth of the owned sprocket
	}
	var (
		requests, fivexx atomic.Int64
		mu               sync.Mutex
		problems         []string
	)
	problem := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 10 {
			problems = append(problems, s)
		}
	}
	do := func(method, path, body string) (int, []byte) {
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, srv.URL+path, r)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		requests.Add(1)
		if err != nil {
			problem(err.Error())
			return 0, nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			fivexx.Add(1)
			problem(fmt.Sprintf("%s %s: %d %s", method, path, res.StatusCode, b))
		}
		return res.StatusCode, b
	}
	results := make([]result, clients)
	stop := time.Now().Add(duration)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			res := result{factories: map[int]string{}, sprockets: map[int]bool{}, teeth: 1}
			for i := 0; time.Now().Before(stop); i++ {
				switch i % 6 {
				case 0:
					name := fmt.Sprintf("c%d-%d", c, i)
					body := fmt.Sprintf(`{"factory":{"name":%q,"chart_data":{"sprocket_production_actual":[1,2,3],"sprocket_production_goal":[3,3,3],"time":[1,2,3]}}}`, name)
					if st, b := do("POST", "/v1/factories", body); st == http.StatusCreated {
						var cr struct{ ID int }
						_ = json.Unmarshal(b, &cr)
						res.factories[cr.ID] = name
					}
				case 1:
					teeth := res.teeth + 1
					body := fmt.Sprintf(`{"teeth":%d,"pitch_diameter":1,"outside_diameter":2,"pitch":1}`, teeth)
					if st, _ := do("PUT", fmt.Sprintf("/v1/sprockets/%d", owned[c]), body); st == http.StatusOK {
						res.teeth = teeth
					}
				case 2:
					if st, b := do("POST", "/v1/sprockets", `{"teeth":7,"pitch_diameter":1,"outside_diameter":2,"pitch":1}`); st == http.StatusCreated {
						var cr struct{ ID int }
						_ = json.Unmarshal(b, &cr)
						res.sprockets[cr.ID] = true
					}
				case 3:
					do("GET", fmt.Sprintf("/v1/sprockets/%d", owned[c]), "")
				case 4:
					do("GET", "/v1/sprockets", "")
				default:
					for id := range res.factories {
						do("GET", fmt.Sprintf("/v1/factories/%d", id), "")
						break
					}
				}
			}
			results[c] = res
		}(c)
	}
	wg.Wait()
	t.Logf("%d requests from %d clients in %v", requests.Load(), clients, duration)
	if len(problems) > 0 || fivexx.Load() > 0 {
		t.Fatalf("%d answers were 5xx; problems: %q", fivexx.Load(), problems)
	}

	// The database holds exactly what was acknowledged.
	st, body := do("GET", "/v1/factories", "")
	var list struct {
		Factories []struct {
			ID        int
			ChartData struct {
				Time []int64 `json:"time"`
			} `json:"chart_data"`
		}
	}
	if err := json.Unmarshal(body, &list); err != nil || st != http.StatusOK {
		t.Fatalf("listing factories: %d %v", st, err)
	}
	factories := list.Factories
	ackedF := map[int]bool{}
	for _, r := range results {
		for id := range r.factories {
			ackedF[id] = true
		}
	}
	if len(factories) != len(ackedF) {
		t.Errorf("%d factories stored, %d acknowledged", len(factories), len(ackedF))
	}
	for _, f := range factories {
		if !ackedF[f.ID] || len(f.ChartData.Time) != 3 {
			t.Errorf("factory %d: acknowledged %v, %d points", f.ID, ackedF[f.ID], len(f.ChartData.Time))
		}
	}
	sprockets, err := svc.ListSprockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int]int{}
	for _, s := range sprockets {
		byID[s.ID] = s.Teeth
	}
	created := 0
	for c, r := range results {
		if byID[owned[c]] != r.teeth {
			t.Errorf("sprocket %d has %d teeth, the last acknowledged update set %d", owned[c], byID[owned[c]], r.teeth)
		}
		for id := range r.sprockets {
			created++
			if byID[id] != 7 {
				t.Errorf("acknowledged sprocket %d is missing", id)
			}
		}
	}
	if len(sprockets) != clients+created {
		t.Errorf("%d sprockets stored, %d expected", len(sprockets), clients+created)
	}
}
