package core

import (
	"context"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// The bulk lane shares the connection pool between heavy work and light
// work. Heavy work is every chart read (series, summaries, pages of
// points, streamed downloads) and every write transaction: at most
// SetBulkLane's n of them hold a connection at once, so that the rest of
// the pool stays free for light work (single sprockets and factories, the
// readiness ping), which is never queued behind a heavy query. A call
// waits for its turn until its context ends, then is SERVICE_UNAVAILABLE.
//
// A call made while its context already holds a turn (a chart read inside
// a mutation's transaction) does not take a second one, so the lane cannot
// deadlock on itself.
//
// The download lane is the share of the bulk lane that downloads may hold
// at once (SetDownloadLane): a download reads ahead into a bounded buffer
// and so holds its turn only while the database reads (see rest), but an
// answer larger than the buffer holds it while its client reads; however
// many such clients there are, the other heavy work keeps the rest of the
// bulk lane. A download takes its download turn first, then a bulk turn.

// lane is a bounded number of turns; a nil lane bounds nothing.
type lane struct {
	turns chan struct{}
	key   any    // marks a context that holds a turn
	msg   string // what a call that waited until its deadline is told
}

// newLane returns a lane of n turns; nil when n <= 0.
func newLane(n int, key any, msg string) *lane {
	if n <= 0 {
		return nil
	}
	return &lane{turns: make(chan struct{}, n), key: key, msg: msg}
}

// enter waits for a turn and returns the context to run the call with
// (marked as holding the turn) and the function that ends the turn. A
// context that holds a turn already enters at once; so does every call on
// a nil lane.
func (l *lane) enter(ctx context.Context) (context.Context, func(), error) {
	if l == nil || ctx.Value(l.key) != nil {
		return ctx, func() {}, nil
	}
	select {
	case l.turns <- struct{}{}:
	default:
		select {
		case l.turns <- struct{}{}:
		case <-ctx.Done():
			return ctx, nil, &apperr.Error{Code: apperr.Unavailable, Message: l.msg, Err: ctx.Err()}
		}
	}
	return context.WithValue(ctx, l.key, true), func() { <-l.turns }, nil
}

// held is how many turns are taken now.
func (l *lane) held() int {
	if l == nil {
		return 0
	}
	return len(l.turns)
}

type bulkKey struct{}

type downloadKey struct{}

const (
	msgBusyLane     = "The server is busy with other heavy requests; try again shortly."
	msgBusyDownload = "The server is busy with other downloads; try again shortly."
)

// SetBulkLane lets at most n heavy calls use the database at once; n <= 0
// lifts the bound. Call it before serving.
func (s *Service) SetBulkLane(n int) { s.lane = newLane(n, bulkKey{}, msgBusyLane) }

// SetDownloadLane lets at most n downloads (StreamSeries) use the
// database at once, each in a turn of the bulk lane too; n <= 0 lifts the
// bound. Call it before serving.
func (s *Service) SetDownloadLane(n int) { s.downloads = newLane(n, downloadKey{}, msgBusyDownload) }

// bulk waits for a turn in the bulk lane and returns the context to run
// the heavy call with and the function that ends the turn.
func (s *Service) bulk(ctx context.Context) (context.Context, func(), error) {
	return s.lane.enter(ctx)
}

// download waits for a turn in the download lane, then in the bulk lane.
func (s *Service) download(ctx context.Context) (context.Context, func(), error) {
	ctx, leave, err := s.downloads.enter(ctx)
	if err != nil {
		return ctx, nil, err
	}
	ctx, done, err := s.bulk(ctx)
	if err != nil {
		leave()
		return ctx, nil, err
	}
	return ctx, func() { done(); leave() }, nil
}
