package replica

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// newMetrics makes the Set's counters and histogram.
func (s *Set) newMetrics() {
	s.reads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sprocket_replica_reads_total",
		Help: "Read-only requests whose reads were routed to a standby, by standby (its position in DATABASE_READ_URL).",
	}, []string{"standby"})
	s.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sprocket_replica_fallbacks_total",
		Help: "Reads sent to the primary instead of a standby, by reason: down (no standby up), lag (every one up could serve reads staler than DATABASE_READ_MAX_LAG), behind (none replayed the client's write within DATABASE_READ_WAIT), error (a standby failed mid-read, or was cut for not answering).",
	}, []string{"reason"})
	for _, r := range []string{ReasonDown, ReasonLag, ReasonBehind, ReasonError} {
		s.fallbacks.WithLabelValues(r)
	}
	s.polls = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sprocket_replica_polls_total",
		Help: "Queries of a standby's replay position made for reads that wait on it (shared among the reads waiting at once).",
	})
	s.waits = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sprocket_replica_wait_seconds",
		Help:    "How long reads that carried a Sprocket-LSN waited for a standby to replay it.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	s.cuts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sprocket_replica_cut_reads_total",
		Help: "Connections of reads that waited on a standby found not answering within DATABASE_READ_TIMEOUT, cut so that the reads go to the primary.",
	})
}

// Collectors are the Set's metrics, for a registry: reads and fallbacks
// counted, waits timed, and each standby's lag and state.
func (s *Set) Collectors() []prometheus.Collector {
	out := []prometheus.Collector{s.reads, s.fallbacks, s.waits, s.polls, s.cuts}
	for _, sb := range s.standbys {
		labels := prometheus.Labels{"standby": sb.name}
		out = append(out,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name:        "sprocket_replica_lag_seconds",
				Help:        "How stale a read the standby served now could be: the time since the latest moment as of which it is known to hold every committed write (each check renews it; reads skip the standby past DATABASE_READ_MAX_LAG).",
				ConstLabels: labels,
			}, func() float64 {
				if sb.fresh.Load() == 0 {
					return math.Inf(1)
				}
				return s.staleness(sb, time.Now()).Seconds()
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name:        "sprocket_replica_up",
				Help:        "1 when the standby answered the last check as a standby, else 0.",
				ConstLabels: labels,
			}, func() float64 {
				if sb.up.Load() {
					return 1
				}
				return 0
			}))
	}
	return out
}
