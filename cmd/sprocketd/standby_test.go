package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/pgcluster"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// The tests of read replicas run sprocketd on a primary and a streaming
// hot standby of their own (testdb.NewCluster), in parallel: each has its
// own servers, and most of their time is spent waiting.

func standbyEnv(c *testdb.Cluster, extra ...string) map[string]string {
	env := map[string]string{
		"ENV":                          "testing",
		"DATABASE_URL":                 c.PrimaryURL,
		"DATABASE_READ_URL":            c.StandbyURL,
		"DATABASE_READ_CHECK_INTERVAL": "50ms",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// do sends a request with the given Sprocket-LSN ("" for none) and returns
// the status, the body and the answer's Sprocket-LSN.
func do(t *testing.T, method, url, lsn, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if lsn != "" {
		req.Header.Set(replica.Header, lsn)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get(replica.Header)
}

// createSprocket creates a sprocket of teeth over /v1 and returns its id
// and the answer's log position.
func createSprocket(t *testing.T, base string, teeth int) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/sprockets", strings.NewReader(
		fmt.Sprintf(`{"teeth": %d, "pitch_diameter": 5, "outside_diameter": 6, "pitch": 1}`, teeth)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("POST /v1/sprockets: %d %s", res.StatusCode, b)
	}
	id, err := strconv.Atoi(strings.TrimPrefix(res.Header.Get("Location"), "/v1/sprockets/"))
	if err != nil {
		t.Fatalf("Location %q", res.Header.Get("Location"))
	}
	lsn := res.Header.Get(replica.Header)
	if _, err := replica.ParseLSN(lsn); err != nil {
		t.Fatalf("the write answered no log position: %q (%v)", lsn, err)
	}
	return id, lsn
}

// metric returns the value of the sample of /metrics that starts with
// series (name and labels), or 0.
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(metricsText(t, base))
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const standbyUp = `sprocket_replica_up{standby="1"}`

// TestReadsAreServedByTheStandby: REST GETs and GraphQL queries read on
// the standby, as its own statistics show, and not on the primary; writes
// and every read inside them stay on the primary.
func TestReadsAreServedByTheStandby(t *testing.T) {
	t.Parallel()
	c := testdb.NewCluster(t)
	base := start(t, standbyEnv(c))
	id, _ := createSprocket(t, base, 12)
	c.WaitReplayed(t)
	eventually(t, 10*time.Second, "the standby is up", func() bool { return metric(t, base, standbyUp) == 1 })

	primaryBefore := testdb.Stats(t, c.PrimaryURL, "sprockets")
	standbyBefore := testdb.Stats(t, c.StandbyURL, "sprockets")
	const n = 20
	for range n {
		if code, body, _ := do(t, "GET", fmt.Sprintf("%s/v1/sprockets/%d", base, id), "", ""); code != 200 || !strings.Contains(body, `"teeth": 12`) && !strings.Contains(body, `"teeth":12`) {
			t.Fatalf("GET: %d %s", code, body)
		}
		var out struct{ Sprockets struct{ TotalCount int } }
		gql(t, base, `{ sprockets { totalCount } }`, nil, &out)
		if out.Sprockets.TotalCount != 1 {
			t.Fatalf("totalCount %d", out.Sprockets.TotalCount)
		}
	}
	// Statistics reach the view within a second or so of the reads.
	eventually(t, 10*time.Second, "the standby counts the reads", func() bool {
		return testdb.Stats(t, c.StandbyURL, "sprockets") >= standbyBefore+2*n
	})
	time.Sleep(1500 * time.Millisecond)
	if after := testdb.Stats(t, c.PrimaryURL, "sprockets"); after != primaryBefore {
		t.Errorf("the primary scanned sprockets %d times during the reads", after-primaryBefore)
	}
	if got := metric(t, base, `sprocket_replica_reads_total{standby="1"}`); got < 2*n {
		t.Errorf("sprocket_replica_reads_total = %v, want at least %d", got, 2*n)
	}
	// The standby's sessions are sprocketd's.
	db, err := sql.Open("postgres", c.StandbyURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sessions int
	if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sprocketd'`).Scan(&sessions); err != nil || sessions == 0 {
		t.Errorf("sprocketd sessions on the standby: %d %v", sessions, err)
	}
}

// TestAClientReadsItsOwnWritesFromALaggingStandby: the standby applies
// commits 300 ms late, so a read right after a write without the write's
// position misses it; with the position it never does, whether a standby
// waits for it (DATABASE_READ_WAIT long enough) or the primary answers.
func TestAClientReadsItsOwnWritesFromALaggingStandby(t *testing.T) {
	t.Parallel()
	c := testdb.NewCluster(t, "recovery_min_apply_delay = '300ms'")
	waiting := start(t, standbyEnv(c, "DATABASE_READ_WAIT", "5s"))
	impatient := start(t, standbyEnv(c, "DATABASE_READ_WAIT", "1ms"))
	strict := start(t, standbyEnv(c, "DATABASE_READ_MAX_LAG", "100ms"))
	createSprocket(t, waiting, 1)
	c.WaitReplayed(t) // the migrations, replayed 300 ms late each
	for _, base := range []string{waiting, impatient} {
		eventually(t, 10*time.Second, "the standby is up and fresh", func() bool {
			return metric(t, base, standbyUp) == 1 && metric(t, base, `sprocket_replica_lag_seconds{standby="1"}`) < 1
		})
	}

	stale := 0
	for i := range 10 {
		id, lsn := createSprocket(t, waiting, 100+i)
		url := fmt.Sprintf("%s/v1/sprockets/%d", waiting, id)
		if code, _, _ := do(t, "GET", url, "", ""); code == http.StatusNotFound {
			stale++
		}
		// The impatient server first: once the waiting one has read, the
		// standby has replayed the write.
		for _, base := range []string{impatient, waiting} {
			url := fmt.Sprintf("%s/v1/sprockets/%d", base, id)
			code, body, _ := do(t, "GET", url, lsn, "")
			if code != 200 || !strings.Contains(strings.ReplaceAll(body, " ", ""), fmt.Sprintf(`"teeth":%d`, 100+i)) {
				t.Fatalf("%s with its write's position: %d %s", url, code, body)
			}
		}
	}
	if stale == 0 {
		t.Error("no read without the position missed a write: the standby does not lag, and the test proves nothing")
	}
	if got := metric(t, waiting, `sprocket_replica_reads_total{standby="1"}`); got < 10 {
		t.Errorf("the waiting server routed %v reads to the standby, want the 10 that waited", got)
	}
	if got := metric(t, waiting, `sprocket_replica_wait_seconds_sum`); got < 10*0.1 {
		t.Errorf("the reads waited %v s in all, want about 10 × 0.3 s", got)
	}
	if got := metric(t, impatient, `sprocket_replica_fallbacks_total{reason="behind"}`); got < 10 {
		t.Errorf("the impatient server sent %v reads to the primary for being behind, want 10", got)
	}

	// A standby further behind than DATABASE_READ_MAX_LAG is skipped: a
	// write's commit waits 300 ms to be applied, and the checks (every
	// 50 ms) see the standby fall behind meanwhile.
	eventually(t, 10*time.Second, "a read skips the lagging standby", func() bool {
		createSprocket(t, waiting, 2)
		time.Sleep(150 * time.Millisecond)
		if code, body, _ := do(t, "GET", strict+"/v1/sprockets", "", ""); code != 200 {
			t.Fatalf("GET: %d %s", code, body)
		}
		return metric(t, strict, `sprocket_replica_fallbacks_total{reason="lag"}`) > 0
	})

	// GraphQL: a mutation answers its position in extensions.lsn and the
	// header, and a query that sends it sees the write.
	body, _ := json.Marshal(map[string]any{"query": `mutation { createSprocket(input: {teeth: 77, pitchDiameter: 5, outsideDiameter: 6, pitch: 1}) { id } }`})
	code, resp, header := do(t, "POST", waiting+"/graphql", "", string(body))
	var out struct {
		Data struct {
			CreateSprocket struct{ ID string }
		}
		Extensions struct{ LSN string }
	}
	if err := json.Unmarshal([]byte(resp), &out); err != nil || code != 200 || out.Extensions.LSN == "" || out.Extensions.LSN != header {
		t.Fatalf("mutation: %d %s (header %q, err %v)", code, resp, header, err)
	}
	q, _ := json.Marshal(map[string]any{"query": `query($id: ID!) { node(id: $id) { ... on Sprocket { teeth } } }`,
		"variables": map[string]any{"id": out.Data.CreateSprocket.ID}})
	if code, resp, _ := do(t, "POST", waiting+"/graphql", out.Extensions.LSN, string(q)); code != 200 || !strings.Contains(resp, `"teeth":77`) {
		t.Fatalf("query with the mutation's position: %d %s", code, resp)
	}
}

// TestReadsFallBackToThePrimaryWhenTheStandbyStops: every read answers
// while the standby is down, readiness holds, the metrics tell it, and
// reads return to the standby when it is back.
func TestReadsFallBackToThePrimaryWhenTheStandbyStops(t *testing.T) {
	t.Parallel()
	c := testdb.NewCluster(t)
	// Checks every 3 s: the reads right after the stop find the standby
	// gone before a check does, and must be served by the primary all
	// the same. The staleness bound must be longer than the interval.
	base := start(t, standbyEnv(c, "DATABASE_READ_CHECK_INTERVAL", "3s", "DATABASE_READ_MAX_LAG", "10s"))
	id, _ := createSprocket(t, base, 9)
	c.WaitReplayed(t)
	eventually(t, 10*time.Second, "the standby is up", func() bool { return metric(t, base, standbyUp) == 1 })
	read := func() {
		t.Helper()
		if code, body, _ := do(t, "GET", fmt.Sprintf("%s/v1/sprockets/%d", base, id), "", ""); code != 200 {
			t.Fatalf("GET: %d %s", code, body)
		}
		var out struct{ Sprockets struct{ TotalCount int } }
		gql(t, base, `{ sprockets { totalCount } }`, nil, &out)
	}
	for range 5 {
		read()
	}
	c.StopStandby(t, 0)
	stopped := time.Now()
	for time.Since(stopped) < time.Second {
		read()
	}
	if code, body, _ := do(t, "GET", base+"/readyz", "", ""); code != 200 {
		t.Errorf("/readyz with the standby down: %d %s", code, body)
	}
	if got := metric(t, base, standbyUp); got != 0 {
		t.Errorf("%s = %v with the standby down", standbyUp, got)
	}
	if got := metric(t, base, `sprocket_replica_fallbacks_total{reason="error"}`); got == 0 {
		t.Error("no read that failed on the standby was counted")
	}
	if got := metric(t, base, `sprocket_replica_fallbacks_total{reason="down"}`); got == 0 {
		t.Error("no read was sent to the primary for the standby being down")
	}

	c.StartStandby(t, 0)
	eventually(t, 30*time.Second, "the standby is up again", func() bool { return metric(t, base, standbyUp) == 1 })
	before := metric(t, base, `sprocket_replica_reads_total{standby="1"}`)
	read()
	if after := metric(t, base, `sprocket_replica_reads_total{standby="1"}`); after < before+2 {
		t.Errorf("reads after the standby came back: %v routed to it, want 2", after-before)
	}
}

// TestSubscriptionsAndWritesStayOnThePrimary: with a standby, a
// subscription still gets the points a mutation records (LISTEN is on the
// primary), and a malformed position is the client's error.
func TestSubscriptionsAndWritesStayOnThePrimary(t *testing.T) {
	t.Parallel()
	c := testdb.NewCluster(t)
	base := start(t, standbyEnv(c))
	var created struct{ CreateFactory struct{ ID string } }
	gql(t, base, `mutation { createFactory(input: {name: "Plant 9"}) { id } }`, nil, &created)
	id := created.CreateFactory.ID
	events := subscribe(t, base, `subscription($f: ID!) { productionRecorded(factoryId: $f) { epoch actual goal } }`, map[string]any{"f": id})
	waitSubscribed(t, base)
	gql(t, base, `mutation($f: ID!) { recordProduction(factoryId: $f, points: [{time: "2026-05-01T00:00:00Z", actual: 30, goal: 32}]) { inserted } }`,
		map[string]any{"f": id}, nil)
	if e := next(t, events); !strings.Contains(e, `"epoch":1777593600,"actual":30,"goal":32`) {
		t.Errorf("event %s", e)
	}

	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/sprockets", ""},
		{"POST", "/graphql", `{"query": "{ sprockets { totalCount } }"}`},
	} {
		// Not a position; a position no write answered (past the
		// primary's), on which every read would wait in vain.
		for _, lsn := range []string{"not-a-position", "FFFFFFFF/FFFFFFFF"} {
			code, body, _ := do(t, tc.method, base+tc.path, lsn, tc.body)
			if code != http.StatusBadRequest || !strings.Contains(body, replica.Header) {
				t.Errorf("%s %s with %s %q: %d %s", tc.method, tc.path, replica.Header, lsn, code, body)
			}
		}
	}
}

// TestAPrimaryListedAsAStandbyIsNeverReadFrom: a server that is not in
// recovery (here the primary itself) has positions of its own, against
// which no read can be checked: it is never used, and reads go to the
// primary.
func TestAPrimaryListedAsAStandbyIsNeverReadFrom(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t, dialect.Postgres)
	base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": url, "DATABASE_READ_URL": url,
		"DATABASE_READ_CHECK_INTERVAL": "50ms"})
	id, _ := createSprocket(t, base, 3)
	time.Sleep(200 * time.Millisecond) // a few checks
	for range 5 {
		if code, body, _ := do(t, "GET", fmt.Sprintf("%s/v1/sprockets/%d", base, id), "", ""); code != 200 {
			t.Fatalf("GET: %d %s", code, body)
		}
	}
	if got := metric(t, base, standbyUp); got != 0 {
		t.Errorf("%s = %v for a server that is not a standby", standbyUp, got)
	}
	if got := metric(t, base, `sprocket_replica_reads_total{standby="1"}`); got != 0 {
		t.Errorf("%v reads went to it", got)
	}
	if got := metric(t, base, `sprocket_replica_fallbacks_total{reason="down"}`); got < 5 {
		t.Errorf("fallbacks for down: %v, want 5", got)
	}
}

// TestReadsTakeTurnsAcrossStandbys: two standbys share the reads; with
// one stopped, the other serves them all and none goes to the primary.
func TestReadsTakeTurnsAcrossStandbys(t *testing.T) {
	t.Parallel()
	c := testdb.NewClusterOf(t, pgcluster.Options{Standbys: 2})
	env := standbyEnv(c)
	env["DATABASE_READ_URL"] = strings.Join(c.StandbyURLs, ",")
	base := start(t, env)
	id, _ := createSprocket(t, base, 5)
	c.WaitReplayed(t)
	for _, n := range []string{"1", "2"} {
		eventually(t, 10*time.Second, "standby "+n+" is up", func() bool { return metric(t, base, `sprocket_replica_up{standby="`+n+`"}`) == 1 })
	}
	url := fmt.Sprintf("%s/v1/sprockets/%d", base, id)
	for range 20 {
		if code, body, _ := do(t, "GET", url, "", ""); code != 200 {
			t.Fatalf("GET: %d %s", code, body)
		}
	}
	one, two := metric(t, base, `sprocket_replica_reads_total{standby="1"}`), metric(t, base, `sprocket_replica_reads_total{standby="2"}`)
	if one != 10 || two != 10 {
		t.Errorf("20 reads went %v and %v to the standbys, want 10 and 10", one, two)
	}

	c.StopStandby(t, 0)
	eventually(t, 10*time.Second, "standby 1 is down", func() bool { return metric(t, base, `sprocket_replica_up{standby="1"}`) == 0 })
	for range 20 {
		if code, body, _ := do(t, "GET", url, "", ""); code != 200 {
			t.Fatalf("GET with standby 1 down: %d %s", code, body)
		}
	}
	if got := metric(t, base, `sprocket_replica_reads_total{standby="2"}`); got != two+20 {
		t.Errorf("standby 2 served %v of the 20 reads, want all", got-two)
	}
	for _, reason := range []string{"down", "lag", "behind", "error"} {
		if got := metric(t, base, `sprocket_replica_fallbacks_total{reason="`+reason+`"}`); got != 0 {
			t.Errorf("%v reads went to the primary (%s) with a standby up", got, reason)
		}
	}
}
