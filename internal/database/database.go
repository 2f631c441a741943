// Package database opens the two supported databases from a DATABASE_URL
// and applies the committed versioned migrations.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3" // SQLite driver (cgo)

	"entgo.io/ent/dialect"
	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/dburl"
)

// DB is an open database with the dialect it speaks.
type DB struct {
	SQL     *sql.DB
	Dialect string // dialect.Postgres or dialect.SQLite
	url     string // to open a migration connection without a stall limit
	idle    int    // the pool's idle connections (see DropIdle)
}

// Options tune the connection pool.
type Options struct {
	MaxConns int
	// Stall ends a PostgreSQL read that waits longer (see stallDialer):
	// 0 means 30 s, and a negative value no limit (for migrations, whose
	// statements may run long before they answer).
	Stall time.Duration
	// StatementTimeout is PostgreSQL's statement_timeout for every
	// connection of the pool, so that the server itself stops a statement
	// the request has given up on (the request deadline cancels it from
	// the client's side, which a black-holed link does not carry); 0 leaves
	// the server's setting, as does a statement_timeout in the URL.
	StatementTimeout time.Duration
	// Lazy opens the pool without checking that the database answers (a
	// standby that is down at start-up is checked again later).
	Lazy bool
	// ConnectTimeout bounds a PostgreSQL connection attempt, its handshake
	// included (a stopped server accepts TCP and answers nothing); 0
	// leaves it to the stall limit. A connect_timeout in the URL wins.
	ConnectTimeout time.Duration
	// Conns, when set, tracks the pool's PostgreSQL connections, so that
	// the reads waiting on a server found frozen can be ended at once.
	Conns *Conns
}

// Target is a parsed DATABASE_URL: the driver, its data source name and a
// description that is safe to log (no password).
type Target struct {
	Dialect string
	DSN     string
	Safe    string
	Memory  bool
}

var memCounter atomic.Int64

// Parse interprets a DATABASE_URL: postgres:// or postgresql:// URLs go to
// lib/pq; a plain file path, a file: or sqlite:// URL, or :memory: go to
// SQLite with foreign keys on, WAL, a busy timeout and immediate write
// transactions (so that concurrent writers queue instead of failing).
func Parse(raw string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Target{}, fmt.Errorf("empty database URL")
	}
	lower := strings.ToLower(raw)
	switch {
	case dburl.IsPostgres(raw):
		u, err := dburl.Postgres(raw)
		if err != nil {
			return Target{}, err
		}
		// JIT compilation costs more than the short analytical queries
		// here ever save (docs/performance.md); a URL may turn it on.
		q := u.Query()
		setDefault(q, "jit", "off")
		// lib/pq runs a query with parameters in two round trips (Parse and
		// Describe, then Bind and Execute) unless binary_parameters is on,
		// when it sends them all at once: half the waits on every query.
		setDefault(q, "binary_parameters", "yes")
		// Operators find the service's sessions in pg_stat_activity.
		setDefault(q, "application_name", "sprocketd")
		u.RawQuery = q.Encode()
		return Target{Dialect: dialect.Postgres, DSN: u.String(), Safe: u.Redacted()}, nil
	case raw == ":memory:":
		name := fmt.Sprintf("file:sprocket-mem-%d?mode=memory&cache=shared", memCounter.Add(1))
		return Target{Dialect: dialect.SQLite, DSN: sqliteDSN(name, true), Safe: ":memory:", Memory: true}, nil
	case strings.HasPrefix(lower, "sqlite://"), strings.HasPrefix(lower, "sqlite3://"):
		rest := raw[strings.Index(raw, "://")+3:]
		if rest == "" {
			return Target{}, fmt.Errorf("sqlite URL has no file path")
		}
		if rest == ":memory:" {
			return Parse(":memory:")
		}
		return Target{Dialect: dialect.SQLite, DSN: sqliteDSN("file:"+rest, false), Safe: raw}, nil
	case strings.Contains(lower, "://"):
		return Target{}, fmt.Errorf("unsupported database URL scheme (use postgres://, postgresql://, sqlite://, file: or a path)")
	case strings.HasPrefix(lower, "file:"):
		return Target{Dialect: dialect.SQLite, DSN: sqliteDSN(raw, false), Safe: raw}, nil
	default:
		return Target{Dialect: dialect.SQLite, DSN: sqliteDSN("file:"+raw, false), Safe: raw}, nil
	}
}

// sqliteDSN adds the connection options we rely on unless the URL sets
// them itself.
func sqliteDSN(name string, memory bool) string {
	path, query, _ := strings.Cut(name, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		q = url.Values{}
	}
	setDefault(q, "_fk", "1")
	setDefault(q, "_busy_timeout", "10000")
	setDefault(q, "_txlock", "immediate")
	if !memory {
		setDefault(q, "_journal_mode", "WAL")
		setDefault(q, "_synchronous", "NORMAL")
	}
	return path + "?" + q.Encode()
}

// Open connects to the database that rawURL names and checks that it
// answers.
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	t, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	if t.Dialect == dialect.Postgres {
		if opts.StatementTimeout > 0 {
			t.DSN = withParam(t.DSN, "statement_timeout", fmt.Sprint(opts.StatementTimeout.Milliseconds()))
		}
		cfg, err := pq.NewConfig(t.DSN)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", t.Safe, err)
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = opts.ConnectTimeout
		}
		c, err := pq.NewConnectorConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", t.Safe, err)
		}
		c.Dialer(Dialer(opts.Stall, opts.Conns))
		db = sql.OpenDB(connector{c})
	} else if db, err = sql.Open("sqlite3", t.DSN); err != nil {
		return nil, fmt.Errorf("opening %s: %w", t.Safe, err)
	}
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 16
	}
	if t.Memory {
		// Every connection to a shared-cache memory database shares one
		// lock; one connection avoids SQLITE_LOCKED, which busy_timeout
		// does not cover.
		maxConns = 1
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if opts.Lazy {
		return &DB{SQL: db, Dialect: t.Dialect, url: rawURL, idle: maxConns}, nil
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connecting to %s: %w", t.Safe, err)
	}
	return &DB{SQL: db, Dialect: t.Dialect, url: rawURL, idle: maxConns}, nil
}

// PostgresDSN is the connection string of a PostgreSQL pool's server, for
// a connection of another kind on the same server (the live hub's
// LISTEN); an error for SQLite.
func (db *DB) PostgresDSN() (string, error) {
	if db.Dialect != dialect.Postgres {
		return "", fmt.Errorf("not a PostgreSQL database")
	}
	t, err := Parse(db.url)
	return t.DSN, err
}

// DropIdle closes the pool's idle connections, so that the next ones are
// dialled afresh: with a multi-host URL, to the host its
// target_session_attrs accepts now (a connection made to a standby stays
// on that server when a failover promotes it).
func (db *DB) DropIdle() {
	db.SQL.SetMaxIdleConns(0)
	db.SQL.SetMaxIdleConns(db.idle)
}

// Dialer is the dialer of the pool's connections: one that gives up on a
// read that stalls longer than stall (see Options.Stall: 0 means 30 s,
// negative no limit), tracks its connections in conns when set (see
// Conns), and closes the connections lib/pq leaves open when a server
// declines SSL (see declinedDialer).
func Dialer(stall time.Duration, conns *Conns) pq.Dialer {
	if stall == 0 {
		stall = 30 * time.Second
	}
	if stall < 0 {
		return declinedDialer{inner: &net.Dialer{}}
	}
	return declinedDialer{inner: stallDialer{Dialer: net.Dialer{Timeout: stall}, stall: stall, conns: conns}}
}

// ListenDialer is the dialer of a connection that waits for
// notifications (LISTEN): no stall limit, since it may rightly read
// nothing for hours, but TCP keep-alive probes after 5 s of silence, every
// 5 s, so that a primary that vanished without closing the connection (a
// lost machine) is noticed within about 20 s rather than minutes.
func ListenDialer() pq.Dialer {
	return declinedDialer{inner: &net.Dialer{Timeout: 10 * time.Second,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 5 * time.Second, Count: 3}}}
}

// withParam sets a connection parameter of a PostgreSQL URL unless the URL
// sets it itself (lib/pq sends unknown parameters as run-time settings).
func withParam(dsn, key, value string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	setDefault(q, key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// setDefault sets key to value in q unless q sets it already: the URL's
// own settings win over ours.
func setDefault(q url.Values, key, value string) {
	if q.Get(key) == "" {
		q.Set(key, value)
	}
}

// Driver returns ent's driver over the database (see NewDriver), for a
// client with a wrapped driver (a test's statement counter).
func (db *DB) Driver() dialect.Driver { return NewDriver(db.Dialect, db.SQL) }

// Client returns an ent client over the database.
func (db *DB) Client(opts ...ent.Option) *ent.Client {
	return ent.NewClient(append([]ent.Option{ent.Driver(db.Driver())}, opts...)...)
}

// Close closes the pool.
func (db *DB) Close() error { return db.SQL.Close() }

// Another opens another pool on the same database with opts: a small one
// of its own for health checks, which must neither queue behind the main
// pool's work nor wait on a stalled server as long as it may.
func (db *DB) Another(ctx context.Context, opts Options) (*DB, error) { return Open(ctx, db.url, opts) }
