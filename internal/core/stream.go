package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/factory"
	"github.com/sprocketapi/sprocket/internal/database"
)

// SeriesSink receives factories' series column by column: for each
// factory, every actual value, then every goal, then every time, each
// column in time order. Numbers come as the database prints them, which is
// valid JSON for the finite numbers the core stores; raw is valid only
// during the call.
type SeriesSink interface {
	// BeginFactory starts factory id's series of n points.
	BeginFactory(id int, n int64) error
	// Column starts the next column: ColumnActual, ColumnGoal, then
	// ColumnTime.
	Column(c SeriesColumn) error
	// Value is the next number of the current column.
	Value(raw []byte) error
	// EndFactory ends the current factory.
	EndFactory() error
}

// SeriesColumn names a column of a streamed series, in the order they come.
type SeriesColumn int

// The columns of a streamed series, in order.
const (
	ColumnActual SeriesColumn = iota
	ColumnGoal
	ColumnTime
)

// columnsFrom is the series size from which one factory is read column
// by column (three passes over the index, nothing held between columns)
// instead of in one pass that keeps the goal and time columns until the
// actual values are out. Smaller factories are read together, a batch at
// most this many points (and batchIDs factories) at a time, so what is
// held never exceeds about columnsFrom points, whatever the answer's size.
const columnsFrom = 250_000

// batchIDs bounds the factories of one batched read (its IN list).
const batchIDs = 1000

// querier runs the reads of one snapshot.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// SeriesResetter is a SeriesSink that can take back what it was handed
// as long as it has passed nothing on: Reset reports whether it did.
type SeriesResetter interface {
	SeriesSink
	Reset() bool
}

// StreamSeries hands the series of the given factories (nil: every
// factory, in id order; factories without points included) to sink, all
// read from one snapshot, with memory bounded by columnsFrom points, never
// by the answer's size. It runs in a turn of the download lane. A read
// routed to a standby that fails on it (a standby cut for not answering,
// stopped, or in a conflict with recovery) is read again on the primary
// when sink is a SeriesResetter that has passed nothing on yet.
func (s *Service) StreamSeries(ctx context.Context, ids []int, sink SeriesSink) error {
	ctx, done, err := s.download(ctx)
	if err != nil {
		return err
	}
	defer done()
	err = s.streamSeries(ctx, ids, sink)
	if r := database.ReaderFrom(ctx); err != nil && r != nil && ent.TxFromContext(ctx) == nil && r.Failed(ctx, err) {
		if rs, ok := sink.(SeriesResetter); ok && rs.Reset() {
			return s.streamSeries(database.WithReader(ctx, nil), ids, sink)
		}
	}
	return err
}

func (s *Service) streamSeries(ctx context.Context, ids []int, sink SeriesSink) error {
	return s.inSnapshot(ctx, func(q querier) error {
		filter := ids != nil
		if filter {
			ids = slices.Sorted(slices.Values(ids)) // the order of the scan
		} else {
			var err error
			if ids, err = s.factoryIDs(ctx, q); err != nil {
				return err
			}
		}
		counts, err := s.pointCounts(ctx, q, ids, filter)
		if err != nil {
			return err
		}
		var batch []int
		var held int64
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			err := s.streamRows(ctx, q, batch, counts, sink)
			batch, held = batch[:0], 0
			return err
		}
		for _, id := range ids {
			n := counts[id].n
			if n >= columnsFrom {
				if err := flush(); err != nil {
					return err
				}
				if err := s.streamColumns(ctx, q, id, counts[id], sink); err != nil {
					return err
				}
				continue
			}
			if held+n > columnsFrom || len(batch) == batchIDs {
				if err := flush(); err != nil {
					return err
				}
			}
			batch = append(batch, id)
			held += n
		}
		return flush()
	})
}

// inSnapshot runs fn with a querier whose reads all see one snapshot: a
// REPEATABLE READ, READ ONLY transaction on PostgreSQL; on SQLite a
// deferred transaction on a connection of its own (write transactions
// begin IMMEDIATE there, which would hold the write lock for the whole
// read; a deferred one only reads its WAL snapshot). Inside a caller's
// transaction, that one.
func (s *Service) inSnapshot(ctx context.Context, fn func(q querier) error) error {
	if tx := ent.TxFromContext(ctx); tx != nil {
		return fn(tx.Client())
	}
	if s.postgres {
		tx, err := s.Client(ctx).BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return classify(err, "")
		}
		defer tx.Rollback() //nolint:errcheck // read only: nothing to keep
		// The pool's statement_timeout is DB_TIMEOUT; a download may have
		// a longer deadline (DOWNLOAD_TIMEOUT): the server's own limit
		// follows the request's.
		if dl, ok := ctx.Deadline(); ok {
			ms := max(1, time.Until(dl).Milliseconds())
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", ms)); err != nil {
				return classify(err, "")
			}
		}
		return fn(tx)
	}
	conn, err := s.pool.Conn(ctx)
	if err != nil {
		return classify(err, "")
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return classify(err, "")
	}
	// Ended whatever happens to ctx, so that the connection goes back
	// to the pool outside any transaction.
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // read only
	return fn(conn)
}

// factoryIDs lists every factory's id, in order.
func (s *Service) factoryIDs(ctx context.Context, q querier) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM factories ORDER BY id`)
	if err != nil {
		return nil, classify(err, "")
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err, "")
		}
		ids = append(ids, id)
	}
	return ids, classify(rows.Err(), "")
}

// storedSpan is how many points a factory has, and the first and last of
// their times.
type storedSpan struct{ n, first, last int64 }

// pointCounts returns how many points each factory has (of ids when
// filter is set, else of all) and the span of their times, from the daily
// rollups. The reads of the points are bounded by that span: on
// PostgreSQL the planner then prunes the partitions (months) of chart_data
// outside it, instead of planning and opening every one.
func (s *Service) pointCounts(ctx context.Context, q querier, ids []int, filter bool) (map[int]storedSpan, error) {
	query := `SELECT factory_id, SUM(n), MIN(min_time), MAX(max_time) FROM rollups WHERE width = $1`
	args := []any{rollupWidths[0]}
	if filter {
		query += ` AND factory_id IN (`
		for i, id := range ids {
			if i > 0 {
				query += ", "
			}
			args = append(args, id)
			query += fmt.Sprintf("$%d", len(args))
		}
		query += `)`
	}
	rows, err := q.QueryContext(ctx, query+` GROUP BY factory_id`, args...)
	if err != nil {
		return nil, classify(err, "")
	}
	defer rows.Close()
	out := make(map[int]storedSpan, len(ids))
	for rows.Next() {
		var id int
		var sp storedSpan
		if err := rows.Scan(&id, &sp.n, &sp.first, &sp.last); err != nil {
			return nil, classify(err, "")
		}
		out[id] = sp
	}
	return out, classify(rows.Err(), "")
}

// heldColumn is a column kept until its turn: the values back to back,
// and where each ends.
type heldColumn struct {
	data []byte
	ends []int
}

func (h *heldColumn) add(raw []byte) {
	h.data = append(h.data, raw...)
	h.ends = append(h.ends, len(h.data))
}

func (h *heldColumn) emit(sink SeriesSink) error {
	start := 0
	for _, end := range h.ends {
		if err := sink.Value(h.data[start:end]); err != nil {
			return err
		}
		start = end
	}
	h.data, h.ends = h.data[:0], h.ends[:0]
	return nil
}

// streamRows reads the points of the factories in order, in one pass
// ordered by factory and time, passing on the actual values as they come
// and holding goals and times until each factory's end. counts are the
// factories' point counts.
func (s *Service) streamRows(ctx context.Context, q querier, order []int, counts map[int]storedSpan, sink SeriesSink) error {
	if len(order) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`SELECT factory_id, "time", actual, goal FROM chart_data WHERE factory_id IN (`)
	args := make([]any, 0, len(order))
	for i, id := range order {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i+1)
		args = append(args, id)
	}
	first, last := int64(0), int64(-1) // no point: an empty span
	for _, id := range order {
		if sp := counts[id]; sp.n > 0 {
			if last < first {
				first, last = sp.first, sp.last
			}
			first, last = min(first, sp.first), max(last, sp.last)
		}
	}
	args = append(args, first, last)
	fmt.Fprintf(&b, `) AND "time" >= CAST($%d AS BIGINT) AND "time" <= CAST($%d AS BIGINT) ORDER BY factory_id, "time"`, len(args)-1, len(args))
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return classify(err, "")
	}
	defer rows.Close()

	var goals, times heldColumn
	next, open := 0, false // order[next] is the factory being written
	begin := func() error {
		open = true
		if err := sink.BeginFactory(order[next], counts[order[next]].n); err != nil {
			return err
		}
		return sink.Column(ColumnActual)
	}
	end := func() error {
		for _, held := range []struct {
			c   SeriesColumn
			col *heldColumn
		}{{ColumnGoal, &goals}, {ColumnTime, &times}} {
			col := held.col
			if err := sink.Column(held.c); err != nil {
				return err
			}
			if err := col.emit(sink); err != nil {
				return err
			}
		}
		open = false
		next++
		return sink.EndFactory()
	}
	// closeUpTo ends the open factory and writes the empty ones ordered
	// before factory id (all that remain when id < 0).
	closeUpTo := func(id int) error {
		for next < len(order) && (id < 0 || order[next] < id) {
			if !open {
				if err := begin(); err != nil {
					return err
				}
			}
			if err := end(); err != nil {
				return err
			}
		}
		return nil
	}
	var fid int
	var t, a, g sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&fid, &t, &a, &g); err != nil {
			return classify(err, "")
		}
		if !open || order[next] != fid {
			if err := closeUpTo(fid); err != nil {
				return err
			}
			if next >= len(order) || order[next] != fid {
				// Not reached: the rows are those of order's factories
				// (the IN list), in its order. Kept so that a mismatch
				// drops rows instead of writing them under another id.
				continue
			}
			if err := begin(); err != nil {
				return err
			}
		}
		if err := sink.Value(a); err != nil {
			return err
		}
		goals.add(g)
		times.add(t)
	}
	if err := rows.Err(); err != nil {
		return classify(err, "")
	}
	return closeUpTo(-1)
}

// streamColumns reads factory id column by column, from q's snapshot.
func (s *Service) streamColumns(ctx context.Context, q querier, id int, sp storedSpan, sink SeriesSink) error {
	if err := sink.BeginFactory(id, sp.n); err != nil {
		return err
	}
	for c, col := range []string{ColumnActual: "actual", ColumnGoal: "goal", ColumnTime: `"time"`} {
		if err := sink.Column(SeriesColumn(c)); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT `+col+` FROM chart_data WHERE factory_id = $1 `+
			`AND "time" >= CAST($2 AS BIGINT) AND "time" <= CAST($3 AS BIGINT) ORDER BY "time"`, id, sp.first, sp.last)
		if err != nil {
			return classify(err, "")
		}
		var raw sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&raw); err != nil {
				rows.Close()
				return classify(err, "")
			}
			if err := sink.Value(raw); err != nil {
				rows.Close()
				return err
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return classify(err, "")
		}
	}
	return sink.EndFactory()
}

// SeriesVersion returns the version of factory id's series: it changes in
// every transaction that writes the factory's points, so a copy of the
// series made after reading version v holds at least what v holds.
func (s *Service) SeriesVersion(ctx context.Context, id int) (int64, error) {
	f, err := s.Client(ctx).Factory.Query().Where(factory.ID(id)).Select(factory.FieldSeriesVersion).Only(ctx)
	if err != nil {
		return 0, classify(err, msgFactoryNotFound)
	}
	return f.SeriesVersion, nil
}
