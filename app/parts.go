package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/replica"
)

// PoolOptions are the options of the primary's pool, which the standbys'
// pools take too: DB_MAX_CONNS connections, statements bounded by
// DB_TIMEOUT. A read stalled past a request's deadline ends the connection
// (see database.Options.Stall); a little slack lets the deadline speak
// first.
func PoolOptions(cfg config.Config) database.Options {
	return database.Options{MaxConns: cfg.DBMaxConns, Stall: cfg.DBTimeout + 2*time.Second, StatementTimeout: cfg.DBTimeout}
}

// openReplicas connects to the hot standbys of DATABASE_READ_URL; nil when
// there are none.
func openReplicas(ctx context.Context, cfg config.Config, db *database.DB, logger *slog.Logger) (*replica.Set, error) {
	if len(cfg.DatabaseReadURLs) == 0 {
		return nil, nil
	}
	set, err := replica.Open(ctx, db, cfg.DatabaseReadURLs, replica.Options{
		MaxLag:   cfg.DatabaseReadMaxLag,
		Wait:     cfg.DatabaseReadWait,
		Interval: cfg.DatabaseReadCheckInterval,
		Timeout:  cfg.DatabaseReadTimeout,
		Pool:     PoolOptions(cfg),
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
