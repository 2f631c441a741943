package rest

import (
	"bufio"
	"net/http"
	"strconv"

	"github.com/sprocketapi/sprocket/internal/core"
)

// The legacy factory shape is columnar (all actual values, then all goals,
// then all times), and points come from the database as rows. A
// factoryWriter writes each actual value as its row arrives and keeps only
// goal and time (16 bytes a point) until the factory ends, so a series of
// millions of points streams in one pass over one consistent query, with
// memory bounded by the largest series, not by the response.
type factoryWriter struct {
	out   *bufio.Writer
	sent  *sentWriter
	buf   []byte
	goals []float64
	times []int64
	first bool
}

// sentWriter notes whether anything reached the client, after which an
// error can no longer become an error answer.
type sentWriter struct {
	w    http.ResponseWriter
	sent bool
}

func (s *sentWriter) Write(p []byte) (int, error) {
	if !s.sent {
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
		s.sent = true
	}
	return s.w.Write(p)
}

func newFactoryWriter(w http.ResponseWriter) *factoryWriter {
	sw := &sentWriter{w: w}
	return &factoryWriter{out: bufio.NewWriterSize(sw, 64<<10), sent: sw, buf: make([]byte, 0, 64)}
}

func (fw *factoryWriter) raw(s string) { _, _ = fw.out.WriteString(s) }

func (fw *factoryWriter) begin() {
	fw.raw(`{"chart_data":{"sprocket_production_actual":[`)
	fw.goals, fw.times, fw.first = fw.goals[:0], fw.times[:0], true
}

func (fw *factoryWriter) point(p core.Point) {
	fw.buf = fw.buf[:0]
	if !fw.first {
		fw.buf = append(fw.buf, ',')
	}
	fw.first = false
	fw.buf = appendNumber(fw.buf, p.Actual)
	_, _ = fw.out.Write(fw.buf)
	fw.goals = append(fw.goals, p.Goal)
	fw.times = append(fw.times, p.Time)
}

func (fw *factoryWriter) end(id int) {
	fw.raw(`],"sprocket_production_goal":[`)
	for i, g := range fw.goals {
		fw.buf = fw.buf[:0]
		if i > 0 {
			fw.buf = append(fw.buf, ',')
		}
		_, _ = fw.out.Write(appendNumber(fw.buf, g))
	}
	fw.raw(`],"time":[`)
	for i, t := range fw.times {
		fw.buf = fw.buf[:0]
		if i > 0 {
			fw.buf = append(fw.buf, ',')
		}
		_, _ = fw.out.Write(strconv.AppendInt(fw.buf, t, 10))
	}
	fw.raw(`]},"id":`)
	fw.raw(strconv.Itoa(id))
	fw.raw(`}`)
}

// fail answers err when nothing has been sent yet; otherwise the answer
// is already under way and the connection is aborted, so that the client
// sees a broken response rather than a truncated one that parses.
func (fw *factoryWriter) fail(w http.ResponseWriter, r *http.Request, err error) {
	if !fw.sent.sent {
		fw.out.Reset(fw.sent)
		WriteError(w, r, err)
		return
	}
	panic(http.ErrAbortHandler)
}

// streamFactories writes {"factories":[...]} for ids (nil: every factory)
// from one ordered scan of their points.
func (h *handler) streamFactories(w http.ResponseWriter, r *http.Request, ids []int, single bool) {
	all := ids == nil
	if all {
		var err error
		if ids, err = h.svc.FactoryIDs(r.Context()); err != nil {
			WriteError(w, r, err)
			return
		}
	}
	fw := newFactoryWriter(w)
	if !single {
		fw.raw(`{"factories":[`)
	}
	next := 0 // index in ids of the factory being written
	open := false
	// closeUpTo finishes the open factory and writes the empty ones before
	// factory id (all remaining when id < 0).
	closeUpTo := func(id int) {
		for next < len(ids) && (id < 0 || ids[next] < id) {
			if !open {
				if next > 0 {
					fw.raw(",")
				}
				fw.begin()
			}
			fw.end(ids[next])
			open = false
			next++
		}
	}
	scanIDs := ids
	if all {
		scanIDs = nil
	}
	err := h.svc.ScanPoints(r.Context(), scanIDs, func(fid int, p core.Point) error {
		if next < len(ids) && ids[next] == fid && open {
			fw.point(p)
			return nil
		}
		closeUpTo(fid)
		if next >= len(ids) || ids[next] != fid {
			return nil // a factory created after the id list was read
		}
		if next > 0 {
			fw.raw(",")
		}
		fw.begin()
		open = true
		fw.point(p)
		return nil
	})
	if err != nil {
		fw.fail(w, r, err)
		return
	}
	closeUpTo(-1)
	if single {
		fw.raw("\n")
	} else {
		fw.raw("]}\n")
	}
	if err := fw.out.Flush(); err != nil {
		panic(http.ErrAbortHandler)
	}
}
