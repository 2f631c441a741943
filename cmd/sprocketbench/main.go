// Command sprocketbench generates data for the Sprocket API and measures it
// over HTTP: throughput and latency percentiles per workload, as a table or
// JSON. See internal/bench and docs/performance.md.
//
//	sprocketbench gen --url http://127.0.0.1:8080 --factories 20 --points 20000
//	sprocketbench run --url http://127.0.0.1:8080 --clients 32 --duration 5s
//	sprocketbench pgbench --dsn postgres://postgres@127.0.0.1:5432/postgres --clients 32
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sprocketapi/sprocket/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sprocketbench:", err)
		os.Exit(1)
	}
}
