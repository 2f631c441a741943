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

// SetBulkLane lets at most n heavy calls use the database at once; n <= 0
// lifts the bound. Call it before serving.
func (s *Service) SetBulkLane(n int) {
	if n <= 0 {
		s.lane = nil
		return
	}
	s.lane = make(chan struct{}, n)
}

type laneKey struct{}

const msgBusyLane = "The server is busy with other heavy requests; try again shortly."

// bulk waits for a turn in the bulk lane and returns the context to run
// the heavy call with and the function that ends the turn.
func (s *Service) bulk(ctx context.Context) (context.Context, func(), error) {
	if s.lane == nil || ctx.Value(laneKey{}) != nil {
		return ctx, func() {}, nil
	}
	select {
	case s.lane <- struct{}{}:
	default:
		select {
		case s.lane <- struct{}{}:
		case <-ctx.Done():
			return ctx, nil, &apperr.Error{Code: apperr.Unavailable, Message: msgBusyLane, Err: ctx.Err()}
		}
	}
	return context.WithValue(ctx, laneKey{}, true), func() { <-s.lane }, nil
}
