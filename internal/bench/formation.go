package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sprocketapi/sprocket/internal/pgcluster"
)

// The pg_auto_failover set-up: `sprocketbench failover-cluster` starts a
// formation (a monitor, a primary and its synchronous standby) for running
// sprocketd against, by hand.

type formationOptions struct {
	dir     string
	durable bool
	quick   bool
}

func parseFormation(args []string, stderr io.Writer) (formationOptions, error) {
	var o formationOptions
	fs := flag.NewFlagSet("sprocketbench failover-cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.flags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sprocketbench failover-cluster [flags]\n\nStarts a pg_auto_failover formation (pg_autoctl: a monitor, a primary and its synchronous standby) on free\nports, prints the URLs for sprocketd and how to fail over, and runs until interrupted.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("failover-cluster: unexpected arguments %q", fs.Args())
	}
	return o, nil
}

// flags registers the formation's flags.
func (o *formationOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.dir, "dir", "", "directory for the formation's files (default: a temporary one, removed at the end)")
	fs.BoolVar(&o.durable, "durable", true, "keep fsync on, as a production server does (off: faster, for tests)")
	fs.BoolVar(&o.quick, "quick-detection", true, "tune the monitor to act on a lost primary within seconds (pgcluster.QuickDetection); off: pg_auto_failover's defaults")
}

func (o formationOptions) pgcluster() pgcluster.FormationOptions {
	opts := pgcluster.FormationOptions{Dir: o.dir, Durable: o.durable}
	if o.quick {
		opts.Monitor = pgcluster.QuickDetection
	}
	return opts
}

// runFormation starts a formation and keeps it until ctx ends.
func runFormation(ctx context.Context, o formationOptions, stdout, stderr io.Writer) error {
	f, err := pgcluster.StartFormation(ctx, o.pgcluster())
	if err != nil {
		return err
	}
	defer f.Remove()
	env := f.AutoctlEnv()
	fmt.Fprintf(stdout, "pg_auto_failover formation in %s: node1 (%s) primary, node2 (%s) its standby\n\n"+
		"export DATABASE_URL='%s'\nexport DATABASE_READ_URL='%s'\n\n"+
		"fail over:  %s pg_autoctl perform failover --pgdata %s\n"+
		"its state:  %s pg_autoctl show state --pgdata %s\n\n(interrupt to stop it)\n",
		f.Dir(), f.NodeAddr(0), f.NodeAddr(1), f.URL, f.ReadURL,
		env, filepath.Join(f.Dir(), "monitor"), env, filepath.Join(f.Dir(), "monitor"))
	<-ctx.Done()
	fmt.Fprintln(stderr, "stopping the formation")
	return nil
}
