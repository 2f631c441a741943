package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lib/pq"
)

// Retention (PartitionOptions.Retention) removes the points of the months
// that end at or before its bound, wherever they are stored: the monthly
// partitions wholly before it are dropped (dropPartition), and the points
// before the first kept month that lie outside them are deleted in bounded
// batches (trimFactory). Those sit in the default partition: points of a
// month that had no partition when they were written (data loaded or
// backfilled before maintenance created the month, or written for a month
// retention had dropped) and the small or negative integers some legacy
// clients send, which as epoch seconds are 1970 or earlier. Times read as
// seconds are the one rule: a legacy client's millisecond times are far in
// the future as seconds, and retention never removes them.

// defaultTrimBatch is PartitionOptions.TrimBatch's default.
const defaultTrimBatch = 10_000

// day is the width of the widest rollup; every width divides it.
const day = 86400

// applyRetention drops the partitions of parts (in order of From) that end
// at or before bound, then deletes the points before the first kept month
// that remain elsewhere. A step whose lock is not granted in time is left
// to the next round (rep.Deferred).
func applyRetention(ctx context.Context, conn *sql.Conn, parts []monthPartition, bound int64, opts PartitionOptions, rep *PartitionReport) error {
	for _, p := range parts {
		if p.To > bound {
			break // parts do not overlap
		}
		err := dropPartition(ctx, conn, p, opts.LockTimeout)
		if isLockTimeout(err) {
			rep.Deferred = fmt.Errorf("dropping %s: %w", p.Name, err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("partitions: dropping %s: %w", p.Name, err)
		}
		rep.Dropped = append(rep.Dropped, p.Name)
	}
	// The first kept month: the one that holds the bound.
	cut := monthOf(time.Unix(bound, 0).UTC()).From
	batch := opts.TrimBatch
	if batch <= 0 {
		batch = defaultTrimBatch
	}
	for factory := int64(math.MinInt64); ; {
		// The next factory with points before cut, along the index of
		// (factory_id, "time") of the partitions that may hold them.
		err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT factory_id FROM chart_data WHERE factory_id > $1 AND "time" < %d `+
			`ORDER BY factory_id LIMIT 1`, cut), factory).Scan(&factory)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("partitions: finding points before %d: %w", cut, err)
		}
		n, err := trimFactory(ctx, conn, factory, cut, batch, opts.LockTimeout)
		rep.Removed += n
		if isLockTimeout(err) {
			rep.Deferred = fmt.Errorf("removing the points of factory %d before %d: %w", factory, cut, err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("partitions: removing the points of factory %d before %d: %w", factory, cut, err)
		}
	}
}

// trimFactory deletes factory's points before cut (a UTC midnight), about
// batch points a transaction, and returns how many it deleted. Each
// transaction locks the factory's row first, as writers do, deletes the
// points before a UTC midnight end (after the batch-th of them at least
// one day, at most cut) and the factory's rollups of buckets before end —
// every rollup width divides a day, so those buckets hold exactly the
// deleted points — and moves its series_version, as dropPartition does.
// Readers never see points without their rollups or the reverse.
func trimFactory(ctx context.Context, conn *sql.Conn, factory, cut int64, batch int, lockTimeout time.Duration) (int64, error) {
	var removed int64
	for {
		n, end, err := trimBatch(ctx, conn, factory, cut, batch, lockTimeout)
		if err != nil {
			return removed, err
		}
		removed += n
		if end >= cut {
			return removed, nil
		}
	}
}

// trimBatch is one transaction of trimFactory: it returns the points it
// deleted and the end before which the factory has none left.
func trimBatch(ctx context.Context, conn *sql.Conn, factory, cut int64, batch int, lockTimeout time.Duration) (int64, int64, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	if err := setLocalTimeouts(ctx, tx, lockTimeout); err != nil {
		return 0, 0, err
	}
	// The factory may be gone (its points are then deleted all the same).
	if _, err := tx.ExecContext(ctx, `SELECT id FROM factories WHERE id = $1 FOR NO KEY UPDATE`, factory); err != nil {
		return 0, 0, err
	}
	end := cut
	var nth int64
	err = tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT "time" FROM chart_data WHERE factory_id = $1 AND "time" < %d `+
		`ORDER BY "time" OFFSET %d LIMIT 1`, cut, batch-1), factory).Scan(&nth)
	switch {
	case err == nil:
		end = min(cut, nth-((nth%day)+day)%day+day) // the end of nth's UTC day
	case !errors.Is(err, sql.ErrNoRows):
		return 0, 0, err
	}
	res, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM chart_data WHERE factory_id = $1 AND "time" < %d`, end), factory)
	if err != nil {
		return 0, 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, 0, err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM rollups WHERE factory_id = $1 AND bucket < %d`, end), factory); err != nil {
		return 0, 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE factories SET series_version = series_version + 1 WHERE id = $1`, factory); err != nil {
		return 0, 0, err
	}
	return n, end, tx.Commit()
}

// dropPartition drops partition p and, in the same transaction, the
// rollups of its month, so that rollups stay equal to what the remaining
// points give: every rollup width divides a day, and a month's bounds are
// UTC midnights (multiples of 86400), so each rollup bucket lies wholly in
// one month, and the buckets in [p.From, p.To) are exactly those of p's
// points (while p exists no point of its month is elsewhere). The factories
// that had points there get a new series_version, which the cached legacy
// GETs go by.
//
// Writers lock their factory's row before they touch chart_data
// (core.RecordProduction, DeleteFactory): every factory row is locked here
// first, in id order, so that a writer holding one finishes before
// DROP TABLE takes chart_data (ACCESS EXCLUSIVE), and none waits for it
// while holding a row this transaction then updates. Writers wait from
// here to the commit; readers from the DROP to the commit.
func dropPartition(ctx context.Context, conn *sql.Conn, p monthPartition, lockTimeout time.Duration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	if err := setLocalTimeouts(ctx, tx, lockTimeout); err != nil {
		return err
	}
	for _, q := range []string{
		`SELECT count(*) FROM (SELECT id FROM factories ORDER BY id FOR NO KEY UPDATE) AS locked`,
		`DROP TABLE ` + pq.QuoteIdentifier(p.Name),
		fmt.Sprintf(`WITH gone AS (DELETE FROM rollups WHERE bucket >= %d AND bucket < %d RETURNING factory_id) `+
			`UPDATE factories SET series_version = series_version + 1 WHERE id IN (SELECT factory_id FROM gone)`, p.From, p.To),
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}
