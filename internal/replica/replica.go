// Package replica routes the reads of read-only requests to PostgreSQL hot
// standbys (DATABASE_READ_URL) and keeps them honest: a standby that is
// down, or further behind the primary than a bound, is skipped, and a read
// that must see a client's own write waits a bounded time for a standby to
// replay it, else goes to the primary.
//
// The primary stays the one place of writes, of every read inside a write,
// and of LISTEN (subscriptions); the core finds the chosen standby's client
// in the request's context (database.WithReader).
package replica

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/database"
)

// Options tune a Set. Zero values take the defaults of config.
type Options struct {
	// MaxLag: a standby further behind than this is skipped.
	MaxLag time.Duration
	// Wait: how long a read waits for a standby to replay the LSN it
	// must see before it goes to the primary.
	Wait time.Duration
	// Interval: how often health and lag are checked.
	Interval time.Duration
	// Pool: the options of each standby's connection pool.
	Pool   database.Options
	Logger *slog.Logger
}

// Set is the primary and its standbys.
type Set struct {
	primary  *sql.DB
	standbys []*Standby
	opts     Options
	next     atomic.Uint32
	history  history
	newest   Newest // the newest primary position known
	// floor is the primary's position when the Set opened, after the
	// migrations: a standby that has not replayed them lacks the tables
	// and columns this version reads, so no read goes to it before.
	floor LSN

	reads     *prometheus.CounterVec
	fallbacks *prometheus.CounterVec
	waits     prometheus.Histogram
	polls     prometheus.Counter
}

// The reasons a read goes to the primary instead of a standby: every
// standby is down; every one that is up lags past the bound; none
// replayed the client's write in time; the chosen one failed mid-read.
const (
	ReasonDown   = "down"
	ReasonLag    = "lag"
	ReasonBehind = "behind"
	ReasonError  = "error"
)

// Standby is one hot standby.
type Standby struct {
	name   string // its position in DATABASE_READ_URL, from 1: a bounded label
	safe   string // its URL without password, for logs
	db     *database.DB
	reader *database.Reader

	up       atomic.Bool
	checked  atomic.Bool // a check has run: the first says up or down
	replayed Newest
	lag      atomic.Int64 // nanoseconds
	// polls shares one query of the replay position among the reads
	// waiting on the standby at once, and polled (unix nanoseconds) is
	// when the last one answered: none starts sooner than minPollGap after.
	polls  singleflight.Group
	polled atomic.Int64
}

// Name is the standby's position in DATABASE_READ_URL, from 1.
func (s *Standby) Name() string { return s.name }

// Open connects to the standbys of urls. One that does not answer yet is
// not an error: it is skipped until a check finds it up. primary is the
// primary's database; its driver serves reads a standby fails.
func Open(ctx context.Context, primary *database.DB, urls []string, opts Options) (*Set, error) {
	if primary.Dialect != dialect.Postgres {
		return nil, fmt.Errorf("read replicas need a PostgreSQL primary")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Set{primary: primary.SQL, opts: opts}
	floor, err := PrimaryLSN(ctx, primary.SQL)
	if err != nil {
		return nil, fmt.Errorf("reading the primary's log position: %w", err)
	}
	s.floor = floor
	s.newest.Raise(floor)
	s.history.keep = max(opts.MaxLag, 10*opts.Interval) + opts.Interval
	primaryDriver := primary.Driver()
	for i, u := range urls {
		t, err := database.Parse(u)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("standby %d: %w", i+1, err)
		}
		po := opts.Pool
		po.Lazy = true
		db, err := database.Open(ctx, u, po)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("standby %d (%s): %w", i+1, t.Safe, err)
		}
		sb := &Standby{name: strconv.Itoa(i + 1), safe: t.Safe, db: db}
		fd := &fallbackDriver{own: db.Driver().(fullDriver), primary: primaryDriver.(fullDriver), set: s, standby: sb}
		sb.reader = &database.Reader{Client: ent.NewClient(ent.Driver(fd)), SQL: db.SQL, Failed: fd.elsewhere}
		s.standbys = append(s.standbys, sb)
	}
	s.reads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sprocket_replica_reads_total",
		Help: "Read-only requests whose reads were routed to a standby, by standby (its position in DATABASE_READ_URL).",
	}, []string{"standby"})
	s.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sprocket_replica_fallbacks_total",
		Help: "Reads sent to the primary instead of a standby, by reason: down (no standby up), lag (every one up lags past DATABASE_READ_MAX_LAG), behind (none replayed the client's write within DATABASE_READ_WAIT), error (a standby failed mid-read).",
	}, []string{"reason"})
	for _, r := range []string{ReasonDown, ReasonLag, ReasonBehind, ReasonError} {
		s.fallbacks.WithLabelValues(r)
	}
	s.polls = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sprocket_replica_polls_total",
		Help: "Queries of a standby's replay position made for reads that wait on it (shared among the reads waiting at once).",
	})
	s.waits = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sprocket_replica_wait_seconds",
		Help:    "How long reads that carried a Sprocket-LSN waited for a standby to replay it.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	return s, nil
}

// Collectors are the Set's metrics, for a registry: reads and fallbacks
// counted, waits timed, and each standby's lag and state.
func (s *Set) Collectors() []prometheus.Collector {
	out := []prometheus.Collector{s.reads, s.fallbacks, s.waits, s.polls}
	for _, sb := range s.standbys {
		labels := prometheus.Labels{"standby": sb.name}
		out = append(out,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name:        "sprocket_replica_lag_seconds",
				Help:        "How far the standby's replay is behind the primary, as of the last check.",
				ConstLabels: labels,
			}, func() float64 { return time.Duration(sb.lag.Load()).Seconds() }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name:        "sprocket_replica_up",
				Help:        "1 when the standby answered the last check as a standby, else 0.",
				ConstLabels: labels,
			}, func() float64 {
				if sb.up.Load() {
					return 1
				}
				return 0
			}))
	}
	return out
}

// Standbys lists the standbys in DATABASE_READ_URL's order.
func (s *Set) Standbys() []*Standby { return s.standbys }

// Close closes the standbys' pools.
func (s *Set) Close() {
	for _, sb := range s.standbys {
		_ = sb.db.Close()
	}
}

// Run checks the standbys every Interval until ctx ends; the first check
// runs at once.
func (s *Set) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		s.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check asks the primary for its log position and each standby for its
// replay position, and updates which standbys are up and how far behind
// they are: the lag of a standby is the age of the oldest primary position
// it has not replayed yet (zero when it replayed the newest). This holds
// even when the standby's link to the primary is broken, when the
// standby's own view (receive = replay) would say it is current.
func (s *Set) Check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(s.opts.Interval, 500*time.Millisecond))
	defer cancel()
	if lsn, err := PrimaryLSN(ctx, s.primary); err == nil {
		s.history.add(time.Now(), lsn)
		s.newest.Raise(lsn)
	}
	var wg sync.WaitGroup
	for _, sb := range s.standbys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.checkStandby(ctx, sb)
		}()
	}
	wg.Wait()
}

func (s *Set) checkStandby(ctx context.Context, sb *Standby) {
	var recovering bool
	var replayed LSN
	err := sb.db.SQL.QueryRowContext(ctx, `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()`).Scan(&recovering, &replayed)
	switch {
	case err != nil:
		s.markDown(sb, "the standby does not answer", err)
	case !recovering || replayed == 0:
		// Promoted, or a primary listed by mistake: its positions are
		// not the primary's, so no read can be checked against them.
		// The next check dials afresh: a multi-host URL then reaches
		// the standby a failover left, if any.
		s.markDown(sb, "the server is not a streaming standby", nil)
		sb.db.DropIdle()
	default:
		sb.replayed.Raise(replayed)
		sb.lag.Store(int64(s.history.lag(sb.replayed.Load(), time.Now())))
		sb.checked.Store(true)
		if !sb.up.Swap(true) {
			s.opts.Logger.Info("standby up", "standby", sb.name, "database", sb.safe)
		}
	}
}

// markDown takes sb out of rotation until a check finds it up. It says
// so once: when the standby goes down, or when the first check finds it
// down (a standby that never answered, or a primary listed by mistake).
func (s *Set) markDown(sb *Standby, why string, err error) {
	if sb.up.Swap(false) || !sb.checked.Swap(true) {
		s.opts.Logger.Warn("standby down: reads go to the primary", "standby", sb.name, "database", sb.safe, "reason", why, "error", err)
	}
}

// PrimaryLSN is the primary's current write position: every transaction
// committed before the call is at or before it.
func PrimaryLSN(ctx context.Context, db *sql.DB) (LSN, error) {
	var l LSN
	err := db.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()`).Scan(&l)
	return l, err
}

// Route returns ctx with its reads routed to a standby that has replayed
// at least need (0: any) and the migrations (floor), or ctx unchanged (the primary) when none is up,
// within the lag bound and caught up within the wait. A read that must
// wait polls the most advanced standby.
func (s *Set) Route(ctx context.Context, need LSN) context.Context {
	if len(s.standbys) == 0 {
		return ctx
	}
	need = max(need, s.floor)
	maxLag := int64(s.opts.MaxLag)
	var best *Standby
	anyUp := false
	start := int(s.next.Add(1))
	for i := range s.standbys {
		sb := s.standbys[(start+i)%len(s.standbys)]
		if !sb.up.Load() {
			continue
		}
		anyUp = true
		if sb.lag.Load() > maxLag {
			continue
		}
		if sb.replayed.Load() >= need {
			return s.use(ctx, sb)
		}
		if best == nil || sb.replayed.Load() > best.replayed.Load() {
			best = sb
		}
	}
	switch {
	case best == nil && !anyUp:
		return s.fallback(ctx, ReasonDown)
	case best == nil:
		return s.fallback(ctx, ReasonLag)
	}
	begun := time.Now()
	ok := s.waitFor(ctx, best, need)
	s.waits.Observe(time.Since(begun).Seconds())
	if !ok {
		return s.fallback(ctx, ReasonBehind)
	}
	return s.use(ctx, best)
}

func (s *Set) use(ctx context.Context, sb *Standby) context.Context {
	s.reads.WithLabelValues(sb.name).Inc()
	return database.WithReader(ctx, sb.reader)
}

func (s *Set) fallback(ctx context.Context, reason string) context.Context {
	s.fallbacks.WithLabelValues(reason).Inc()
	return ctx
}

// waitFor polls sb until it has replayed need, for at most Wait (and
// within ctx).
func (s *Set) waitFor(ctx context.Context, sb *Standby, need LSN) bool {
	if s.opts.Wait <= 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Wait)
	defer cancel()
	pause := 500 * time.Microsecond
	for {
		if err := s.poll(ctx, sb); err != nil {
			return false
		}
		if sb.replayed.Load() >= need {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// pollTimeout bounds one query of a standby's replay position.
const pollTimeout = time.Second

// minPollGap is the least time between two queries of a standby's replay
// position: however many reads wait on it (a client could send many that
// carry a fresh position), it answers at most one every minPollGap.
const minPollGap = 2 * time.Millisecond

// poll reads the standby's replay position, in one query for all the
// reads that wait on it at the time, and not again within minPollGap of
// the last answer (the position it gave stands meanwhile).
func (s *Set) poll(ctx context.Context, sb *Standby) error {
	if time.Since(time.Unix(0, sb.polled.Load())) < minPollGap {
		return nil
	}
	done := sb.polls.DoChan("replay", func() (any, error) {
		qctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
		defer cancel()
		s.polls.Inc()
		var replayed LSN
		err := sb.db.SQL.QueryRowContext(qctx, `SELECT pg_last_wal_replay_lsn()`).Scan(&replayed)
		sb.polled.Store(time.Now().UnixNano())
		if err != nil {
			return nil, err
		}
		sb.replayed.Raise(replayed)
		return nil, nil
	})
	select {
	case res := <-done:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// history keeps the primary's recent log positions with the times they
// were read, to tell how old a standby's replay position is.
type history struct {
	mu      sync.Mutex
	keep    time.Duration
	samples []sample
}

type sample struct {
	at  time.Time
	lsn LSN
}

func (h *history) add(at time.Time, l LSN) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.samples); n > 0 && h.samples[n-1].lsn == l {
		// The primary is idle: the older sample says since when.
		return
	}
	h.samples = append(h.samples, sample{at, l})
	drop := 0
	for drop < len(h.samples)-1 && at.Sub(h.samples[drop+1].at) > h.keep {
		drop++
	}
	h.samples = h.samples[drop:]
}

// lag is how long ago the primary was at the oldest position past
// replayed: zero when replayed is at or past every sample.
func (h *history) lag(replayed LSN, now time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.samples {
		if s.lsn > replayed {
			return now.Sub(s.at)
		}
	}
	return 0
}
