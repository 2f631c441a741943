package replica

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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
