package rest

import (
	"bufio"
	"net/http"
	"strconv"

	"github.com/sprocketapi/sprocket/internal/core"
)

// seriesWriter writes the legacy factory shape as the core streams a
// series: it is a core.SeriesSink. Numbers are copied as the database
// printed them: parsing and re-formatting them was most of the cost.
type seriesWriter struct {
	out    *bufio.Writer
	sent   *sentWriter
	single bool // one factory alone, not in {"factories":[...]}
	keep   int64
	count  int // factories begun
	id     int
	first  bool // no value yet in the current column
}

// sentWriter notes whether anything reached the client, after which an
// error can no longer become an error answer. It can also keep a copy of
// the answer, up to a size, for the cache.
type sentWriter struct {
	w    http.ResponseWriter
	sent bool

	keep     int64 // how much of the answer to copy (0: none)
	copy     []byte
	overflow bool
}

func (s *sentWriter) Write(p []byte) (int, error) {
	if !s.sent {
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
		s.sent = true
	}
	if s.keep > 0 && !s.overflow {
		if int64(len(s.copy)+len(p)) > s.keep {
			s.overflow, s.copy = true, nil
		} else {
			s.copy = append(s.copy, p...)
		}
	}
	return s.w.Write(p)
}

// newSeriesWriter writes one factory alone when single is set, else the
// {"factories":[...]} list. A single answer no longer than keep bytes is
// copied for the cache.
func newSeriesWriter(w http.ResponseWriter, single bool, keep int64) *seriesWriter {
	sw := &sentWriter{w: w}
	return &seriesWriter{out: bufio.NewWriterSize(sw, 64<<10), sent: sw, single: single, keep: keep}
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
			s.sent.keep = s.keep
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

// finish ends the answer and returns the copy kept for the cache, if any.
func (s *seriesWriter) finish() ([]byte, error) {
	switch {
	case s.single:
		_ = s.out.WriteByte('\n')
	case s.count == 0:
		_, _ = s.out.WriteString("{\"factories\":[]}\n")
	default:
		_, _ = s.out.WriteString("]}\n")
	}
	if err := s.out.Flush(); err != nil {
		return nil, err
	}
	if s.sent.overflow {
		return nil, nil
	}
	return s.sent.copy, nil
}

// stream answers with the series of ids (nil: every factory) and returns
// the copy kept for the cache. An error before anything was sent becomes
// an error answer; after, the connection is aborted, so that the client
// sees a broken response rather than a truncated one that parses.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, ids []int, keep int64) []byte {
	sw := newSeriesWriter(w, ids != nil, keep)
	err := h.svc.StreamSeries(r.Context(), ids, sw)
	if err == nil {
		var body []byte
		if body, err = sw.finish(); err == nil {
			return body
		}
	}
	if !sw.sent.sent {
		WriteError(w, r, err)
		return nil
	}
	panic(http.ErrAbortHandler)
}

var _ core.SeriesSink = (*seriesWriter)(nil)
