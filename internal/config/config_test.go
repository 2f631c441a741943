package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsByEnvironment(t *testing.T) {
	cases := []struct {
		env    map[string]string
		dbURL  string
		seed   bool
		format string
	}{
		{map[string]string{}, DefaultDevDatabase, true, "text"},
		{map[string]string{"ENV": "testing"}, ":memory:", false, "text"},
		{map[string]string{"ENV": "production", "DATABASE_URL": "postgres://x@h/db", "API_TOKENS": "0123456789abcdef"}, "postgres://x@h/db", false, "json"},
		{map[string]string{"ENV": "development", "SEED": "false"}, DefaultDevDatabase, false, "text"},
		{map[string]string{"ENV": "production", "DATABASE_URL": "p.db", "SEED": "true", "LOG_FORMAT": "text", "ALLOW_OPEN_WRITES": "true"}, "p.db", true, "text"},
	}
	for _, c := range cases {
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if cfg.DatabaseURL != c.dbURL || cfg.Seed != c.seed || cfg.LogFormat != c.format || cfg.Port != 8080 {
			t.Errorf("%v: got %+v", c.env, cfg)
		}
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	for variable, e := range map[string]map[string]string{
		"DATABASE_URL":   {"ENV": "production"},
		"ENV":            {"ENV": "staging"},
		"PORT":           {"PORT": "eighty"},
		"CORS_ORIGINS":   {"CORS_ORIGINS": "localhost:3000"},
		"MAX_BODY_BYTES": {"MAX_BODY_BYTES": "-1"},
		"LOG_LEVEL":      {"LOG_LEVEL": "loud"},
		"SEED":           {"SEED": "maybe"},
		"DB_TIMEOUT":     {"DB_TIMEOUT": "soon"},

		"DOWNLOAD_TIMEOUT": {"DOWNLOAD_TIMEOUT": "0s"},
		"WS_INIT_TIMEOUT":  {"WS_INIT_TIMEOUT": "50ms"},
		"SHUTDOWN_GRACE":   {"SHUTDOWN_GRACE": "-1s"},
		"DATABASE_WAIT":    {"DATABASE_WAIT": "forever"},

		"GRAPHQL_INTROSPECTION":    {"GRAPHQL_INTROSPECTION": "sometimes"},
		"GRAPHQL_COMPLEXITY_LIMIT": {"GRAPHQL_COMPLEXITY_LIMIT": "lots"},
		"GRAPHQL_DEPTH_LIMIT":      {"GRAPHQL_DEPTH_LIMIT": "1"},
		"GRAPHQL_TOKEN_LIMIT":      {"GRAPHQL_TOKEN_LIMIT": "-5"},
	} {
		_, err := Load(env(e))
		if err == nil || !strings.Contains(err.Error(), variable) {
			t.Errorf("%v: error %v does not name %s", e, err, variable)
		}
	}
}

// TestDatabaseWaitDefaultsTo30s: start-up waits 30 s for the database
// unless DATABASE_WAIT says otherwise; 0 waits not at all.
func TestDatabaseWaitDefaultsTo30s(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 30 * time.Second, "0": 0, "2m": 2 * time.Minute} {
		cfg, err := Load(env(map[string]string{"DATABASE_WAIT": v}))
		if err != nil || cfg.DatabaseWait != want {
			t.Errorf("DATABASE_WAIT=%q: %v, %v; want %v", v, cfg.DatabaseWait, err, want)
		}
	}
}

func TestCORSOriginsAreParsed(t *testing.T) {
	cfg, err := Load(env(map[string]string{"CORS_ORIGINS": " https://a.example.com/ , http://b.example.com:3000"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.CORSOrigins, ",") != "https://a.example.com,http://b.example.com:3000" {
		t.Errorf("got %v", cfg.CORSOrigins)
	}
}

func TestGraphQLLimitsHaveDefaultsAndCanBeSet(t *testing.T) {
	cases := []struct {
		env                      map[string]string
		introspection            bool
		complexity, depth, token int
	}{
		{map[string]string{}, true, 1000000, 12, 15000},
		{map[string]string{"ENV": "production", "DATABASE_URL": "p.db", "ALLOW_OPEN_WRITES": "true"}, true, 1000000, 12, 15000},
		{map[string]string{
			"GRAPHQL_INTROSPECTION": "false", "GRAPHQL_COMPLEXITY_LIMIT": "200",
			"GRAPHQL_DEPTH_LIMIT": "6", "GRAPHQL_TOKEN_LIMIT": "2000",
		}, false, 200, 6, 2000},
	}
	for _, c := range cases {
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if cfg.GraphQLIntrospection != c.introspection || cfg.GraphQLComplexityLimit != c.complexity ||
			cfg.GraphQLDepthLimit != c.depth || cfg.GraphQLTokenLimit != c.token {
			t.Errorf("%v: got introspection %v, complexity %d, depth %d, tokens %d", c.env,
				cfg.GraphQLIntrospection, cfg.GraphQLComplexityLimit, cfg.GraphQLDepthLimit, cfg.GraphQLTokenLimit)
		}
	}
}

func TestProductionRefusesOpenWritesUnlessAsked(t *testing.T) {
	base := map[string]string{"ENV": "production", "DATABASE_URL": "postgres://h/db"}
	if _, err := Load(env(base)); err == nil || !strings.Contains(err.Error(), "writes open") {
		t.Errorf("production without tokens: %v", err)
	}
	for _, extra := range []map[string]string{
		{"API_TOKENS": "a-long-enough-token-1,a-long-enough-token-2"},
		{"API_TOKENS_FILE": "/run/secrets/tokens"},
		{"ALLOW_OPEN_WRITES": "true"},
	} {
		e := map[string]string{}
		for k, v := range base {
			e[k] = v
		}
		for k, v := range extra {
			e[k] = v
		}
		if _, err := Load(env(e)); err != nil {
			t.Errorf("%v: %v", extra, err)
		}
	}
	if _, err := Load(env(map[string]string{"API_TOKENS": "short"})); err == nil {
		t.Error("a short token was accepted")
	}
	if _, err := Load(env(map[string]string{"PROTECT_READS": "true"})); err == nil {
		t.Error("PROTECT_READS without tokens was accepted")
	}
}

// TestTasksNeedNoTokens: migrate and seed serve nothing, so production
// loads their configuration without tokens; every other rule still holds.
func TestTasksNeedNoTokens(t *testing.T) {
	noTokens := map[string]string{"ENV": "production", "DATABASE_URL": "postgres://h/db", "PROTECT_READS": "true"}
	cfg, err := LoadForTask(env(noTokens))
	if err != nil {
		t.Fatalf("a task in production without tokens: %v", err)
	}
	if cfg.DatabaseURL != "postgres://h/db" || cfg.Seed {
		t.Errorf("got DATABASE_URL %q, SEED %v", cfg.DatabaseURL, cfg.Seed)
	}
	if _, err := Load(env(noTokens)); err == nil {
		t.Error("serving in production without tokens was accepted")
	}
	if _, err := LoadForTask(env(map[string]string{"ENV": "production"})); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("a task in production without DATABASE_URL: %v", err)
	}
	if _, err := LoadForTask(env(map[string]string{"API_TOKENS": "short"})); err == nil {
		t.Error("a task accepted a short token")
	}
}
