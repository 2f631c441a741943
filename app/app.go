// Package app is where the server is wired, once: from a configuration and
// a migrated database it builds the core service, the live hub, the API
// tokens, the metrics, the primary's watch, the read replicas, the GraphQL
// handler (graph's schema served by gqlhttp) and the router, and closes
// them. cmd/sprocketd's run and every test that needs a whole server use
// it, so that a test serves what production serves.
//
// It is the composition root: the one package that imports both the schema
// (graph) and the packages that serve it, which know nothing of each
// other. That is why it is not under internal/, where no package may import
// graph (TestNoInternalPackageImportsTheSchema).
package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/graph"
	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/server"
	"github.com/sprocketapi/sprocket/internal/telemetry"
)

// Hub delivers recorded points to subscribers: in process on SQLite
// (live.Local), through LISTEN/NOTIFY across replicas of the server on
// PostgreSQL (live.Postgres).
type Hub interface {
	graph.Live
	core.Notifier
	// Subscribers counts the open subscriptions, for the metrics.
	Subscribers() int
	// SetBuffer bounds the points a subscriber may have waiting.
	SetBuffer(points int)
	// SetBudget charges the batches waiting for subscribers to the
	// streams' memory budget.
	SetBudget(live.Budget)
	// Close ends every subscription.
	Close() error
}

// Options are what New takes besides the configuration; every field may be
// left at zero.
type Options struct {
	// Logger logs the server's work and its access log; nil logs nothing.
	Logger *slog.Logger
	// Version is the build's version, in the metrics; "" is "dev".
	Version string
	// Tokens guard writes (and reads with PROTECT_READS); nil reads them
	// from API_TOKENS and API_TOKENS_FILE.
	Tokens *auth.Tokens
	// Replicas are the hot standbys reads go to; nil opens those of
	// DATABASE_READ_URL, if any. A set given here is run and closed by its
	// owner.
	Replicas *replica.Set
	// RequestTimeout bounds each request in place of DB_TIMEOUT (tests).
	RequestTimeout time.Duration
	// GraphQL changes the GraphQL server's options after the
	// configuration's (tests' limits).
	GraphQL func(*gqlhttp.Options)
}

// App is a whole server over one database.
type App struct {
	Config   config.Config
	DB       *database.DB
	Service  *core.Service
	Hub      Hub
	Tokens   *auth.Tokens
	Metrics  *telemetry.Metrics
	Replicas *replica.Set // nil: the primary serves every read
	// Handler is the router: /v1, /graphql, the pages, health and metrics.
	Handler http.Handler

	draining atomic.Bool
	closers  []func() error
}

// New builds the server over db, opened and migrated, from cfg. On
// PostgreSQL the hub listens on db's server, and the primary's watch
// checks it every second. Background work (the checks of the primary and
// of the replicas New opened) runs until ctx ends; Close releases what New
// opened, but not db.
func New(ctx context.Context, cfg config.Config, db *database.DB, opts Options) (a *App, err error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	a = &App{Config: cfg, DB: db, Service: NewService(cfg, db), Tokens: opts.Tokens, Replicas: opts.Replicas}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	if a.Tokens == nil {
		if a.Tokens, err = loadTokens(cfg); err != nil {
			return nil, err
		}
	}
	if db.Dialect == dialect.Postgres {
		dsn, err := db.PostgresDSN()
		if err != nil {
			return nil, err
		}
		if a.Hub, err = live.NewPostgres(dsn, db.Client(), logger); err != nil {
			return nil, err
		}
	} else {
		a.Hub = live.NewLocal()
	}
	a.closers = append(a.closers, a.Hub.Close)
	a.Hub.SetBuffer(cfg.LiveBufferPoints)
	a.Service.SetNotifier(a.Hub)

	a.Metrics = telemetry.NewMetrics(version, db.SQL, a.Hub.Subscribers)
	ping := db.SQL.PingContext
	var primary *database.Primary
	if db.Dialect == dialect.Postgres {
		// Which node writes go to, checked every second: readiness and
		// metrics follow a failover.
		primary = db.WatchPrimary(logger)
		go primary.Run(ctx, time.Second)
		ping = primary.Check
		a.Metrics.Registry.MustRegister(primary.Collectors()...)
		a.Metrics.Registry.MustRegister(lostPrimaryCollectors(a.Service)...)
	}
	if a.Replicas == nil {
		if a.Replicas, err = openReplicas(ctx, cfg, db, logger); err != nil {
			return nil, err
		}
		if a.Replicas != nil {
			a.closers = append(a.closers, func() error { a.Replicas.Close(); return nil })
			go a.Replicas.Run(ctx)
		}
	}
	if a.Replicas != nil {
		a.Metrics.Registry.MustRegister(a.Replicas.Collectors()...)
	}

	gopts := gqlhttp.OptionsFromConfig(cfg)
	gopts.Tokens, gopts.Metrics, gopts.Replicas = a.Tokens, a.Metrics, a.Replicas
	// The points waiting for subscribers share the streams' memory.
	gopts.Streams = gqlhttp.NewStreamBudget(gopts)
	a.Hub.SetBudget(gopts.Streams)
	if opts.GraphQL != nil {
		opts.GraphQL(&gopts)
	}
	deps := server.Deps{
		Config:  cfg,
		Service: a.Service,
		GraphQL: GraphQL(a.Service, a.Hub, gopts),
		Ping: func(ctx context.Context) error {
			if a.draining.Load() {
				return errors.New("shutting down")
			}
			return ping(ctx)
		},
		Logger:         opts.Logger,
		Metrics:        a.Metrics,
		Tokens:         a.Tokens,
		ProtectReads:   cfg.ProtectReads,
		Replicas:       a.Replicas,
		RequestTimeout: opts.RequestTimeout,
	}
	if primary != nil {
		deps.Primary = primary
	}
	a.Handler = server.New(deps)
	return a, nil
}

// NewService is the core service over db with the connection lanes of cfg
// (DB_BULK_CONNS, DB_DOWNLOAD_CONNS).
func NewService(cfg config.Config, db *database.DB) *core.Service {
	svc := core.New(db.Client(), db.SQL, db.Dialect)
	svc.SetBulkLane(cfg.DBBulkConns)
	svc.SetDownloadLane(cfg.DBDownloadConns)
	return svc
}

// GraphQL is the /graphql handler: graph's schema over svc, its
// subscriptions served by hub (nil refuses them), served by gqlhttp with
// opts and what the schema hands the transport (its pricing and
// extensions), each mutation in one of svc's transactions.
func GraphQL(svc *core.Service, hub graph.Live, opts gqlhttp.Options) http.Handler {
	opts.Pricing, opts.Extensions, opts.Transactions = graph.Pricing{}, graph.Extensions(), svc
	return gqlhttp.NewHandler(graph.NewSchema(svc, hub), opts)
}

// Drain starts a shutdown: readiness fails first, so that load balancers
// stop sending, and open subscriptions are completed, so that their
// clients reconnect elsewhere.
func (a *App) Drain() {
	a.draining.Store(true)
	_ = a.Hub.Close()
}

// Close closes what New opened, last first: the replicas' pools and the
// hub.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
