package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sprocketapi/sprocket/internal/pgcluster"
)

// `sprocketbench failover` measures a failover end to end: it starts a
// pg_auto_failover formation, runs a sprocketd binary on it (DATABASE_URL
// as `pg_autoctl show uri` prints it), and runs RunFailover through the
// events asked for, in order: a planned failover, the loss of the
// primary's node (its keeper and PostgreSQL killed), that node's return.

type failoverOptions struct {
	formation formationOptions
	sprocketd string
	events    []string
	writers   int
	before    time.Duration
	after     time.Duration
	asJSON    bool
}

var failoverEvents = []string{"planned", "kill", "restart"}

func parseFailover(args []string, stderr io.Writer) (failoverOptions, error) {
	var o failoverOptions
	fs := flag.NewFlagSet("sprocketbench failover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.formation.flags(fs)
	fs.StringVar(&o.sprocketd, "sprocketd", "", "the sprocketd binary to run (go build -o /tmp/sprocketd ./cmd/sprocketd)")
	events := fs.String("events", strings.Join(failoverEvents, ","), "the events, in order: planned (pg_autoctl perform failover), kill (the primary's keeper and PostgreSQL killed), restart (the killed node run again)")
	fs.IntVar(&o.writers, "writers", 4, "writers writing without pause")
	fs.DurationVar(&o.before, "before", 3*time.Second, "writing before each event")
	fs.DurationVar(&o.after, "after", 3*time.Second, "writing after each event, from the first write acknowledged once it is over")
	fs.BoolVar(&o.asJSON, "json", false, "print the reports as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sprocketbench failover --sprocketd PATH [flags]\n\nStarts a pg_auto_failover formation and sprocketd on it, then writes through it without pause while the\nformation fails over; reports the answers, the longest time between acknowledged writes, and whether every\nacknowledged write is stored once.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("failover: unexpected arguments %q", fs.Args())
	}
	if o.sprocketd == "" {
		return o, errors.New("failover: --sprocketd is required")
	}
	for _, e := range strings.Split(*events, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		known := false
		for _, k := range failoverEvents {
			known = known || e == k
		}
		if !known {
			return o, fmt.Errorf("failover: unknown event %q (want planned, kill or restart)", e)
		}
		o.events = append(o.events, e)
	}
	if o.writers < 1 {
		return o, errors.New("failover: --writers must be at least 1")
	}
	return o, nil
}

// runFailoverCommand runs the measurement.
func runFailoverCommand(ctx context.Context, o failoverOptions, stdout, stderr io.Writer) error {
	fmt.Fprintln(stderr, "starting a pg_auto_failover formation")
	f, err := pgcluster.StartFormation(ctx, o.formation.pgcluster())
	if err != nil {
		return err
	}
	defer f.Remove()
	base, stop, err := startSprocketd(ctx, o.sprocketd, f)
	if err != nil {
		return err
	}
	defer stop()
	killed := -1
	var reports []FailoverReport
	for i, e := range o.events {
		var event func(context.Context) error
		name := e
		switch e {
		case "planned":
			name, event = "pg_autoctl perform failover", f.PerformFailover
		case "kill":
			name, event = "the primary's node killed", func(ctx context.Context) error {
				p, err := f.Primary(ctx)
				if err != nil || p < 0 {
					return fmt.Errorf("no primary to kill (%v)", err)
				}
				if err := f.Kill(p); err != nil {
					return err
				}
				killed = p
				return f.WaitWritable(ctx, 1-p)
			}
		case "restart":
			name, event = "the killed node restarted", func(ctx context.Context) error {
				if killed < 0 {
					return errors.New("restart: no node was killed before")
				}
				if err := f.Restart(killed); err != nil {
					return err
				}
				_, err := f.WaitStable(ctx)
				return err
			}
		}
		fmt.Fprintf(stderr, "%s, with %d writers\n", name, o.writers)
		rep, err := RunFailover(ctx, FailoverOptions{URL: base, Stored: f.URL, Writers: o.writers,
			Before: o.before, After: o.after, Within: 2 * time.Minute, Tag: i + 1}, name, event)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, f.Logs())
		}
		reports = append(reports, rep)
	}
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	return writeFailoverTable(stdout, reports)
}

func writeFailoverTable(w io.Writer, reports []FailoverReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "event\tevent s\twrites\tacknowledged\t503\tfailed\tlongest gap s\tlost\tstored twice\t503 but stored\tsubscription")
	for _, r := range reports {
		fmt.Fprintf(tw, "%s\t%.1f\t%d\t%d\t%d\t%d\t%.2f\t%d\t%d\t%d\t%s\n", r.Event, r.EventSeconds, r.Writes, r.Acknowledged,
			r.Unavailable, r.Failed, r.LongestGapSeconds, r.Lost, r.Duplicated, r.StoredUnacknowledged, r.Subscription)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range reports {
		for _, s := range r.FailedSamples {
			fmt.Fprintf(w, "failed (%s): %s\n", r.Event, s)
		}
	}
	return nil
}

// startSprocketd runs the binary on f (ENV=testing: no seed, no tokens)
// on a free port, its log in f's directory, and waits until it is ready;
// stop ends it.
func startSprocketd(ctx context.Context, bin string, f *pgcluster.Formation) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	log, err := os.Create(filepath.Join(f.Dir(), "sprocketd.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ENV=testing", "DATABASE_URL="+f.URL, "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return "", nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(exited)
	}()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base, stop, nil
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(f.Dir(), "sprocketd.log"))
			return "", nil, fmt.Errorf("sprocketd exited:\n%s", b)
		case <-ctx.Done():
			stop()
			return "", nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("sprocketd was not ready within a minute")
		}
	}
}
