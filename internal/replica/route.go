package replica

import (
	"context"
	"time"

	"github.com/sprocketapi/sprocket/internal/database"
)

// Route returns ctx with its reads routed to a standby that has replayed
// at least need (0: any) and the migrations (floor), or ctx unchanged (the
// primary) when none is up, within the staleness bound and caught up
// within the wait. A read that must wait polls the most advanced standby.
func (s *Set) Route(ctx context.Context, need LSN) context.Context {
	if len(s.standbys) == 0 {
		return ctx
	}
	need = max(need, s.floor)
	now := time.Now()
	var best *Standby
	anyUp := false
	start := int(s.next.Add(1))
	for i := range s.standbys {
		sb := s.standbys[(start+i)%len(s.standbys)]
		if !sb.up.Load() {
			continue
		}
		anyUp = true
		if s.staleness(sb, now) > s.opts.MaxLag {
			continue
		}
		if sb.replayed.Load() >= need {
			return s.use(ctx, sb)
		}
		if best == nil || sb.replayed.Load() > best.replayed.Load() {
			best = sb
		}
	}
	switch {
	case best == nil && !anyUp:
		return s.fallback(ctx, ReasonDown)
	case best == nil:
		return s.fallback(ctx, ReasonLag)
	}
	begun := time.Now()
	ok := s.waitFor(ctx, best, need)
	s.waits.Observe(time.Since(begun).Seconds())
	switch {
	case !ok:
		return s.fallback(ctx, ReasonBehind)
	case s.staleness(best, time.Now()) > s.opts.MaxLag:
		// It aged past the bound while the read waited.
		return s.fallback(ctx, ReasonLag)
	}
	return s.use(ctx, best)
}

func (s *Set) use(ctx context.Context, sb *Standby) context.Context {
	s.reads.WithLabelValues(sb.name).Inc()
	return database.WithReader(ctx, sb.reader)
}

func (s *Set) fallback(ctx context.Context, reason string) context.Context {
	s.fallbacks.WithLabelValues(reason).Inc()
	return ctx
}
