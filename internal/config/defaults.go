package config

import (
	"log/slog"
	"time"
)

// The defaults, one constant each. load starts from them (defaults), and
// the packages that give a setting left at zero its default (gqlhttp,
// replica, rest, live) read it from here, so each number has one owner.
// Why a limit is what it is is said where it is applied (gqlhttp's
// Default*, for instance).
const (
	DefaultPort             = 8080
	DefaultMaxBody          = 8 << 20
	DefaultDBMaxConns       = 16
	DefaultDBTimeout        = 10 * time.Second
	DefaultDownloadTimeout  = 60 * time.Second
	DefaultMaxInFlight      = 512
	DefaultShutdownGrace    = 20 * time.Second
	DefaultDatabaseWait     = 30 * time.Second
	DefaultSeriesCacheBytes = 32 << 20
	// DefaultLiveBufferPoints is live.DefaultBuffer, the largest batch a
	// write records (a test holds them equal).
	DefaultLiveBufferPoints = 100000

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

// DefaultCORSOrigins are the origins of the legacy dashboard's development
// server, which the legacy service allowed.
var DefaultCORSOrigins = []string{"http://127.0.0.1:3000", "http://localhost:3000"}

// defaults is the configuration before the environment is read. The
// defaults that depend on other settings are applied by load: DATABASE_URL
// and SEED follow ENV, LOG_FORMAT follows ENV, and the pool's shares
// (DB_BULK_CONNS, DB_OPERATION_CONNS, DB_DOWNLOAD_CONNS) follow
// DB_MAX_CONNS.
func defaults() Config {
	return Config{
		Port:            DefaultPort,
		CORSOrigins:     append([]string(nil), DefaultCORSOrigins...),
		MaxBody:         DefaultMaxBody,
		LogLevel:        slog.LevelInfo,
		DBMaxConns:      DefaultDBMaxConns,
		DBTimeout:       DefaultDBTimeout,
		DownloadTimeout: DefaultDownloadTimeout,
		MaxInFlight:     DefaultMaxInFlight,
		ShutdownGrace:   DefaultShutdownGrace,
		DatabaseWait:    DefaultDatabaseWait,

		SeriesCacheBytes: DefaultSeriesCacheBytes,
		LiveBufferPoints: DefaultLiveBufferPoints,
		PartitionsAhead:  DefaultPartitionsAhead,

		GraphQLIntrospection:     true,
		GraphQLComplexityLimit:   DefaultGraphQLComplexityLimit,
		GraphQLDepthLimit:        DefaultGraphQLDepthLimit,
		GraphQLTokenLimit:        DefaultGraphQLTokenLimit,
		GraphQLMaxResponseBytes:  DefaultGraphQLMaxResponseBytes,
		GraphQLResponsePoolBytes: DefaultGraphQLResponsePoolBytes,
		GraphQLCostInFlight:      DefaultGraphQLCostInFlight,
		GraphQLMaxVariableValues: DefaultGraphQLMaxVariableValues,
		GraphQLQueryCacheBytes:   DefaultGraphQLQueryCacheBytes,
		GraphQLAPQCacheBytes:     DefaultGraphQLAPQCacheBytes,
		GraphQLMaxStreams:        DefaultGraphQLMaxStreams,
		GraphQLStreamMemoryBytes: DefaultGraphQLStreamMemoryBytes,
		WSInitTimeout:            DefaultWSInitTimeout,
		WSMaxConnections:         DefaultWSMaxConnections,
		WSMaxSubscriptions:       DefaultWSMaxSubscriptions,

		DownloadBufferBytes: DefaultDownloadBufferBytes,
		DownloadMemoryBytes: DefaultDownloadMemoryBytes,
		DownloadMinRate:     DefaultDownloadMinRate,

		DatabaseReadMaxLag:        DefaultDatabaseReadMaxLag,
		DatabaseReadWait:          DefaultDatabaseReadWait,
		DatabaseReadCheckInterval: DefaultDatabaseReadCheckInterval,
		DatabaseReadTimeout:       DefaultDatabaseReadTimeout,
	}
}
