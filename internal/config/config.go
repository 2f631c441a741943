// Package config loads the service's configuration from the environment
// into one struct, once, and validates it with messages that name the
// variable at fault. It imports no project package but dburl, the URL
// rules it shares with the database layer.
package config

import (
	"fmt"
	"log/slog"
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

// Config is the whole configuration of sprocketd. The defaults are in
// defaults.go, each a constant.
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
	DownloadTimeout time.Duration
	// DB_BULK_CONNS: connections that heavy work (chart reads, downloads,
	// write transactions) may hold at once; the rest of the pool is kept
	// for light reads. By default three quarters of DB_MAX_CONNS.
	DBBulkConns int
	// DB_OPERATION_CONNS: connections one GraphQL query may hold at once.
	// By default a quarter of DB_MAX_CONNS.
	DBOperationConns int
	// DB_DOWNLOAD_CONNS: turns of the bulk lane that downloads may hold at
	// once. By default a third of DB_BULK_CONNS.
	DBDownloadConns int
	// DOWNLOAD_BUFFER_BYTES: what one download reads ahead of its client;
	// DOWNLOAD_MEMORY_BYTES: what all downloads read ahead at once;
	// DOWNLOAD_MIN_RATE: the slowest (bytes a second) a client may take a
	// download before it is cut.
	DownloadBufferBytes int64
	DownloadMemoryBytes int64
	DownloadMinRate     int64
	// MAX_IN_FLIGHT: requests served at once (subscriptions and health
	// checks aside); more are answered 503 at once.
	MaxInFlight int
	Seed        bool // SEED (defaults from ENV)

	GraphQLIntrospection   bool // GRAPHQL_INTROSPECTION
	GraphQLComplexityLimit int  // GRAPHQL_COMPLEXITY_LIMIT
	GraphQLDepthLimit      int  // GRAPHQL_DEPTH_LIMIT
	GraphQLTokenLimit      int  // GRAPHQL_TOKEN_LIMIT
	// GRAPHQL_MAX_RESPONSE_BYTES: the answer budget of one operation;
	// GRAPHQL_RESPONSE_POOL_BYTES: that of all operations at once.
	GraphQLMaxResponseBytes  int64
	GraphQLResponsePoolBytes int64
	// GRAPHQL_COST_IN_FLIGHT: the cost of the operations that run at once.
	GraphQLCostInFlight int64
	// GRAPHQL_MAX_VARIABLE_VALUES: JSON values in one request body.
	GraphQLMaxVariableValues int
	// GRAPHQL_QUERY_CACHE_BYTES: memory for parsed documents;
	// GRAPHQL_APQ_CACHE_BYTES: for automatic persisted queries.
	GraphQLQueryCacheBytes int64
	GraphQLAPQCacheBytes   int64
	// GRAPHQL_MAX_STREAMS: operations that run at once over WebSockets
	// and server-sent events; GRAPHQL_STREAM_MEMORY_BYTES: the memory they
	// may hold.
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
	// of chart_data (PostgreSQL).
	PartitionsAhead int

	// GRAPHQL_METRIC_OPERATIONS: operation names counted under their own
	// name in sprocket_graphql_operations_total, besides the built-in ones.
	GraphQLMetricOperations []string
	WSInitTimeout           time.Duration // WS_INIT_TIMEOUT
	WSMaxConnections        int           // WS_MAX_CONNECTIONS
	WSMaxSubscriptions      int           // WS_MAX_SUBSCRIPTIONS
	LiveBufferPoints        int           // LIVE_BUFFER_POINTS

	// DATABASE_READ_URL: PostgreSQL hot standbys (comma-separated) that
	// serve the reads of read-only requests; empty: the primary serves all.
	DatabaseReadURLs []string
	// DATABASE_READ_MAX_LAG: a standby further behind the primary than
	// this is skipped.
	DatabaseReadMaxLag time.Duration
	// DATABASE_READ_WAIT: how long a read that must see a client's write
	// (it carries the write's Sprocket-LSN) waits for a standby to replay
	// it before it goes to the primary.
	DatabaseReadWait time.Duration
	// DATABASE_READ_CHECK_INTERVAL: how often the standbys' health and lag
	// are checked.
	DatabaseReadCheckInterval time.Duration
	// DATABASE_READ_TIMEOUT: how long a standby may take to answer a
	// check, a probe or a connection attempt before it is taken for
	// stopped and its waiting reads go to the primary.
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
