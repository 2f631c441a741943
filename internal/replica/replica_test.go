package replica_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// counter is the value of the metric name among set's collectors.
func counter(t *testing.T, set *replica.Set, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(set.Collectors()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			total := 0.0
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
			return total
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestManyReadsWaitingOnAStandbyDoNotMultiplyItsPolls: reads that carry a
// fresh write's position keep arriving, one every half millisecond (as a
// client sending many could make them), on a standby that applies commits
// 300 ms late. All are served by the standby once it has replayed the
// write, and the standby is asked for its position at most once every
// couple of milliseconds, whatever the number of reads waiting. (Each new
// read would otherwise start a query of its own as soon as the last one
// answered.)
func TestManyReadsWaitingOnAStandbyDoNotMultiplyItsPolls(t *testing.T) {
	c := testdb.NewCluster(t, "recovery_min_apply_delay = '300ms'")
	ctx := context.Background()
	primary := testdb.OpenURL(t, c.PrimaryURL, 4)
	c.WaitReplayed(t) // the migrations
	set, err := replica.Open(ctx, primary, []string{c.StandbyURL}, replica.Options{
		MaxLag: time.Minute, Wait: 5 * time.Second, Interval: time.Hour, Pool: database.Options{MaxConns: 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	set.Check(ctx)
	if _, err := primary.SQL.ExecContext(ctx, `INSERT INTO sprockets (created_at, updated_at, teeth, pitch_diameter, outside_diameter, pitch) VALUES (now(), now(), 5, 5, 6, 1)`); err != nil {
		t.Fatal(err)
	}
	need, err := replica.PrimaryLSN(ctx, primary.SQL)
	if err != nil {
		t.Fatal(err)
	}
	const readers = 400
	began := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	onStandby := 0
	for range readers {
		time.Sleep(500 * time.Microsecond)
		wg.Go(func() {
			if database.ReaderFrom(set.Route(ctx, need)) != nil {
				mu.Lock()
				onStandby++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	waited := time.Since(began)
	if onStandby != readers {
		t.Errorf("%d of %d reads were routed to the standby", onStandby, readers)
	}
	if waited < 100*time.Millisecond {
		t.Errorf("the reads waited %v: the standby did not lag, and the test proves nothing", waited)
	}
	// One query every minPollGap (2 ms) at most, plus the ones in flight.
	polls := counter(t, set, "sprocket_replica_polls_total")
	if limit := float64(waited/(2*time.Millisecond)) + 5; polls > limit {
		t.Errorf("%v polls in %v for %d waiting reads, want at most %v", polls, waited, readers, limit)
	}
	t.Logf("%d reads waited %v; %v polls", readers, waited.Round(time.Millisecond), polls)
}

// TestASetOpenedWithZeroOptionsRuns: durations left at zero take their
// defaults. A zero check interval used to reach time.NewTicker, which
// panics, as soon as the Set ran.
func TestASetOpenedWithZeroOptionsRuns(t *testing.T) {
	primary := testdb.Open(t, dialect.Postgres)
	set, err := replica.Open(context.Background(), primary, nil, replica.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		set.Run(ctx)
	}()
	cancel()
	if v := <-done; v != nil {
		t.Fatalf("Run panicked: %v", v)
	}
}
