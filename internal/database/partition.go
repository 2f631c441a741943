package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"
)

// On PostgreSQL chart_data is partitioned by range of "time" (epoch
// seconds by convention): one partition per UTC month, named
// chart_data_pYYYYMM, and chart_data_default for every time outside them
// (legacy clients' millisecond times, small or negative integers, months
// nobody created). The migration partition_chart_data made a partition for
// every month that held points; the service creates the months ahead of the
// current one and removes the points older than RETENTION
// (MaintainPartitions; retention.go).
// The service does it, not pg_partman: that extension must be installed on
// the server (managed services may not offer it), and its time partitioning
// wants a timestamp column, while ours is a bigint of epoch seconds that
// may also hold any other integer.

// partitionLockID is the PostgreSQL advisory lock that serialises the
// partition maintenance of several replicas ("sprpart" in ASCII); it is
// not migrationLockID, so that a replica migrating does not wait for one
// that moves rows.
const partitionLockID = 0x737072_70617274

// defaultPartitionLockTimeout bounds how long a DDL statement of the
// maintenance waits for a lock, and so how long writers queued behind it
// wait: past it the step is given up and tried again next round.
const defaultPartitionLockTimeout = 2 * time.Second

// PartitionOptions tune MaintainPartitions.
type PartitionOptions struct {
	// Ahead is the number of months after the current one that get a
	// partition (config.PartitionsAhead), besides the current and the
	// previous month.
	Ahead int
	// Retention, when set, gives the retention bound at an instant: the
	// points of the months that end at or before it are removed with
	// their rollups, the monthly partitions dropped and the points outside
	// them deleted. nil keeps every point.
	Retention func(now time.Time) time.Time
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// LockTimeout bounds each DDL step's wait for a lock (default 2s).
	LockTimeout time.Duration
	// TrimBatch is about how many points one transaction of retention
	// deletes outside the monthly partitions (default 10,000; plus the
	// rest of the last point's day).
	TrimBatch int
}

// PartitionReport says what one round of MaintainPartitions did.
type PartitionReport struct {
	// Busy: another replica held the maintenance lock, and this round did
	// nothing.
	Busy bool
	// Created are the partitions created, Dropped those dropped by
	// retention; Moved counts the points moved out of the default
	// partition into the created ones, Removed the points retention
	// deleted outside the partitions it dropped.
	Created, Dropped []string
	Moved, Removed   int64
	// Deferred is the step given up because a lock was not granted within
	// LockTimeout (writers or readers held it); the next round tries again.
	Deferred error
}

// ErrRetentionNeedsPostgres refuses RETENTION on SQLite, where chart_data
// is one table with no partitions to drop.
var ErrRetentionNeedsPostgres = errors.New("RETENTION needs PostgreSQL, where chart data is partitioned by month; " +
	"on SQLite every point is kept: unset RETENTION")

// monthPartition is one monthly partition: [From, To) in epoch seconds.
type monthPartition struct {
	Name     string
	From, To int64
}

// monthOf returns the partition of the UTC month that starts at m.
func monthOf(m time.Time) monthPartition {
	m = time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, time.UTC)
	return monthPartition{Name: "chart_data_p" + m.Format("200601"), From: m.Unix(), To: m.AddDate(0, 1, 0).Unix()}
}

// MaintainPartitions runs one round of partition maintenance on PostgreSQL
// (on SQLite it does nothing): it creates the partitions of the previous,
// the current and the next opts.Ahead months that are missing, and removes
// the points of the months wholly older than the retention bound
// (applyRetention). Replicas take turns through
// an advisory lock; a replica that finds it taken skips the round (Busy).
// A step whose lock is not granted in time is left to the next round
// (Deferred), with no error.
func (db *DB) MaintainPartitions(ctx context.Context, opts PartitionOptions) (PartitionReport, error) {
	var rep PartitionReport
	if db.Dialect != dialect.Postgres {
		if opts.Retention != nil {
			return rep, ErrRetentionNeedsPostgres
		}
		return rep, nil
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultPartitionLockTimeout
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	// Moving points may take longer than the pool's stall limit allows: a
	// connection of its own without one, as for migrations.
	own, err := Open(ctx, db.url, Options{MaxConns: 1, Stall: -1})
	if err != nil {
		return rep, fmt.Errorf("partitions: %w", err)
	}
	defer own.Close()
	conn, err := own.SQL.Conn(ctx)
	if err != nil {
		return rep, fmt.Errorf("partitions: %w", err)
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", partitionLockID).Scan(&got); err != nil {
		return rep, fmt.Errorf("partitions: taking the maintenance lock: %w", err)
	}
	if !got {
		rep.Busy = true
		return rep, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", partitionLockID) //nolint:errcheck

	parts, hasDefault, err := listPartitions(ctx, conn)
	if err != nil {
		return rep, err
	}
	if !hasDefault {
		return rep, errors.New("partitions: chart_data has no default partition (is it partitioned? run the migrations)")
	}
	t := now().UTC()
	var bound int64
	retain := opts.Retention != nil
	if retain {
		bound = opts.Retention(t).Unix()
	}
	for i := -1; i <= opts.Ahead; i++ {
		m := monthOf(time.Date(t.Year(), t.Month()+time.Month(i), 1, 0, 0, 0, 0, time.UTC))
		if retain && m.To <= bound {
			continue // it would be dropped at once
		}
		if overlaps(parts, m) {
			continue
		}
		moved, err := createPartition(ctx, conn, m, opts.LockTimeout)
		if isLockTimeout(err) {
			rep.Deferred = fmt.Errorf("creating %s: %w", m.Name, err)
			return rep, nil
		}
		if err != nil {
			return rep, fmt.Errorf("partitions: creating %s: %w", m.Name, err)
		}
		rep.Created = append(rep.Created, m.Name)
		rep.Moved += moved
	}
	if !retain {
		return rep, nil
	}
	return rep, applyRetention(ctx, conn, parts, bound, opts, &rep)
}

// boundRE reads a range partition's bounds from pg_get_expr(relpartbound).
var boundRE = regexp.MustCompile(`^FOR VALUES FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)$`)

// listPartitions returns chart_data's range partitions in order of their
// lower bound, and whether it has its default partition. A partition
// bounded by MINVALUE or MAXVALUE (made by hand) is neither created over
// nor dropped: it is left out.
func listPartitions(ctx context.Context, conn *sql.Conn) ([]monthPartition, bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i `+
		`JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'chart_data'::regclass`)
	if err != nil {
		return nil, false, fmt.Errorf("partitions: listing: %w", err)
	}
	defer rows.Close()
	var parts []monthPartition
	hasDefault := false
	for rows.Next() {
		var name, bound string
		if err := rows.Scan(&name, &bound); err != nil {
			return nil, false, fmt.Errorf("partitions: listing: %w", err)
		}
		if bound == "DEFAULT" {
			hasDefault = true
			continue
		}
		m := boundRE.FindStringSubmatch(bound)
		if m == nil {
			continue
		}
		from, err1 := strconv.ParseInt(m[1], 10, 64)
		to, err2 := strconv.ParseInt(m[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		parts = append(parts, monthPartition{Name: name, From: from, To: to})
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("partitions: listing: %w", err)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].From < parts[j].From })
	return parts, hasDefault, nil
}

func overlaps(parts []monthPartition, m monthPartition) bool {
	for _, p := range parts {
		if p.From < m.To && m.From < p.To {
			return true
		}
	}
	return false
}

// createPartition creates m in one transaction, so that it never fails on
// points already stored for its month (they wait in the default
// partition, which PostgreSQL would refuse to leave holding them): the
// table is created alone, those points are moved into it from the default
// partition, and it is attached. The CHECK constraint spares PostgreSQL a
// scan of the new table. It returns the points moved.
//
// The default partition is locked first, in ACCESS EXCLUSIVE mode, the
// lock ATTACH takes on it in the end: a transaction that starts with a
// weaker lock and needs a stronger one later deadlocks with writers, whose
// statements read the default partition (ACCESS SHARE) before they insert
// into it (ROW EXCLUSIVE). Maintenance that locked it SHARE ROW EXCLUSIVE
// for the move deadlocked in every round while writers filled it. Taken
// first, the lock waits for the transactions that use the default
// partition to end (lock_timeout bounds the wait) and then nothing it
// needs is held by others: attaching takes only SHARE UPDATE EXCLUSIVE on
// chart_data, so readers and writers of other months go on, and those of
// the default partition wait from the lock to the commit (the move, a
// scan of the default partition, and the month's index: little while it
// holds few points).
func createPartition(ctx context.Context, conn *sql.Conn, m monthPartition, lockTimeout time.Duration) (int64, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	if err := setLocalTimeouts(ctx, tx, lockTimeout); err != nil {
		return 0, err
	}
	name := pq.QuoteIdentifier(m.Name)
	check := pq.QuoteIdentifier(m.Name + "_bounds")
	var moved int64
	for i, q := range []string{
		`LOCK TABLE chart_data_default IN ACCESS EXCLUSIVE MODE`,
		`CREATE TABLE ` + name + ` (LIKE chart_data)`,
		fmt.Sprintf(`WITH moved AS (DELETE FROM chart_data_default WHERE "time" >= %d AND "time" < %d RETURNING id, "time", actual, goal, factory_id) `+
			`INSERT INTO %s (id, "time", actual, goal, factory_id) SELECT id, "time", actual, goal, factory_id FROM moved`, m.From, m.To, name),
		`CREATE UNIQUE INDEX ON ` + name + ` (factory_id, "time") INCLUDE (actual, goal)`,
		fmt.Sprintf(`ALTER TABLE %s ADD CONSTRAINT %s CHECK ("time" >= %d AND "time" < %d)`, name, check, m.From, m.To),
		fmt.Sprintf(`ALTER TABLE chart_data ATTACH PARTITION %s FOR VALUES FROM (%d) TO (%d)`, name, m.From, m.To),
		`ALTER TABLE ` + name + ` DROP CONSTRAINT ` + check,
	} {
		res, err := tx.ExecContext(ctx, q)
		if err != nil {
			return 0, err
		}
		if i == 2 {
			if moved, err = res.RowsAffected(); err != nil {
				return 0, err
			}
		}
	}
	return moved, tx.Commit()
}

// setLocalTimeouts bounds the transaction's waits for locks, and lifts the
// pool's statement timeout (moving a month of points may take a while).
func setLocalTimeouts(ctx context.Context, tx *sql.Tx, lockTimeout time.Duration) error {
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d; SET LOCAL statement_timeout = 0`, max(1, lockTimeout.Milliseconds())))
	return err
}

// isLockTimeout reports whether err is PostgreSQL's lock_not_available
// (lock_timeout expired) or a deadlock it broke by failing this side.
func isLockTimeout(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && (pe.Code == "55P03" || pe.Code == "40P01")
}

// PartitionMaintenance runs MaintainPartitions now and then every interval
// in the background, logging what each round did, until Stop.
type PartitionMaintenance struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartPartitionMaintenance runs a first round of partition maintenance
// at once (at start-up, after the migrations) and then one every interval
// until Stop. A round that fails is logged, not fatal: points land in the
// default partition meanwhile and are moved out by a later round. On
// SQLite it refuses a retention (ErrRetentionNeedsPostgres) and otherwise
// runs nothing.
func (db *DB) StartPartitionMaintenance(ctx context.Context, opts PartitionOptions, interval time.Duration, logger *slog.Logger) (*PartitionMaintenance, error) {
	m := &PartitionMaintenance{cancel: func() {}}
	if db.Dialect != dialect.Postgres {
		if opts.Retention != nil {
			return nil, ErrRetentionNeedsPostgres
		}
		return m, nil
	}
	round := func(ctx context.Context) {
		rep, err := db.MaintainPartitions(ctx, opts)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("partition maintenance failed; trying again next round", "err", err)
		case rep.Deferred != nil:
			logger.Warn("partition maintenance waited too long for a lock; trying again next round", "step", rep.Deferred.Error())
		}
		if len(rep.Created) > 0 || len(rep.Dropped) > 0 || rep.Removed > 0 {
			logger.Info("partition maintenance", "created", rep.Created, "moved_points", rep.Moved, "dropped", rep.Dropped,
				"removed_points", rep.Removed)
		}
	}
	round(ctx)
	ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				round(ctx)
			}
		}
	}()
	return m, nil
}

// Stop ends the background maintenance and waits for a round in progress.
func (m *PartitionMaintenance) Stop() {
	m.cancel()
	m.wg.Wait()
}
