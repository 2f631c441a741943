package testdb

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/pgcluster"
)

// Cluster is a PostgreSQL primary with one streaming hot standby of its
// own, for tests of read replicas: the shared server allows no
// replication, so the test starts both (pgcluster) in a temporary
// directory, on free ports, and stops and removes them at cleanup. A
// machine without the server's binaries fails the test: CI installs them
// (see .ci/run).
type Cluster struct {
	*pgcluster.Cluster
}

// NewCluster starts a primary and one standby. standbyConf lines are
// added to the standby's configuration (recovery_min_apply_delay, for a
// standby that lags on purpose).
func NewCluster(t testing.TB, standbyConf ...string) *Cluster {
	t.Helper()
	return NewClusterOf(t, pgcluster.Options{StandbyConf: standbyConf})
}

// NewClusterOf starts a primary and standbys as opts say.
func NewClusterOf(t testing.TB, opts pgcluster.Options) *Cluster {
	t.Helper()
	c, err := pgcluster.Start(opts)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(c.Remove)
	return &Cluster{c}
}

// StopStandby stops standby i (from 0), in a fast shutdown: its sessions
// are ended.
func (c *Cluster) StopStandby(t testing.TB, i int) {
	t.Helper()
	if err := c.Cluster.StopStandby(i); err != nil {
		t.Fatal(err)
	}
}

// StartStandby starts the stopped standby i again.
func (c *Cluster) StartStandby(t testing.TB, i int) {
	t.Helper()
	if err := c.Cluster.StartStandby(i); err != nil {
		t.Fatal(err)
	}
}

// FreezeStandby stops every process of standby i with SIGSTOP (a hung
// machine: its port accepts connections and nothing answers) until
// ThawStandby, which cleanup calls too.
func (c *Cluster) FreezeStandby(t testing.TB, i int) {
	t.Helper()
	if err := c.Cluster.FreezeStandby(i); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Cluster.ThawStandby(i) })
}

// ThawStandby resumes the processes of standby i.
func (c *Cluster) ThawStandby(t testing.TB, i int) {
	t.Helper()
	if err := c.Cluster.ThawStandby(i); err != nil {
		t.Fatal(err)
	}
}

// WaitReplayed waits until the standby has replayed everything the
// primary has written so far.
func (c *Cluster) WaitReplayed(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Cluster.WaitReplayed(ctx); err != nil {
		t.Fatal(err)
	}
}

// Stats counts the scans of table on the server at url (its own
// statistics: a standby counts the reads it serves): sequential and index
// scans together.
func Stats(t testing.TB, url, table string) int64 {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&n); err != nil {
		t.Fatalf("testdb: scans of %s: %v", table, err)
	}
	return n
}

// Formation is a pg_auto_failover formation of its own (a monitor, a
// primary and a standby in synchronous replication), for the tests of
// failover: started in a temporary directory on free ports with the
// monitor's QuickDetection settings, and removed at cleanup. A machine
// without pg_autoctl fails the test: CI installs it (see .ci/run).
type Formation struct {
	*pgcluster.Formation
}

// NewFormation starts a formation: node1 primary, node2 its standby.
func NewFormation(t testing.TB) *Formation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := pgcluster.StartFormation(ctx, pgcluster.FormationOptions{Monitor: pgcluster.QuickDetection})
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(f.Remove)
	return &Formation{f}
}
