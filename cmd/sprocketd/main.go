// Command sprocketd is the Sprocket API server.
//
//	sprocketd [serve]   run the server (the default)
//	sprocketd migrate   apply the database migrations and exit
//	sprocketd seed      migrate, then load the legacy seed data, and exit
//	sprocketd version   print the version
//
// Configuration comes from the environment; see the README.
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
	"syscall"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/graph"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/seed"
	"github.com/sprocketapi/sprocket/internal/server"
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
	case "serve", "migrate", "seed":
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, "usage: sprocketd [serve|migrate|seed|version]")
		return nil
	default:
		return fmt.Errorf("unknown command %q (want serve, migrate, seed or version)", cmd)
	}

	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	slog.SetDefault(logger)

	target, err := database.Parse(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	db, err := database.Open(ctx, cfg.DatabaseURL, database.Options{MaxConns: cfg.DBMaxConns})
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	logger.Info("database ready", "database", target.Safe, "dialect", db.Dialect, "migrations_applied", len(applied))
	if cmd == "migrate" {
		fmt.Fprintf(stdout, "applied %d migration(s) %v\n", len(applied), applied)
		return nil
	}

	client := db.Client()
	defer client.Close()
	svc := core.New(client)

	if cmd == "seed" {
		n, err := seed.Load(ctx, svc)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "seeded %d factories (%d points) and %d sprockets\n", n.Factories, n.Points, n.Sprockets)
		return nil
	}
	if cfg.Seed {
		n, seeded, err := seed.LoadIfEmpty(ctx, svc)
		if err != nil {
			return err
		}
		if seeded {
			logger.Info("seeded an empty database", "factories", n.Factories, "points", n.Points, "sprockets", n.Sprockets)
		}
	}

	var hub graph.Live
	if db.Dialect == dialect.Postgres {
		pg, err := live.NewPostgres(target.DSN, client, logger)
		if err != nil {
			return err
		}
		defer pg.Close()
		svc.SetNotifier(pg)
		hub = pg
	} else {
		local := live.NewLocal()
		svc.SetNotifier(local)
		hub = local
	}

	h := server.New(server.Deps{
		Config:  cfg,
		Service: svc,
		GraphQL: graph.NewHandler(&graph.Resolver{Client: client, Service: svc, Live: hub}),
		Ping:    db.SQL.PingContext,
	})
	return serve(ctx, cfg, h, logger, listening)
}

// serve runs the HTTP server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, cfg config.Config, h http.Handler, logger *slog.Logger, listening func(net.Addr)) error {
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("PORT: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
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
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
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
