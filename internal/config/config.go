// Package config loads the service's configuration from the environment
// into one struct, once, and validates it with messages that name the
// variable at fault.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The environments.
const (
	Development = "development"
	Testing     = "testing"
	Production  = "production"
)

// DefaultDevDatabase is the SQLite file development uses when DATABASE_URL
// is not set.
const DefaultDevDatabase = "sprocket.db"

// Config is the whole configuration of sprocketd.
type Config struct {
	Env         string        // ENV
	DatabaseURL string        // DATABASE_URL
	Port        int           // PORT
	Host        string        // HOST
	CORSOrigins []string      // CORS_ORIGINS
	MaxBody     int64         // MAX_BODY_BYTES
	LogLevel    slog.Level    // LOG_LEVEL
	LogFormat   string        // LOG_FORMAT: text or json
	DBMaxConns  int           // DB_MAX_CONNS
	DBTimeout   time.Duration // DB_TIMEOUT
	Seed        bool          // SEED (defaults from ENV)

	GraphQLIntrospection   bool // GRAPHQL_INTROSPECTION (default true)
	GraphQLComplexityLimit int  // GRAPHQL_COMPLEXITY_LIMIT (default 5000)
	GraphQLDepthLimit      int  // GRAPHQL_DEPTH_LIMIT (default 12)
	GraphQLTokenLimit      int  // GRAPHQL_TOKEN_LIMIT (default 15000)

	APITokens       []string      // API_TOKENS: plain tokens, comma-separated (secret)
	APITokensFile   string        // API_TOKENS_FILE: a file of token hashes
	AllowOpenWrites bool          // ALLOW_OPEN_WRITES: production without tokens
	ProtectReads    bool          // PROTECT_READS: reads and subscriptions need a token too
	ShutdownGrace   time.Duration // SHUTDOWN_GRACE

	SeriesCacheBytes int64 // SERIES_CACHE_BYTES
}

// Addr is the listen address.
func (c Config) Addr() string { return fmt.Sprintf("%s:%d", c.Host, c.Port) }

// Load reads the configuration of a server through getenv (os.Getenv in
// main, a map in tests) and validates it, the rules about serving included:
// production refuses to serve with writes open unless that is asked for.
func Load(getenv func(string) string) (Config, error) {
	return load(getenv, true)
}

// LoadForTask reads the configuration of a command that serves nothing
// (sprocketd migrate, seed, healthcheck). It applies every rule of Load but
// those about serving: a deploy step that migrates the database needs no
// API tokens.
func LoadForTask(getenv func(string) string) (Config, error) {
	return load(getenv, false)
}

func load(getenv func(string) string, serving bool) (Config, error) {
	c := Config{
		Env:         strings.ToLower(strings.TrimSpace(getenv("ENV"))),
		DatabaseURL: strings.TrimSpace(getenv("DATABASE_URL")),
		Port:        8080,
		CORSOrigins: []string{"http://127.0.0.1:3000", "http://localhost:3000"},
		MaxBody:     32 << 20,
		LogLevel:    slog.LevelInfo,
		DBMaxConns:  16,
		DBTimeout:   10 * time.Second,

		// The same defaults as graph.DefaultOptions (a test checks).
		GraphQLIntrospection:   true,
		GraphQLComplexityLimit: 5000,
		GraphQLDepthLimit:      12,
		GraphQLTokenLimit:      15000,
		ShutdownGrace:          20 * time.Second,
		SeriesCacheBytes:       32 << 20,
	}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	switch c.Env {
	case "":
		c.Env = Development
	case Development, Testing, Production:
	default:
		bad("ENV", "must be development, testing or production, not %q", c.Env)
	}
	if c.DatabaseURL == "" {
		switch c.Env {
		case Development:
			c.DatabaseURL = DefaultDevDatabase
		case Testing:
			c.DatabaseURL = ":memory:"
		case Production:
			bad("DATABASE_URL", "is required when ENV=production (a postgres:// URL, or a SQLite file path)")
		}
	}
	c.Seed = c.Env == Development
	if v := getenv("SEED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("SEED", "must be true or false, not %q", v)
		}
		c.Seed = b
	}
	if v := getenv("PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			bad("PORT", "must be a port number from 0 to 65535, not %q", v)
		}
		c.Port = p
	}
	c.Host = strings.TrimSpace(getenv("HOST"))
	if v := getenv("CORS_ORIGINS"); v != "" {
		c.CORSOrigins = nil
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimRight(strings.TrimSpace(o), "/")
			if o == "" {
				continue
			}
			if o != "*" {
				u, err := url.Parse(o)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
					bad("CORS_ORIGINS", "%q is not an origin like https://example.com:3000", o)
					continue
				}
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	if v := getenv("MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			bad("MAX_BODY_BYTES", "must be a whole number of bytes, at least 1024, not %q", v)
		}
		c.MaxBody = n
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			bad("LOG_LEVEL", "must be debug, info, warn or error, not %q", v)
		}
	}
	c.LogFormat = "text"
	if c.Env == Production {
		c.LogFormat = "json"
	}
	if v := strings.ToLower(getenv("LOG_FORMAT")); v != "" {
		if v != "text" && v != "json" {
			bad("LOG_FORMAT", "must be text or json, not %q", v)
		}
		c.LogFormat = v
	}
	if v := getenv("DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad("DB_MAX_CONNS", "must be a whole number, at least 1, not %q", v)
		}
		c.DBMaxConns = n
	}
	if v := getenv("DB_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad("DB_TIMEOUT", "must be a positive duration such as 5s, not %q", v)
		}
		c.DBTimeout = d
	}
	if v := getenv("GRAPHQL_INTROSPECTION"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("GRAPHQL_INTROSPECTION", "must be true or false, not %q", v)
		}
		c.GraphQLIntrospection = b
	}
	for _, l := range []struct {
		name string
		min  int
		dst  *int
	}{
		{"GRAPHQL_COMPLEXITY_LIMIT", 10, &c.GraphQLComplexityLimit},
		{"GRAPHQL_DEPTH_LIMIT", 2, &c.GraphQLDepthLimit},
		{"GRAPHQL_TOKEN_LIMIT", 100, &c.GraphQLTokenLimit},
	} {
		if v := getenv(l.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < l.min {
				bad(l.name, "must be a whole number, at least %d, not %q", l.min, v)
			}
			*l.dst = n
		}
	}
	for _, tok := range strings.Split(getenv("API_TOKENS"), ",") {
		if tok = strings.TrimSpace(tok); tok != "" {
			if len(tok) < 16 {
				bad("API_TOKENS", "each token must be at least 16 characters long")
			}
			c.APITokens = append(c.APITokens, tok)
		}
	}
	c.APITokensFile = strings.TrimSpace(getenv("API_TOKENS_FILE"))
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"ALLOW_OPEN_WRITES", &c.AllowOpenWrites}, {"PROTECT_READS", &c.ProtectReads}} {
		if v := getenv(b.name); v != "" {
			x, err := strconv.ParseBool(v)
			if err != nil {
				bad(b.name, "must be true or false, not %q", v)
			}
			*b.dst = x
		}
	}
	if v := getenv("SERIES_CACHE_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad("SERIES_CACHE_BYTES", "must be a whole number of bytes (0 turns the cache off), not %q", v)
		}
		c.SeriesCacheBytes = n
	}
	if v := getenv("SHUTDOWN_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			bad("SHUTDOWN_GRACE", "must be a duration such as 20s, not %q", v)
		}
		c.ShutdownGrace = d
	}
	if serving && c.Env == Production && len(c.APITokens) == 0 && c.APITokensFile == "" && !c.AllowOpenWrites {
		bad("API_TOKENS", "production refuses to start with writes open: set API_TOKENS or API_TOKENS_FILE, or ALLOW_OPEN_WRITES=true to accept that")
	}
	if serving && c.ProtectReads && len(c.APITokens) == 0 && c.APITokensFile == "" {
		bad("PROTECT_READS", "needs API_TOKENS or API_TOKENS_FILE")
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}
