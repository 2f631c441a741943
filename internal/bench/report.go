package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one run; --json prints it as is.
type Report struct {
	Started         time.Time      `json:"started"`
	Machine         Machine        `json:"machine"`
	Clients         int            `json:"clients"`
	DurationSeconds float64        `json:"duration_seconds"` // measured time per workload and server
	WarmupSeconds   float64        `json:"warmup_seconds"`
	Primary         string         `json:"primary"`
	Compare         string         `json:"compare,omitempty"`
	Results         []Result       `json:"results"`
	Ratios          []Ratio        `json:"ratios,omitempty"`
	Pgbench         *PgbenchResult `json:"pgbench,omitempty"`
}

// Result is one workload on one server. Latencies are in milliseconds and
// cover every measured request, failed ones included; rates are per second
// of measured time.
type Result struct {
	Workload     string   `json:"workload"`
	Target       string   `json:"target"` // primary or compare
	URL          string   `json:"url"`
	Skipped      string   `json:"skipped,omitempty"` // why the workload did not run there
	Failed       string   `json:"failed,omitempty"`  // why its set-up failed
	Clients      int      `json:"clients"`
	Seconds      float64  `json:"seconds"`
	Requests     int64    `json:"requests"`
	ReqPerSec    float64  `json:"req_per_sec"`
	P50Ms        float64  `json:"p50_ms"`
	P90Ms        float64  `json:"p90_ms"`
	P99Ms        float64  `json:"p99_ms"`
	MaxMs        float64  `json:"max_ms"`
	Errors       int64    `json:"errors"` // transport errors, non-2xx answers, GraphQL errors
	Bytes        int64    `json:"bytes"`  // answer bodies
	BytesPerSec  float64  `json:"bytes_per_sec"`
	Points       int64    `json:"points,omitempty"` // points written (gql-record, bulk-ingest)
	PointsPerSec float64  `json:"points_per_sec,omitempty"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	// StandbyReads and PrimaryReads count, for a server with read
	// replicas, the read-only requests of the workload (its warm-up
	// included) that its standbys served and those sent to the primary
	// instead (its sprocket_replica_* metrics); absent otherwise.
	StandbyReads *int64 `json:"standby_reads,omitempty"`
	PrimaryReads *int64 `json:"primary_reads,omitempty"`
	// Background is what ran beside the measured requests (fair-sprocket-get).
	Background *Background `json:"background,omitempty"`
}

// Ratio compares a workload's results on the compare server with the
// primary's: Throughput = compare req/s ÷ primary req/s (above 1: compare
// is faster), P50 = compare p50 ÷ primary p50 (above 1: compare is slower).
type Ratio struct {
	Workload   string  `json:"workload"`
	Throughput float64 `json:"throughput"`
	P50        float64 `json:"p50"`
}

// PgbenchResult is pgbench -S against the database, for scale:
// RestSprocketGetRatio = rest-sprocket-get req/s ÷ pgbench tps.
type PgbenchResult struct {
	Clients              int     `json:"clients"`
	Seconds              int     `json:"seconds"`
	TPS                  float64 `json:"tps"`
	LatencyMs            float64 `json:"latency_avg_ms"`
	Skipped              string  `json:"skipped,omitempty"`
	RestSprocketGetRatio float64 `json:"rest_sprocket_get_ratio,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (r *Result) fill(m measurement) {
	r.Seconds = m.elapsed.Seconds()
	r.Requests = m.requests
	r.Errors = m.errors
	r.Bytes = m.bytes
	r.Points = m.points
	r.ErrorSamples = m.samples
	if r.Seconds > 0 {
		r.ReqPerSec = float64(m.requests) / r.Seconds
		r.BytesPerSec = float64(m.bytes) / r.Seconds
		r.PointsPerSec = float64(m.points) / r.Seconds
	}
	r.P50Ms = ms(percentile(m.lat, 0.50))
	r.P90Ms = ms(percentile(m.lat, 0.90))
	r.P99Ms = ms(percentile(m.lat, 0.99))
	r.MaxMs = ms(percentile(m.lat, 1))
}

func (r Result) ran() bool { return r.Skipped == "" && r.Failed == "" && r.Requests > 0 }

func ratioOf(primary, compare Result) (Ratio, bool) {
	if !primary.ran() || !compare.ran() || primary.ReqPerSec == 0 || primary.P50Ms == 0 {
		return Ratio{}, false
	}
	return Ratio{
		Workload:   primary.Workload,
		Throughput: compare.ReqPerSec / primary.ReqPerSec,
		P50:        compare.P50Ms / primary.P50Ms,
	}, true
}

func writeJSON(w io.Writer, rep *Report) error { return writeJSONValue(w, rep) }

func writeJSONValue(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeTable(w io.Writer, rep *Report) error {
	m := rep.Machine
	fmt.Fprintf(w, "sprocketbench %s: %d clients, %s per workload after a %s warm-up\n",
		rep.Started.Format(time.RFC3339), rep.Clients, secs(rep.DurationSeconds), secs(rep.WarmupSeconds))
	fmt.Fprintf(w, "machine: %s\n", m)
	fmt.Fprintf(w, "primary: %s\n", rep.Primary)
	compare := rep.Compare != ""
	if compare {
		fmt.Fprintf(w, "compare: %s (ratios: compare ÷ primary)\n", rep.Compare)
	}
	fmt.Fprintln(w)

	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"workload"}
	if compare {
		head = append(head, "server")
	}
	head = append(head, "requests", "req/s", "p50", "p90", "p99", "max", "errors", "bytes/s", "points/s")
	replicas := false
	for _, r := range rep.Results {
		replicas = replicas || r.StandbyReads != nil
	}
	if replicas {
		head = append(head, "standby reads")
	}
	if compare {
		head = append(head, "×req/s", "×p50")
	}
	row := func(cells []string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	// tabwriter right-aligns every column; the names read better on the
	// left, so they are padded by hand.
	nameWidth := len("workload")
	for _, r := range rep.Results {
		nameWidth = max(nameWidth, len(r.Workload))
	}
	left := func(s string, n int) string { return s + strings.Repeat(" ", max(n-len(s), 0)) }
	head[0] = left(head[0], nameWidth)
	if compare {
		head[1] = left(head[1], len("compare"))
	}
	row(head)
	ratios := map[string]Ratio{}
	for _, r := range rep.Ratios {
		ratios[r.Workload] = r
	}
	for i, r := range rep.Results {
		name := r.Workload
		if compare && i > 0 && rep.Results[i-1].Workload == r.Workload {
			name = ""
		}
		cells := []string{left(name, nameWidth)}
		if compare {
			cells = append(cells, left(r.Target, len("compare")))
		}
		// A skipped or failed row's message ends the line outside the
		// columns (no final tab), so it does not widen them.
		switch {
		case r.Skipped != "":
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\tskipped: "+r.Skipped)
			continue
		case r.Failed != "":
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\tfailed: "+shorten(r.Failed, 100))
			continue
		default:
			pts := "-"
			if r.Points > 0 {
				pts = num(r.PointsPerSec)
			}
			cells = append(cells, strconv.FormatInt(r.Requests, 10), num(r.ReqPerSec), fmtMs(r.P50Ms), fmtMs(r.P90Ms),
				fmtMs(r.P99Ms), fmtMs(r.MaxMs), strconv.FormatInt(r.Errors, 10), fmtBytes(r.BytesPerSec)+"/s", pts)
			if replicas {
				cells = append(cells, standbyShare(r))
			}
			if compare && r.Target == "compare" {
				if ratio, ok := ratios[r.Workload]; ok {
					cells = append(cells, fmt.Sprintf("%.2f", ratio.Throughput), fmt.Sprintf("%.2f", ratio.P50))
				}
			}
		}
		row(cells)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Right alignment pads the first column by the gap too: take it off.
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if _, err := io.WriteString(w, strings.TrimPrefix(line, "  ")); err != nil {
			return err
		}
	}
	if pg := rep.Pgbench; pg != nil {
		fmt.Fprintln(w)
		if pg.Skipped != "" {
			fmt.Fprintf(w, "pgbench -S: skipped: %s\n", pg.Skipped)
			return nil
		}
		fmt.Fprintf(w, "pgbench -S: %d clients, %d s: %s tps (latency average %s)\n", pg.Clients, pg.Seconds, num(pg.TPS), fmtMs(pg.LatencyMs))
		for _, r := range rep.Results {
			if r.Workload == "rest-sprocket-get" && r.Target == "primary" && r.ran() {
				fmt.Fprintf(w, "REST GET sprocket by id / pgbench -S: %s req/s / %s tps = %.2f\n", num(r.ReqPerSec), num(pg.TPS), pg.RestSprocketGetRatio)
			}
		}
	}
	return nil
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func secs(s float64) string { return time.Duration(s * float64(time.Second)).String() }

// fmtMs formats milliseconds with three significant digits or so.
func fmtMs(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 1:
		return fmt.Sprintf("%.0fµs", v*1000)
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	case v < 1000:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fs", v/1000)
}

func fmtBytes(v float64) string {
	switch {
	case v < 1e3:
		return fmt.Sprintf("%.0f B", v)
	case v < 1e6:
		return fmt.Sprintf("%.1f kB", v/1e3)
	case v < 1e9:
		return fmt.Sprintf("%.1f MB", v/1e6)
	}
	return fmt.Sprintf("%.2f GB", v/1e9)
}

// num formats a rate: one decimal below 100, else whole with thousands
// separators.
func num(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// standbyShare is the table's cell of the reads a workload's standbys
// served: "standby/all (percent)", or "-" for a server without standbys.
func standbyShare(r Result) string {
	if r.StandbyReads == nil {
		return "-"
	}
	all := *r.StandbyReads + *r.PrimaryReads
	if all == 0 {
		return "0/0"
	}
	return fmt.Sprintf("%d/%d (%.0f%%)", *r.StandbyReads, all, 100*float64(*r.StandbyReads)/float64(all))
}
