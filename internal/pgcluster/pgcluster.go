// Package pgcluster starts a PostgreSQL primary with one streaming hot
// standby from the server's binaries (initdb, then pg_basebackup -R from
// the running primary) in a directory of its own, on free ports: the
// topology of read replicas, for tests (testdb.NewCluster) and for
// measuring it (sprocketbench cluster). It runs the servers as the
// postgres user when called as root, since PostgreSQL refuses root.
package pgcluster

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // PostgreSQL driver
)

// Options of a cluster.
type Options struct {
	// Dir holds the data directories; "" makes a temporary one, removed
	// by Remove.
	Dir string
	// Bin holds initdb, pg_ctl and pg_basebackup; "" finds them (PG_BIN,
	// or the newest /usr/lib/postgresql/<version>/bin).
	Bin string
	// Durable keeps fsync on (for measurements); tests leave it off.
	Durable bool
	// StandbyConf lines are added to the standbys' configuration
	// (recovery_min_apply_delay, for a standby that lags on purpose).
	StandbyConf []string
	// Standbys is how many standbys follow the primary (default 1).
	Standbys int
}

// Cluster is a running primary and its standbys.
type Cluster struct {
	PrimaryURL  string
	StandbyURL  string   // the first standby's
	StandbyURLs []string // every standby's, in order

	bin, root string
	primary   string   // data directories
	standbys  []string // data directories
	cred      *syscall.Credential
	temporary bool
}

// Start creates and starts a primary and its standbys, and waits until
// they stream.
func Start(opts Options) (_ *Cluster, err error) {
	c := &Cluster{bin: opts.Bin}
	if c.bin == "" {
		if c.bin, err = FindBin(); err != nil {
			return nil, err
		}
	}
	if c.cred, err = serverUser(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		if c.root, err = os.MkdirTemp("", "sprocket-cluster-"); err != nil {
			return nil, err
		}
		c.temporary = true
	} else {
		c.root = opts.Dir
		if err := os.MkdirAll(c.root, 0o700); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			c.Remove()
		}
	}()
	if c.cred != nil {
		if err := os.Chown(c.root, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return nil, err
		}
	}
	c.primary = filepath.Join(c.root, "primary")
	pport, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := c.run("initdb", "-D", c.primary, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return nil, err
	}
	conf := []string{
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(pport),
		"unix_socket_directories = '" + c.root + "'",
		"wal_level = replica",
		"max_wal_senders = 10",
		"hot_standby = on",
		"max_connections = 100",
		"jit = off",
	}
	if opts.Durable {
		conf = append(conf, "shared_buffers = 256MB")
	} else {
		conf = append(conf, "fsync = off", "full_page_writes = off", "shared_buffers = 32MB")
	}
	if err := appendConf(c.primary, conf); err != nil {
		return nil, err
	}
	if err := c.start(c.primary); err != nil {
		return nil, err
	}
	c.PrimaryURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pport)
	for i := range max(opts.Standbys, 1) {
		dir := filepath.Join(c.root, "standby")
		if i > 0 {
			dir += strconv.Itoa(i + 1)
		}
		sport, err := freePort()
		if err != nil {
			return nil, err
		}
		if err := c.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(pport), "-U", "postgres",
			"-D", dir, "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
			return nil, err
		}
		if err := appendConf(dir, append([]string{"port = " + strconv.Itoa(sport)}, opts.StandbyConf...)); err != nil {
			return nil, err
		}
		c.standbys = append(c.standbys, dir)
		if err := c.start(dir); err != nil {
			return nil, err
		}
		c.StandbyURLs = append(c.StandbyURLs, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", sport))
	}
	c.StandbyURL = c.StandbyURLs[0]
	return c, c.waitStreaming(len(c.standbys))
}

// Dir is the directory of the data directories and logs.
func (c *Cluster) Dir() string { return c.root }

// StopStandby stops standby i (from 0), in a fast shutdown: its sessions
// are ended.
func (c *Cluster) StopStandby(i int) error {
	return c.run("pg_ctl", "-D", c.standbys[i], "-m", "fast", "-w", "stop")
}

// StartStandby starts the stopped standby i again.
func (c *Cluster) StartStandby(i int) error { return c.start(c.standbys[i]) }

// FreezeStandby stops every process of standby i with SIGSTOP, as a hung
// machine would: its port still accepts TCP connections (the kernel's
// backlog), and nothing answers. ThawStandby resumes them.
func (c *Cluster) FreezeStandby(i int) error { return c.signal(c.standbys[i], syscall.SIGSTOP) }

// ThawStandby resumes the processes FreezeStandby stopped.
func (c *Cluster) ThawStandby(i int) error { return c.signal(c.standbys[i], syscall.SIGCONT) }

// signal sends sig to the postmaster of the data directory dir and to
// each of its children (the backends, the startup process replaying WAL,
// the WAL receiver…), the postmaster first so that it forks no more.
func (c *Cluster) signal(dir string, sig syscall.Signal) error {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return fmt.Errorf("pgcluster: postmaster.pid of %s: %w", dir, err)
	}
	pids := []int{pid}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …: comm may hold spaces and parentheses.
		end := strings.LastIndexByte(string(b), ')')
		if end < 0 {
			continue
		}
		fields := strings.Fields(string(b)[end+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
			child, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(st, "/proc/"), "/stat"))
			pids = append(pids, child)
		}
	}
	for _, p := range pids {
		if err := syscall.Kill(p, sig); err != nil && p == pid {
			return fmt.Errorf("pgcluster: signalling the postmaster of %s: %w", dir, err)
		}
	}
	return nil
}

// WaitReplayed waits until every standby has replayed everything the
// primary has written so far.
func (c *Cluster) WaitReplayed(ctx context.Context) error {
	p, err := sql.Open("postgres", c.PrimaryURL)
	if err != nil {
		return err
	}
	defer p.Close()
	var lsn string
	if err := p.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		return err
	}
	for _, url := range c.StandbyURLs {
		if err := waitReplayed(ctx, url, lsn); err != nil {
			return err
		}
	}
	return nil
}

func waitReplayed(ctx context.Context, url, lsn string) error {
	s, err := sql.Open("postgres", url)
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		var done bool
		err := s.QueryRowContext(ctx, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, lsn).Scan(&done)
		if err == nil && done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: the standby did not replay %s: %w (last error: %v)", lsn, ctx.Err(), err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop stops every server at once.
func (c *Cluster) Stop() {
	for _, dir := range append(append([]string{}, c.standbys...), c.primary) {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err == nil {
			_ = c.cmd("pg_ctl", "-D", dir, "-m", "immediate", "-w", "stop").Run()
		}
	}
}

// Remove stops every server and deletes their files when Start made the
// directory.
func (c *Cluster) Remove() {
	c.Stop()
	if c.temporary {
		_ = os.RemoveAll(c.root)
	}
}

func (c *Cluster) waitStreaming(standbys int) error {
	p, err := sql.Open("postgres", c.PrimaryURL)
	if err != nil {
		return err
	}
	defer p.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := p.QueryRow(`SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'`).Scan(&n); err == nil && n >= standbys {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: %d of %d standbys stream after 30 s; the first one's log:\n%s", n, standbys, c.log(c.standbys[0]))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *Cluster) start(dir string) error {
	if err := c.cmd("pg_ctl", "-D", dir, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start").Run(); err != nil {
		return fmt.Errorf("pgcluster: starting PostgreSQL in %s: %w; its log:\n%s", dir, err, c.log(dir))
	}
	return nil
}

func (c *Cluster) log(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
	return string(b)
}

func (c *Cluster) run(name string, args ...string) error {
	out, err := c.cmd(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: %s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *Cluster) cmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "PGHOST="+c.root, "LC_ALL=C.UTF-8")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
		cmd.Env = append(cmd.Env, "HOME="+c.root, "USER=postgres")
	}
	cmd.Dir = c.root
	return cmd
}

func appendConf(dir string, lines []string) error {
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("\n" + strings.Join(lines, "\n") + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// FindBin finds the server's binaries: PG_BIN, or the newest
// /usr/lib/postgresql/<version>/bin (Debian's layout).
func FindBin() (string, error) {
	if dir := os.Getenv("PG_BIN"); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		return "", errors.New("pgcluster: no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup): install Debian's postgresql package, or set PG_BIN")
	}
	sort.Slice(found, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(found[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(found[j])))
		return vi < vj
	})
	return found[len(found)-1], nil
}

// serverUser is the credential the servers run under: the postgres user's
// when the caller is root, else the caller's own (nil).
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root, PostgreSQL needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
