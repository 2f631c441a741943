package database

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
)

// beforePartitioning is the last migration before chart_data was
// partitioned on PostgreSQL.
const beforePartitioning = "20261130221336_backfill_rollup_first_last_extremes"

// dump returns the query's rows as text, one line each.
func dump(t *testing.T, db *DB, query string) []string {
	t.Helper()
	rows, err := db.SQL.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSuffix(fmt.Sprintln(vals...), "\n"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPartitioningKeepsEveryPoint upgrades a PostgreSQL database holding
// points of several months, of no plausible month (small, negative and
// millisecond times, the ends of the time domain) and of two factories,
// through the migration that partitions chart_data: every row keeps its
// id and values, the window reads the service makes answer the same, each
// month that held points has its partition and the rest sits in the
// default partition, new rows continue the ids, and the only index is the
// unique (factory_id, time) one.
func TestPartitioningKeepsEveryPoint(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t, dialect.Postgres)
	if _, err := db.migrateUpTo(ctx, beforePartitioning); err != nil {
		t.Fatal(err)
	}
	jan2024 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	var values []string
	for i := int64(0); i < 3000; i++ { // every 47 minutes from 2024-01 into 2024-04
		values = append(values, fmt.Sprintf("(%d, %d, %d, 10)", 1+i%2, jan2024+i*2820+i%2, i%37))
	}
	for _, tm := range []int64{-8_640_000_000_000, 8_640_000_000_000, -1, 0, 10, 1_700_000_000_000, 946684799, 4102444800} {
		values = append(values, fmt.Sprintf("(1, %d, 1.5, 2)", tm))
	}
	for _, q := range []string{
		`INSERT INTO factories (id, created_at, updated_at, name) VALUES (1, now(), now(), 'Factory 1'), (2, now(), now(), 'Factory 2')`,
		`INSERT INTO chart_data (factory_id, "time", actual, goal) VALUES ` + strings.Join(values, ", "),
		`DELETE FROM chart_data WHERE id % 101 = 0`, // gaps in the ids
	} {
		if _, err := db.SQL.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	reads := []string{
		`SELECT id, factory_id, "time", actual, goal FROM chart_data ORDER BY id`,
		`SELECT factory_id, "time", actual, goal FROM chart_data WHERE factory_id IN (1, 2) ORDER BY factory_id, "time"`,
		fmt.Sprintf(`SELECT factory_id, ("time" - %d) / 86400, COUNT(*), SUM(actual), MIN(goal), MAX("time") FROM chart_data WHERE "time" >= %d AND "time" < %d GROUP BY 1, 2 ORDER BY 1, 2`,
			jan2024, jan2024+20*86400, jan2024+75*86400),
		`SELECT (SELECT MIN("time") FROM chart_data WHERE factory_id = 1), (SELECT MAX("time") FROM chart_data WHERE factory_id = 1 AND "time" < 1000000000000)`,
	}
	before := make([][]string, len(reads))
	for i, q := range reads {
		before[i] = dump(t, db, q)
	}
	var maxID int64
	if err := db.SQL.QueryRowContext(ctx, `SELECT MAX(id) FROM chart_data`).Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	applied, err := db.Migrate(ctx)
	if err != nil || len(applied) == 0 {
		t.Fatalf("migrating: %v %v", applied, err)
	}
	for i, q := range reads {
		if after := dump(t, db, q); strings.Join(after, "\n") != strings.Join(before[i], "\n") || len(after) == 0 {
			t.Errorf("%s\nanswers %d rows after partitioning, %d before (or different ones)", q, len(after), len(before[i]))
		}
	}
	where := dump(t, db, `SELECT tableoid::regclass::text, COUNT(*) FROM chart_data GROUP BY 1 ORDER BY 1`)
	// 946684799 (1999-12-31T23:59:59Z) and 4102444800 (2100-01-01) are
	// outside the months the migration partitions.
	if strings.Join(where, ";") != "chart_data_default 8;chart_data_p202401 941;chart_data_p202402 880;chart_data_p202403 941;chart_data_p202404 209" {
		t.Errorf("rows by partition: %v", where)
	}
	var id int64
	if err := db.SQL.QueryRowContext(ctx, `INSERT INTO chart_data (factory_id, "time", actual, goal) VALUES (2, 5, 1, 1) RETURNING id`).Scan(&id); err != nil || id != maxID+1 {
		t.Errorf("a new row has id %d (%v), want %d", id, err, maxID+1)
	}
	if _, err := db.SQL.ExecContext(ctx, `INSERT INTO chart_data (factory_id, "time", actual, goal) VALUES (2, 5, 1, 1) ON CONFLICT (factory_id, "time") DO UPDATE SET actual = 3`); err != nil {
		t.Errorf("ON CONFLICT (factory_id, time): %v", err)
	}
	indexes := dump(t, db, `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'chart_data'`)
	if len(indexes) != 1 || !strings.Contains(indexes[0], `UNIQUE INDEX chartdata_factory_id_time ON ONLY public.chart_data USING btree (factory_id, "time") INCLUDE (actual, goal)`) {
		t.Errorf("chart_data's indexes: %v", indexes)
	}
	if left := dump(t, db, `SELECT relname FROM pg_class WHERE relname LIKE 'chart_data_unpartitioned%'`); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestEveryUniqueKeyHoldsFactoryID keeps the path to a distribution by
// factory (Citus) open on PostgreSQL: the unique keys of chart_data and
// rollups hold factory_id (chart_data's also its partition key, "time"),
// each table has one index to maintain per row written, and factories and
// sprockets are keyed by their id alone (the factory's id is its
// factory_id).
func TestEveryUniqueKeyHoldsFactoryID(t *testing.T) {
	db := openEmpty(t, dialect.Postgres)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := dump(t, db, `SELECT c.relname::text, i.indisunique, i.indisprimary, `+
		`(SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) `+
		`JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum WHERE k.n <= i.indnkeyatts) `+
		`FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace s ON s.oid = c.relnamespace `+
		`WHERE s.nspname = 'public' AND c.relname IN ('chart_data', 'rollups', 'factories', 'sprockets') ORDER BY 1, 4`)
	want := []string{
		"chart_data true false factory_id,time",
		"factories true true id",
		"rollups true false factory_id,width,bucket",
		"sprockets true true id",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("indexes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMaintenanceWaitsForLocksABoundedTime: a round whose lock is held by
// a writer (of the default partition, or of a factory while retention
// would drop a month) gives the step up after LockTimeout, without an
// error, and the next round does it.
func TestMaintenanceWaitsForLocksABoundedTime(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t, dialect.Postgres)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	opts := PartitionOptions{Ahead: 1, Now: func() time.Time { return now }, LockTimeout: 200 * time.Millisecond}
	hold := func(q string) func() {
		t.Helper()
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
		return func() { _ = tx.Rollback() }
	}
	release := hold(`LOCK TABLE chart_data_default IN ROW EXCLUSIVE MODE`) // a writer of the default partition
	began := time.Now()
	rep, err := db.MaintainPartitions(ctx, opts)
	if err != nil || rep.Deferred == nil || len(rep.Created) != 0 || time.Since(began) > 10*time.Second {
		t.Fatalf("with the default partition locked: %+v, %v after %v", rep, err, time.Since(began))
	}
	release()
	if rep, err := db.MaintainPartitions(ctx, opts); err != nil || rep.Deferred != nil || fmt.Sprint(rep.Created) != "[chart_data_p202605 chart_data_p202606 chart_data_p202607]" {
		t.Fatalf("the next round: %+v, %v", rep, err)
	}
	if _, err := db.SQL.ExecContext(ctx, `INSERT INTO factories (id, created_at, updated_at, name) VALUES (1, now(), now(), 'F')`); err != nil {
		t.Fatal(err)
	}
	release = hold(`SELECT id FROM factories WHERE id = 1 FOR NO KEY UPDATE`)        // a writer of factory 1
	opts.Retention = func(now time.Time) time.Time { return now.AddDate(0, 0, -10) } // May ends before it
	rep, err = db.MaintainPartitions(ctx, opts)
	if err != nil || rep.Deferred == nil || len(rep.Dropped) != 0 {
		t.Fatalf("retention with a factory locked: %+v, %v", rep, err)
	}
	release()
	if rep, err := db.MaintainPartitions(ctx, opts); err != nil || fmt.Sprint(rep.Dropped) != "[chart_data_p202605]" {
		t.Fatalf("retention, next round: %+v, %v", rep, err)
	}
}

// TestRetentionDeletesInBatchesEndingAtMidnight: one transaction of
// retention outside the monthly partitions deletes a factory's points up
// to the end of the UTC day of its batch-th point (so that it takes whole
// rollup buckets), never past the first kept month, and only that
// factory's; the next ones go on from there.
func TestRetentionDeletesInBatchesEndingAtMidnight(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t, dialect.Postgres)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	cut := time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC).Unix()
	var values []string
	for tm := start - 86400; tm < cut+86400; tm += 3 * 3600 { // 8 points a day, both sides of cut
		values = append(values, fmt.Sprintf("(1, %d, 1, 1), (2, %d, 1, 1)", tm, tm))
	}
	if _, err := db.SQL.ExecContext(ctx, `INSERT INTO chart_data (factory_id, "time", actual, goal) VALUES `+strings.Join(values, ", ")); err != nil {
		t.Fatal(err)
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	count := func(factory int) int {
		var n int
		if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM chart_data WHERE factory_id = $1`, factory).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	total := count(1)
	// The 20th point is on the third day (from start - 1 day): through it.
	n, end, err := trimBatch(ctx, conn, 1, cut, 20, time.Second)
	if err != nil || n != 24 || end != start+2*86400 {
		t.Fatalf("first batch: %d points to %d (%v), want 24 to %d", n, end, err, start+2*86400)
	}
	if count(1) != total-24 || count(2) != total {
		t.Fatalf("left %d and %d points of %d", count(1), count(2), total)
	}
	// The rest of the month, in batches, and not a point of April.
	removed, err := trimFactory(ctx, conn, 1, cut, 20, time.Second)
	if err != nil || removed != int64(total-24-8) || count(1) != 8 {
		t.Fatalf("the rest: %d points (%v), %d left", removed, err, count(1))
	}
}
