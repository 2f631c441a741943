// Package config loads the service's configuration from the environment
// into one struct, once, and validates it with messages that name the
// variable at fault. It imports no project package but dburl, the URL
// rules it shares with the database layer.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sprocketapi/sprocket/internal/dburl"
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
	// DOWNLOAD_TIMEOUT: the deadline of a streamed legacy download (GET
	// /v1/factories and /v1/factories/{id}) instead of DB_TIMEOUT.
	// Default 60s.
	DownloadTimeout time.Duration
	// DB_BULK_CONNS: connections that heavy work (chart reads, downloads,
	// write transactions) may hold at once; the rest of the pool is kept
	// for light reads. Default three quarters of DB_MAX_CONNS.
	DBBulkConns int
	// DB_OPERATION_CONNS: connections one GraphQL query may hold at once.
	// Default a quarter of DB_MAX_CONNS.
	DBOperationConns int
	// DB_DOWNLOAD_CONNS: turns of the bulk lane that downloads may hold at
	// once. Default a third of DB_BULK_CONNS.
	DBDownloadConns int
	// DOWNLOAD_BUFFER_BYTES: what one download reads ahead of its client;
	// DOWNLOAD_MEMORY_BYTES: what all downloads read ahead at once;
	// DOWNLOAD_MIN_RATE: the slowest (bytes a second) a client may take a
	// download before it is cut.
	DownloadBufferBytes int64
	DownloadMemoryBytes int64
	DownloadMinRate     int64
	// MAX_IN_FLIGHT: requests served at once (subscriptions and health
	// checks aside); more are answered 503 at once. Default 512.
	MaxInFlight int
	Seed        bool // SEED (defaults from ENV)

	GraphQLIntrospection   bool // GRAPHQL_INTROSPECTION (default true)
	GraphQLComplexityLimit int  // GRAPHQL_COMPLEXITY_LIMIT (default 1000000)
	GraphQLDepthLimit      int  // GRAPHQL_DEPTH_LIMIT (default 12)
	GraphQLTokenLimit      int  // GRAPHQL_TOKEN_LIMIT (default 15000)
	// GRAPHQL_MAX_RESPONSE_BYTES: the answer budget of one operation
	// (default 32 MiB); GRAPHQL_RESPONSE_POOL_BYTES: that of all
	// operations at once (default 64 MiB).
	GraphQLMaxResponseBytes  int64
	GraphQLResponsePoolBytes int64
	// GRAPHQL_COST_IN_FLIGHT: the cost of the operations that run at
	// once (default 4000000, four of the costliest).
	GraphQLCostInFlight int64
	// GRAPHQL_MAX_VARIABLE_VALUES: JSON values in one request body
	// (default 41000: 10,000 points of 4 values, and room).
	GraphQLMaxVariableValues int
	// GRAPHQL_QUERY_CACHE_BYTES: memory for parsed documents (default 32
	// MiB); GRAPHQL_APQ_CACHE_BYTES: for automatic persisted queries
	// (default 16 MiB).
	GraphQLQueryCacheBytes int64
	GraphQLAPQCacheBytes   int64
	// GRAPHQL_MAX_STREAMS: operations that run at once over WebSockets
	// and server-sent events (default 2000); GRAPHQL_STREAM_MEMORY_BYTES:
	// the memory they may hold (default 64 MiB).
	GraphQLMaxStreams        int
	GraphQLStreamMemoryBytes int64

	APITokens       []string      // API_TOKENS: plain tokens, comma-separated (secret)
	APITokensFile   string        // API_TOKENS_FILE: a file of token hashes
	AllowOpenWrites bool          // ALLOW_OPEN_WRITES: production without tokens
	ProtectReads    bool          // PROTECT_READS: reads and subscriptions need a token too
	ShutdownGrace   time.Duration // SHUTDOWN_GRACE

	// DATABASE_WAIT: how long start-up waits for an unreachable database
	// (retrying, each attempt logged) before it gives up; 0: no waiting.
	DatabaseWait time.Duration

	SeriesCacheBytes int64 // SERIES_CACHE_BYTES

	// RETENTION: how long chart data is kept (PostgreSQL only; whole
	// monthly partitions are dropped). Zero keeps every point.
	Retention Retention
	// PARTITIONS_AHEAD: months after the current one that get a partition
	// of chart_data (PostgreSQL; default 3).
	PartitionsAhead int

	// GRAPHQL_METRIC_OPERATIONS: operation names counted under their own
	// name in sprocket_graphql_operations_total, besides the built-in ones.
	GraphQLMetricOperations []string
	WSInitTimeout           time.Duration // WS_INIT_TIMEOUT (default 10s)
	WSMaxConnections        int           // WS_MAX_CONNECTIONS (default 1000)
	WSMaxSubscriptions      int           // WS_MAX_SUBSCRIPTIONS (default 100)
	LiveBufferPoints        int           // LIVE_BUFFER_POINTS (default 100000)

	// DATABASE_READ_URL: PostgreSQL hot standbys (comma-separated) that
	// serve the reads of read-only requests; empty: the primary serves all.
	DatabaseReadURLs []string
	// DATABASE_READ_MAX_LAG: a standby further behind the primary than
	// this is skipped (default 2s).
	DatabaseReadMaxLag time.Duration
	// DATABASE_READ_WAIT: how long a read that must see a client's write
	// (it carries the write's Sprocket-LSN) waits for a standby to replay
	// it before it goes to the primary (default 200ms).
	DatabaseReadWait time.Duration
	// DATABASE_READ_CHECK_INTERVAL: how often the standbys' health and lag
	// are checked (default 1s).
	DatabaseReadCheckInterval time.Duration
	// DATABASE_READ_TIMEOUT: how long a standby may take to answer a
	// check, a probe or a connection attempt before it is taken for
	// stopped and its waiting reads go to the primary (default 1s).
	DatabaseReadTimeout time.Duration
}

// MaxMetricOperations caps how many names GRAPHQL_METRIC_OPERATIONS may
// list, so that the operation label of the GraphQL metrics stays bounded.
const MaxMetricOperations = 200

// isGraphQLName reports whether s is a GraphQL name: [_A-Za-z][_0-9A-Za-z]*,
// at most 100 characters here.
func isGraphQLName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
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

// The defaults of the settings that the GraphQL server also applies when
// an option is left at zero: it reads them from here (gqlhttp.Default*),
// so each number has one owner. Why each is what it is: see gqlhttp.
const (
	DefaultMaxBody                  = 8 << 20
	DefaultGraphQLComplexityLimit   = 1_000_000
	DefaultGraphQLDepthLimit        = 12
	DefaultGraphQLTokenLimit        = 15000
	DefaultGraphQLMaxResponseBytes  = 32 << 20
	DefaultGraphQLResponsePoolBytes = 64 << 20
	DefaultGraphQLCostInFlight      = 4 * DefaultGraphQLComplexityLimit
	DefaultGraphQLMaxVariableValues = 10_000*4 + 1000
	DefaultGraphQLQueryCacheBytes   = 32 << 20
	DefaultGraphQLAPQCacheBytes     = 16 << 20
	DefaultGraphQLMaxStreams        = 2000
	DefaultGraphQLStreamMemoryBytes = 64 << 20
	DefaultWSInitTimeout            = 10 * time.Second
	DefaultWSMaxConnections         = 1000
	DefaultWSMaxSubscriptions       = 100
	// A download's read-ahead, all downloads', and the slowest client:
	// the buffer holds the legacy answers of most deployments whole, so
	// that a slow client holds no database turn (rest/download.go).
	DefaultDownloadBufferBytes = 16 << 20
	DefaultDownloadMemoryBytes = 64 << 20
	DefaultDownloadMinRate     = 16 << 10
	// The read replicas' bounds (internal/replica's Options take them
	// when left at zero).
	DefaultDatabaseReadMaxLag        = 2 * time.Second
	DefaultDatabaseReadWait          = 200 * time.Millisecond
	DefaultDatabaseReadCheckInterval = time.Second
	DefaultDatabaseReadTimeout       = time.Second
	// DefaultPartitionsAhead: a quarter of months ahead have their
	// partition of chart_data, so a maintenance outage of weeks loses
	// nothing (points would wait in the default partition).
	DefaultPartitionsAhead = 3
)

func load(getenv func(string) string, serving bool) (Config, error) {
	c := Config{
		Env:             strings.ToLower(strings.TrimSpace(getenv("ENV"))),
		DatabaseURL:     strings.TrimSpace(getenv("DATABASE_URL")),
		Port:            8080,
		CORSOrigins:     []string{"http://127.0.0.1:3000", "http://localhost:3000"},
		MaxBody:         DefaultMaxBody,
		LogLevel:        slog.LevelInfo,
		DBMaxConns:      16,
		DBTimeout:       10 * time.Second,
		DownloadTimeout: 60 * time.Second,
		MaxInFlight:     512,

		GraphQLIntrospection:   true,
		GraphQLComplexityLimit: DefaultGraphQLComplexityLimit,
		GraphQLDepthLimit:      DefaultGraphQLDepthLimit,
		GraphQLTokenLimit:      DefaultGraphQLTokenLimit,
		ShutdownGrace:          20 * time.Second,
		DatabaseWait:           30 * time.Second,
		SeriesCacheBytes:       32 << 20,

		WSInitTimeout:      DefaultWSInitTimeout,
		WSMaxConnections:   DefaultWSMaxConnections,
		WSMaxSubscriptions: DefaultWSMaxSubscriptions,
		// live.DefaultBuffer (a test checks): the largest batch.
		LiveBufferPoints: 100000,

		GraphQLMaxResponseBytes:  DefaultGraphQLMaxResponseBytes,
		GraphQLResponsePoolBytes: DefaultGraphQLResponsePoolBytes,
		GraphQLCostInFlight:      DefaultGraphQLCostInFlight,
		GraphQLMaxVariableValues: DefaultGraphQLMaxVariableValues,
		GraphQLQueryCacheBytes:   DefaultGraphQLQueryCacheBytes,
		GraphQLAPQCacheBytes:     DefaultGraphQLAPQCacheBytes,
		GraphQLMaxStreams:        DefaultGraphQLMaxStreams,
		GraphQLStreamMemoryBytes: DefaultGraphQLStreamMemoryBytes,

		DownloadBufferBytes: DefaultDownloadBufferBytes,
		DownloadMemoryBytes: DefaultDownloadMemoryBytes,
		DownloadMinRate:     DefaultDownloadMinRate,

		DatabaseReadMaxLag:        DefaultDatabaseReadMaxLag,
		DatabaseReadWait:          DefaultDatabaseReadWait,
		DatabaseReadCheckInterval: DefaultDatabaseReadCheckInterval,
		DatabaseReadTimeout:       DefaultDatabaseReadTimeout,
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
	for _, l := range []struct {
		name string
		dst  *int64
	}{
		{"GRAPHQL_MAX_RESPONSE_BYTES", &c.GraphQLMaxResponseBytes},
		{"GRAPHQL_RESPONSE_POOL_BYTES", &c.GraphQLResponsePoolBytes},
		{"GRAPHQL_COST_IN_FLIGHT", &c.GraphQLCostInFlight},
		{"GRAPHQL_QUERY_CACHE_BYTES", &c.GraphQLQueryCacheBytes},
		{"GRAPHQL_APQ_CACHE_BYTES", &c.GraphQLAPQCacheBytes},
		{"GRAPHQL_STREAM_MEMORY_BYTES", &c.GraphQLStreamMemoryBytes},
		{"DOWNLOAD_BUFFER_BYTES", &c.DownloadBufferBytes},
		{"DOWNLOAD_MEMORY_BYTES", &c.DownloadMemoryBytes},
		{"DOWNLOAD_MIN_RATE", &c.DownloadMinRate},
	} {
		if v := getenv(l.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 {
				bad(l.name, "must be a whole number, at least 1024, not %q", v)
			}
			*l.dst = n
		}
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
	// The durations: Go's syntax, at least min (positive at 1ns), with an
	// example for the message.
	for _, l := range []struct {
		name, example string
		min           time.Duration
		dst           *time.Duration
	}{
		{"DB_TIMEOUT", "5s", time.Nanosecond, &c.DBTimeout},
		{"DOWNLOAD_TIMEOUT", "2m", time.Nanosecond, &c.DownloadTimeout},
		{"WS_INIT_TIMEOUT", "10s", 100 * time.Millisecond, &c.WSInitTimeout},
		{"SHUTDOWN_GRACE", "20s", 0, &c.ShutdownGrace},
		{"DATABASE_WAIT", "30s", 0, &c.DatabaseWait},
		{"DATABASE_READ_MAX_LAG", "2s", 0, &c.DatabaseReadMaxLag},
		{"DATABASE_READ_WAIT", "200ms", 0, &c.DatabaseReadWait},
		{"DATABASE_READ_CHECK_INTERVAL", "1s", 10 * time.Millisecond, &c.DatabaseReadCheckInterval},
		{"DATABASE_READ_TIMEOUT", "1s", 20 * time.Millisecond, &c.DatabaseReadTimeout},
	} {
		v := getenv(l.name)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		switch {
		case err == nil && d >= l.min:
			*l.dst = d
		case l.min == time.Nanosecond:
			bad(l.name, "must be a positive duration such as %s, not %q", l.example, v)
		case l.min > 0:
			bad(l.name, "must be a duration of at least %v such as %s, not %q", l.min, l.example, v)
		default:
			bad(l.name, "must be a duration such as %s, not %q", l.example, v)
		}
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
		{"GRAPHQL_MAX_VARIABLE_VALUES", 100, &c.GraphQLMaxVariableValues},
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
	for _, l := range []struct {
		name string
		min  int
		dst  *int
	}{
		{"DB_BULK_CONNS", 1, &c.DBBulkConns},
		{"DB_OPERATION_CONNS", 1, &c.DBOperationConns},
		{"DB_DOWNLOAD_CONNS", 1, &c.DBDownloadConns},
		{"MAX_IN_FLIGHT", 1, &c.MaxInFlight},
		{"WS_MAX_CONNECTIONS", 1, &c.WSMaxConnections},
		{"WS_MAX_SUBSCRIPTIONS", 1, &c.WSMaxSubscriptions},
		{"GRAPHQL_MAX_STREAMS", 1, &c.GraphQLMaxStreams},
		{"LIVE_BUFFER_POINTS", 1000, &c.LiveBufferPoints},
	} {
		if v := getenv(l.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < l.min {
				bad(l.name, "must be a whole number, at least %d, not %q", l.min, v)
			}
			*l.dst = n
		}
	}
	for _, name := range strings.Split(getenv("GRAPHQL_METRIC_OPERATIONS"), ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !isGraphQLName(name) || name == "other" || name == "anonymous" {
			bad("GRAPHQL_METRIC_OPERATIONS", "%q is not an operation name (letters, digits and _, not starting with a digit; not other or anonymous)", name)
			continue
		}
		c.GraphQLMetricOperations = append(c.GraphQLMetricOperations, name)
	}
	if len(c.GraphQLMetricOperations) > MaxMetricOperations {
		bad("GRAPHQL_METRIC_OPERATIONS", "lists %d names; at most %d", len(c.GraphQLMetricOperations), MaxMetricOperations)
	}
	if dburl.IsPostgres(c.DatabaseURL) {
		if _, err := dburl.Postgres(c.DatabaseURL); err != nil {
			bad("DATABASE_URL", "%v", err)
		}
	}
	for i, u := range dburl.SplitList(getenv("DATABASE_READ_URL")) {
		if !dburl.IsPostgres(u) {
			bad("DATABASE_READ_URL", "must list postgres:// URLs of hot standbys, comma-separated")
			continue
		}
		if _, err := dburl.Postgres(u); err != nil {
			bad("DATABASE_READ_URL", "URL %d: %v", i+1, err)
			continue
		}
		c.DatabaseReadURLs = append(c.DatabaseReadURLs, u)
	}
	if len(c.DatabaseReadURLs) > 0 && !dburl.IsPostgres(c.DatabaseURL) {
		bad("DATABASE_READ_URL", "needs a PostgreSQL DATABASE_URL: standbys replicate a PostgreSQL primary")
	}
	if len(c.DatabaseReadURLs) > 0 && c.DatabaseReadMaxLag <= c.DatabaseReadCheckInterval {
		// A standby's freshness is renewed once a check: a bound no
		// longer than the interval would skip it for part of every one.
		bad("DATABASE_READ_MAX_LAG", "must be longer than DATABASE_READ_CHECK_INTERVAL (%v), not %v", c.DatabaseReadCheckInterval, c.DatabaseReadMaxLag)
	}
	if r, err := ParseRetention(getenv("RETENTION")); err != nil {
		bad("RETENTION", "%v", err)
	} else {
		c.Retention = r
	}
	c.PartitionsAhead = DefaultPartitionsAhead
	if v := getenv("PARTITIONS_AHEAD"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 120 {
			bad("PARTITIONS_AHEAD", "must be a whole number of months from 1 to 120, not %q", v)
		}
		c.PartitionsAhead = n
	}
	if serving && c.Env == Production && len(c.APITokens) == 0 && c.APITokensFile == "" && !c.AllowOpenWrites {
		bad("API_TOKENS", "production refuses to start with writes open: set API_TOKENS or API_TOKENS_FILE, or ALLOW_OPEN_WRITES=true to accept that")
	}
	if serving && c.ProtectReads && len(c.APITokens) == 0 && c.APITokensFile == "" {
		bad("PROTECT_READS", "needs API_TOKENS or API_TOKENS_FILE")
	}
	// The pool's shares follow DB_MAX_CONNS unless set.
	if c.DBBulkConns == 0 {
		c.DBBulkConns = max(1, c.DBMaxConns*3/4)
	}
	if c.DBOperationConns == 0 {
		c.DBOperationConns = max(1, c.DBMaxConns/4)
	}
	if c.DBDownloadConns == 0 {
		c.DBDownloadConns = max(1, c.DBBulkConns/3)
	}
	if c.DBBulkConns > c.DBMaxConns {
		bad("DB_BULK_CONNS", "must be at most DB_MAX_CONNS (%d), not %d", c.DBMaxConns, c.DBBulkConns)
	}
	if c.DBOperationConns > c.DBBulkConns {
		bad("DB_OPERATION_CONNS", "must be at most DB_BULK_CONNS (%d), not %d", c.DBBulkConns, c.DBOperationConns)
	}
	if c.DBDownloadConns > c.DBBulkConns {
		bad("DB_DOWNLOAD_CONNS", "must be at most DB_BULK_CONNS (%d), not %d", c.DBBulkConns, c.DBDownloadConns)
	}
	if c.DownloadMemoryBytes < c.DownloadBufferBytes {
		bad("DOWNLOAD_MEMORY_BYTES", "must be at least DOWNLOAD_BUFFER_BYTES (%d), not %d", c.DownloadBufferBytes, c.DownloadMemoryBytes)
	}
	if c.GraphQLCostInFlight < int64(c.GraphQLComplexityLimit) {
		bad("GRAPHQL_COST_IN_FLIGHT", "must be at least GRAPHQL_COMPLEXITY_LIMIT (%d), not %d", c.GraphQLComplexityLimit, c.GraphQLCostInFlight)
	}
	if c.GraphQLResponsePoolBytes < c.GraphQLMaxResponseBytes {
		bad("GRAPHQL_RESPONSE_POOL_BYTES", "must be at least GRAPHQL_MAX_RESPONSE_BYTES (%d), not %d", c.GraphQLMaxResponseBytes, c.GraphQLResponsePoolBytes)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}
