// Package bench is sprocketbench, the load generator and benchmark harness
// of the Sprocket API. It is an HTTP client only: it measures any build of
// sprocketd, or another service that speaks the same /v1 routes.
//
//	sprocketbench gen      create F factories × P points through createFactory and recordProduction
//	sprocketbench run      drive the server(s) with C clients for D per workload; a table or JSON
//	sprocketbench pgbench  pgbench -S in a scratch database, the database's own ceiling
//	sprocketbench cluster  a PostgreSQL primary and a streaming standby, for DATABASE_READ_URL
//	sprocketbench failover-cluster  a pg_auto_failover formation (monitor, primary, synchronous standby)
//	sprocketbench failover  writes through sprocketd while such a formation fails over (see FailoverReport)
//
// The JSON of run (--json) is a Report: the machine, the settings, one
// Result per workload and server (requests, req_per_sec, p50_ms, p90_ms,
// p99_ms, max_ms, errors, bytes_per_sec, points_per_sec, skipped, failed),
// the Ratios of compare to primary, and pgbench's tps when asked for. For a
// server with read replicas, each Result also counts the reads its
// standbys served and those that went to the primary (standby_reads,
// primary_reads).
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

const usage = `usage: sprocketbench <command> [flags]

commands:
  gen      generate factories × points through the service's bulk path (createFactory, recordProduction)
  run      drive running server(s) with concurrent clients; print throughput and latency per workload
  pgbench  run pgbench -S against a PostgreSQL server, for comparison
  cluster  start a PostgreSQL primary and a streaming standby, to run sprocketd with read replicas
  failover-cluster  start a pg_auto_failover formation (monitor, primary, synchronous standby) to run sprocketd on
  failover  run sprocketd on such a formation and write through it while it fails over; report what writers saw

sprocketbench <command> -h lists the command's flags.
`

// Run is the whole program: main passes its arguments (without the
// program name) and tests call it directly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "gen":
		var o genOptions
		if o, err = parseGen(args, stderr); err == nil {
			err = gen(ctx, o, stdout, stderr)
		}
	case "run":
		var o *runOptions
		if o, err = parseRun(args, stderr); err == nil {
			err = run(ctx, o, stdout, stderr)
		}
	case "pgbench":
		var o pgbenchOptions
		if o, err = parsePgbench(args, stderr); err == nil {
			err = runPgbench(ctx, o, stdout, stderr)
		}
	case "cluster":
		var o clusterOptions
		if o, err = parseCluster(args, stderr); err == nil {
			err = runCluster(ctx, o, stdout, stderr)
		}
	case "failover-cluster":
		var o formationOptions
		if o, err = parseFormation(args, stderr); err == nil {
			err = runFormation(ctx, o, stdout, stderr)
		}
	case "failover":
		var o failoverOptions
		if o, err = parseFailover(args, stderr); err == nil {
			err = runFailoverCommand(ctx, o, stdout, stderr)
		}
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
