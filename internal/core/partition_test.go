package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// month returns the epoch second at which the UTC month y-m begins.
func month(y int, m time.Month) int64 { return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Unix() }

// partitionedService is newService that also returns the database, for
// its partition maintenance.
func partitionedService(t *testing.T, d string) (*Service, *database.DB) {
	t.Helper()
	db := testdb.Open(t, d)
	return New(db.Client(), db.SQL, d), db
}

// maintain runs a round of partition maintenance seen at now, until no
// step is deferred for a lock (other tests share the server).
func maintain(t *testing.T, db *database.DB, now time.Time, retention func(time.Time) time.Time) database.PartitionReport {
	t.Helper()
	var all database.PartitionReport
	for try := 0; ; try++ {
		rep, err := db.MaintainPartitions(context.Background(), database.PartitionOptions{
			Ahead: 2, Now: func() time.Time { return now }, Retention: retention})
		if err != nil {
			t.Fatalf("partition maintenance at %v: %v", now, err)
		}
		all.Created = append(all.Created, rep.Created...)
		all.Dropped = append(all.Dropped, rep.Dropped...)
		all.Moved += rep.Moved
		all.Removed += rep.Removed
		if rep.Deferred == nil && !rep.Busy {
			return all
		}
		if try == 50 {
			t.Fatalf("partition maintenance deferred 50 times: %v (busy %v)", rep.Deferred, rep.Busy)
		}
	}
}

// partitionsOf returns where factory id's points are stored: the number in
// each partition of chart_data (PostgreSQL).
func partitionsOf(t *testing.T, s *Service, id int) map[string]int {
	t.Helper()
	rows, err := s.client.QueryContext(context.Background(),
		`SELECT tableoid::regclass::text, COUNT(*) FROM chart_data WHERE factory_id = $1 GROUP BY 1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkEveryRead fails t unless every read of factory id answers what the
// points give: the stored rows, the legacy stream, a page of points, the
// summary, the rollups, and series over windows across the months.
func checkEveryRead(t *testing.T, s *Service, id int, points map[int64]Point, label string) {
	t.Helper()
	ctx := context.Background()
	want := sortedPoints(points)
	if got := storedPoints(t, s, id); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: stored %d points, want %d:\n got %v\nwant %v", label, len(got), len(want), got, want)
	}
	if got := seriesOf(t, s, id); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: the legacy stream has %d points, want %d", label, len(got), len(want))
	}
	var paged []Point
	for size, after := MaxPageSize, (*int64)(nil); ; {
		page, err := s.Points(ctx, id, PointsQuery{First: &size, After: after})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page.Points...)
		if !page.HasNext {
			break
		}
		after = &paged[len(paged)-1].Time
	}
	if fmt.Sprint(paged) != fmt.Sprint(want) {
		t.Fatalf("%s: %d points paged through, want %d", label, len(paged), len(want))
	}
	sums, err := s.Summaries(ctx, []int{id}, Window{})
	if err != nil {
		t.Fatal(err)
	}
	var ta, tg float64
	for _, p := range want {
		ta, tg = ta+p.Actual, tg+p.Goal
	}
	sum := sums[id]
	if sum.Count != int64(len(want)) || sum.TotalActual != ta || sum.TotalGoal != tg ||
		(len(want) > 0 && (*sum.FirstTime != want[0].Time || *sum.LastTime != want[len(want)-1].Time)) {
		t.Fatalf("%s: summary %+v, want %d points totalling %v and %v", label, sum, len(want), ta, tg)
	}
	checkRollups(t, s, id, want)
	for _, w := range [][2]int64{
		{month(2026, 1), month(2026, 7)},                     // whole months, through daily rollups
		{month(2026, 2) - 7*3600 - 5, month(2026, 4) + 3601}, // ragged edges across partitions
		{month(2026, 3) - 86400, month(2026, 3) + 86400},     // one month's boundary
		{-9_000_000_000, 9_000_000_000},                      // the default partition's small times too
		{-8_000_000_000_000, 8_000_000_000_000},              // most of the domain
		{MinTime, MinTime + 40*86400},                        // its ends
		{MaxTime - 40*86400, MaxTime + 1},
		{1_700_000_000_000 - 3600, 1_700_000_000_000 + 86400}, // legacy milliseconds
	} {
		for _, agg := range []Aggregate{AggAvg, AggSum, AggFirst, AggLast, AggM4, AggLTTB} {
			for _, q := range []SeriesQuery{{MaxDataPoints: 40, Aggregate: agg}, {Interval: 86400, Aggregate: agg}, {Interval: 3600, Aggregate: agg}} {
				if q.Interval > 0 && (agg == AggLTTB || (w[1]-w[0])/q.Interval > 5000) {
					continue
				}
				q.From, q.To = &w[0], &w[1]
				checkSeries(t, s, id, want, q, label)
			}
		}
	}
}

// TestPointsAcrossMonthsAndTheDefaultPartitionReadAsBefore: points in
// several months (one partition each on PostgreSQL), and times no monthly
// partition holds (small and negative integers, legacy milliseconds, the
// ends of the domain, a month with no partition) in the default partition,
// answer every read as the raw points do, on both databases; upserts move
// nothing and a month's partition holds its points.
func TestPointsAcrossMonthsAndTheDefaultPartitionReadAsBefore(t *testing.T) {
	t.Parallel() // its own databases
	testdb.Each(t, func(t *testing.T, d string) {
		s, db := partitionedService(t, d)
		ctx := context.Background()
		maintain(t, db, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), nil) // 2026-02 to 2026-05
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 14))
		points := map[int64]Point{}
		add := func(tm int64) {
			points[tm] = Point{Time: tm, Actual: float64(rng.IntN(50)), Goal: float64(10 + rng.IntN(3))}
		}
		for i := 0; i < 600; i++ { // 2026-01 (no partition) to 2026-06 (none either)
			add(month(2026, 1) + rng.Int64N(month(2026, 7)-month(2026, 1)))
		}
		for _, tm := range []int64{MinTime, MaxTime, -1, 0, 10, 1_700_000_000_000, 1_700_000_000_001, month(2026, 2), month(2026, 3) - 1} {
			add(tm)
		}
		batch := sortedPoints(points)
		if _, err := s.RecordProduction(ctx, f.ID, batch[:len(batch)/2], false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordProduction(ctx, f.ID, batch[len(batch)/2:], false); err != nil {
			t.Fatal(err)
		}
		checkEveryRead(t, s, f.ID, points, "appended")
		// Upserts over points of every partition.
		var again []Point
		for _, p := range batch {
			if rng.IntN(3) == 0 {
				add(p.Time)
				again = append(again, points[p.Time])
			}
		}
		if _, err := s.RecordProduction(ctx, f.ID, again, true); err != nil {
			t.Fatal(err)
		}
		checkEveryRead(t, s, f.ID, points, "upserted")
		if d != dialect.Postgres {
			return
		}
		where := partitionsOf(t, s, f.ID)
		inMonth := func(y int, m time.Month) int {
			n := 0
			for tm := range points {
				if tm >= month(y, m) && tm < month(y, m+1) {
					n++
				}
			}
			return n
		}
		if where["chart_data_p202603"] != inMonth(2026, 3) || where["chart_data_p202605"] != inMonth(2026, 5) ||
			where["chart_data_default"] != inMonth(2026, 1)+inMonth(2026, 6)+7 || where["chart_data_p202601"] != 0 {
			t.Errorf("points by partition: %v", where)
		}
	})
}

// TestAPartitionCreatedAheadTakesThePointsWaitingInTheDefaultPartition:
// points of months that have no partition wait in the default partition;
// a later round that creates those months moves them into their
// partitions, in the transaction that creates them, and every read answers
// the same before and after.
func TestAPartitionCreatedAheadTakesThePointsWaitingInTheDefaultPartition(t *testing.T) {
	t.Parallel()
	s, db := partitionedService(t, dialect.Postgres)
	ctx := context.Background()
	maintain(t, db, time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), nil) // 2025-12 to 2026-03
	f, err := s.CreateFactory(ctx, FactoryInput{})
	if err != nil {
		t.Fatal(err)
	}
	points := map[int64]Point{}
	var batch []Point
	for tm := month(2026, 3) - 3*86400; tm < month(2026, 6)+86400; tm += 4111 {
		p := Point{Time: tm, Actual: float64(tm % 97), Goal: 50}
		points[tm] = p
		batch = append(batch, p)
	}
	if _, err := s.RecordProduction(ctx, f.ID, batch, false); err != nil {
		t.Fatal(err)
	}
	before := partitionsOf(t, s, f.ID)
	if before["chart_data_p202604"] != 0 || before["chart_data_default"] == 0 {
		t.Fatalf("before: %v", before)
	}
	checkEveryRead(t, s, f.ID, points, "waiting in the default partition")
	rep := maintain(t, db, time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC), nil) // adds 2026-04 to 2026-06
	if fmt.Sprint(rep.Created) != "[chart_data_p202604 chart_data_p202605 chart_data_p202606]" {
		t.Errorf("created %v", rep.Created)
	}
	after := partitionsOf(t, s, f.ID)
	inDefault := 0
	for tm := range points {
		if tm >= month(2026, 7) {
			inDefault++
		}
	}
	if rep.Moved != int64(before["chart_data_default"]-inDefault) || after["chart_data_default"] != inDefault ||
		after["chart_data_p202604"] == 0 || after["chart_data_p202606"] == 0 || after["chart_data_p202603"] != before["chart_data_p202603"] {
		t.Errorf("moved %d; before %v, after %v", rep.Moved, before, after)
	}
	checkEveryRead(t, s, f.ID, points, "moved into their partitions")
	// A second round finds nothing to do, as does another replica's at once.
	if rep := maintain(t, db, time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC), nil); len(rep.Created)+len(rep.Dropped) != 0 {
		t.Errorf("a second round did %+v", rep)
	}
	// New points of a created month go to its partition.
	if _, err := s.RecordProduction(ctx, f.ID, []Point{{Time: month(2026, 5) + 7, Actual: 1, Goal: 1}}, false); err != nil {
		t.Fatal(err)
	}
	if got := partitionsOf(t, s, f.ID)["chart_data_p202605"]; got != after["chart_data_p202605"]+1 {
		t.Errorf("the new point went elsewhere: %d in chart_data_p202605, want %d", got, after["chart_data_p202605"]+1)
	}
}

// TestRetentionDropsOldMonthsWithTheirRollups: a retention bound drops the
// monthly partitions wholly before it and, in the same transaction, their
// rollups, and removes the older points of the default partition (small
// and negative integers: 1970 and before as epoch seconds); every read then
// equals the remaining points (the month that holds the bound is kept
// whole), cached legacy answers are invalidated (series_version), and
// SQLite refuses a retention.
func TestRetentionDropsOldMonthsWithTheirRollups(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, d string) {
		s, db := partitionedService(t, d)
		ctx := context.Background()
		now := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
		ninety := func(now time.Time) time.Time { return now.AddDate(0, 0, -90) } // 2026-02-19
		if d != dialect.Postgres {
			if _, err := db.MaintainPartitions(ctx, database.PartitionOptions{Retention: ninety}); !errors.Is(err, database.ErrRetentionNeedsPostgres) {
				t.Fatalf("SQLite with a retention: %v", err)
			}
			if _, err := db.StartPartitionMaintenance(ctx, database.PartitionOptions{Retention: ninety}, time.Hour, nil); !errors.Is(err, database.ErrRetentionNeedsPostgres) {
				t.Fatalf("SQLite with a retention at start-up: %v", err)
			}
			return
		}
		maintain(t, db, time.Date(2025, 12, 10, 0, 0, 0, 0, time.UTC), nil) // 2025-11 to 2026-02
		maintain(t, db, now, nil)                                           // to 2026-07
		var ids []int
		points := map[int]map[int64]Point{}
		for i := 0; i < 3; i++ {
			f, err := s.CreateFactory(ctx, FactoryInput{})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, f.ID)
			points[f.ID] = map[int64]Point{}
			var batch []Point
			for tm := month(2025, 11) + int64(i)*977; tm < month(2026, 6); tm += 7919 + int64(i) {
				batch = append(batch, Point{Time: tm, Actual: float64(tm % 13), Goal: 7})
			}
			batch = append(batch, Point{Time: 10, Actual: 1, Goal: 1}, Point{Time: -86400 * 400, Actual: 2, Goal: 2}) // default partition
			for _, p := range batch {
				points[f.ID][p.Time] = p
			}
			if _, err := s.RecordProduction(ctx, f.ID, batch, false); err != nil {
				t.Fatal(err)
			}
		}
		version, err := s.SeriesVersion(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		rep := maintain(t, db, now, ninety)
		if fmt.Sprint(rep.Dropped) != "[chart_data_p202511 chart_data_p202512 chart_data_p202601]" || len(rep.Created) != 0 ||
			rep.Removed != 2*int64(len(ids)) {
			t.Fatalf("retention at %v: %+v", now, rep)
		}
		for _, id := range ids {
			for tm := range points[id] {
				if tm < month(2026, 2) {
					delete(points[id], tm)
				}
			}
			checkEveryRead(t, s, id, points[id], "after retention")
		}
		if v, err := s.SeriesVersion(ctx, ids[0]); err != nil || v == version {
			t.Errorf("series_version %d after retention (%v), was %d", v, err, version)
		}
		var old int
		if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM rollups WHERE bucket >= $1 AND bucket < $2`, month(2025, 11), month(2026, 2)).Scan(&old); err != nil || old != 0 {
			t.Errorf("%d rollups of the dropped months remain (%v)", old, err)
		}
		// The next round drops nothing more; a month later, February goes.
		if rep := maintain(t, db, now, ninety); len(rep.Dropped) != 0 {
			t.Errorf("second round dropped %v", rep.Dropped)
		}
		if rep := maintain(t, db, now.AddDate(0, 1, 0), ninety); fmt.Sprint(rep.Dropped) != "[chart_data_p202602]" {
			t.Errorf("a month later dropped %v", rep.Dropped)
		}
	})
}

// TestWritersDuringPartitionMaintenanceLoseNothing runs writers of several
// factories (appends and upserts, into kept months, into a month waiting in
// the default partition, and into the months retention drops) while
// rounds of maintenance create months ahead (moving the waiting points)
// and drop old ones: no point of a kept month is lost or doubled, every
// stored point is one a writer wrote, and the rollups, summaries and series
// equal the stored points.
func TestWritersDuringPartitionMaintenanceLoseNothing(t *testing.T) {
	t.Parallel()
	s, db := partitionedService(t, dialect.Postgres)
	ctx := context.Background()
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	maintain(t, db, start, nil) // 2025-12 to 2026-03
	const factories, writers, ops = 3, 6, 25
	var ids []int
	for i := 0; i < factories; i++ {
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	// Months written: 2025-12 (dropped), 2026-02 (kept), 2026-05 (waits
	// in the default partition until a round creates it).
	months := []int64{month(2025, 12), month(2026, 2), month(2026, 5)}
	var mu sync.Mutex
	written := map[int]map[int64]Point{} // last value written per time
	for _, id := range ids {
		written[id] = map[int64]Point{}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for op := 0; op < ops; op++ {
				id := ids[rng.IntN(len(ids))]
				m := months[rng.IntN(len(months))]
				var batch []Point
				seen := map[int64]bool{}
				for len(batch) < 20+rng.IntN(60) {
					tm := m + int64(rng.IntN(3))*86400 + int64(rng.IntN(200))*61
					if !seen[tm] {
						seen[tm] = true
						batch = append(batch, Point{Time: tm, Actual: float64(rng.IntN(1000)), Goal: float64(w)})
					}
				}
				mu.Lock() // writers of a factory serialise on its row anyway; this keeps the record in commit order
				if _, err := s.RecordProduction(ctx, id, batch, true); err != nil {
					mu.Unlock()
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				for _, p := range batch {
					written[id][p.Time] = p
				}
				mu.Unlock()
			}
		}(w)
	}
	done := make(chan struct{})
	var rounds []database.PartitionReport
	go func() {
		defer close(done)
		retention := func(now time.Time) time.Time { return now.AddDate(0, -2, 0) }
		for i := 0; i < 8; i++ {
			now := start.AddDate(0, i/2, 0) // to 2026-04: creates 2026-04 to 2026-06; drops 2025-12 and 2026-01
			rep, err := db.MaintainPartitions(ctx, database.PartitionOptions{Ahead: 2, Now: func() time.Time { return now }, Retention: retention})
			if err != nil {
				errs <- fmt.Errorf("maintenance round %d: %w", i, err)
				return
			}
			rounds = append(rounds, rep)
		}
	}()
	wg.Wait()
	<-done
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The rounds deferred for locks are finished now.
	final := maintain(t, db, start.AddDate(0, 3, 0), func(now time.Time) time.Time { return now.AddDate(0, -2, 0) })
	var created, dropped []string
	for _, r := range append(rounds, final) {
		created, dropped = append(created, r.Created...), append(dropped, r.Dropped...)
	}
	sort.Strings(created)
	sort.Strings(dropped)
	if fmt.Sprint(created) != "[chart_data_p202604 chart_data_p202605 chart_data_p202606]" ||
		fmt.Sprint(dropped) != "[chart_data_p202512 chart_data_p202601]" {
		t.Errorf("created %v, dropped %v", created, dropped)
	}
	for _, id := range ids {
		stored := storedPoints(t, s, id)
		got := map[int64]Point{}
		for _, p := range stored {
			if _, twice := got[p.Time]; twice {
				t.Fatalf("factory %d: time %d stored twice", id, p.Time)
			}
			got[p.Time] = p
			if w, ok := written[id][p.Time]; !ok || w != p {
				t.Fatalf("factory %d: stored %v, written %v (%v)", id, p, w, ok)
			}
		}
		for tm, p := range written[id] {
			if tm >= month(2026, 1) && got[tm] != p {
				t.Fatalf("factory %d: point %v of a kept month is gone (stored %v)", id, p, got[tm])
			}
		}
		// Points of 2025-12 written after its partition was dropped wait
		// in the default partition; the reads must agree with whatever is
		// stored.
		checkEveryRead(t, s, id, got, fmt.Sprintf("factory %d", id))
		if n := partitionsOf(t, s, id)["chart_data_default"]; n != 0 && len(got) == len(written[id]) {
			t.Logf("factory %d: %d points wait in the default partition", id, n)
		}
	}
}

// TestPointPagesEqualTheRawPointsWhateverTheBounds is a property test of
// pages of points, whose scan PostgreSQL bounds by what the daily rollups
// say (pageSpan), and of their counts, read from the daily rollups without
// a filter: random windows, cursors, orders, sizes and filters over dense
// and sparse days across months, with writes between pages, answer what
// the raw points give, on both databases.
func TestPointPagesEqualTheRawPointsWhateverTheBounds(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, d string) {
		s, db := partitionedService(t, d)
		ctx := context.Background()
		maintain(t, db, time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), nil) // 2026-01 to 2026-04
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 8))
		var points []Point
		for tm := month(2025, 12) + 5; tm < month(2026, 5); {
			points = append(points, Point{Time: tm, Actual: float64(rng.IntN(20)), Goal: 10})
			if rng.IntN(40) == 0 {
				tm += 86400 * int64(1+rng.IntN(9)) // sparse stretches
			} else {
				tm += int64(1 + rng.IntN(900))
			}
		}
		points = append(points, Point{Time: -5, Actual: 1, Goal: 1}, Point{Time: 1_700_000_000_000, Actual: 2, Goal: 1})
		sort.Slice(points, func(i, j int) bool { return points[i].Time < points[j].Time })
		if _, err := s.RecordProduction(ctx, f.ID, points, false); err != nil {
			t.Fatal(err)
		}
		pick := func() *int64 {
			if rng.IntN(3) == 0 {
				return nil
			}
			v := points[rng.IntN(len(points))].Time + int64(rng.IntN(3)) - 1
			return &v
		}
		var q PointsQuery
		var last []Point // the last page's points
		for trial := 0; trial < 300; trial++ {
			// Now and then new points arrive (before, among and after the
			// stored ones), and a page asked before is asked again: the
			// bounds remembered for a series version must not answer for
			// another.
			wrote := trial > 0 && rng.IntN(6) == 0
			if wrote {
				// Near the last page's bounds and points, where a stale
				// bound would leave a new point out.
				var near []int64
				for _, b := range []*int64{q.From, q.To, q.After, q.Before} {
					if b != nil {
						near = append(near, *b)
					}
				}
				for _, p := range last {
					near = append(near, p.Time)
				}
				if n := len(last); n > 0 { // just short of the page and just beyond it
					near = append(near, last[0].Time-2, last[0].Time+2, last[n-1].Time-2, last[n-1].Time+2)
				}
				// Before the series' first point and after its last, where
				// an unbounded page starts.
				near = append(near, points[0].Time-3-rng.Int64N(3*86400), points[len(points)-1].Time+3+rng.Int64N(3*86400))
				var batch []Point
				seen := map[int64]bool{}
				for range 1 + rng.IntN(5) {
					tm := points[0].Time - 1000 + rng.Int64N(points[len(points)-1].Time-points[0].Time+2000)
					if len(near) > 0 && rng.IntN(4) != 0 {
						tm = near[rng.IntN(len(near))] + rng.Int64N(5) - 2
					}
					if !seen[tm] {
						seen[tm] = true
						batch = append(batch, Point{Time: tm, Actual: float64(rng.IntN(20)), Goal: 10})
					}
				}
				if _, err := s.RecordProduction(ctx, f.ID, batch, true); err != nil {
					t.Fatal(err)
				}
				byTime := map[int64]Point{}
				for _, p := range append(points, batch...) {
					byTime[p.Time] = p
				}
				points = points[:0]
				for _, p := range byTime {
					points = append(points, p)
				}
				sort.Slice(points, func(i, j int) bool { return points[i].Time < points[j].Time })
			}
			version, err := s.SeriesVersion(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if trial == 0 || (!wrote && rng.IntN(3) != 0) {
				q = PointsQuery{Window: Window{From: pick(), To: pick()}, Desc: rng.IntN(2) == 0}
				if q.From != nil && q.To != nil && *q.To <= *q.From {
					q.From, q.To = q.To, q.From
					*q.To++
				}
				size := []int{0, 1, 7, 100, 1000}[rng.IntN(5)]
				if rng.IntN(2) == 0 {
					q.Last, q.Before = &size, pick()
				} else {
					q.First, q.After = &size, pick()
				}
				if rng.IntN(4) == 0 {
					v := float64(rng.IntN(20))
					q.Filter.ActualGTE = &v
				}
			}
			q.SeriesVersion = version
			backward := q.Last != nil
			size := 0
			if backward {
				size = *q.Last
			} else {
				size = *q.First
			}
			got, err := s.Points(ctx, f.ID, q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			last = got.Points
			// The raw answer: the matching points in the page's order,
			// beyond the cursor, the first (or last) size of them.
			var in []Point
			for _, p := range points {
				if (q.From != nil && p.Time < *q.From) || (q.To != nil && p.Time >= *q.To) ||
					(q.Filter.ActualGTE != nil && p.Actual < *q.Filter.ActualGTE) {
					continue
				}
				in = append(in, p)
			}
			// totalCount: the window's and the filter's points, whatever
			// the cursors (whole days from the rollups without a filter).
			if n, err := s.CountPoints(ctx, f.ID, q); err != nil || n != int64(len(in)) {
				t.Fatalf("trial %d %+v: CountPoints = %d, %v; want %d", trial, q, n, err, len(in))
			}
			if q.Desc {
				slices.Reverse(in)
			}
			pos := func(p Point, c int64) int { // -1 before the cursor in the order, 1 beyond
				switch {
				case p.Time == c:
					return 0
				case (p.Time > c) != q.Desc:
					return 1
				}
				return -1
			}
			var cand []Point
			for _, p := range in {
				if (q.After == nil || pos(p, *q.After) > 0) && (q.Before == nil || pos(p, *q.Before) < 0) {
					cand = append(cand, p)
				}
			}
			var want []Point
			more := len(cand) > size
			if backward {
				want = cand[max(0, len(cand)-size):]
			} else {
				want = cand[:min(size, len(cand))]
			}
			hasMore := got.HasNext
			if backward {
				hasMore = got.HasPrevious
			}
			if fmt.Sprint(got.Points) != fmt.Sprint(want) || hasMore != more {
				t.Fatalf("trial %d %+v (size %d): got %d points (more %v), want %d (more %v)\n got %v\nwant %v",
					trial, q, size, len(got.Points), hasMore, len(want), more, got.Points, want)
			}
		}
	})
}

// TestPageBoundsAreRememberedPerSeriesVersion: the time bounds pageSpan
// finds for a page are reused only for the series version they were found
// at: a write (a new version) or retention makes the next page find them
// again, and bounds found inside a transaction, whose version a rollback
// gives back to the next writer, are not kept.
func TestPageBoundsAreRememberedPerSeriesVersion(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, d string) {
		s, _ := partitionedService(t, d)
		ctx := context.Background()
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		record := func(ctx context.Context, times ...int64) {
			t.Helper()
			ps := make([]Point, len(times))
			for i, tm := range times {
				ps[i] = Point{Time: tm, Actual: float64(tm), Goal: 1}
			}
			if _, err := s.RecordProduction(ctx, f.ID, ps, true); err != nil {
				t.Fatal(err)
			}
		}
		three := 3
		// page is the first three points of an unbounded page, asked with
		// the version the caller read (as a resolver holding the row).
		page := func(ctx context.Context) string {
			t.Helper()
			v, err := s.SeriesVersion(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Points(ctx, f.ID, PointsQuery{First: &three, SeriesVersion: v})
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(got.Points)
		}
		want := func(times ...int64) string {
			ps := make([]Point, len(times))
			for i, tm := range times {
				ps[i] = Point{Time: tm, Actual: float64(tm), Goal: 1}
			}
			return fmt.Sprint(ps)
		}
		record(ctx, 1_000_000, 1_000_060, 1_000_120, 1_000_180)
		for range 2 { // the second one reuses the bounds (PostgreSQL)
			if got := page(ctx); got != want(1_000_000, 1_000_060, 1_000_120) {
				t.Fatalf("got %s", got)
			}
		}
		record(ctx, 999_000) // before the first point: bounds found before would leave it out
		if got := page(ctx); got != want(999_000, 1_000_000, 1_000_060) {
			t.Fatalf("after a write before the series: got %s", got)
		}
		// A write rolled back takes its version with it; the next write
		// is given the same version with other points, here earlier ones
		// than the bounds found inside the transaction would allow.
		rollback := errors.New("roll back")
		err = s.InTx(ctx, func(ctx context.Context) error {
			record(ctx, 1_000_300)
			if got := page(ctx); got != want(999_000, 1_000_000, 1_000_060) {
				t.Fatalf("inside the transaction: got %s", got)
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx: %v", err)
		}
		record(ctx, 997_000)
		if got := page(ctx); got != want(997_000, 999_000, 1_000_000) {
			t.Fatalf("after a rolled back write and another: got %s", got)
		}
	})
}

// TestPagesAskedWithTheirVersionSeeItsPointsWhileWritersGoOn: a writer
// keeps adding a point before the series (each write a new version)
// while readers ask the first point with the version they have just read,
// as the GraphQL resolver does, so that page bounds are found and reused
// under versions as they change. A page asked with version v must start at
// the earliest point v has, or at an earlier one written since: bounds
// remembered for the wrong version would start it later.
func TestPagesAskedWithTheirVersionSeeItsPointsWhileWritersGoOn(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, d string) {
		s, _ := partitionedService(t, d)
		ctx := context.Background()
		const start, writes, readers = int64(1_800_000_000), 150, 4
		f, err := s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: start, Actual: 1, Goal: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		v0, err := s.SeriesVersion(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The only writer: version v0+i holds the points down to start-60i.
		earliest := func(v int64) int64 { return start - 60*(v-v0) }
		var wg sync.WaitGroup
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			for i := int64(1); i <= writes; i++ {
				if _, err := s.RecordProduction(ctx, f.ID, []Point{{Time: start - 60*i, Actual: 1, Goal: 1}}, false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		one := 1
		var pages sync.Map // versions the readers asked with
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					v, err := s.SeriesVersion(ctx, f.ID)
					if err != nil {
						t.Error(err)
						return
					}
					for range 2 { // the second reuses the bounds (PostgreSQL)
						got, err := s.Points(ctx, f.ID, PointsQuery{First: &one, SeriesVersion: v})
						if err != nil {
							t.Error(err)
							return
						}
						if len(got.Points) != 1 || got.Points[0].Time > earliest(v) {
							t.Errorf("version %d: first point %v, want at %d or earlier", v, got.Points, earliest(v))
							return
						}
					}
					pages.Store(v, true)
				}
			}()
		}
		wg.Wait()
		n := 0
		pages.Range(func(any, any) bool { n++; return true })
		if n < 10 {
			t.Fatalf("readers asked with %d versions only: the test did not overlap writes and reads", n)
		}
	})
}

// TestPartitionMaintenanceSucceedsWhileWritersFillTheDefaultPartition:
// writers keep recording points (appends and upserts) into the twelve
// months ahead, which wait in the default partition, while maintenance
// with PARTITIONS_AHEAD=12 creates those months' partitions and moves the
// waiting points into them. Maintenance completes within three rounds
// (no step given up for a deadlock or a lock wait), and afterwards every
// point written is stored exactly once, in its month's partition, with
// rollups, summaries and series equal to the points.
func TestPartitionMaintenanceSucceedsWhileWritersFillTheDefaultPartition(t *testing.T) {
	t.Parallel()
	s, db := partitionedService(t, dialect.Postgres)
	ctx := context.Background()
	now := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	if _, err := db.MaintainPartitions(ctx, database.PartitionOptions{Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err) // 2025-12 and 2026-01 only
	}
	const writers, ahead, rounds = 4, 12, 3
	var months []int64
	for i := 1; i <= ahead; i++ {
		months = append(months, month(2026, time.Month(1+i)))
	}
	ids := make([]int, writers)
	written := make([]map[int64]Point, writers) // each writer's own factory
	for w := range ids {
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		ids[w], written[w] = f.ID, map[int64]Point{}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes [writers]int
	var total atomic.Int64 // writes committed
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 12))
			for op := 0; ; op++ {
				select {
				case <-stop:
					return
				default:
				}
				m := months[rng.IntN(len(months))]
				// Appends of new times (COPY, or INSERT when they fall among
				// stored ones) and upserts over stored ones, alternately.
				upsert := op%2 == 1
				var batch []Point
				seen := map[int64]bool{}
				for len(batch) < 10+rng.IntN(40) {
					tm := m + int64(rng.IntN(28))*86400 + int64(rng.IntN(1440))*60
					if !seen[tm] && (upsert || written[w][tm] == Point{}) {
						seen[tm] = true
						batch = append(batch, Point{Time: tm, Actual: float64(rng.IntN(1000)), Goal: float64(op)})
					}
				}
				if _, err := s.RecordProduction(ctx, ids[w], batch, upsert); err != nil {
					errs <- fmt.Errorf("writer %d, write %d: %w", w, op, err)
					return
				}
				for _, p := range batch {
					written[w][p.Time] = p
				}
				writes[w]++
				total.Add(1)
			}
		}()
	}
	// Writers first fill the default partition a little.
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM chart_data_default`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= 500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var reports []database.PartitionReport
	var created []string
	before := total.Load()
	for i := 0; i < rounds && len(created) < ahead; i++ {
		rep, err := db.MaintainPartitions(ctx, database.PartitionOptions{Ahead: ahead, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		reports = append(reports, rep)
		created = append(created, rep.Created...)
	}
	during := total.Load() - before
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var moved int64
	for i, rep := range reports {
		moved += rep.Moved
		if rep.Deferred != nil {
			t.Logf("round %d gave up a step: %v", i, rep.Deferred)
		}
	}
	if len(created) != ahead {
		t.Fatalf("created %d of the %d months ahead in %d rounds while writers ran (%v); writes %v",
			len(created), ahead, rounds, created, writes)
	}
	if moved == 0 || during == 0 {
		t.Errorf("the writers did not race the maintenance: %d points moved, %d writes committed while it ran", moved, during)
	}
	for w, id := range ids {
		where := partitionsOf(t, s, id)
		if where["chart_data_default"] != 0 {
			t.Errorf("factory %d: %d points still in the default partition", id, where["chart_data_default"])
		}
		checkEveryRead(t, s, id, written[w], fmt.Sprintf("factory %d", id))
	}
	t.Logf("writes %v (%d while maintenance ran), moved %d points in %d rounds", writes, during, moved, len(reports))
}

// TestRetentionRemovesOldPointsOutsideTheMonthlyPartitions: points loaded
// before their month had a partition (a seed's 2021, a backfilled 2025)
// wait in the default partition; a retention round removes those of the
// months that end at or before its bound, in batches of about TrimBatch
// points with their rollups, moves the series_version of the factories
// that lost points only, and keeps the month holding the bound, later
// months and legacy millisecond times, while a writer goes on recording
// into the kept months. Every read then equals the remaining points, no
// rollup before the first kept month is left, and the next round removes
// nothing.
func TestRetentionRemovesOldPointsOutsideTheMonthlyPartitions(t *testing.T) {
	t.Parallel()
	s, db := partitionedService(t, dialect.Postgres)
	ctx := context.Background()
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	twelve := func(now time.Time) time.Time { return now.AddDate(0, -12, 0) } // 2025-06-15: June 2025 is kept
	cut := month(2025, 6)
	// The seed's factory: every fourth hour of March to May 2021, through
	// many batches; the others: a few points of every kind of time.
	var seed []Point
	for tm := month(2021, 3); tm < month(2021, 6); tm += 4 * 3600 {
		seed = append(seed, Point{Time: tm, Actual: float64(tm % 7), Goal: 5})
	}
	mixed := []Point{
		{Time: -86400 * 400, Actual: 1, Goal: 1}, {Time: 10, Actual: 2, Goal: 1}, // legacy small integers: 1970 and before
		{Time: month(2025, 1) + 3600, Actual: 3, Goal: 1}, {Time: cut - 1, Actual: 4, Goal: 1}, // backfilled, before the bound's month
		{Time: cut, Actual: 5, Goal: 1}, {Time: month(2025, 8) + 60, Actual: 6, Goal: 1}, // the bound's month and after: kept
		{Time: month(2026, 6) + 7, Actual: 7, Goal: 1}, // a month that will have its partition
		{Time: 1_700_000_000_000, Actual: 8, Goal: 1},  // legacy milliseconds: far in the future as seconds
	}
	recent := []Point{{Time: month(2025, 9), Actual: 9, Goal: 1}, {Time: month(2026, 6) + 99, Actual: 10, Goal: 1}}
	points := map[int]map[int64]Point{}
	var ids []int
	for _, batch := range [][]Point{seed, mixed, recent} {
		f, err := s.CreateFactory(ctx, FactoryInput{Points: batch})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
		points[f.ID] = map[int64]Point{}
		for _, p := range batch {
			points[f.ID][p.Time] = p
		}
	}
	// The months around now get their partitions (June 2026's points move
	// there); the rest waits in the default partition.
	maintain(t, db, now, nil)
	if n := partitionsOf(t, s, ids[0])["chart_data_default"]; n != len(seed) {
		t.Fatalf("%d of the seed's %d points in the default partition", n, len(seed))
	}
	versions := map[int]int64{}
	for _, id := range ids {
		v, err := s.SeriesVersion(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		versions[id] = v
	}

	// A writer records into kept months of the seed's factory meanwhile.
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	var mu sync.Mutex
	go func() {
		rng := rand.New(rand.NewPCG(7, 7))
		for op := 0; ; op++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			var batch []Point
			for range 20 {
				tm := []int64{cut, month(2025, 10), month(2026, 6)}[rng.IntN(3)] + int64(rng.IntN(20*86400))
				batch = append(batch, Point{Time: tm, Actual: float64(op), Goal: 2})
			}
			mu.Lock()
			if _, err := s.RecordProduction(ctx, ids[0], batch, true); err != nil {
				mu.Unlock()
				writerDone <- err
				return
			}
			for _, p := range batch {
				points[ids[0]][p.Time] = p
			}
			mu.Unlock()
		}
	}()
	var rep database.PartitionReport
	for try := 0; ; try++ {
		r, err := db.MaintainPartitions(ctx, database.PartitionOptions{Ahead: 2, Now: func() time.Time { return now }, Retention: twelve, TrimBatch: 50})
		if err != nil {
			t.Fatal(err)
		}
		rep.Removed += r.Removed
		if r.Deferred == nil {
			break
		}
		if try == 10 {
			t.Fatalf("retention deferred 10 times: %v", r.Deferred)
		}
	}
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	var removed int64
	for _, id := range ids {
		for tm := range points[id] {
			if tm < cut {
				delete(points[id], tm)
				removed++
			}
		}
	}
	if rep.Removed != removed || removed != int64(len(seed)+4) {
		t.Errorf("removed %d points, want %d", rep.Removed, removed)
	}
	for _, id := range ids {
		checkEveryRead(t, s, id, points[id], fmt.Sprintf("factory %d after retention", id))
		v, err := s.SeriesVersion(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if lost := id != ids[2]; (v != versions[id]) != lost {
			t.Errorf("factory %d: series_version %d, was %d (lost points: %v)", id, v, versions[id], lost)
		}
	}
	var old int
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM rollups WHERE bucket < $1`, cut).Scan(&old); err != nil || old != 0 {
		t.Errorf("%d rollups before the first kept month remain (%v)", old, err)
	}
	if rep := maintain(t, db, now, twelve); rep.Removed != 0 || len(rep.Dropped) != 0 {
		t.Errorf("the next round: %+v", rep)
	}
}
