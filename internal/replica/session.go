package replica

import (
	"context"
	"errors"
	"time"
)

// Header is how a client reads its own writes: the answer to a write
// carries the primary's log position after it, and a read that sends it
// back is served by a standby that has replayed it (or by the primary).
// GraphQL mutations also answer it as extensions.lsn.
const Header = "Sprocket-LSN"

// session is what a request (or a WebSocket connection, whose operations
// share its upgrade request's context) knows of positions: the one its
// client sent, and the one after its latest write.
type session struct {
	need  LSN
	write bool
	wrote Newest
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// ErrAhead is a Sprocket-LSN past the primary's own position: no write
// answered it, and a read that waited for it would wait in vain.
var ErrAhead = errors.New("the log position is ahead of the primary's: send back one a write answered")

// Begin starts the request's session from the value of its Header ("" for
// none); write marks a request that writes (its answer reports the
// position after it). A value that is not a position, or one past the
// primary's (ErrAhead), is the client's error: each read that carries it
// would otherwise wait DATABASE_READ_WAIT for nothing.
func (s *Set) Begin(ctx context.Context, header string, write bool) (context.Context, error) {
	ss := &session{write: write}
	if header != "" {
		l, err := ParseLSN(header)
		if err != nil {
			return ctx, err
		}
		if err := s.notAhead(ctx, l); err != nil {
			return ctx, err
		}
		ss.need = l
	}
	return context.WithValue(ctx, sessionKey{}, ss), nil
}

// notAhead checks l against the newest primary position this process
// knows (its checks and its writes' answers), and asks the primary only
// when l is newer: a write through another sprocketd, or a forged value.
func (s *Set) notAhead(ctx context.Context, l LSN) error {
	if l <= s.newest.Load() {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	cur, err := PrimaryLSN(qctx, s.primary)
	if err != nil {
		// Not the client's fault: the read goes on and, if no standby
		// has replayed l within the wait, to the primary.
		return nil
	}
	s.newest.Raise(cur)
	if l > cur {
		return ErrAhead
	}
	return nil
}

// RouteRead routes the reads of ctx's request (or operation) to a
// standby that has replayed everything its client must see: the position
// it sent and its own writes.
func (s *Set) RouteRead(ctx context.Context) context.Context {
	var need LSN
	if ss := sessionFrom(ctx); ss != nil {
		need = max(ss.need, ss.wrote.Load())
	}
	return s.Route(ctx, need)
}

// reportTimeout bounds the query of the primary's position after a write.
const reportTimeout = time.Second

// Wrote records that ctx's request (or operation) has written and
// committed, and returns the primary's position after it, which covers
// the write; 0 when the primary does not tell it in time (the client then
// gets no position to send back, and its reads may lag).
func (s *Set) Wrote(ctx context.Context) LSN {
	ss := sessionFrom(ctx)
	if ss == nil {
		return 0
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
	defer cancel()
	l, err := PrimaryLSN(qctx, s.primary)
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "reading the primary's log position after a write", "error", err)
		return 0
	}
	ss.wrote.Raise(l)
	s.newest.Raise(l)
	return l
}

// Reported is the position a successful answer to ctx's request names:
// the one its operations recorded with Wrote, else, for a request that
// writes, the primary's position now (its write has committed by the time
// it answers); 0 for a read.
func (s *Set) Reported(ctx context.Context) LSN {
	ss := sessionFrom(ctx)
	if ss == nil {
		return 0
	}
	if l := ss.wrote.Load(); l != 0 {
		return l
	}
	if ss.write {
		return s.Wrote(ctx)
	}
	return 0
}
