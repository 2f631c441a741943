package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sprocketapi/sprocket/internal/dburl"
)

// load reads every setting over its default, then applies the defaults
// that follow other settings and the rules that tie settings together
// (serving: those about serving too). Every error names its variable; all
// of them are reported at once.
func load(getenv func(string) string, serving bool) (Config, error) {
	e := &envReader{getenv: getenv}
	c := defaults()
	readEnvironment(e, &c)
	readServer(e, &c)
	readDatabase(e, &c)
	readGraphQL(e, &c)
	readAccess(e, &c)
	readReplicas(e, &c)
	check(e, &c, serving)
	if err := errors.Join(e.errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// readEnvironment reads ENV and the settings whose defaults follow it:
// DATABASE_URL, SEED, LOG_LEVEL and LOG_FORMAT.
func readEnvironment(e *envReader, c *Config) {
	c.Env = strings.ToLower(e.text("ENV"))
	switch c.Env {
	case "":
		c.Env = Development
	case Development, Testing, Production:
	default:
		e.bad("ENV", "must be development, testing or production, not %q", c.Env)
	}
	c.DatabaseURL = e.text("DATABASE_URL")
	if c.DatabaseURL == "" {
		switch c.Env {
		case Development:
			c.DatabaseURL = DefaultDevDatabase
		case Testing:
			c.DatabaseURL = ":memory:"
		case Production:
			e.bad("DATABASE_URL", "is required when ENV=production (a postgres:// URL, or a SQLite file path)")
		}
	}
	c.Seed = c.Env == Development
	e.boolean("SEED", &c.Seed)
	if v := e.getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			e.bad("LOG_LEVEL", "must be debug, info, warn or error, not %q", v)
		}
	}
	c.LogFormat = "text"
	if c.Env == Production {
		c.LogFormat = "json"
	}
	read(e, "LOG_FORMAT", &c.LogFormat, "text or json", func(v string) (string, bool) {
		v = strings.ToLower(v)
		return v, v == "text" || v == "json"
	})
}

// readServer reads the HTTP server's settings: where it listens, which
// origins may call, and its limits on requests.
func readServer(e *envReader, c *Config) {
	whole(e, "PORT", &c.Port, "a port number from 0 to 65535", func(p int) bool { return p >= 0 && p <= 65535 })
	c.Host = e.text("HOST")
	if v := e.getenv("CORS_ORIGINS"); v != "" {
		c.CORSOrigins = nil
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimRight(strings.TrimSpace(o), "/")
			if o == "" {
				continue
			}
			if o != "*" {
				u, err := url.Parse(o)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
					e.bad("CORS_ORIGINS", "%q is not an origin like https://example.com:3000", o)
					continue
				}
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	whole(e, "MAX_BODY_BYTES", &c.MaxBody, "a whole number of bytes, at least 1024", func(n int64) bool { return n >= 1024 })
	atLeast(e, "MAX_IN_FLIGHT", &c.MaxInFlight, 1)
	e.duration("DB_TIMEOUT", "5s", time.Nanosecond, &c.DBTimeout)
	e.duration("DOWNLOAD_TIMEOUT", "2m", time.Nanosecond, &c.DownloadTimeout)
	e.duration("SHUTDOWN_GRACE", "20s", 0, &c.ShutdownGrace)
	atLeast(e, "DOWNLOAD_BUFFER_BYTES", &c.DownloadBufferBytes, 1024)
	atLeast(e, "DOWNLOAD_MEMORY_BYTES", &c.DownloadMemoryBytes, 1024)
	atLeast(e, "DOWNLOAD_MIN_RATE", &c.DownloadMinRate, 1024)
	whole(e, "SERIES_CACHE_BYTES", &c.SeriesCacheBytes, "a whole number of bytes (0 turns the cache off)", func(n int64) bool { return n >= 0 })
}

// readDatabase reads the primary's settings: its pool and its shares,
// the wait at start-up, retention and partitions.
func readDatabase(e *envReader, c *Config) {
	atLeast(e, "DB_MAX_CONNS", &c.DBMaxConns, 1)
	atLeast(e, "DB_BULK_CONNS", &c.DBBulkConns, 1)
	atLeast(e, "DB_OPERATION_CONNS", &c.DBOperationConns, 1)
	atLeast(e, "DB_DOWNLOAD_CONNS", &c.DBDownloadConns, 1)
	e.duration("DATABASE_WAIT", "30s", 0, &c.DatabaseWait)
	if dburl.IsPostgres(c.DatabaseURL) {
		if _, err := dburl.Postgres(c.DatabaseURL); err != nil {
			e.bad("DATABASE_URL", "%v", err)
		}
	}
	if r, err := ParseRetention(e.getenv("RETENTION")); err != nil {
		e.bad("RETENTION", "%v", err)
	} else {
		c.Retention = r
	}
	whole(e, "PARTITIONS_AHEAD", &c.PartitionsAhead, "a whole number of months from 1 to 120", func(n int) bool { return n >= 1 && n <= 120 })
}

// readGraphQL reads the GraphQL server's limits, budgets and caches, and
// those of its WebSockets and subscriptions.
func readGraphQL(e *envReader, c *Config) {
	e.boolean("GRAPHQL_INTROSPECTION", &c.GraphQLIntrospection)
	atLeast(e, "GRAPHQL_COMPLEXITY_LIMIT", &c.GraphQLComplexityLimit, 10)
	atLeast(e, "GRAPHQL_DEPTH_LIMIT", &c.GraphQLDepthLimit, 2)
	atLeast(e, "GRAPHQL_TOKEN_LIMIT", &c.GraphQLTokenLimit, 100)
	atLeast(e, "GRAPHQL_MAX_VARIABLE_VALUES", &c.GraphQLMaxVariableValues, 100)
	atLeast(e, "GRAPHQL_MAX_STREAMS", &c.GraphQLMaxStreams, 1)
	atLeast(e, "GRAPHQL_MAX_RESPONSE_BYTES", &c.GraphQLMaxResponseBytes, 1024)
	atLeast(e, "GRAPHQL_RESPONSE_POOL_BYTES", &c.GraphQLResponsePoolBytes, 1024)
	atLeast(e, "GRAPHQL_COST_IN_FLIGHT", &c.GraphQLCostInFlight, 1024)
	atLeast(e, "GRAPHQL_QUERY_CACHE_BYTES", &c.GraphQLQueryCacheBytes, 1024)
	atLeast(e, "GRAPHQL_APQ_CACHE_BYTES", &c.GraphQLAPQCacheBytes, 1024)
	atLeast(e, "GRAPHQL_STREAM_MEMORY_BYTES", &c.GraphQLStreamMemoryBytes, 1024)
	for _, name := range e.list("GRAPHQL_METRIC_OPERATIONS") {
		if !isGraphQLName(name) || name == "other" || name == "anonymous" {
			e.bad("GRAPHQL_METRIC_OPERATIONS", "%q is not an operation name (letters, digits and _, not starting with a digit; not other or anonymous)", name)
			continue
		}
		c.GraphQLMetricOperations = append(c.GraphQLMetricOperations, name)
	}
	if len(c.GraphQLMetricOperations) > MaxMetricOperations {
		e.bad("GRAPHQL_METRIC_OPERATIONS", "lists %d names; at most %d", len(c.GraphQLMetricOperations), MaxMetricOperations)
	}
	e.duration("WS_INIT_TIMEOUT", "10s", 100*time.Millisecond, &c.WSInitTimeout)
	atLeast(e, "WS_MAX_CONNECTIONS", &c.WSMaxConnections, 1)
	atLeast(e, "WS_MAX_SUBSCRIPTIONS", &c.WSMaxSubscriptions, 1)
	atLeast(e, "LIVE_BUFFER_POINTS", &c.LiveBufferPoints, 1000)
}

// readAccess reads the API tokens and who may read and write.
func readAccess(e *envReader, c *Config) {
	for _, tok := range e.list("API_TOKENS") {
		if len(tok) < 16 {
			e.bad("API_TOKENS", "each token must be at least 16 characters long")
		}
		c.APITokens = append(c.APITokens, tok)
	}
	c.APITokensFile = e.text("API_TOKENS_FILE")
	e.boolean("ALLOW_OPEN_WRITES", &c.AllowOpenWrites)
	e.boolean("PROTECT_READS", &c.ProtectReads)
}

// readReplicas reads the hot standbys and their bounds.
func readReplicas(e *envReader, c *Config) {
	for i, u := range dburl.SplitList(e.getenv("DATABASE_READ_URL")) {
		if !dburl.IsPostgres(u) {
			e.bad("DATABASE_READ_URL", "must list postgres:// URLs of hot standbys, comma-separated")
			continue
		}
		if _, err := dburl.Postgres(u); err != nil {
			e.bad("DATABASE_READ_URL", "URL %d: %v", i+1, err)
			continue
		}
		c.DatabaseReadURLs = append(c.DatabaseReadURLs, u)
	}
	e.duration("DATABASE_READ_MAX_LAG", "2s", 0, &c.DatabaseReadMaxLag)
	e.duration("DATABASE_READ_WAIT", "200ms", 0, &c.DatabaseReadWait)
	e.duration("DATABASE_READ_CHECK_INTERVAL", "1s", 10*time.Millisecond, &c.DatabaseReadCheckInterval)
	e.duration("DATABASE_READ_TIMEOUT", "1s", 20*time.Millisecond, &c.DatabaseReadTimeout)
}

// check applies the defaults that follow other settings (the pool's
// shares follow DB_MAX_CONNS) and the rules between settings.
func check(e *envReader, c *Config, serving bool) {
	if c.DBBulkConns == 0 {
		c.DBBulkConns = max(1, c.DBMaxConns*3/4)
	}
	if c.DBOperationConns == 0 {
		c.DBOperationConns = max(1, c.DBMaxConns/4)
	}
	if c.DBDownloadConns == 0 {
		c.DBDownloadConns = max(1, c.DBBulkConns/3)
	}
	if len(c.DatabaseReadURLs) > 0 && !dburl.IsPostgres(c.DatabaseURL) {
		e.bad("DATABASE_READ_URL", "needs a PostgreSQL DATABASE_URL: standbys replicate a PostgreSQL primary")
	}
	if len(c.DatabaseReadURLs) > 0 && c.DatabaseReadMaxLag <= c.DatabaseReadCheckInterval {
		// A standby's freshness is renewed once a check: a bound no
		// longer than the interval would skip it for part of every one.
		e.bad("DATABASE_READ_MAX_LAG", "must be longer than DATABASE_READ_CHECK_INTERVAL (%v), not %v", c.DatabaseReadCheckInterval, c.DatabaseReadMaxLag)
	}
	if serving && c.Env == Production && len(c.APITokens) == 0 && c.APITokensFile == "" && !c.AllowOpenWrites {
		e.bad("API_TOKENS", "production refuses to start with writes open: set API_TOKENS or API_TOKENS_FILE, or ALLOW_OPEN_WRITES=true to accept that")
	}
	if serving && c.ProtectReads && len(c.APITokens) == 0 && c.APITokensFile == "" {
		e.bad("PROTECT_READS", "needs API_TOKENS or API_TOKENS_FILE")
	}
	if c.DBBulkConns > c.DBMaxConns {
		e.bad("DB_BULK_CONNS", "must be at most DB_MAX_CONNS (%d), not %d", c.DBMaxConns, c.DBBulkConns)
	}
	if c.DBOperationConns > c.DBBulkConns {
		e.bad("DB_OPERATION_CONNS", "must be at most DB_BULK_CONNS (%d), not %d", c.DBBulkConns, c.DBOperationConns)
	}
	if c.DBDownloadConns > c.DBBulkConns {
		e.bad("DB_DOWNLOAD_CONNS", "must be at most DB_BULK_CONNS (%d), not %d", c.DBBulkConns, c.DBDownloadConns)
	}
	if c.DownloadMemoryBytes < c.DownloadBufferBytes {
		e.bad("DOWNLOAD_MEMORY_BYTES", "must be at least DOWNLOAD_BUFFER_BYTES (%d), not %d", c.DownloadBufferBytes, c.DownloadMemoryBytes)
	}
	if c.GraphQLCostInFlight < int64(c.GraphQLComplexityLimit) {
		e.bad("GRAPHQL_COST_IN_FLIGHT", "must be at least GRAPHQL_COMPLEXITY_LIMIT (%d), not %d", c.GraphQLComplexityLimit, c.GraphQLCostInFlight)
	}
	if c.GraphQLResponsePoolBytes < c.GraphQLMaxResponseBytes {
		e.bad("GRAPHQL_RESPONSE_POOL_BYTES", "must be at least GRAPHQL_MAX_RESPONSE_BYTES (%d), not %d", c.GraphQLMaxResponseBytes, c.GraphQLResponsePoolBytes)
	}
}
