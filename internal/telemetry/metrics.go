package telemetry

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sprocketapi/sprocket/internal/lru"
)

// Metrics are the service's Prometheus metrics, on a registry of their own.
//
// Every label value comes from a bounded set, so that no client can create
// series at will: routes are route patterns (never raw paths), methods are
// the standard ones or "other" (Method), statuses are numbers, and
// GraphQL operation names are a fixed list or "other" (see graph).
type Metrics struct {
	Registry   *prometheus.Registry
	Requests   RequestCounter
	Duration   RequestHistogram
	Operations *prometheus.CounterVec

	held *heldCollector // caches and streams (ObserveCache, ObserveStreams)
}

// Method is the method label value of an HTTP request: one of the
// standard methods, or "other" for any other token a client sends.
func Method(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "other"
}

// RequestCounter is sprocket_http_requests_total, labelled by route
// pattern, method (bounded by Method) and status.
type RequestCounter struct{ *prometheus.CounterVec }

// WithLabelValues returns the counter of route, method and status.
func (c RequestCounter) WithLabelValues(route, method, status string) prometheus.Counter {
	return c.CounterVec.WithLabelValues(route, Method(method), status)
}

// RequestHistogram is sprocket_http_request_duration_seconds, labelled by
// route pattern and method (bounded by Method).
type RequestHistogram struct{ *prometheus.HistogramVec }

// WithLabelValues returns the histogram of route and method.
func (h RequestHistogram) WithLabelValues(route, method string) prometheus.Observer {
	return h.HistogramVec.WithLabelValues(route, Method(method))
}

// NewMetrics registers the metrics; db (may be nil) adds the pool
// statistics, subscribers (may be nil) the open subscriptions.
func NewMetrics(version string, db *sql.DB, subscribers func() int) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Requests: RequestCounter{prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sprocket_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"})},
		Duration: RequestHistogram{prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sprocket_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"})},
		Operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sprocket_graphql_operations_total",
			Help: "GraphQL operations by operation name (a known name, anonymous or other), type and outcome (ok or the first error code).",
		}, []string{"operation", "type", "outcome"}),
		held: &heldCollector{caches: map[string]func() lru.Stats{}},
	}
	reg.MustRegister(m.Requests, m.Duration, m.Operations, m.held,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "sprocket_build_info",
			Help:        "Build information; the value is always 1.",
			ConstLabels: prometheus.Labels{"version": version},
		}, func() float64 { return 1 }),
	)
	if db != nil {
		reg.MustRegister(collectors.NewDBStatsCollector(db, "sprocket"))
	}
	if subscribers != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sprocket_graphql_subscriptions_active",
			Help: "Open GraphQL subscriptions on this replica.",
		}, func() float64 { return float64(subscribers()) }))
	}
	return m
}
