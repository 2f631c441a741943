package pgcluster

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Nodes asks the monitor for the data nodes' states, node1 first.
func (f *Formation) Nodes(ctx context.Context) ([]Node, error) {
	db, err := sql.Open("postgres", f.MonitorURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT nodename, nodehost, nodeport, reportedstate::text, goalstate::text
		FROM pgautofailover.node ORDER BY nodeid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		var host string
		var port int
		if err := rows.Scan(&n.Name, &host, &port, &n.Reported, &n.Goal); err != nil {
			return nil, err
		}
		n.Addr = fmt.Sprintf("%s:%d", host, port)
		n.Index = -1
		for i, k := range f.nodes {
			if k.name == n.Name {
				n.Index = i
			}
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Primary is the index of the node the monitor has as primary, or -1.
func (f *Formation) Primary(ctx context.Context) (int, error) {
	ns, err := f.Nodes(ctx)
	if err != nil {
		return -1, err
	}
	for _, n := range ns {
		if n.Goal == "primary" || n.Goal == "wait_primary" {
			return n.Index, nil
		}
	}
	return -1, nil
}

// WaitStable waits until one node is primary and the other secondary, as
// reported and assigned, and returns the primary's index.
func (f *Formation) WaitStable(ctx context.Context) (int, error) {
	primary := -1
	err := f.waitStates(ctx, "a primary and a secondary", func(ns []Node) bool {
		roles := map[string]int{}
		for _, n := range ns {
			if n.Reported == n.Goal {
				roles[n.Goal]++
				if n.Goal == "primary" {
					primary = n.Index
				}
			}
		}
		return len(ns) == 2 && roles["primary"] == 1 && roles["secondary"] == 1
	})
	return primary, err
}

// WaitWritable waits until node i is the primary and has said so (primary,
// or wait_primary when its standby is gone): it takes writes.
func (f *Formation) WaitWritable(ctx context.Context, i int) error {
	return f.waitStates(ctx, fmt.Sprintf("node%d takes writes", i+1), func(ns []Node) bool {
		for _, n := range ns {
			if n.Index == i && n.Reported == n.Goal && (n.Goal == "primary" || n.Goal == "wait_primary") {
				return true
			}
		}
		return false
	})
}

func (f *Formation) waitStates(ctx context.Context, what string, ok func([]Node) bool) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var last []Node
	var lastErr error
	for {
		ns, err := f.Nodes(ctx)
		if err == nil && ok(ns) {
			return nil
		}
		if err == nil {
			last = ns
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: waiting for %s: %w; the monitor says %+v (last error: %v)\n%s", what, ctx.Err(), last, lastErr, f.Logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
