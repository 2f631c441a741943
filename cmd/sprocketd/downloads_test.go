package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// startSlowReader starts a client that asks for a download and takes its
// answer a byte a second, with a receive buffer of 4 KiB, until its
// connection is closed. (It cannot tell when the server cuts it: what the
// kernel holds for it comes first.)
func startSlowReader(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		_ = c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr); err != nil {
		t.Fatal(err)
	}
	go func() {
		b := make([]byte, 1)
		for {
			if _, err := conn.Read(b); err != nil {
				return
			}
			time.Sleep(time.Second)
		}
	}()
	return conn
}

// TestSlowDownloadsLeaveOtherClientsServed: 4 × DB_MAX_CONNS clients ask
// for every factory's series (an answer of 9 MB, more than the kernel
// holds for a client) and take it a byte a second: more than the bulk
// lane has turns, and more than the downloads' memory (32 MiB here) holds.
// Meanwhile other clients' GraphQL chart reads and mutations are answered,
// each within 5 s (one that waited for a turn held by a slow reader would
// fail at DB_TIMEOUT, 10 s), and what the downloads hold stays within
// DOWNLOAD_MEMORY_BYTES. The slow readers are cut once past their time at
// DOWNLOAD_MIN_RATE, and what they held is given back. Before downloads
// read ahead into a buffer of their own, the slow readers held the
// database turns and every chart read and mutation was
// SERVICE_UNAVAILABLE.
func TestSlowDownloadsLeaveOtherClientsServed(t *testing.T) {
	if testing.Short() {
		t.Skip("long: holds slow downloads open for about 15 s on each database")
	}
	testdb.Each(t, func(t *testing.T, d string) {
		// DB_TIMEOUT is 10 s: a read or write that waited for a turn a
		// slow reader holds would take that long, and fail.
		const maxConns, memory, bound = 4, 32 << 20, 5 * time.Second
		base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": testdb.URL(t, d),
			"DB_MAX_CONNS":          fmt.Sprint(maxConns),
			"DOWNLOAD_MEMORY_BYTES": fmt.Sprint(memory), "DOWNLOAD_MIN_RATE": "16384"})
		for f := range 6 {
			var b strings.Builder
			const n = 50_000
			cols := []func(i int) string{
				func(i int) string { return fmt.Sprintf("%d.25", 100000+i) },
				func(i int) string { return fmt.Sprintf("%d.5", 200000+i) },
				func(i int) string { return fmt.Sprint(1_700_000_000 + i*60) },
			}
			b.WriteString(`{"factory":{"chart_data":{`)
			for c, name := range []string{"sprocket_production_actual", "sprocket_production_goal", "time"} {
				if c > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%q:[", name)
				for i := range n {
					if i > 0 {
						b.WriteString(",")
					}
					b.WriteString(cols[c](i))
				}
				b.WriteString("]")
			}
			b.WriteString("}}}")
			if o := timed("create", "POST", base+"/v1/factories", "", b.String()); o.status != http.StatusCreated {
				t.Fatalf("factory %d: %v", f, o)
			}
		}
		var created struct{ CreateFactory struct{ ID string } }
		gql(t, base, `mutation { createFactory(input: {name: "Plant 3"}) { id } }`, nil, &created)
		full := timed("download", "GET", base+"/v1/factories", "", "")
		if full.status != 200 {
			t.Fatal(full)
		}
		t.Logf("the answer: %.1f MB", float64(len(full.body))/1e6)

		addr := strings.TrimPrefix(base, "http://")
		const slow = 4 * maxConns
		var readers []net.Conn
		for range slow {
			readers = append(readers, startSlowReader(t, addr, "/v1/factories"))
		}
		attacked := time.Now()
		time.Sleep(time.Second)

		var mu sync.Mutex
		var failed []outcome
		var slowest outcome
		answered := 0
		peak := 0.0
		note := func(o outcome, bound time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			answered++
			if o.err != nil || o.status != 200 || o.took > bound {
				failed = append(failed, o)
			}
			if o.took > slowest.took {
				slowest = o
			}
		}
		stop := time.Now().Add(5 * time.Second)
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; time.Now().Before(stop); i++ {
				note(timed("chart", "POST", base+"/graphql", "", gqlBody(`{ factories(first: 10) { edges { node {
					summary { count totalActual } series(maxDataPoints: 200) { actual goal } } } } }`, nil)), bound)
				note(timed("mutation", "POST", base+"/graphql", "", gqlBody(
					`mutation($f: ID!, $t: Time!) { recordProduction(factoryId: $f, points: [{time: $t, actual: 1, goal: 2}]) { inserted } }`,
					map[string]any{"f": created.CreateFactory.ID, "t": time.Unix(1_800_000_000+int64(i)*60, 0).UTC()})), bound)
				note(timed("createSprocket", "POST", base+"/graphql", "", gqlBody(
					`mutation { createSprocket(input: {teeth: 5, pitchDiameter: 5, outsideDiameter: 6, pitch: 1}) { id } }`, nil)), bound)
			}
		})
		wg.Go(func() {
			for time.Now().Before(stop) {
				v := metric(t, base, "sprocket_download_buffered_bytes")
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		})
		wg.Wait()
		t.Logf("%d answered while %d slow readers held downloads; slowest %v; buffered at most %.1f MB",
			answered, slow, slowest, peak/(1<<20))
		for i, o := range failed {
			if i == 10 {
				t.Errorf("… and %d more", len(failed)-10)
				break
			}
			t.Errorf("failed or slow: %v", o)
		}
		if peak > memory {
			t.Errorf("the downloads held %.1f MB, more than DOWNLOAD_MEMORY_BYTES", peak/(1<<20))
		}

		// The slow readers are cut, while they still hold their
		// connections: once the kernel's buffers are full, each 64 KiB
		// must be taken within 4 s. When the attack ends, what the
		// downloads held is given back.
		eventually(t, 30*time.Second-time.Since(attacked), "slow readers are cut", func() bool {
			return metric(t, base, "sprocket_downloads_cut_total") >= 6
		})
		t.Logf("%v slow readers cut %v after the first asked", metric(t, base, "sprocket_downloads_cut_total"),
			time.Since(attacked).Round(time.Second))
		for _, c := range readers {
			c.Close()
		}
		eventually(t, 30*time.Second, "the downloads' buffers are given back", func() bool {
			return metric(t, base, "sprocket_download_buffered_bytes") == 0
		})
	})
}
