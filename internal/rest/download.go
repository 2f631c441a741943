package rest

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/config"
)

// A download (GET /v1/factories, /v1/factories/{id}) reads ahead of its
// client: the core streams the answer from one snapshot into a spool of
// chunks, and the handler hands the chunks to the client as it takes
// them. The snapshot, its connection and its lane turns are released as
// soon as the database has been read, whatever the client's pace, as long
// as the answer fits the download's buffer; a larger answer holds them
// while the client takes all but a buffer's worth, within the download
// lane's share (core.SetDownloadLane). What the spools hold is bounded per
// download and for all downloads at once, and counted; a client that takes
// the answer slower than a minimum rate is cut.

// chunkSize is the unit of a spool, of its accounting and of a write to the
// client.
const chunkSize = 64 << 10

// minWriteWindow is the least time a client is given to take a chunk,
// however high the minimum rate.
const minWriteWindow = time.Second

// DownloadOptions bound what downloads hold while their clients read them.
// Zero values take the defaults (DefaultDownload*).
type DownloadOptions struct {
	// BufferBytes is what one download may read ahead of its client.
	BufferBytes int64
	// MemoryBytes is what all downloads may read ahead at once.
	MemoryBytes int64
	// MinRate is the slowest a client may take an answer, in bytes a
	// second: each chunk must be taken within max(1 s, its size ÷
	// MinRate), else the download is cut.
	MinRate int64
}

// The defaults of DownloadOptions: those of DOWNLOAD_BUFFER_BYTES,
// DOWNLOAD_MEMORY_BYTES and DOWNLOAD_MIN_RATE.
const (
	DefaultDownloadBufferBytes = config.DefaultDownloadBufferBytes
	DefaultDownloadMemoryBytes = config.DefaultDownloadMemoryBytes
	DefaultDownloadMinRate     = config.DefaultDownloadMinRate
)

const msgDownloadMemory = "Other downloads hold all the memory downloads may use; try again shortly."

// downloads is the budget all downloads share.
type downloads struct {
	perDownload int // chunks one spool may hold
	minRate     int64
	memory      *semaphore.Weighted // chunks
	held        atomic.Int64        // chunks held
	cut         prometheus.Counter
}

// newDownloads makes the budget and registers its metrics with reg (nil:
// none).
func newDownloads(o DownloadOptions, reg prometheus.Registerer) *downloads {
	if o.BufferBytes <= 0 {
		o.BufferBytes = DefaultDownloadBufferBytes
	}
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = DefaultDownloadMemoryBytes
	}
	if o.MinRate <= 0 {
		o.MinRate = DefaultDownloadMinRate
	}
	total := max(1, o.MemoryBytes/chunkSize)
	d := &downloads{
		perDownload: int(max(1, min(o.BufferBytes/chunkSize, total))),
		minRate:     o.MinRate,
		memory:      semaphore.NewWeighted(total),
		cut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sprocket_downloads_cut_total",
			Help: "Downloads cut because their client took the answer slower than DOWNLOAD_MIN_RATE.",
		}),
	}
	if reg != nil {
		held := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sprocket_download_buffered_bytes",
			Help: "Bytes of download answers read from the database and not yet taken by their clients (at most DOWNLOAD_MEMORY_BYTES).",
		}, func() float64 { return float64(d.held.Load() * chunkSize) })
		for _, c := range []prometheus.Collector{held, d.cut} {
			if err := reg.Register(c); err != nil {
				var already prometheus.AlreadyRegisteredError
				if !errors.As(err, &already) {
					panic(err)
				}
			}
		}
	}
	return d
}

var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

// spool is one download's answer between the core, which writes it, and
// the client. The writer side (Write and friends, close) belongs to the
// core's goroutine; the reader side (drain) to the handler's.
type spool struct {
	d   *downloads
	ctx context.Context

	cur []byte // the chunk being filled: the writer's alone

	mu     sync.Mutex
	ready  [][]byte // full chunks, in order
	held   int      // chunks held: ready, cur, and the one being sent
	done   bool     // the writer has closed
	err    error    // why it failed
	sent   bool     // something has gone to the client
	wake   chan struct{}
	space  chan struct{}
	keep   int64 // copy the answer for the cache up to this size
	copied []byte
	over   bool // the copy outgrew keep
}

// open starts a download's spool with its first chunk, waiting for the
// memory (without any database turn) within ctx.
func (d *downloads) open(ctx context.Context) (*spool, error) {
	if err := d.memory.Acquire(ctx, 1); err != nil {
		return nil, &apperr.Error{Code: apperr.Unavailable, Message: msgDownloadMemory, Err: err}
	}
	d.held.Add(1)
	sp := &spool{d: d, ctx: ctx, held: 1, wake: make(chan struct{}, 1), space: make(chan struct{}, 1)}
	sp.cur = chunks.Get().(*[chunkSize]byte)[:0]
	return sp, nil
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Write appends p to the answer, handing each full chunk to the client's
// side; it waits while the download holds its whole buffer (its client is
// behind) or all downloads hold theirs, within the download's context.
func (sp *spool) Write(p []byte) (int, error) { return write(sp, p) }

// WriteString is Write of a string, without a copy of it.
func (sp *spool) WriteString(s string) (int, error) { return write(sp, s) }

func write[T string | []byte](sp *spool, p T) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(sp.cur) == cap(sp.cur) {
			if err := sp.next(); err != nil {
				return n - len(p), err
			}
		}
		c := copy(sp.cur[len(sp.cur):cap(sp.cur)], p)
		sp.cur = sp.cur[:len(sp.cur)+c]
		p = p[c:]
	}
	return n, nil
}

// WriteByte is Write of one byte.
func (sp *spool) WriteByte(b byte) error {
	if len(sp.cur) == cap(sp.cur) {
		if err := sp.next(); err != nil {
			return err
		}
	}
	sp.cur = append(sp.cur, b)
	return nil
}

// next hands the full current chunk over and starts a new one.
func (sp *spool) next() error {
	sp.mu.Lock()
	sp.handOver()
	for sp.held >= sp.d.perDownload {
		sp.mu.Unlock()
		select {
		case <-sp.space:
		case <-sp.ctx.Done():
			return sp.ctx.Err()
		}
		sp.mu.Lock()
	}
	sp.held++ // reserved before the memory, so the buffer is never exceeded
	sp.mu.Unlock()
	if err := sp.d.memory.Acquire(sp.ctx, 1); err != nil {
		sp.mu.Lock()
		sp.held--
		sp.mu.Unlock()
		return err
	}
	sp.d.held.Add(1)
	sp.cur = chunks.Get().(*[chunkSize]byte)[:0]
	return nil
}

// handOver queues the current chunk for the client; sp.mu is held.
func (sp *spool) handOver() {
	if sp.keep > 0 && !sp.over {
		if int64(len(sp.copied)+len(sp.cur)) > sp.keep {
			sp.over, sp.copied = true, nil
		} else {
			sp.copied = append(sp.copied, sp.cur...)
		}
	}
	sp.ready = append(sp.ready, sp.cur)
	sp.cur = nil
	signal(sp.wake)
}

// close ends the writer's side: the last chunk goes to the client after
// the others, or err says why the answer is broken.
func (sp *spool) close(err error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	switch {
	case err == nil && len(sp.cur) > 0:
		sp.handOver()
	case sp.cur != nil:
		sp.free(sp.cur)
		sp.cur = nil
	}
	sp.done, sp.err = true, err
	signal(sp.wake)
}

// Reset takes back what was written, if nothing has gone to the client
// (core.SeriesResetter).
func (sp *spool) Reset() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.sent {
		return false
	}
	for _, c := range sp.ready {
		sp.free(c)
	}
	sp.ready, sp.copied, sp.over = nil, nil, false
	if sp.cur == nil {
		return false // the writer failed waiting for memory: not a standby's failure
	}
	sp.cur = sp.cur[:0]
	return true
}

// free gives a chunk's memory back; sp.mu is held.
func (sp *spool) free(c []byte) {
	chunks.Put((*[chunkSize]byte)(c[:chunkSize]))
	sp.held--
	sp.d.held.Add(-1)
	sp.d.memory.Release(1)
	signal(sp.space)
}

// take waits for the next chunk for the client: nil when the writer has
// closed and every chunk is out (then the writer's error), or when ctx
// ends.
func (sp *spool) take(ctx context.Context) ([]byte, error) {
	for {
		sp.mu.Lock()
		if sp.done && sp.err != nil {
			sp.mu.Unlock()
			return nil, sp.err
		}
		if len(sp.ready) > 0 {
			c := sp.ready[0]
			sp.ready = sp.ready[1:]
			sp.sent = true
			sp.mu.Unlock()
			return c, nil
		}
		if sp.done {
			sp.mu.Unlock()
			return nil, nil
		}
		sp.mu.Unlock()
		select {
		case <-sp.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// errSlowClient is a client cut for taking the answer too slowly.
var errSlowClient = errors.New("the client took the answer slower than DOWNLOAD_MIN_RATE")

// drain hands the chunks to the client as the writer produces them, each
// within its time at the minimum rate (and the request's deadline), until
// the answer is out; it fails with the writer's error, errSlowClient or
// the client's. The response's status and headers go with the first
// chunk, so a writer failing before one is full can still be answered
// with an error.
func (sp *spool) drain(ctx context.Context, w http.ResponseWriter) error {
	rc := http.NewResponseController(w)
	for first := true; ; first = false {
		c, err := sp.take(ctx)
		if c == nil {
			return err
		}
		if first {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
		}
		dl := time.Now().Add(max(minWriteWindow, time.Duration(int64(len(c))*int64(time.Second)/sp.d.minRate)))
		if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
			dl = cd
		}
		_ = rc.SetWriteDeadline(dl)
		_, err = w.Write(c)
		sp.mu.Lock()
		sp.free(c)
		sp.mu.Unlock()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				sp.d.cut.Inc()
				return errSlowClient
			}
			return err
		}
	}
}

// answered reports whether something has gone to the client.
func (sp *spool) answered() bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.sent
}

// copy is the answer kept for the cache, if it was asked for and fit.
func (sp *spool) copy() []byte {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.over {
		return nil
	}
	return sp.copied
}

// release gives back what the spool still holds, once both sides are
// done.
func (sp *spool) release() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, c := range sp.ready {
		sp.free(c)
	}
	sp.ready = nil
	if sp.cur != nil {
		sp.free(sp.cur)
		sp.cur = nil
	}
}
