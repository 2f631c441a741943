package telemetry

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sprocketapi/sprocket/internal/lru"
)

// StreamStats is what the GraphQL operations that run over WebSockets and
// server-sent events hold (see gqlhttp's stream budget).
type StreamStats struct {
	Open, MaxOpen int   // operations running, and their limit
	Bytes, Budget int64 // memory charged to them, and its limit
	// Refused counts operations refused: CountRefused for the limit on
	// their number, MemoryRefused for the memory budget.
	CountRefused, MemoryRefused int64
}

// heldCollector reports what the server holds over time: its caches (by
// name) and its streamed operations, read from their owners at each
// scrape.
type heldCollector struct {
	mu      sync.Mutex
	caches  map[string]func() lru.Stats
	streams func() StreamStats
}

var (
	cacheBytes     = prometheus.NewDesc("sprocket_cache_bytes", "Bytes charged to the entries a cache holds (contents and overhead).", []string{"cache"}, nil)
	cacheBudget    = prometheus.NewDesc("sprocket_cache_budget_bytes", "The byte budget of a cache.", []string{"cache"}, nil)
	cacheEntries   = prometheus.NewDesc("sprocket_cache_entries", "Entries a cache holds.", []string{"cache"}, nil)
	cacheEvictions = prometheus.NewDesc("sprocket_cache_evictions_total", "Entries dropped from a cache to make room.", []string{"cache"}, nil)
	cacheRefusals  = prometheus.NewDesc("sprocket_cache_refusals_total", "Entries not kept because they were larger than the cache keeps.", []string{"cache"}, nil)

	streamsOpen    = prometheus.NewDesc("sprocket_graphql_streams", "GraphQL operations running over WebSockets and server-sent events.", nil, nil)
	streamsMax     = prometheus.NewDesc("sprocket_graphql_streams_limit", "The limit on GraphQL operations running over WebSockets and server-sent events (GRAPHQL_MAX_STREAMS).", nil, nil)
	streamBytes    = prometheus.NewDesc("sprocket_graphql_stream_bytes", "Memory charged to the GraphQL operations running over WebSockets and server-sent events, and to the points waiting for subscribers.", nil, nil)
	streamBudget   = prometheus.NewDesc("sprocket_graphql_stream_budget_bytes", "The memory budget of streamed GraphQL operations (GRAPHQL_STREAM_MEMORY_BYTES).", nil, nil)
	streamRefusals = prometheus.NewDesc("sprocket_graphql_stream_refusals_total", "Streamed GraphQL operations refused, by the limit that was full (count or memory).", []string{"limit"}, nil)
)

func (c *heldCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cacheBytes, cacheBudget, cacheEntries, cacheEvictions, cacheRefusals,
		streamsOpen, streamsMax, streamBytes, streamBudget, streamRefusals} {
		ch <- d
	}
}

func (c *heldCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	caches := make(map[string]func() lru.Stats, len(c.caches))
	for k, v := range c.caches {
		caches[k] = v
	}
	streams := c.streams
	c.mu.Unlock()
	for name, stats := range caches {
		s := stats()
		ch <- prometheus.MustNewConstMetric(cacheBytes, prometheus.GaugeValue, float64(s.Bytes), name)
		ch <- prometheus.MustNewConstMetric(cacheBudget, prometheus.GaugeValue, float64(s.Budget), name)
		ch <- prometheus.MustNewConstMetric(cacheEntries, prometheus.GaugeValue, float64(s.Entries), name)
		ch <- prometheus.MustNewConstMetric(cacheEvictions, prometheus.CounterValue, float64(s.Evictions), name)
		ch <- prometheus.MustNewConstMetric(cacheRefusals, prometheus.CounterValue, float64(s.Refusals), name)
	}
	if streams != nil {
		s := streams()
		ch <- prometheus.MustNewConstMetric(streamsOpen, prometheus.GaugeValue, float64(s.Open))
		ch <- prometheus.MustNewConstMetric(streamsMax, prometheus.GaugeValue, float64(s.MaxOpen))
		ch <- prometheus.MustNewConstMetric(streamBytes, prometheus.GaugeValue, float64(s.Bytes))
		ch <- prometheus.MustNewConstMetric(streamBudget, prometheus.GaugeValue, float64(s.Budget))
		ch <- prometheus.MustNewConstMetric(streamRefusals, prometheus.CounterValue, float64(s.CountRefused), "count")
		ch <- prometheus.MustNewConstMetric(streamRefusals, prometheus.CounterValue, float64(s.MemoryRefused), "memory")
	}
}

// ObserveCache reports the cache called name (query, apq, series) in the
// sprocket_cache_* metrics, read from stats at each scrape; a later call
// with the same name replaces it. A nil m observes nothing.
func (m *Metrics) ObserveCache(name string, stats func() lru.Stats) {
	if m == nil {
		return
	}
	m.held.mu.Lock()
	defer m.held.mu.Unlock()
	m.held.caches[name] = stats
}

// ObserveStreams reports the streamed GraphQL operations in the
// sprocket_graphql_stream* metrics, read from stats at each scrape. A nil
// m observes nothing.
func (m *Metrics) ObserveStreams(stats func() StreamStats) {
	if m == nil {
		return
	}
	m.held.mu.Lock()
	defer m.held.mu.Unlock()
	m.held.streams = stats
}
