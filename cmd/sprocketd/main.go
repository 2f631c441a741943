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
	"syscall"
	"time"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/seed"
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
	db, err := openDatabase(ctx, cfg, app.PoolOptions(cfg), logger)
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
	if cmd == "seed" {
		return seedCommand(ctx, app.NewService(cfg, db), db.Dialect, stdout)
	}

	a, err := app.New(ctx, cfg, db, app.Options{Logger: logger, Version: buildVersion()})
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Seed {
		n, seeded, err := seed.LoadIfEmpty(ctx, a.Service, db.Dialect)
		if err != nil {
			return err
		}
		if seeded {
			logger.Info("seeded an empty database", "factories", n.Factories, "points", n.Points, "sprockets", n.Sprockets)
		}
	}
	if !a.Tokens.Enabled() {
		logger.Warn("no API tokens configured: writes are open to anyone who can reach the server")
	}
	return serve(ctx, cfg, a.Handler, logger, listening, a.Drain)
}

// seedCommand loads the legacy seed data into an empty database.
func seedCommand(ctx context.Context, svc *core.Service, dialect string, stdout io.Writer) error {
	n, seeded, err := seed.LoadIfEmpty(ctx, svc, dialect)
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
