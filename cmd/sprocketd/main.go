// Command sprocketd is the Sprocket API server.
//
//	sprocketd [serve]       run the server (the default)
//	sprocketd migrate       apply the database migrations and exit
//	sprocketd seed          migrate, then load the legacy seed data into an empty database, and exit
//	sprocketd healthcheck   exit 0 when the server on HOST:PORT is ready, 1 otherwise
//	sprocketd version       print the version
//
// Configuration comes from the environment; see the README and
// docs/operations.md. migrate, seed and healthcheck serve nothing, so they
// need no API tokens.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"entgo.io/ent/dialect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sprocketapi/sprocket/graph"
	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/seed"
	"github.com/sprocketapi/sprocket/internal/server"
	"github.com/sprocketapi/sprocket/internal/telemetry"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "sprocketd:", err)
		os.Exit(1)
	}
}

// run is the whole program; tests call it with their own environment and
// a listening callback that receives the bound address (PORT=0 works).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, listening func(net.Addr)) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if len(args) > 1 {
		return fmt.Errorf("%s takes no arguments", cmd)
	}
	switch cmd {
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "sprocketd", buildVersion())
		return nil
	case "serve", "migrate", "seed", "healthcheck":
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, "usage: sprocketd [serve|migrate|seed|healthcheck|version]")
		return nil
	default:
		return fmt.Errorf("unknown command %q (want serve, migrate, seed, healthcheck or version)", cmd)
	}

	load := config.Load
	if cmd != "serve" {
		load = config.LoadForTask
	}
	cfg, err := load(getenv)
	if err != nil {
		return err
	}
	if cmd == "healthcheck" {
		return healthcheck(ctx, cfg, stdout)
	}
	logger := telemetry.NewLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	slog.SetDefault(logger)

	target, err := database.Parse(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	// A read stalled past a request's deadline ends the connection (see
	// database.Options.Stall); a little slack lets the deadline speak first.
	db, err := openDatabase(ctx, cfg, database.Options{MaxConns: cfg.DBMaxConns, Stall: cfg.DBTimeout + 2*time.Second, StatementTimeout: cfg.DBTimeout}, logger)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	logger.Info("database ready", "database", target.Safe, "dialect", db.Dialect, "migrations_applied", len(applied))
	// Partitions of chart_data ahead of time and RETENTION (PostgreSQL):
	// a first round now, then hourly while serving.
	partitions := database.PartitionOptions{Ahead: cfg.PartitionsAhead}
	if cfg.Retention.Enabled() {
		partitions.Retention = cfg.Retention.Bound
	}
	maintenance, err := db.StartPartitionMaintenance(ctx, partitions, time.Hour, logger)
	if err != nil {
		return err
	}
	defer maintenance.Stop()
	if cmd == "migrate" {
		fmt.Fprintf(stdout, "applied %d migration(s) %v\n", len(applied), applied)
		return nil
	}
	// A read-only SQLite database would serve reads, report ready and
	// answer every write with a 500: refuse to start instead.
	if err := db.CheckWritable(ctx); err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}

	client := db.Client()
	defer client.Close()
	svc := core.New(client, db.SQL, db.Dialect)

	if cmd == "seed" {
		n, seeded, err := seed.LoadIfEmpty(ctx, svc, db.Dialect)
		if err != nil {
			return err
		}
		if !seeded {
			fmt.Fprintln(stdout, "the database already holds factories or sprockets: nothing seeded")
			return nil
		}
		fmt.Fprintf(stdout, "seeded %d factories (%d points) and %d sprockets\n", n.Factories, n.Points, n.Sprockets)
		return nil
	}
	if cfg.Seed {
		n, seeded, err := seed.LoadIfEmpty(ctx, svc, db.Dialect)
		if err != nil {
			return err
		}
		if seeded {
			logger.Info("seeded an empty database", "factories", n.Factories, "points", n.Points, "sprockets", n.Sprockets)
		}
	}

	tokens, err := loadTokens(cfg)
	if err != nil {
		return err
	}
	if !tokens.Enabled() {
		logger.Warn("no API tokens configured: writes are open to anyone who can reach the server")
	}

	var hub interface {
		graph.Live
		core.Notifier
		Subscribers() int
		SetBuffer(points int)
		SetBudget(live.Budget)
		Close() error
	}
	if db.Dialect == dialect.Postgres {
		if hub, err = live.NewPostgres(target.DSN, client, logger); err != nil {
			return err
		}
	} else {
		hub = live.NewLocal()
	}
	defer hub.Close()
	hub.SetBuffer(cfg.LiveBufferPoints)
	svc.SetBulkLane(cfg.DBBulkConns)
	svc.SetDownloadLane(cfg.DBDownloadConns)
	svc.SetNotifier(hub)

	metrics := telemetry.NewMetrics(buildVersion(), db.SQL, hub.Subscribers)
	ping := db.SQL.PingContext
	var primary *database.Primary
	if db.Dialect == dialect.Postgres {
		// Which node writes go to, checked every second: readiness
		// and metrics follow a failover.
		primary = db.WatchPrimary(logger)
		go primary.Run(ctx, time.Second)
		ping = primary.Check
		metrics.Registry.MustRegister(primary.Collectors()...)
		metrics.Registry.MustRegister(lostPrimaryCollectors(svc)...)
	}
	replicas, err := openReplicas(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	if replicas != nil {
		defer replicas.Close()
		go replicas.Run(ctx)
		metrics.Registry.MustRegister(replicas.Collectors()...)
	}
	gopts := gqlhttp.OptionsFromConfig(cfg)
	gopts.Tokens, gopts.Metrics, gopts.Replicas = tokens, metrics, replicas
	// The points waiting for subscribers share the streams' memory.
	gopts.Streams = gqlhttp.NewStreamBudget(gopts)
	hub.SetBudget(gopts.Streams)
	var draining atomic.Bool
	deps := server.Deps{
		Config:  cfg,
		Service: svc,
		GraphQL: gqlhttp.NewHandler(&graph.Resolver{Service: svc, Live: hub}, gopts),
		Ping: func(ctx context.Context) error {
			if draining.Load() {
				return errors.New("shutting down")
			}
			return ping(ctx)
		},
		Logger:       logger,
		Metrics:      metrics,
		Tokens:       tokens,
		ProtectReads: cfg.ProtectReads,
		Replicas:     replicas,
	}
	if primary != nil {
		deps.Primary = primary
	}
	h := server.New(deps)
	return serve(ctx, cfg, h, logger, listening, func() {
		// Readiness fails first, so load balancers stop sending; open
		// subscriptions are completed so their clients reconnect elsewhere.
		draining.Store(true)
		_ = hub.Close()
	})
}

// openReplicas connects to the hot standbys of DATABASE_READ_URL, whose
// pools take the primary's settings; nil when there are none.
func openReplicas(ctx context.Context, cfg config.Config, db *database.DB, logger *slog.Logger) (*replica.Set, error) {
	if len(cfg.DatabaseReadURLs) == 0 {
		return nil, nil
	}
	set, err := replica.Open(ctx, db, cfg.DatabaseReadURLs, replica.Options{
		MaxLag:   cfg.DatabaseReadMaxLag,
		Wait:     cfg.DatabaseReadWait,
		Interval: cfg.DatabaseReadCheckInterval,
		Timeout:  cfg.DatabaseReadTimeout,
		Pool:     database.Options{MaxConns: cfg.DBMaxConns, Stall: cfg.DBTimeout + 2*time.Second, StatementTimeout: cfg.DBTimeout},
		Logger:   logger,
	})
	if err != nil {
		return nil, fmt.Errorf("DATABASE_READ_URL: %w", err)
	}
	logger.Info("read replicas", "standbys", len(set.Standbys()), "max_lag", cfg.DatabaseReadMaxLag, "wait", cfg.DatabaseReadWait)
	return set, nil
}

// lostPrimaryCollectors count the writes that lost the primary (see
// core.Service.LostPrimary).
func lostPrimaryCollectors(svc *core.Service) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sprocket_write_retries_total",
			Help: "Write transactions run again because the connection to the primary was lost before their COMMIT (a failover).",
		}, func() float64 { r, _ := svc.LostPrimary(); return float64(r) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sprocket_write_commits_unknown_total",
			Help: "Writes answered 503 because the connection to the primary was lost during their COMMIT: they may or may not be stored.",
		}, func() float64 { _, u := svc.LostPrimary(); return float64(u) }),
	}
}

// loadTokens builds the token set from API_TOKENS and API_TOKENS_FILE.
func loadTokens(cfg config.Config) (*auth.Tokens, error) {
	var hashes []string
	if cfg.APITokensFile != "" {
		f, err := os.Open(cfg.APITokensFile)
		if err != nil {
			return nil, fmt.Errorf("API_TOKENS_FILE: %w", err)
		}
		defer f.Close()
		if hashes, err = auth.ReadHashes(f); err != nil {
			return nil, fmt.Errorf("API_TOKENS_FILE: %w", err)
		}
		if len(hashes) == 0 {
			return nil, fmt.Errorf("API_TOKENS_FILE: %s holds no token hash", cfg.APITokensFile)
		}
	}
	t, err := auth.NewTokens(cfg.APITokens, hashes)
	if err != nil {
		return nil, fmt.Errorf("API_TOKENS/API_TOKENS_FILE: %w", err)
	}
	return t, nil
}

// serve runs the HTTP server until ctx ends, then shuts it down gracefully.
// onShutdown runs first, when the server stops accepting.
func serve(ctx context.Context, cfg config.Config, h http.Handler, logger *slog.Logger, listening func(net.Addr), onShutdown func()) error {
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("PORT: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// Long enough for the largest legacy series; streams (SSE) lift
		// it per request, and WebSockets leave the server's hands.
		WriteTimeout: 5 * time.Minute,
		IdleTimeout:  120 * time.Second,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", "addr", ln.Addr().String(), "env", cfg.Env, "version", buildVersion())
	if listening != nil {
		listening(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", cfg.ShutdownGrace)
	if onShutdown != nil {
		onShutdown()
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: in-flight requests did not finish within SHUTDOWN_GRACE (%v): %w", cfg.ShutdownGrace, err)
	}
	logger.Info("stopped")
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// healthcheckTimeout bounds the whole probe; /readyz itself gives the
// database 2 s to answer.
const healthcheckTimeout = 3 * time.Second

// healthcheck asks the server on the configured HOST and PORT whether it
// is ready (GET /readyz) and returns nil only for a 200. It is the probe
// of the Docker image, which carries no curl.
func healthcheck(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	if cfg.Port == 0 {
		return errors.New("healthcheck: PORT is 0, so there is no known address to probe")
	}
	host := cfg.Host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		// The server listens on every interface; ask it on loopback.
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	url := "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port)) + "/readyz"
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// No proxy: the server is local, whatever HTTP_PROXY says.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, res.Status)
	}
	fmt.Fprintln(stdout, "ready:", url)
	return nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return "dev"
}
