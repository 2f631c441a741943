package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Primary follows the server that a PostgreSQL pool writes to: which node
// of a multi-host DATABASE_URL it is, whether it takes writes, and since
// when. Behind pg_auto_failover the answer changes with a failover: the
// pool's connections to the old primary die, new ones go to the first
// host that takes writes (target_session_attrs=read-write), and the next
// check names it. Readiness asks Check; metrics read the last answer.
type Primary struct {
	db  *sql.DB
	log *slog.Logger

	mu       sync.Mutex
	node     string    // host:port of the last server seen taking writes
	writable bool      // the last check found one
	since    time.Time // when node was first seen taking writes, this time
	lost     time.Time // when the last check that found none began, if the last did
	checked  bool

	changes  prometheus.Counter
	nodeInfo *prometheus.GaugeVec
}

// ErrNotWritable says the pool reached a server that takes no writes (a
// standby, or one in the middle of a failover).
var ErrNotWritable = errors.New("the database server takes no writes")

// WatchPrimary returns the watch of db's primary (PostgreSQL).
func (db *DB) WatchPrimary(log *slog.Logger) *Primary {
	if log == nil {
		log = slog.Default()
	}
	p := &Primary{db: db.SQL, log: log}
	p.changes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sprocket_database_primary_changes_total",
		Help: "Times the server that writes go to changed (a failover), as the checks of the primary saw it.",
	})
	p.nodeInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sprocket_database_primary",
		Help: "1 for the node (host:port, as the server sees itself) that writes go to, 0 for nodes that were the primary before.",
	}, []string{"node"})
	return p
}

// Check asks the pool's server who it is and whether it takes writes, in
// one query, and records the answer: nil when it takes writes,
// ErrNotWritable when it answers but takes none, the error when none
// answers.
func (p *Primary) Check(ctx context.Context) error {
	began := time.Now()
	var host sql.NullString
	var port sql.NullInt64
	var recovering bool
	var readOnly string
	err := p.db.QueryRowContext(ctx, `SELECT host(inet_server_addr()), inet_server_port(), pg_is_in_recovery(), current_setting('transaction_read_only')`).
		Scan(&host, &port, &recovering, &readOnly)
	node := "local" // a Unix socket
	if host.Valid && port.Valid {
		node = fmt.Sprintf("%s:%d", host.String, port.Int64)
	}
	writable := err == nil && !recovering && readOnly == "off"
	p.record(began, node, writable, err)
	switch {
	case err != nil:
		return err
	case !writable:
		return fmt.Errorf("%w: %s is %s", ErrNotWritable, node, map[bool]string{true: "a standby", false: "read-only"}[recovering])
	}
	return nil
}

func (p *Primary) record(began time.Time, node string, writable bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := !p.checked
	p.checked = true
	if !writable {
		if p.writable || first {
			p.lost = began
			p.log.Warn("database: no server takes writes", "last_primary", p.node, "err", err, "server", node)
		}
		p.writable = false
		return
	}
	var stopped []any
	if !p.writable && !first {
		stopped = []any{"writes_stopped_for", time.Since(p.lost).Round(time.Millisecond)}
	}
	switch {
	case node != p.node:
		if p.node != "" {
			p.changes.Inc()
			p.nodeInfo.WithLabelValues(p.node).Set(0)
			p.log.Warn("database: the primary changed", append([]any{"from", p.node, "to", node}, stopped...)...)
		}
		p.node, p.since = node, time.Now()
	case !p.writable:
		p.since = time.Now()
		p.log.Info("database: writes are taken again", append([]any{"primary", node}, stopped...)...)
	}
	p.writable = true
	p.nodeInfo.WithLabelValues(node).Set(1)
}

// Run checks every interval until ctx ends; the first check runs at once.
func (p *Primary) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, max(interval, time.Second))
		_ = p.Check(cctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// State is the last check's answer: the primary's node, whether it took
// writes, and since when it has.
func (p *Primary) State() (node string, writable bool, since time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.node, p.writable, p.since
}

// Collectors are the watch's metrics: which node is the primary, whether
// it takes writes and since when, and how often it changed.
func (p *Primary) Collectors() []prometheus.Collector {
	return []prometheus.Collector{p.changes, p.nodeInfo,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sprocket_database_writable",
			Help: "1 when the last check of the primary (every second, and at each /readyz) found a server that takes writes, else 0.",
		}, func() float64 {
			if _, w, _ := p.State(); w {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sprocket_database_writable_since_seconds",
			Help: "Unix time since which the primary has taken writes (after a failover: when writing resumed); 0 while none does.",
		}, func() float64 {
			if _, w, since := p.State(); w {
				return float64(since.UnixNano()) / 1e9
			}
			return 0
		}),
	}
}
