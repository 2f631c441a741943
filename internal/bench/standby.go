package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sprocketapi/sprocket/internal/pgcluster"
	"github.com/sprocketapi/sprocket/internal/replica"
)

// The primary-plus-standby set-up: `sprocketbench cluster` starts one, and
// run reports, for a server with DATABASE_READ_URL, how many of each
// workload's reads its standbys served (from the server's own metrics).

// replicaReads are a server's counters of routed reads.
type replicaReads struct {
	standby, primary float64
	ok               bool // the server has standbys
}

// scrapeReplicaReads reads sprocket_replica_reads_total (all standbys)
// and sprocket_replica_fallbacks_total (all reasons) from /metrics.
func (c *client) scrapeReplicaReads(ctx context.Context) replicaReads {
	var buf bytes.Buffer
	if _, err := c.fetch(ctx, http.MethodGet, "/metrics", nil, "", &buf); err != nil {
		return replicaReads{}
	}
	var r replicaReads
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var dst *float64
		switch {
		case strings.HasPrefix(line, "sprocket_replica_reads_total{"):
			dst = &r.standby
		case strings.HasPrefix(line, "sprocket_replica_fallbacks_total{"):
			dst = &r.primary
		default:
			continue
		}
		r.ok = true
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				*dst += v
			}
		}
	}
	return r
}

// fillStandby sets the Result's standby figures from the counters before
// and after the workload (its warm-up included).
func (r *Result) fillStandby(before, after replicaReads) {
	if !before.ok || !after.ok {
		return
	}
	standby, primary := int64(after.standby-before.standby), int64(after.primary-before.primary)
	r.StandbyReads, r.PrimaryReads = &standby, &primary
}

// prepareReadOwnWrite: each request updates the worker's own sprocket over
// /v1 (PUT, a new tooth count each time) and reads it back at once with
// the write's Sprocket-LSN; a read that does not show the write is an
// error. Timed together, so the figure is a write's round trip plus the
// wait for a standby to replay it. Each worker writes a sprocket of its
// own, so no other write can hide its own: --sprockets must be at least
// --clients.
func prepareReadOwnWrite(ctx context.Context, t *target) (*plan, error) {
	ids, err := t.sprockets(ctx)
	if err != nil {
		return nil, err
	}
	if len(ids) < t.o.clients {
		return nil, fmt.Errorf("needs a sprocket per client: --sprockets (%d) below --clients (%d)", len(ids), t.o.clients)
	}
	return &plan{
		before: func(w *worker) {
			w.body = fmt.Appendf(w.body[:0], `{"teeth": %d, "pitch_diameter": 5, "outside_diameter": 6, "pitch": 1}`, 1+w.seq%1_000_000)
		},
		op: func(ctx context.Context, w *worker) (int64, int, error) {
			path := fmt.Sprintf("/v1/sprockets/%d", ids[w.index])
			res, err := t.c.fetch(ctx, http.MethodPut, path, w.body, "application/json", &w.buf)
			if err != nil {
				return 0, 0, err
			}
			lsn := res.Header.Get(replica.Header)
			req, err := t.c.newRequest(ctx, http.MethodGet, path, nil, "")
			if err != nil {
				return 0, 0, err
			}
			if lsn != "" {
				req.Header.Set(replica.Header, lsn)
			}
			got, err := t.c.http.Do(req)
			if err != nil {
				return 0, 0, err
			}
			defer got.Body.Close()
			var sp struct {
				Teeth int `json:"teeth"`
			}
			if err := json.NewDecoder(got.Body).Decode(&sp); err != nil || got.StatusCode != http.StatusOK {
				return 0, 0, fmt.Errorf("GET %s after its write: HTTP %d (%v)", path, got.StatusCode, err)
			}
			if want := 1 + w.seq%1_000_000; sp.Teeth != want {
				return 0, 0, fmt.Errorf("GET %s after its write (Sprocket-LSN %q): teeth %d, want %d: the read missed the write", path, lsn, sp.Teeth, want)
			}
			return int64(w.buf.Len()), 0, nil
		},
	}, nil
}

type clusterOptions struct {
	dir      string
	durable  bool
	standbys int
}

func parseCluster(args []string, stderr io.Writer) (clusterOptions, error) {
	var o clusterOptions
	fs := flag.NewFlagSet("sprocketbench cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "", "directory for the data directories (default: a temporary one, removed at the end)")
	fs.BoolVar(&o.durable, "durable", true, "keep fsync on, as a production server does (off: faster, for tests)")
	fs.IntVar(&o.standbys, "standbys", 1, "standbys that follow the primary")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sprocketbench cluster [flags]\n\nStarts a PostgreSQL primary and a streaming hot standby (initdb, pg_basebackup -R) on free ports,\nprints their URLs, and runs until interrupted.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("cluster: unexpected arguments %q", fs.Args())
	}
	if o.standbys < 1 || o.standbys > 8 {
		return o, fmt.Errorf("cluster: --standbys must be from 1 to 8")
	}
	return o, nil
}

// runCluster starts a primary and a standby and keeps them until ctx ends.
func runCluster(ctx context.Context, o clusterOptions, stdout, stderr io.Writer) error {
	c, err := pgcluster.Start(pgcluster.Options{Dir: o.dir, Durable: o.durable, Standbys: o.standbys})
	if err != nil {
		return err
	}
	defer c.Remove()
	fmt.Fprintf(stdout, "primary and %d standby(s) streaming in %s\n\nexport DATABASE_URL='%s'\nexport DATABASE_READ_URL='%s'\n\n(interrupt to stop them)\n",
		len(c.StandbyURLs), c.Dir(), c.PrimaryURL, strings.Join(c.StandbyURLs, ","))
	<-ctx.Done()
	fmt.Fprintln(stderr, "stopping the primary and the standby")
	return nil
}
