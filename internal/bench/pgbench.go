package bench

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver, to create and drop the scratch database
)

// errNoPgbench says that the pgbench binary is not installed.
var errNoPgbench = errors.New("pgbench is not installed (Debian: apt-get install postgresql-contrib, or postgresql-15)")

type pgbenchOptions struct {
	dsn      string
	clients  int
	duration time.Duration
	json     bool
}

func parsePgbench(args []string, stderr io.Writer) (pgbenchOptions, error) {
	var o pgbenchOptions
	fs := flag.NewFlagSet("sprocketbench pgbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dsn, "dsn", "", "postgres:// URL of a database on the server to measure (a scratch database is created beside it)")
	fs.IntVar(&o.clients, "clients", 8, "concurrent clients (pgbench -c)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "how long (pgbench -T, rounded up to whole seconds)")
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sprocketbench pgbench --dsn postgres://… [flags]\n\nRuns pgbench -S (select only) in a scratch database, for the database's own ceiling.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("pgbench: unexpected arguments %q", fs.Args())
	case o.dsn == "":
		return o, errors.New("pgbench: --dsn is required")
	case o.clients < 1:
		return o, errors.New("pgbench: --clients must be at least 1")
	case o.duration <= 0:
		return o, errors.New("pgbench: --duration must be positive")
	}
	return o, nil
}

var (
	tpsLine     = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)`)
	latencyLine = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
)

// pgbench runs pgbench -S with clients for duration in a database it
// creates beside the one dsn names (initialised with pgbench -i -s 1) and
// drops afterwards.
func pgbench(ctx context.Context, dsn string, clients int, duration time.Duration, log io.Writer) (*PgbenchResult, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return nil, errNoPgbench
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, errors.New("pgbench: the DSN must be a postgres:// URL")
	}
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgbench: %w", err)
	}
	defer admin.Close()
	name := fmt.Sprintf("sprocketbench_pgbench_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("pgbench: creating the scratch database on %s: %w", u.Redacted(), err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			if _, err := admin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name); err != nil {
				fmt.Fprintf(log, "pgbench: dropping %s: %v\n", name, err)
			}
		}
	}()

	// The password travels in the environment, not on a command line that
	// any user can read in the process list.
	scratch := *u
	scratch.Path = "/" + name
	env := os.Environ()
	if p, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+p)
		scratch.User = url.User(u.User.Username())
	}
	conn := scratch.String()

	fmt.Fprintf(log, "pgbench: initialising %s (pgbench -i -s 1)\n", name)
	initCmd := exec.CommandContext(ctx, bin, "-i", "-s", "1", "-q", conn)
	initCmd.Env = env
	if out, err := initCmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgbench -i: %v: %s", err, snippet(out))
	}
	secs := max(int((duration+time.Second-1)/time.Second), 1)
	threads := min(clients, runtime.NumCPU())
	fmt.Fprintf(log, "pgbench: -S -c %d -j %d -T %d\n", clients, threads, secs)
	cmd := exec.CommandContext(ctx, bin, "-S", "-n", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads), "-T", strconv.Itoa(secs), conn)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pgbench -S: %v: %s", err, snippet(out))
	}
	res := &PgbenchResult{Clients: clients, Seconds: secs}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("pgbench -S: no tps in its output: %s", snippet(out))
	}
	res.TPS, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := latencyLine.FindSubmatch(out); m != nil {
		res.LatencyMs, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	return res, nil
}

func runPgbench(ctx context.Context, o pgbenchOptions, stdout, stderr io.Writer) error {
	res, err := pgbench(ctx, o.dsn, o.clients, o.duration, stderr)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSONValue(stdout, res)
	}
	_, err = fmt.Fprintf(stdout, "pgbench -S: %d clients, %d s: %s tps (latency average %s)\n", res.Clients, res.Seconds, num(res.TPS), fmtMs(res.LatencyMs))
	return err
}
