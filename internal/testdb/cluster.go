package testdb

import (
	"context"
	"database/sql"
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
	"testing"
	"time"
)

// Cluster is a PostgreSQL primary with one streaming hot standby of its
// own, for tests of read replicas: the shared server allows no
// replication, so the test starts both from the server's binaries
// (initdb, then pg_basebackup -R from the running primary) in temporary
// directories, on free ports, as the postgres user when the test runs as
// root (PostgreSQL refuses to run as root). Both are stopped and removed
// at cleanup. A machine without the binaries fails the test: CI installs
// them (see .ci/run).
type Cluster struct {
	PrimaryURL string
	StandbyURL string

	bin     string
	root    string
	primary string // data directories
	standby string
	cred    *syscall.Credential
}

// NewCluster starts a primary and its standby. standbyConf lines are added
// to the standby's configuration (recovery_min_apply_delay, for a standby
// that lags on purpose).
func NewCluster(t testing.TB, standbyConf ...string) *Cluster {
	t.Helper()
	c := &Cluster{bin: postgresBin(t)}
	c.cred = postgresUser(t)
	root, err := os.MkdirTemp("", "sprocket-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c.root = root
	t.Cleanup(c.remove)
	c.chown(t, root)
	c.primary, c.standby = filepath.Join(root, "primary"), filepath.Join(root, "standby")
	pport, sport := freePort(t), freePort(t)

	c.run(t, "initdb", "-D", c.primary, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	c.appendConf(t, c.primary, []string{
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(pport),
		"unix_socket_directories = '" + root + "'",
		"wal_level = replica",
		"max_wal_senders = 5",
		"hot_standby = on",
		"fsync = off",
		"full_page_writes = off",
		"shared_buffers = 32MB",
		"max_connections = 100",
		"jit = off",
	})
	c.start(t, c.primary)
	c.run(t, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(pport), "-U", "postgres",
		"-D", c.standby, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	c.appendConf(t, c.standby, append([]string{"port = " + strconv.Itoa(sport)}, standbyConf...))
	c.start(t, c.standby)
	c.PrimaryURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pport)
	c.StandbyURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", sport)
	c.waitStreaming(t)
	return c
}

// StopStandby stops the standby (fast shutdown: its sessions are ended).
func (c *Cluster) StopStandby(t testing.TB) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", c.standby, "-m", "fast", "-w", "stop")
}

// StartStandby starts the stopped standby again.
func (c *Cluster) StartStandby(t testing.TB) {
	t.Helper()
	c.start(t, c.standby)
}

// WaitReplayed waits until the standby has replayed everything the
// primary has written so far.
func (c *Cluster) WaitReplayed(t testing.TB) {
	t.Helper()
	p, s := openURL(t, c.PrimaryURL), openURL(t, c.StandbyURL)
	defer p.Close()
	defer s.Close()
	var lsn string
	if err := p.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var done bool
		err := s.QueryRow(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, lsn).Scan(&done)
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testdb: the standby did not replay %s within 30 s: %v", lsn, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *Cluster) waitStreaming(t testing.TB) {
	t.Helper()
	p := openURL(t, c.PrimaryURL)
	defer p.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := p.QueryRow(`SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'`).Scan(&n); err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testdb: the standby did not stream within 30 s; its log:\n%s", c.log(c.standby))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openURL(t testing.TB, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func (c *Cluster) start(t testing.TB, dir string) {
	t.Helper()
	if err := c.cmd("pg_ctl", "-D", dir, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start").Run(); err != nil {
		t.Fatalf("testdb: starting PostgreSQL in %s: %v; its log:\n%s", dir, err, c.log(dir))
	}
}

func (c *Cluster) log(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "server.log"))
	return string(b)
}

// remove stops both servers at once and deletes their files.
func (c *Cluster) remove() {
	for _, dir := range []string{c.standby, c.primary} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err == nil {
			_ = c.cmd("pg_ctl", "-D", dir, "-m", "immediate", "-w", "stop").Run()
		}
	}
	_ = os.RemoveAll(c.root)
}

func (c *Cluster) run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := c.cmd(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testdb: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
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

func (c *Cluster) appendConf(t testing.TB, dir string, lines []string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n" + strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

func (c *Cluster) chown(t testing.TB, path string) {
	t.Helper()
	if c.cred == nil {
		return
	}
	if err := os.Chown(path, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
		t.Fatal(err)
	}
}

// postgresBin finds the server's binaries: PG_BIN, or the newest
// /usr/lib/postgresql/<version>/bin (Debian's layout).
func postgresBin(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("PG_BIN"); dir != "" {
		return dir
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		t.Fatal("testdb: no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup): install Debian's postgresql package, or set PG_BIN")
	}
	sort.Slice(found, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(found[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(found[j])))
		return vi < vj
	})
	return found[len(found)-1]
}

// postgresUser is the credential the servers run under: the postgres
// user's when the test runs as root, else the test's own (nil).
func postgresUser(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("testdb: running as root, PostgreSQL needs the postgres user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Stats counts the scans of table on the server at url (its own
// statistics: a standby counts the reads it serves): sequential and index
// scans together.
func Stats(t testing.TB, url, table string) int64 {
	t.Helper()
	db := openURL(t, url)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&n); err != nil {
		t.Fatalf("testdb: scans of %s: %v", table, err)
	}
	return n
}
