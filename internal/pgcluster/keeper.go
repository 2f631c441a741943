package pgcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PerformFailover has the monitor switch the roles of the primary and the
// standby (pg_autoctl perform failover), and returns once it reports the
// failover done.
func (f *Formation) PerformFailover(ctx context.Context) error {
	_, err := f.output(ctx, "perform", "failover", "--pgdata", f.monitor.pgdir, "--formation", "default", "--group", "0", "--wait", "60")
	return err
}

// Kill kills node i's keeper and PostgreSQL at once (SIGKILL to its
// process group, which its PostgreSQL and sessions belong to): the loss of
// the node.
func (f *Formation) Kill(i int) error {
	k := f.nodes[i]
	k.mu.Lock()
	cmd, done := k.cmd, k.done
	k.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("pgcluster: node%d is not running", i+1)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("pgcluster: killing node%d: %w", i+1, err)
	}
	<-done
	return nil
}

// Restart runs node i's keeper again after Kill: it rejoins the formation
// in the role the monitor assigns (an old primary is demoted and follows
// the new one).
func (f *Formation) Restart(i int) error {
	return f.start(f.nodes[i])
}

// Logs is the end of every keeper's log, for failure messages.
func (f *Formation) Logs() string {
	var b strings.Builder
	for _, k := range append([]*keeper{f.monitor}, f.nodes[:]...) {
		if k == nil {
			continue
		}
		data, _ := os.ReadFile(k.log)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s (%s)\n%s\n", k.name, k.log, data)
	}
	return b.String()
}

// Stop stops every keeper (and its PostgreSQL).
func (f *Formation) Stop() {
	var wg sync.WaitGroup
	for _, k := range append([]*keeper{f.monitor}, f.nodes[:]...) {
		if k == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.stop(k)
		}()
	}
	wg.Wait()
}

// Remove stops the formation and deletes its files when StartFormation
// made the directory.
func (f *Formation) Remove() {
	f.Stop()
	if f.temp {
		_ = os.RemoveAll(f.root)
	}
}

// stop ends k's keeper: SIGTERM to its process group (the keeper stops its
// PostgreSQL in a fast shutdown), SIGKILL after 10 s; a PostgreSQL left
// behind is stopped immediately.
func (f *Formation) stop(k *keeper) {
	k.mu.Lock()
	cmd, done := k.cmd, k.done
	k.mu.Unlock()
	if cmd != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if _, err := os.Stat(filepath.Join(k.pgdir, "postmaster.pid")); err == nil {
		_ = f.command(filepath.Join(f.opts.Bin, "pg_ctl"), "-D", k.pgdir, "-m", "immediate", "-w", "stop").Run()
	}
}

// start runs `pg_autoctl run` for k.
func (f *Formation) start(k *keeper) error {
	return f.startWith(k, []string{"run", "--pgdata", k.pgdir})
}

// startWith runs pg_autoctl with args as k's keeper, in a process group
// of its own, its output appended to k's log.
func (f *Formation) startWith(k *keeper, args []string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cmd != nil {
		select {
		case <-k.done:
		default:
			return fmt.Errorf("pgcluster: %s is running already", k.name)
		}
	}
	log, err := os.OpenFile(k.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := f.command(f.autoctl, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("pgcluster: starting pg_autoctl for %s: %w", k.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(done)
	}()
	k.cmd, k.done = cmd, done
	return nil
}

// autoctlRun runs a pg_autoctl command to its end.
func (f *Formation) autoctlRun(ctx context.Context, args ...string) error {
	_, err := f.output(ctx, args...)
	return err
}

func (f *Formation) output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := f.command(f.autoctl, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer stop()
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("pgcluster: pg_autoctl %s: %w\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// command is a pg_autoctl (or pg_ctl) command run as the servers' user,
// with its configuration and state files (XDG_CONFIG_HOME, XDG_DATA_HOME)
// and its servers' Unix sockets in the formation's directory, so that
// formations never share them.
func (f *Formation) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(),
		"PATH="+f.opts.Bin+":"+os.Getenv("PATH"),
		"PG_CONFIG="+filepath.Join(f.opts.Bin, "pg_config"),
		"XDG_CONFIG_HOME="+filepath.Join(f.root, "config"),
		"XDG_DATA_HOME="+filepath.Join(f.root, "data"),
		"PG_REGRESS_SOCK_DIR="+f.root,
		"PGHOST="+f.root,
		"LC_ALL=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if f.cred != nil {
		cmd.SysProcAttr.Credential = f.cred
		cmd.Env = append(cmd.Env, "HOME="+f.root, "USER=postgres")
	}
	cmd.Dir = f.root
	return cmd
}
