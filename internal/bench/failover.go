package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/sprocketapi/sprocket/internal/database"
)

// A failover measurement: writers write through a server without pause
// while its database fails over (an event the caller brings about: a
// planned switch-over, the loss of the primary), and a subscription opened
// before watches. It reports what the writers were answered, the longest
// time between two acknowledged writes, and whether every acknowledged
// write is stored once, from the database itself afterwards. The tests of
// failover (cmd/sprocketd) and `sprocketbench failover` share it.

// FailoverOptions tune a failover measurement.
type FailoverOptions struct {
	// URL is the server's; Token a bearer token for its writes, if any.
	URL, Token string
	// Stored is a URL of the database on which the stored writes are
	// checked once the writers stop (a multi-host URL that reaches the
	// primary, whichever it is then).
	Stored string
	// Writers write at once (default 4). Each records points, one per
	// GraphQL recordProduction, for a factory of its own, and creates
	// sprockets over /v1, in turn; each write is told apart by its
	// point's time or its sprocket's teeth.
	Writers int
	// Before and After are how long the writers write before the event
	// and after the first write acknowledged once it is over.
	Before, After time.Duration
	// Within bounds the waits after the event: for a write to be
	// acknowledged again, and for the subscription's outcome.
	Within time.Duration
	// Tag (1 to 20) sets the range of the run's sprocket teeth apart from
	// other runs' on the same database.
	Tag int
}

// FailoverReport is what a failover measurement found. A write is
// acknowledged by a 201 (REST) or a GraphQL answer without errors,
// unavailable when answered 503 (REST) or SERVICE_UNAVAILABLE (GraphQL)
// with Retry-After, and failed otherwise (a 500, another code, no
// Retry-After, a broken connection).
type FailoverReport struct {
	Event        string  `json:"event"`
	EventSeconds float64 `json:"event_seconds"`
	Writes       int     `json:"writes"`
	Acknowledged int     `json:"acknowledged"`
	Unavailable  int     `json:"unavailable"`
	Failed       int     `json:"failed"`
	// FailedSamples are the first few failed answers.
	FailedSamples []string `json:"failed_samples,omitempty"`
	// LongestGapSeconds is the longest time between two acknowledged
	// writes (their answers), and GapStartSeconds when it began, from
	// the event's start.
	LongestGapSeconds float64 `json:"longest_gap_seconds"`
	GapStartSeconds   float64 `json:"gap_start_seconds"`
	// Lost counts acknowledged writes the database does not hold;
	// Duplicated, writes it holds more than once; Invented, stored rows
	// no writer sent. StoredUnacknowledged counts writes answered
	// unavailable that were stored nonetheless (once): commits whose
	// outcome the server could not know.
	Lost                 int `json:"lost"`
	Duplicated           int `json:"duplicated"`
	Invented             int `json:"invented"`
	StoredUnacknowledged int `json:"stored_unacknowledged"`
	// Subscription is what the subscription opened before the event
	// did: "received" (a point recorded after the event), "ended CODE"
	// (an error with extensions.code CODE), "ended" (a plain end: the
	// client is not told points may be missing) or "silent".
	Subscription string `json:"subscription"`
}

// outcome of one write.
type outcome int

const (
	acknowledged outcome = iota
	unavailable
	failed
)

type writeResult struct {
	sent    time.Time
	at      time.Time // when the answer came
	outcome outcome
	sample  string // of a failed write
}

// failoverRun is the state of one measurement.
type failoverRun struct {
	o         FailoverOptions
	c         *client
	factories []FactoryRef
	base      int64 // the first point's time

	mu      sync.Mutex
	results []writeResult
	points  map[[2]int64]outcome // (factory, time) → what its write was answered
	teeth   map[int]outcome
	// watched are the times of the subscribed factory's acknowledged
	// points, with when their writes were sent.
	watched []watchedPoint
}

type watchedPoint struct {
	sent time.Time
	t    int64
}

// RunFailover measures event (named name) under write load.
func RunFailover(ctx context.Context, o FailoverOptions, name string, event func(context.Context) error) (FailoverReport, error) {
	if o.Writers <= 0 {
		o.Writers = 4
	}
	if o.Within <= 0 {
		o.Within = 60 * time.Second
	}
	if o.Tag < 1 || o.Tag > 20 {
		o.Tag = 1
	}
	r := &failoverRun{o: o, c: newClient(o.URL, o.Token, newHTTPClient(o.Writers+2, 2*time.Minute)),
		base: time.Now().Unix(), points: map[[2]int64]outcome{}, teeth: map[int]outcome{}}
	rep := FailoverReport{Event: name}
	for i := range o.Writers {
		ref, err := createFactory(ctx, r.c, fmt.Sprintf("failover %s writer %d", name, i+1), time.Time{}, 0)
		if err != nil {
			return rep, err
		}
		r.factories = append(r.factories, ref)
	}
	subCtx, stopSub := context.WithCancel(ctx)
	defer stopSub()
	sub, err := r.subscribe(subCtx, r.factories[0].ID)
	if err != nil {
		return rep, err
	}

	wctx, stopWriters := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range o.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.write(wctx, w)
		}()
	}
	defer func() {
		stopWriters()
		wg.Wait()
	}()
	if !sleep(ctx, o.Before) {
		return rep, ctx.Err()
	}
	began := time.Now()
	if err := event(ctx); err != nil {
		return rep, fmt.Errorf("%s: %w", name, err)
	}
	over := time.Now()
	rep.EventSeconds = over.Sub(began).Seconds()
	if !r.ackedAfter(ctx, over, o.Within) {
		return rep, fmt.Errorf("%s: no write was acknowledged within %v of its end", name, o.Within)
	}
	if !sleep(ctx, o.After) {
		return rep, ctx.Err()
	}
	stopWriters()
	wg.Wait()

	rep.Subscription = sub.outcome(r.recordedAfter(over), o.Within)
	stopSub()
	r.tally(&rep, began)
	if err := r.check(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// write sends writer w's writes one after another until ctx ends: even
// ones record a point, odd ones create a sprocket. An unavailable answer's
// Retry-After is not waited out: the writers measure when writes are
// acknowledged again.
func (r *failoverRun) write(ctx context.Context, w int) {
	for n := 0; ctx.Err() == nil; n++ {
		var res writeResult
		sent := time.Now()
		if n%2 == 0 {
			t := r.base + int64(n/2)
			res = r.recordPoint(ctx, r.factories[w].ID, t)
			res.sent = sent
			r.note(res, func() {
				r.points[[2]int64{r.factories[w].RowID, t}] = res.outcome
				if w == 0 && res.outcome == acknowledged {
					r.watched = append(r.watched, watchedPoint{sent, t})
				}
			})
		} else {
			teeth := r.o.Tag*100_000_000 + w*10_000_000 + n/2 + 1
			res = r.createSprocket(ctx, teeth)
			res.sent = sent
			r.note(res, func() { r.teeth[teeth] = res.outcome })
		}
		if res.outcome != acknowledged {
			sleep(ctx, 20*time.Millisecond)
		}
	}
}

func (r *failoverRun) note(res writeResult, keep func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results = append(r.results, res)
	keep()
}

// recordPoint records one point at time t for factory id over GraphQL.
func (r *failoverRun) recordPoint(ctx context.Context, id string, t int64) writeResult {
	body, _ := json.Marshal(gqlRequest{
		Query:     `mutation($f: ID!, $t: Time!) { recordProduction(factoryId: $f, points: [{time: $t, actual: 1, goal: 2}]) { inserted } }`,
		Variables: map[string]any{"f": id, "t": time.Unix(t, 0).UTC().Format(time.RFC3339)},
	})
	res, b, err := r.send(ctx, "/graphql", body)
	if err != nil {
		return writeResult{at: time.Now(), outcome: failed, sample: err.Error()}
	}
	var out struct {
		Data struct {
			RecordProduction struct{ Inserted int }
		}
		Errors gqlErrors
	}
	switch {
	case json.Unmarshal(b, &out) != nil || res.StatusCode != http.StatusOK:
	case len(out.Errors) == 0 && out.Data.RecordProduction.Inserted == 1:
		return writeResult{at: time.Now(), outcome: acknowledged}
	case len(out.Errors) == 1 && out.Errors[0].Extensions["code"] == "SERVICE_UNAVAILABLE" && res.Header.Get("Retry-After") != "":
		return writeResult{at: time.Now(), outcome: unavailable}
	}
	return writeResult{at: time.Now(), outcome: failed, sample: fmt.Sprintf("recordProduction: HTTP %d (Retry-After %q): %s", res.StatusCode, res.Header.Get("Retry-After"), snippet(b))}
}

// createSprocket creates a sprocket of teeth over /v1.
func (r *failoverRun) createSprocket(ctx context.Context, teeth int) writeResult {
	body := fmt.Appendf(nil, `{"teeth": %d, "pitch_diameter": 5, "outside_diameter": 6, "pitch": 1}`, teeth)
	res, b, err := r.send(ctx, "/v1/sprockets", body)
	switch {
	case err != nil:
		return writeResult{at: time.Now(), outcome: failed, sample: err.Error()}
	case res.StatusCode == http.StatusCreated:
		return writeResult{at: time.Now(), outcome: acknowledged}
	case res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") != "":
		return writeResult{at: time.Now(), outcome: unavailable}
	}
	return writeResult{at: time.Now(), outcome: failed, sample: fmt.Sprintf("POST /v1/sprockets: HTTP %d (Retry-After %q): %s", res.StatusCode, res.Header.Get("Retry-After"), snippet(b))}
}

// send POSTs body; a write cut short by the end of the run is not one.
func (r *failoverRun) send(ctx context.Context, path string, body []byte) (*http.Response, []byte, error) {
	req, err := r.c.newRequest(context.WithoutCancel(ctx), http.MethodPost, path, body, "application/json")
	if err != nil {
		return nil, nil, err
	}
	res, err := r.c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// ackedAfter waits until a write is acknowledged after t.
func (r *failoverRun) ackedAfter(ctx context.Context, t time.Time, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, res := range slices.Backward(r.results) {
			if res.outcome == acknowledged && res.at.After(t) {
				r.mu.Unlock()
				return true
			}
		}
		r.mu.Unlock()
		if !sleep(ctx, 20*time.Millisecond) {
			return false
		}
	}
	return false
}

// recordedAfter is the time of the first acknowledged point of the
// subscribed factory whose write was sent after t (so committed after
// it), or -1.
func (r *failoverRun) recordedAfter(t time.Time) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.watched {
		if p.sent.After(t) {
			return p.t
		}
	}
	return -1
}

// tally counts the answers and finds the longest gap between
// acknowledgements.
func (r *failoverRun) tally(rep *FailoverReport, began time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var acks []time.Time
	for _, res := range r.results {
		rep.Writes++
		switch res.outcome {
		case acknowledged:
			rep.Acknowledged++
			acks = append(acks, res.at)
		case unavailable:
			rep.Unavailable++
		default:
			rep.Failed++
			if len(rep.FailedSamples) < 5 {
				rep.FailedSamples = append(rep.FailedSamples, res.sample)
			}
		}
	}
	slices.SortFunc(acks, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(acks); i++ {
		if gap := acks[i].Sub(acks[i-1]); gap.Seconds() > rep.LongestGapSeconds {
			rep.LongestGapSeconds = gap.Seconds()
			rep.GapStartSeconds = acks[i-1].Sub(began).Seconds()
		}
	}
}

// check compares what the database holds with what the writers were
// answered.
func (r *failoverRun) check(ctx context.Context, rep *FailoverReport) error {
	db, err := database.Open(ctx, r.o.Stored, database.Options{MaxConns: 1})
	if err != nil {
		return fmt.Errorf("checking the stored writes: %w", err)
	}
	defer db.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	stored := map[[2]int64]int{}
	if err := collect(ctx, db.SQL, stored, `SELECT factory_id, time, count(*) FROM chart_data WHERE factory_id = ANY($1) GROUP BY 1, 2`, pq.Array(rowIDs(r.factories))); err != nil {
		return err
	}
	lo := r.o.Tag * 100_000_000
	if err := collect(ctx, db.SQL, stored, `SELECT 0, teeth, count(*) FROM sprockets WHERE teeth >= $1 AND teeth < $2 GROUP BY 1, 2`, lo, lo+100_000_000); err != nil {
		return err
	}
	sent := map[[2]int64]outcome{}
	for k, o := range r.points {
		sent[k] = o
	}
	for t, o := range r.teeth {
		sent[[2]int64{0, int64(t)}] = o
	}
	for k, o := range sent {
		n := stored[k]
		switch {
		case n > 1:
			rep.Duplicated++
		case o == acknowledged && n == 0:
			rep.Lost++
		case o != acknowledged && n == 1:
			rep.StoredUnacknowledged++
		}
	}
	for k := range stored {
		if _, ok := sent[k]; !ok {
			rep.Invented++
		}
	}
	return nil
}

func rowIDs(fs []FactoryRef) []int64 {
	ids := make([]int64, len(fs))
	for i, f := range fs {
		ids[i] = f.RowID
	}
	return ids
}

func collect(ctx context.Context, db *sql.DB, into map[[2]int64]int, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("checking the stored writes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b int64
		var n int
		if err := rows.Scan(&a, &b, &n); err != nil {
			return err
		}
		into[[2]int64{a, b}] = n
	}
	return rows.Err()
}

// sleep waits d or until ctx ends, reporting whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
