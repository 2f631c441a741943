// Package replica routes the reads of read-only requests to PostgreSQL hot
// standbys (DATABASE_READ_URL) and keeps them honest: a standby that is
// down, or whose reads could be staler than a bound, is skipped; a read
// that must see a client's own write waits a bounded time for a standby to
// replay it, else goes to the primary; and a standby that stops answering
// is found by time (its checks have deadlines, and reads waiting on it have
// it probed), its waiting reads cut and run on the primary.
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
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/database"
)

// Options tune a Set. MaxLag, Interval and Timeout left at zero take
// their defaults, those of DATABASE_READ_MAX_LAG, DATABASE_READ_CHECK_INTERVAL
// and DATABASE_READ_TIMEOUT (config owns the numbers).
type Options struct {
	// MaxLag bounds how stale a read served by a standby may be: it sees
	// every write committed more than MaxLag before it was routed (see
	// fresh.go). It must be longer than Interval, which renews a
	// standby's freshness.
	MaxLag time.Duration
	// Wait: how long a read waits for a standby to replay the LSN it
	// must see before it goes to the primary; 0: it does not wait.
	Wait time.Duration
	// Interval: how often health and lag are checked.
	Interval time.Duration
	// Timeout bounds each check, probe and connection attempt of a
	// standby (and of the primary's position sample); a read that waits on
	// a standby for a quarter of it has the standby probed (see
	// health.go).
	Timeout time.Duration
	// Pool: the options of each standby's connection pool.
	Pool   database.Options
	Logger *slog.Logger
}

// The defaults of Options.
const (
	DefaultMaxLag   = config.DefaultDatabaseReadMaxLag
	DefaultInterval = config.DefaultDatabaseReadCheckInterval
	DefaultTimeout  = config.DefaultDatabaseReadTimeout
)

// withDefaults gives the durations left at zero their defaults: a zero
// Interval would stop Run (time.NewTicker panics), a zero Timeout every
// check at once.
func (o Options) withDefaults() Options {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.MaxLag, DefaultMaxLag}, {&o.Interval, DefaultInterval}, {&o.Timeout, DefaultTimeout}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Set is the primary and its standbys.
type Set struct {
	primary *sql.DB
	// sampler is a pool of its own on the primary for the position
	// samples of the checks, which must not queue behind the main pool's
	// work nor wait on a stalled primary past Timeout.
	sampler  *database.DB
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
	cuts      prometheus.Counter
}

// The reasons a read goes to the primary instead of a standby: every
// standby is down; every one that is up could serve reads staler than the
// bound; none replayed the client's write in time; the chosen one failed
// mid-read (or was cut for not answering).
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
	conns  *database.Conns // db's connections, to cut when it stops answering
	check  *database.DB    // a small pool of its own for checks and polls
	reader *database.Reader

	up      atomic.Bool
	checked atomic.Bool // a check has run: the first says up or down
	// frozen: down for not answering within Timeout; reads still waiting
	// on it are cut, and no connection is made to it until a check finds
	// it answering.
	frozen   atomic.Bool
	probing  atomic.Bool
	replayed Newest
	// fresh is the latest moment as of which the standby is known to hold
	// every committed write, in nanoseconds since epoch plus one (0: none
	// known; see fresh.go).
	fresh atomic.Int64
	// checks shares one check among its callers (the periodic one and
	// probes); polls shares one query of the replay position among the
	// reads waiting on the standby at once, and polled (unix nanoseconds)
	// is when the last one answered: none starts sooner than minPollGap
	// after.
	checks singleflight.Group
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
	opts = opts.withDefaults()
	s := &Set{primary: primary.SQL, opts: opts}
	s.history.keep = max(opts.MaxLag, 10*opts.Interval) + opts.Interval
	at := time.Now()
	floor, err := PrimaryLSN(ctx, primary.SQL)
	if err != nil {
		return nil, fmt.Errorf("reading the primary's log position: %w", err)
	}
	s.floor = floor
	s.newest.Raise(floor)
	s.history.add(at, floor)
	if s.sampler, err = primary.Another(ctx, s.checkPool(1)); err != nil {
		return nil, fmt.Errorf("opening the primary's check pool: %w", err)
	}
	primaryDriver := primary.Driver()
	for i, u := range urls {
		t, err := database.Parse(u)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("standby %d: %w", i+1, err)
		}
		sb := &Standby{name: strconv.Itoa(i + 1), safe: t.Safe, conns: &database.Conns{}}
		po := opts.Pool
		po.Lazy = true
		po.ConnectTimeout = opts.Timeout
		po.Conns = sb.conns
		if sb.db, err = database.Open(ctx, u, po); err == nil {
			sb.check, err = database.Open(ctx, u, s.checkPool(2))
		}
		if err != nil {
			if sb.db != nil {
				_ = sb.db.Close()
			}
			s.Close()
			return nil, fmt.Errorf("standby %d (%s): %w", i+1, t.Safe, err)
		}
		fd := &fallbackDriver{own: sb.db.Driver().(fullDriver), primary: primaryDriver.(fullDriver), set: s, standby: sb}
		sb.reader = &database.Reader{Client: ent.NewClient(ent.Driver(fd)), SQL: sb.db.SQL, Failed: fd.elsewhere}
		s.standbys = append(s.standbys, sb)
	}
	s.newMetrics()
	return s, nil
}

// checkPool is the options of a check pool of n connections: every
// connection attempt, read and statement within Timeout.
func (s *Set) checkPool(n int) database.Options {
	t := s.opts.Timeout
	return database.Options{MaxConns: n, Stall: t, ConnectTimeout: t, StatementTimeout: t, Lazy: true}
}

// Standbys lists the standbys in DATABASE_READ_URL's order.
func (s *Set) Standbys() []*Standby { return s.standbys }

// Close closes the pools of the standbys and the checks.
func (s *Set) Close() {
	for _, sb := range s.standbys {
		_ = sb.db.Close()
		_ = sb.check.Close()
	}
	if s.sampler != nil {
		_ = s.sampler.Close()
	}
}
