// Package apptest starts whole servers for tests, wired as sprocketd wires
// its own (app.New).
package apptest

import (
	"context"
	"testing"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/database"
)

// Config is the configuration of ENV=testing with env's variables.
func Config(t testing.TB, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		if k == "ENV" {
			return config.Testing
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// New is app.New over db: its background work stops, and what it opened
// is closed, when the test ends.
func New(t testing.TB, cfg config.Config, db *database.DB, opts app.Options) *app.App {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, db, opts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = a.Close()
	})
	return a
}
