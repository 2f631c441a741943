package rest

import (
	"bytes"
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// pattern is n bytes that tell their place apart.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

// TestSpoolsHoldAtMostTheirBuffersAndGiveEverythingBack: a download's
// writer runs ahead of its client by at most its buffer, all downloads by
// at most their memory; a writer over either waits (here: stays where it
// is) until its client takes chunks; the client gets every byte in order,
// and every chunk is given back at the end.
func TestSpoolsHoldAtMostTheirBuffersAndGiveEverythingBack(t *testing.T) {
	d := newDownloads(DownloadOptions{BufferBytes: 4 * chunkSize, MemoryBytes: 6 * chunkSize, MinRate: 1 << 20}, nil)
	ctx := context.Background()
	answer := pattern(10*chunkSize + 123)
	write := func(sp *spool, written *atomic.Int64) chan error {
		done := make(chan error, 1)
		go func() {
			var err error
			for p := answer; len(p) > 0 && err == nil; {
				n := min(len(p), 1000)
				_, err = sp.Write(p[:n])
				written.Add(int64(n))
				p = p[n:]
			}
			sp.close(err)
			done <- err
		}()
		return done
	}

	one, err := d.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wrote1 atomic.Int64
	done1 := write(one, &wrote1)
	// Its buffer: 4 chunks, the fifth waits.
	waitFor(t, "the first writer fills its buffer", func() bool { return d.held.Load() == 4 })
	time.Sleep(20 * time.Millisecond)
	if w := wrote1.Load(); w > 4*chunkSize || d.held.Load() != 4 {
		t.Fatalf("the writer ran %d bytes ahead, holding %d chunks; want at most its buffer of 4", w, d.held.Load())
	}
	// A second download gets the rest of the memory, 2 chunks, then waits.
	two, err := d.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wrote2 atomic.Int64
	done2 := write(two, &wrote2)
	waitFor(t, "the second writer takes the memory left", func() bool { return d.held.Load() == 6 })
	time.Sleep(20 * time.Millisecond)
	if w := wrote2.Load(); w > 2*chunkSize || d.held.Load() != 6 {
		t.Fatalf("the second writer ran %d bytes ahead, all holding %d chunks; want at most the 6 of the memory", w, d.held.Load())
	}
	// A third waits for memory, within its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := d.open(short); err == nil {
		t.Fatal("a third download was opened with the memory full")
	}

	for i, c := range []struct {
		sp   *spool
		done chan error
	}{{one, done1}, {two, done2}} {
		rec := httptest.NewRecorder()
		if err := c.sp.drain(ctx, rec); err != nil {
			t.Fatalf("download %d: %v", i, err)
		}
		if err := <-c.done; err != nil {
			t.Fatalf("download %d's writer: %v", i, err)
		}
		c.sp.release()
		if !bytes.Equal(rec.Body.Bytes(), answer) || rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("download %d: %d %q, %d bytes, want the %d written", i, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), len(answer))
		}
	}
	if d.held.Load() != 0 {
		t.Fatalf("%d chunks still held after both downloads", d.held.Load())
	}
	again, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := d.open(again); err != nil {
		t.Fatalf("the memory was not given back: %v", err)
	}
}

// TestASpoolTakesBackOnlyWhatNoClientHasSeen: Reset empties a spool whose
// chunks are all still held (so a download a standby failed can be read
// again on the primary), and refuses once a chunk has gone to the client.
func TestASpoolTakesBackOnlyWhatNoClientHasSeen(t *testing.T) {
	d := newDownloads(DownloadOptions{BufferBytes: 8 * chunkSize, MemoryBytes: 8 * chunkSize, MinRate: 1 << 20}, nil)
	ctx := context.Background()
	sp, err := d.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sp.keep = 1 << 20
	if _, err := sp.Write(pattern(2*chunkSize + 10)); err != nil {
		t.Fatal(err)
	}
	if !sp.Reset() {
		t.Fatal("nothing was sent, yet the spool could not be reset")
	}
	if d.held.Load() != 1 || len(sp.cur) != 0 || len(sp.ready) != 0 || len(sp.copy()) != 0 {
		t.Fatalf("after Reset: %d chunks held, %d bytes current, %d ready, %d copied", d.held.Load(), len(sp.cur), len(sp.ready), len(sp.copy()))
	}
	again := pattern(chunkSize + 5)
	if _, err := sp.WriteString(string(again)); err != nil {
		t.Fatal(err)
	}
	c, err := sp.take(ctx)
	if err != nil || !bytes.Equal(c, again[:chunkSize]) {
		t.Fatalf("first chunk after the reset: %d bytes, %v", len(c), err)
	}
	if sp.Reset() {
		t.Fatal("the spool was reset after a chunk went to the client")
	}
	sp.mu.Lock()
	sp.free(c)
	sp.mu.Unlock()
	sp.close(nil)
	rec := httptest.NewRecorder()
	if err := sp.drain(ctx, rec); err != nil || !bytes.Equal(rec.Body.Bytes(), again[chunkSize:]) {
		t.Fatalf("the rest: %d bytes, %v", rec.Body.Len(), err)
	}
	if got := sp.copy(); !bytes.Equal(got, again) {
		t.Fatalf("the copy for the cache holds %d bytes, want the %d written since the reset", len(got), len(again))
	}
	sp.release()
	if d.held.Load() != 0 {
		t.Fatalf("%d chunks still held", d.held.Load())
	}
}
