package config

import (
	"strings"
	"testing"
	"time"
)

// TestReadReplicaSettings: DATABASE_READ_URL lists PostgreSQL standbys of a
// PostgreSQL primary; the durations have defaults, can be set, and a bad
// value names its variable. With standbys, the staleness bound must be
// longer than the check interval that renews it.
func TestReadReplicaSettings(t *testing.T) {
	const primary = "postgres://p@primary:5432/db"
	cfg, err := Load(env(map[string]string{"DATABASE_URL": primary}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.DatabaseReadURLs) != 0 || cfg.DatabaseReadMaxLag != 2*time.Second ||
		cfg.DatabaseReadWait != 200*time.Millisecond || cfg.DatabaseReadCheckInterval != time.Second ||
		cfg.DatabaseReadTimeout != time.Second {
		t.Errorf("defaults: %v %v %v %v %v", cfg.DatabaseReadURLs, cfg.DatabaseReadMaxLag, cfg.DatabaseReadWait,
			cfg.DatabaseReadCheckInterval, cfg.DatabaseReadTimeout)
	}
	cfg, err = Load(env(map[string]string{"DATABASE_URL": primary,
		"DATABASE_READ_URL":     " postgres://s@standby1/db , postgresql://s@standby2/db,",
		"DATABASE_READ_MAX_LAG": "500ms", "DATABASE_READ_WAIT": "0s", "DATABASE_READ_CHECK_INTERVAL": "250ms",
		"DATABASE_READ_TIMEOUT": "300ms"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.DatabaseReadURLs, " ") != "postgres://s@standby1/db postgresql://s@standby2/db" ||
		cfg.DatabaseReadMaxLag != 500*time.Millisecond || cfg.DatabaseReadWait != 0 || cfg.DatabaseReadCheckInterval != 250*time.Millisecond ||
		cfg.DatabaseReadTimeout != 300*time.Millisecond {
		t.Errorf("set: %v %v %v %v", cfg.DatabaseReadURLs, cfg.DatabaseReadMaxLag, cfg.DatabaseReadWait, cfg.DatabaseReadCheckInterval)
	}
	for variable, e := range map[string]map[string]string{
		"DATABASE_READ_URL":            {"DATABASE_URL": "sprocket.db", "DATABASE_READ_URL": "postgres://s@standby/db"},
		"DATABASE_READ_URL ":           {"DATABASE_URL": primary, "DATABASE_READ_URL": "standby.db"},
		"DATABASE_READ_MAX_LAG":        {"DATABASE_URL": primary, "DATABASE_READ_MAX_LAG": "-1s"},
		"DATABASE_READ_WAIT":           {"DATABASE_URL": primary, "DATABASE_READ_WAIT": "soon"},
		"DATABASE_READ_CHECK_INTERVAL": {"DATABASE_URL": primary, "DATABASE_READ_CHECK_INTERVAL": "1ms"},
		"DATABASE_READ_TIMEOUT":        {"DATABASE_URL": primary, "DATABASE_READ_TIMEOUT": "1ms"},
		"DATABASE_READ_MAX_LAG ": {"DATABASE_URL": primary, "DATABASE_READ_URL": "postgres://s@standby/db",
			"DATABASE_READ_MAX_LAG": "1s", "DATABASE_READ_CHECK_INTERVAL": "1s"},
	} {
		_, err := Load(env(e))
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(variable)) {
			t.Errorf("%v: error %v does not name %s", e, err, variable)
		}
	}
}

// TestMultiHostURLs: DATABASE_URL and DATABASE_READ_URL take multi-host
// URLs in both forms, a read URL's commas kept inside it; a bad host list
// names its variable.
func TestMultiHostURLs(t *testing.T) {
	const primary = "postgres://p@127.0.0.1:5601,127.0.0.1:5602/postgres?target_session_attrs=read-write&sslmode=prefer"
	const read = "postgres://r@127.0.0.1:5601,127.0.0.1:5602/postgres?target_session_attrs=prefer-standby"
	const query = "postgres://r@/postgres?host=127.0.0.1,127.0.0.1&port=5601,5602&target_session_attrs=standby"
	cfg, err := Load(env(map[string]string{"DATABASE_URL": primary, "DATABASE_READ_URL": read + "," + query}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != primary || len(cfg.DatabaseReadURLs) != 2 || cfg.DatabaseReadURLs[0] != read || cfg.DatabaseReadURLs[1] != query {
		t.Errorf("got %q and %q", cfg.DatabaseURL, cfg.DatabaseReadURLs)
	}
	for variable, e := range map[string]map[string]string{
		"DATABASE_URL":      {"DATABASE_URL": "postgres://p:secret@h1:5601,h2:x/db"},
		"DATABASE_READ_URL": {"DATABASE_URL": primary, "DATABASE_READ_URL": "postgres://r:secret@h1:5601,,h2/db"},
	} {
		_, err := Load(env(e))
		if err == nil || !strings.Contains(err.Error(), variable) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%v: error %v does not name %s, or shows the password", e, err, variable)
		}
	}
}
