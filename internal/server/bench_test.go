package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// BenchmarkLegacyGetFactory measures GET /v1/factories/{id} of a large
// series end to end (database cursor, encoding, HTTP), and reports the
// heap in use at the end, which must not grow with the series.
func BenchmarkLegacyGetFactory(b *testing.B) {
	for _, d := range testdb.Dialects {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%d", testdb.Name(d), n), func(b *testing.B) {
				srv := newTestServer(b, d, nil)
				pts := make([]core.Point, n)
				for i := range pts {
					pts[i] = core.Point{Time: 1_600_000_000 + int64(i)*60, Actual: float64(i % 97), Goal: 50.5}
				}
				f, err := srv.svc.CreateFactory(context.Background(), core.FactoryInput{Points: pts})
				if err != nil {
					b.Fatal(err)
				}
				pts = nil
				url := fmt.Sprintf("%s/v1/factories/%d", srv.url, f.ID)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				cpu := cpuTime()
				b.ResetTimer()
				var bytes int64
				for i := 0; i < b.N; i++ {
					res, err := http.Get(url)
					if err != nil {
						b.Fatal(err)
					}
					m, _ := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					bytes = m
				}
				b.StopTimer()
				// The process's CPU time (server and client), which the
				// machine's other load does not inflate as it does the
				// wall time.
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(bytes), "bytes/answer")
				b.ReportMetric(float64(after.HeapInuse)/(1<<20), "MiB-heap-inuse")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB-alloc/op")
			})
		}
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRESTGetSprocket measures GET /v1/sprockets/{id} through the
// whole router, with 8 concurrent clients.
func BenchmarkRESTGetSprocket(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, d string) {
		srv := newTestServer(b, d, nil)
		s, err := srv.svc.CreateSprocket(context.Background(), core.SprocketInput{Teeth: 20, PitchDiameter: 10, OutsideDiameter: 11, Pitch: 2})
		if err != nil {
			b.Fatal(err)
		}
		url := fmt.Sprintf("%s/v1/sprockets/%d", srv.url, s.ID)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	})
}
