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
// the goal and time columns (their text, about 20 bytes a point) until the
// factory ends, so a series of millions of points streams in one pass over
// one consistent query, with memory bounded by the largest series, not by
// the response. Numbers are copied as the database printed them: parsing
// and re-formatting them was most of the cost.
type factoryWriter struct {
	out   *bufio.Writer
	sent  *sentWriter
	goals []byte // the goal column so far, comma-separated
	times []byte // the time column so far
	first bool
}

// sentWriter notes whether anything reached the client, after which an
// error can no longer become an error answer.
// It can also keep a copy of the answer, up to a size, for the cache.
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

func newFactoryWriter(w http.ResponseWriter) *factoryWriter {
	sw := &sentWriter{w: w}
	return &factoryWriter{out: bufio.NewWriterSize(sw, 64<<10), sent: sw}
}

func (fw *factoryWriter) raw(s string) { _, _ = fw.out.WriteString(s) }

func (fw *factoryWriter) begin() {
	fw.raw(`{"chart_data":{"sprocket_production_actual":[`)
	fw.goals, fw.times, fw.first = fw.goals[:0], fw.times[:0], true
}

func (fw *factoryWriter) point(p core.RawPoint) {
	if !fw.first {
		_ = fw.out.WriteByte(',')
		fw.goals = append(fw.goals, ',')
		fw.times = append(fw.times, ',')
	}
	fw.first = false
	_, _ = fw.out.Write(p.Actual)
	fw.goals = append(fw.goals, p.Goal...)
	fw.times = append(fw.times, p.Time...)
}

func (fw *factoryWriter) end(id int) {
	fw.raw(`],"sprocket_production_goal":[`)
	_, _ = fw.out.Write(fw.goals)
	fw.raw(`],"time":[`)
	_, _ = fw.out.Write(fw.times)
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
// from one ordered scan of their points; single writes the one factory of
// ids alone, and then keep > 0 returns a copy of the answer when it is no
// longer than keep bytes.
func (h *handler) streamFactories(w http.ResponseWriter, r *http.Request, ids []int, single bool, keep int64) []byte {
	all := ids == nil
	if all {
		var err error
		if ids, err = h.svc.FactoryIDs(r.Context()); err != nil {
			WriteError(w, r, err)
			return nil
		}
	}
	fw := newFactoryWriter(w)
	fw.sent.keep = keep
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
	err := h.svc.ScanRawPoints(r.Context(), scanIDs, func(fid int, p core.RawPoint) error {
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
		return nil
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
	if fw.sent.overflow {
		return nil
	}
	return fw.sent.copy
}

// columnsFrom is the size from which, on PostgreSQL, a factory is written
// column by column from one snapshot instead of buffering two columns:
// memory stays flat for any size, at the price of three index passes.
const columnsFrom = 250_000

// streamColumns writes factory id's answer one column at a time.
func (h *handler) streamColumns(w http.ResponseWriter, r *http.Request, id int) {
	sw := &sentWriter{w: w}
	out := bufio.NewWriterSize(sw, 64<<10)
	first := true
	heads := []string{`{"chart_data":{"sprocket_production_actual":[`, `],"sprocket_production_goal":[`, `],"time":[`}
	err := h.svc.ScanSeriesColumns(r.Context(), id,
		func(col int) error {
			_, _ = out.WriteString(heads[col])
			first = true
			return nil
		},
		func(raw []byte) error {
			if !first {
				_ = out.WriteByte(',')
			}
			first = false
			_, err := out.Write(raw)
			return err
		})
	if err != nil {
		if !sw.sent {
			WriteError(w, r, err)
			return
		}
		panic(http.ErrAbortHandler)
	}
	_, _ = out.WriteString(`]},"id":` + strconv.Itoa(id) + "}\n")
	if err := out.Flush(); err != nil {
		panic(http.ErrAbortHandler)
	}
}
