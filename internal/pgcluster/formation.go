package pgcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A Formation is pg_auto_failover's high-availability topology, the one
// this project supports: a monitor and two data nodes, a primary and a
// standby in synchronous replication, each node's PostgreSQL run by a
// pg_autoctl keeper that the monitor assigns its role. The monitor
// promotes the standby when the primary fails, and demotes an old primary
// that comes back. StartFormation runs one in a directory of its own, on
// free ports, with Debian's pg_autoctl (packages postgresql-15-auto-failover
// and pg-auto-failover-cli), as the postgres user when called as root.

// FormationOptions of a formation.
type FormationOptions struct {
	// Dir holds the monitor's and the nodes' directories; "" makes a
	// temporary one, removed by Remove.
	Dir string
	// Bin holds pg_ctl (and the server); "" finds it as Start does.
	Bin string
	// Autoctl is the pg_autoctl program; "" looks for it in PATH and
	// /usr/bin.
	Autoctl string
	// Durable keeps fsync on (for measurements); tests leave it off.
	Durable bool
	// Monitor lines are added to the monitor's configuration: the
	// pgautofailover.* settings of failure detection (QuickDetection).
	Monitor []string
	// Database is the database the formation's URL names (created on
	// the primary); "" is sprocket.
	Database string
}

// QuickDetection are monitor settings under which the loss of a primary
// is acted on in seconds rather than pg_auto_failover's default of about
// half a minute: health checks every second, one retry, a node whose
// keeper has not reported for 3 s considered unhealthy, and 3 s for an
// unreachable primary to demote itself before the standby is promoted. The
// last two trade a false failover on a stalled machine, and a shorter
// fence against a partitioned old primary, for a short outage:
// docs/operations.md discusses them.
var QuickDetection = []string{
	"pgautofailover.health_check_period = 1000",
	"pgautofailover.health_check_timeout = 1000",
	"pgautofailover.health_check_max_retries = 1",
	"pgautofailover.health_check_retry_delay = 500",
	"pgautofailover.node_considered_unhealthy_timeout = 3000",
	"pgautofailover.primary_demote_timeout = 3000",
	"pgautofailover.startup_grace_period = 1000",
}

// Formation is a running monitor and its two data nodes.
type Formation struct {
	// URL is the formation's connection string as `pg_autoctl show uri`
	// prints it (both hosts in the authority, target_session_attrs=
	// read-write), with the user postgres: for DATABASE_URL.
	URL string
	// ReadURL is the same hosts with target_session_attrs=prefer-standby:
	// for DATABASE_READ_URL.
	ReadURL string
	// MonitorURL is the monitor's (user autoctl_node).
	MonitorURL string

	opts    FormationOptions
	autoctl string
	root    string
	cred    *syscall.Credential
	temp    bool
	monitor *keeper
	nodes   [2]*keeper
}

// keeper is one pg_autoctl service: the monitor's or a node's.
type keeper struct {
	name  string // monitor, node1, node2
	pgdir string
	port  int
	log   string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Node describes a data node as the monitor sees it.
type Node struct {
	Index    int    // 0 or 1: node1 or node2
	Name     string // node1, node2
	Addr     string // host:port
	Reported string // the state its keeper last reported
	Goal     string // the state the monitor assigned
}

// StartFormation creates the monitor, then node1 (the primary) and node2
// (its standby, from a base backup), starts their keepers, and waits until
// the monitor reports node1 primary and node2 secondary.
func StartFormation(ctx context.Context, opts FormationOptions) (_ *Formation, err error) {
	f := &Formation{opts: opts, autoctl: opts.Autoctl}
	if f.opts.Database == "" {
		f.opts.Database = "sprocket"
	}
	if f.opts.Bin == "" {
		if f.opts.Bin, err = FindBin(); err != nil {
			return nil, err
		}
	}
	if f.autoctl == "" {
		if f.autoctl, err = findAutoctl(); err != nil {
			return nil, err
		}
	}
	if f.cred, err = serverUser(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		if f.root, err = os.MkdirTemp("", "sprocket-formation-"); err != nil {
			return nil, err
		}
		f.temp = true
	} else {
		f.root = opts.Dir
		if err := os.MkdirAll(f.root, 0o700); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			f.Remove()
		}
	}()
	if f.cred != nil {
		if err := os.Chown(f.root, int(f.cred.Uid), int(f.cred.Gid)); err != nil {
			return nil, err
		}
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	f.monitor = f.newKeeper("monitor", ports[0])
	for i := range f.nodes {
		f.nodes[i] = f.newKeeper(fmt.Sprintf("node%d", i+1), ports[i+1])
	}

	// The monitor: created, tuned, then run.
	if err := f.autoctlRun(ctx, "create", "monitor", "--pgdata", f.monitor.pgdir, "--pgport", strconv.Itoa(f.monitor.port),
		"--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--pgctl", filepath.Join(f.opts.Bin, "pg_ctl")); err != nil {
		return nil, err
	}
	if err := f.autoctlRun(ctx, "config", "set", "--pgdata", f.monitor.pgdir, "postgresql.listen_addresses", "127.0.0.1"); err != nil {
		return nil, err
	}
	if err := appendConf(f.monitor.pgdir, append(f.serverConf(), opts.Monitor...)); err != nil {
		return nil, err
	}
	if err := f.start(f.monitor); err != nil {
		return nil, err
	}
	f.MonitorURL = fmt.Sprintf("postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable", f.monitor.port)
	if err := f.waitMonitor(ctx); err != nil {
		return nil, err
	}

	// node1 is created and registered as the single node, tuned, and run;
	// node2 is created from its base backup (taking node1's tuning) and
	// run at once.
	if err := f.autoctlRun(ctx, f.createNode(f.nodes[0])...); err != nil {
		return nil, err
	}
	if err := appendConf(f.nodes[0].pgdir, f.serverConf()); err != nil {
		return nil, err
	}
	if err := f.start(f.nodes[0]); err != nil {
		return nil, err
	}
	if err := f.waitStates(ctx, "node1 runs alone", func(ns []Node) bool {
		return len(ns) == 1 && ns[0].Reported == "single" && ns[0].Goal == "single"
	}); err != nil {
		return nil, err
	}
	if err := f.startWith(f.nodes[1], append(f.createNode(f.nodes[1]), "--run")); err != nil {
		return nil, err
	}
	if _, err := f.WaitStable(ctx); err != nil {
		return nil, err
	}
	if err := f.readURI(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Formation) newKeeper(name string, port int) *keeper {
	return &keeper{name: name, pgdir: filepath.Join(f.root, name), port: port, log: filepath.Join(f.root, name+".log")}
}

// serverConf is the tuning every server of the formation gets (nodes
// inherit node1's through the base backup): pg_autoctl sizes
// shared_buffers at a quarter of the machine's memory and keeps 8 GB of
// WAL, too much for three servers on one machine.
func (f *Formation) serverConf() []string {
	conf := []string{"shared_buffers = 32MB", "wal_keep_size = '256MB'", "max_connections = 100", "jit = off"}
	if !f.opts.Durable {
		conf = append(conf, "fsync = off")
	}
	return conf
}

func (f *Formation) createNode(n *keeper) []string {
	return []string{"create", "postgres", "--pgdata", n.pgdir, "--pgport", strconv.Itoa(n.port),
		"--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--name", n.name, "--dbname", f.opts.Database,
		"--auth", "trust", "--no-ssl", "--monitor", f.MonitorURL, "--pgctl", filepath.Join(f.opts.Bin, "pg_ctl")}
}

// readURI takes the formation's URI from `pg_autoctl show uri`, the
// string operators paste.
func (f *Formation) readURI(ctx context.Context) error {
	out, err := f.output(ctx, "show", "uri", "--pgdata", f.monitor.pgdir, "--formation", "default", "--json")
	if err != nil {
		return err
	}
	var uris map[string]string // "monitor" and each formation's name
	if err := json.Unmarshal(out, &uris); err != nil {
		return fmt.Errorf("pgcluster: pg_autoctl show uri: %w\n%s", err, out)
	}
	if uri := uris["default"]; uri != "" {
		// The URI names no user (libpq takes the system user's name);
		// the tests' servers have postgres.
		rest, ok := strings.CutPrefix(uri, "postgres://")
		if !ok {
			return fmt.Errorf("pgcluster: unexpected formation URI %q", uri)
		}
		f.URL = "postgres://postgres@" + rest
		f.ReadURL = strings.Replace(f.URL, "target_session_attrs=read-write", "target_session_attrs=prefer-standby", 1)
		return nil
	}
	return fmt.Errorf("pgcluster: pg_autoctl show uri printed no formation URI:\n%s", out)
}

// Dir is the directory of the formation's servers and logs.
func (f *Formation) Dir() string { return f.root }

// NodeURL is node i's own URL (0: node1), for checks made on one server.
func (f *Formation) NodeURL(i int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", f.nodes[i].port, f.opts.Database)
}

// NodeAddr is node i's host:port.
func (f *Formation) NodeAddr(i int) string { return fmt.Sprintf("127.0.0.1:%d", f.nodes[i].port) }

// AutoctlEnv is the environment, as shell words, under which pg_autoctl
// commands reach this formation (its configuration files and sockets),
// with sudo -u postgres when the servers run as postgres.
func (f *Formation) AutoctlEnv() string {
	env := fmt.Sprintf("env XDG_CONFIG_HOME=%s XDG_DATA_HOME=%s PGHOST=%s PATH=%s:$PATH",
		filepath.Join(f.root, "config"), filepath.Join(f.root, "data"), f.root, f.opts.Bin)
	if f.cred != nil {
		env = "sudo -u postgres " + env
	}
	return env
}

// waitMonitor waits until the monitor's PostgreSQL answers.
func (f *Formation) waitMonitor(ctx context.Context) error {
	return f.waitStates(ctx, "the monitor", func([]Node) bool { return true })
}

// findAutoctl finds pg_autoctl in PATH, else in /usr/bin (Debian's
// pg-auto-failover-cli).
func findAutoctl() (string, error) {
	if p, err := exec.LookPath("pg_autoctl"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/pg_autoctl"); err == nil {
		return "/usr/bin/pg_autoctl", nil
	}
	return "", errors.New("pgcluster: no pg_autoctl: install Debian's pg-auto-failover-cli and postgresql-<version>-auto-failover")
}
