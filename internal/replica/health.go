package replica

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// A standby that stops answering (a stopped or hung machine: it accepts
// TCP connections and says nothing) is found by time, never by waiting for
// a failure: lib/pq ignores a statement's context while it waits on the
// server, so a failure would come only at the pool's stall limit, seconds
// past every client's deadline. Instead:
//
//   - every check, and the primary's position sample, runs on a small pool
//     of its own whose connection attempts, reads and statements all end
//     within Timeout, and a check that has no answer by then marks the
//     standby down as frozen;
//   - a read that has waited on a standby's connection for a quarter of
//     Timeout has the standby checked at once (watch), so a freeze is
//     found within about 1.5 × Timeout of a read meeting it;
//   - on a frozen standby, the connections whose reads wait are cut and no
//     new ones are made until a check finds it answering, so those reads
//     fail at once and run again on the primary (fallbackDriver). A read
//     that the standby had begun to answer (a row set half read, a
//     download's snapshot) fails instead, as any mid-read failure does.
//
// A statement that is merely slow on a live standby is left alone: its
// standby answers the check.

// Run checks the standbys every Interval until ctx ends (the first check
// runs at once), and watches their waiting reads.
func (s *Set) Run(ctx context.Context) {
	go s.watch(ctx)
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		s.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// watchGap is how often watch looks, and how long a read may wait on a
// standby before it has the standby checked.
func (s *Set) watchGap() time.Duration { return s.opts.Timeout / 4 }

// watch looks for reads waiting on the standbys every watchGap: a standby
// up with a read waiting longer is checked at once; on one found frozen,
// reads that have waited that long since are cut.
func (s *Set) watch(ctx context.Context) {
	gap := s.watchGap()
	t := time.NewTicker(gap)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, sb := range s.standbys {
			switch {
			case sb.frozen.Load():
				s.cut(sb)
			case sb.up.Load() && sb.conns.Waiting(gap) && sb.probing.CompareAndSwap(false, true):
				go func() {
					defer sb.probing.Store(false)
					s.checkStandby(ctx, sb)
					s.refresh(sb)
				}()
			}
		}
	}
}

// Check samples the primary's log position and asks each standby for its
// replay position, all at once and each within Timeout, then updates which
// standbys are up and as of when each holds every committed write (see
// fresh.go). This holds even when the standby's link to the primary is
// broken, when the standby's own view (receive = replay) would say it is
// current.
func (s *Set) Check(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.sample(ctx) })
	for _, sb := range s.standbys {
		wg.Go(func() { s.checkStandby(ctx, sb) })
	}
	wg.Wait()
	for _, sb := range s.standbys {
		s.refresh(sb)
	}
}

// sample records the primary's position, with the time before it was
// asked.
func (s *Set) sample(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	at := time.Now()
	if lsn, err := PrimaryLSN(ctx, s.sampler.SQL); err == nil {
		s.history.add(at, lsn)
		s.newest.Raise(lsn)
	}
}

// standbyState is what a check reads of a standby.
type standbyState struct {
	recovering bool
	replayed   LSN
}

// checkStandby asks sb whether it is a standby and how far it replayed,
// in one query shared by the callers at the time, and marks it up or
// down; no answer within Timeout marks it frozen.
func (s *Set) checkStandby(ctx context.Context, sb *Standby) {
	done := sb.checks.DoChan("check", func() (any, error) {
		qctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
		defer cancel()
		var st standbyState
		err := sb.check.SQL.QueryRowContext(qctx, `SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()`).Scan(&st.recovering, &st.replayed)
		return st, err
	})
	wait := time.NewTimer(s.opts.Timeout)
	defer wait.Stop()
	var res struct {
		Val any
		Err error
	}
	select {
	case r := <-done:
		res.Val, res.Err = r.Val, r.Err
	case <-wait.C:
		res.Err = context.DeadlineExceeded
	case <-ctx.Done():
		return
	}
	st, _ := res.Val.(standbyState)
	switch {
	case res.Err != nil && isTimeout(res.Err):
		s.markFrozen(sb, res.Err)
	case res.Err != nil:
		s.markDown(sb, "the standby does not answer", res.Err)
	case !st.recovering || st.replayed == 0:
		// Promoted, or a primary listed by mistake: its positions are
		// not the primary's, so no read can be checked against them.
		// The next check dials afresh: a multi-host URL then reaches
		// the standby a failover left, if any.
		s.markDown(sb, "the server is not a streaming standby", nil)
		sb.db.DropIdle()
		sb.check.DropIdle()
	default:
		sb.replayed.Raise(st.replayed)
		sb.checked.Store(true)
		if sb.frozen.Swap(false) {
			sb.conns.Restore()
		}
		if !sb.up.Swap(true) {
			s.opts.Logger.Info("standby up", "standby", sb.name, "database", sb.safe)
		}
	}
}

// isTimeout reports whether err is a wait that ran out of time: the
// standby did not answer, as opposed to refusing or failing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// markDown takes sb out of rotation until a check finds it up. It says
// so once: when the standby goes down, or when the first check finds it
// down (a standby that never answered, or a primary listed by mistake).
func (s *Set) markDown(sb *Standby, why string, err error) {
	if sb.up.Swap(false) || !sb.checked.Swap(true) {
		s.opts.Logger.Warn("standby down: reads go to the primary", "standby", sb.name, "database", sb.safe, "reason", why, "error", err)
	}
}

// markFrozen marks sb down for not answering within Timeout, and cuts the
// reads waiting on it.
func (s *Set) markFrozen(sb *Standby, err error) {
	s.markDown(sb, "the standby did not answer within DATABASE_READ_TIMEOUT", err)
	sb.frozen.Store(true)
	s.cut(sb)
}

// cut ends the reads that have waited on frozen sb for watchGap, and
// refuses new connections to it.
func (s *Set) cut(sb *Standby) {
	if n := sb.conns.Cut(s.watchGap()); n > 0 {
		s.cuts.Add(float64(n))
	}
}

// waitFor polls sb until it has replayed need, for at most Wait (and
// within ctx).
func (s *Set) waitFor(ctx context.Context, sb *Standby, need LSN) bool {
	if s.opts.Wait <= 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Wait)
	defer cancel()
	pause := 500 * time.Microsecond
	for {
		if err := s.poll(ctx, sb); err != nil {
			return false
		}
		if sb.replayed.Load() >= need {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// minPollGap is the least time between two queries of a standby's replay
// position: however many reads wait on it (a client could send many that
// carry a fresh position), it answers at most one every minPollGap.
const minPollGap = 2 * time.Millisecond

// poll reads the standby's replay position, in one query (on its check
// pool, within Timeout) for all the reads that wait on it at the time, and
// not again within minPollGap of the last answer (the position it gave
// stands meanwhile).
func (s *Set) poll(ctx context.Context, sb *Standby) error {
	if time.Since(time.Unix(0, sb.polled.Load())) < minPollGap {
		return nil
	}
	done := sb.polls.DoChan("replay", func() (any, error) {
		qctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
		defer cancel()
		s.polls.Inc()
		var replayed LSN
		err := sb.check.SQL.QueryRowContext(qctx, `SELECT pg_last_wal_replay_lsn()`).Scan(&replayed)
		sb.polled.Store(time.Now().UnixNano())
		if err != nil {
			return nil, err
		}
		sb.replayed.Raise(replayed)
		s.refresh(sb)
		return nil, nil
	})
	select {
	case res := <-done:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}
