package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// seriesWriter writes the legacy factory shape into a download's spool as
// the core streams a series: it is a core.SeriesResetter. Numbers are
// copied as the database printed them: parsing and re-formatting them was
// most of the cost.
type seriesWriter struct {
	out    *spool
	single bool // one factory alone, not in {"factories":[...]}
	keep   int64
	count  int // factories begun
	id     int
	first  bool // no value yet in the current column
}

// newSeriesWriter writes one factory alone when single is set, else the
// {"factories":[...]} list. A single answer no longer than keep bytes is
// copied for the cache.
func newSeriesWriter(out *spool, single bool, keep int64) *seriesWriter {
	return &seriesWriter{out: out, single: single, keep: keep}
}

var columnHeads = [...]string{
	core.ColumnActual: `{"chart_data":{"sprocket_production_actual":[`,
	core.ColumnGoal:   `],"sprocket_production_goal":[`,
	core.ColumnTime:   `],"time":[`,
}

// BeginFactory implements core.SeriesSink.
func (s *seriesWriter) BeginFactory(id int, n int64) error {
	switch {
	case s.single:
		// Copy the answer for the cache only when it will fit: a copy of
		// a series too large to keep would only raise the peak memory.
		if n >= 0 && n*bytesPerPoint <= s.keep {
			s.out.keep = s.keep
		}
	case s.count == 0:
		_, _ = s.out.WriteString(`{"factories":[`)
	default:
		_ = s.out.WriteByte(',')
	}
	s.count++
	s.id = id
	return nil
}

// Column implements core.SeriesSink.
func (s *seriesWriter) Column(c core.SeriesColumn) error {
	_, err := s.out.WriteString(columnHeads[c])
	s.first = true
	return err
}

// Value implements core.SeriesSink.
func (s *seriesWriter) Value(raw []byte) error {
	if !s.first {
		_ = s.out.WriteByte(',')
	}
	s.first = false
	_, err := s.out.Write(raw)
	return err
}

// EndFactory implements core.SeriesSink.
func (s *seriesWriter) EndFactory() error {
	_, err := s.out.WriteString(`]},"id":` + strconv.Itoa(s.id) + `}`)
	return err
}

// Reset implements core.SeriesResetter: the answer starts again, when
// nothing of it has gone to the client.
func (s *seriesWriter) Reset() bool {
	if !s.out.Reset() {
		return false
	}
	s.count, s.id, s.first = 0, 0, false
	return true
}

// finish ends the answer.
func (s *seriesWriter) finish() error {
	var err error
	switch {
	case s.single:
		err = s.out.WriteByte('\n')
	case s.count == 0:
		_, err = s.out.WriteString("{\"factories\":[]}\n")
	default:
		_, err = s.out.WriteString("]}\n")
	}
	return err
}

const msgDownloadDeadline = "The download did not finish within its deadline; try again shortly."

// stream answers with the series of ids (nil: every factory) and returns
// the copy kept for the cache. The core writes the answer into a spool in
// a goroutine of its own while this one hands it to the client (see
// download.go). An error before anything was sent becomes an error
// answer; after, the connection is aborted, so that the client sees a
// broken response rather than a truncated one that parses.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, ids []int, keep int64) []byte {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sp, err := h.downloads.open(ctx)
	if err != nil {
		WriteError(w, r, err)
		return nil
	}
	defer sp.release()
	sw := newSeriesWriter(sp, ids != nil, keep)
	type outcome struct {
		err      error
		panicked any
	}
	produced := make(chan outcome, 1)
	go func() {
		var out outcome
		defer func() {
			if v := recover(); v != nil {
				out.panicked = v
				sp.close(fmt.Errorf("rest: the download panicked: %v", v))
			}
			produced <- out
		}()
		out.err = h.svc.StreamSeries(ctx, ids, sw)
		if out.err == nil {
			out.err = sw.finish()
		}
		sp.close(out.err)
	}()
	err = sp.drain(ctx, w)
	if err != nil {
		cancel() // the writer stops waiting for room
	}
	p := <-produced
	if p.panicked != nil {
		panic(p.panicked)
	}
	if err == nil {
		return sp.copy()
	}
	if p.err != nil {
		err = p.err
	}
	if !sp.answered() {
		if apperr.CodeOf(err) == apperr.Internal && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			err = &apperr.Error{Code: apperr.Unavailable, Message: msgDownloadDeadline, Err: err}
		}
		WriteError(w, r, err)
		return nil
	}
	panic(http.ErrAbortHandler)
}

var _ core.SeriesResetter = (*seriesWriter)(nil)
