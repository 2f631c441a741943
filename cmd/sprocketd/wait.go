package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
)

// The pauses between attempts to reach the database at start-up: doubling
// from the first to the last, within DATABASE_WAIT.
const (
	firstDatabaseRetry = 250 * time.Millisecond
	lastDatabaseRetry  = 2 * time.Second
)

// openDatabase opens DATABASE_URL, retrying while the database cannot be
// reached (refused, reset, starting up: core.IsUnavailable) for up to
// DATABASE_WAIT, each failed attempt logged with its error. A container
// started beside its database (compose, Kubernetes) thus waits for it
// instead of exiting at once. Any other error (a wrong password, a bad URL,
// an unreadable file) ends the start-up at once.
func openDatabase(ctx context.Context, cfg config.Config, opts database.Options, logger *slog.Logger) (*database.DB, error) {
	deadline := time.Now().Add(cfg.DatabaseWait)
	pause := firstDatabaseRetry
	for attempt := 1; ; attempt++ {
		db, err := database.Open(ctx, cfg.DatabaseURL, opts)
		if err == nil {
			if attempt > 1 {
				logger.Info("database reachable", "attempts", attempt)
			}
			return db, nil
		}
		left := time.Until(deadline)
		if !core.IsUnavailable(err) || ctx.Err() != nil {
			return nil, err
		}
		if left <= 0 {
			return nil, fmt.Errorf("the database was not reachable within DATABASE_WAIT (%v, %d attempts): %w", cfg.DatabaseWait, attempt, err)
		}
		pause = min(pause, left)
		logger.Warn("database not reachable yet; retrying", "attempt", attempt, "retry_in", pause,
			"wait_left", left.Round(time.Millisecond), "err", err)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		pause = min(2*pause, lastDatabaseRetry)
	}
}
