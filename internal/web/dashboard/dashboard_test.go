package dashboard_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/app/apptest"
	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/seed"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/web/dashboard"
	"github.com/sprocketapi/sprocket/internal/web/webtest"
)

// Handler and Options, unqualified, keep the handler tests short.
var Handler = dashboard.Handler

type Options = dashboard.Options

// versions maps each asset the page links to the version in its link.
func versions(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	out := map[string]string{}
	body := webtest.Get(t, h, "/", nil).Body.String()
	for _, m := range links.FindAllStringSubmatch(body, -1) {
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil || !strings.HasPrefix(u.Path, "assets/") {
			continue
		}
		out[strings.TrimPrefix(u.Path, "assets/")] = u.Query().Get("v")
	}
	return out
}

// absoluteURL matches a URL with a scheme and host, or a scheme-relative link.
var absoluteURL = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>)]+|(?:src|href)\s*=\s*["']?//`)

// links are the src and href attributes of a page.
var links = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*"([^"]*)"`)

func TestThePageLinksOnlyItsOwnAssets(t *testing.T) {
	h := Handler(Options{Playground: "/graphiql"})
	rec := webtest.Get(t, h, "http://sprocket.test/", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache", got)
	}
	if m := absoluteURL.FindAllString(body, -1); m != nil {
		t.Errorf("the page has absolute URLs: %q", m)
	}
	base, _ := url.Parse("http://sprocket.test/")
	seen := map[string]bool{}
	for _, m := range links.FindAllStringSubmatch(body, -1) {
		switch m[1] {
		case "data:,", "#factories", "/graphiql":
			continue
		}
		ref, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("link %q: %v", m[1], err)
		}
		u := base.ResolveReference(ref)
		if u.Host != "sprocket.test" || !strings.HasPrefix(u.Path, "/assets/") {
			t.Errorf("link %q resolves to %s, outside /assets/", m[1], u)
			continue
		}
		seen[strings.TrimPrefix(u.Path, "/assets/")] = true
		arec := webtest.Get(t, h, u.String(), nil)
		if arec.Code != http.StatusOK {
			t.Errorf("link %q: GET %s: %d", m[1], u, arec.Code)
		}
		if got := arec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("link %q: Cache-Control %q, want a year, immutable", m[1], got)
		}
	}
	for _, name := range []string{"app.js", "app.css", "LICENSES.txt"} {
		if !seen[name] {
			t.Errorf("the page does not link %s", name)
		}
	}
	for _, want := range []string{`<title>Sprocket dashboard</title>`, `<script type="module" src="assets/app.js?v=`, `href="/graphiql"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(webtest.Get(t, Handler(Options{}), "/", nil).Body.String(), "/graphiql") {
		t.Errorf("a page without Playground links it")
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	rec := webtest.Get(t, Handler(Options{}), "http://sprocket.test:8080/", nil)
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{
		"default-src 'none'",
		"script-src 'self';",
		"style-src 'self';",
		"connect-src 'self' ws://sprocket.test:8080 wss://sprocket.test:8080;",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
		t.Errorf("policy %q allows inline code, eval or another host", csp)
	}

	// A Host header that is not a plain host name stays out of the policy.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Host = "evil.test; script-src *"
	rec = httptest.NewRecorder()
	Handler(Options{}).ServeHTTP(rec, req)
	if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "evil") {
		t.Errorf("policy %q carries the Host header", csp)
	}

	// Endpoints on another origin are allowed for connections, no more.
	csp = webtest.Get(t, Handler(Options{Endpoint: "https://api.test/graphql"}), "/", nil).Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "https://api.test") || !strings.Contains(csp, "wss://api.test") || strings.Contains(csp, "script-src 'self' https") {
		t.Errorf("policy %q for endpoints on api.test", csp)
	}
}

func TestAssetsAreServedCachedAndCompressed(t *testing.T) {
	h := Handler(Options{})
	want := map[string]string{
		"app.js":       "text/javascript; charset=utf-8",
		"app.css":      "text/css; charset=utf-8",
		"LICENSES.txt": "text/plain; charset=utf-8",
	}
	if got := dashboard.AssetNames(); len(got) != len(want) {
		t.Errorf("embedded assets %q, want the %d of the test", got, len(want))
	}
	linked := versions(t, h)
	for name, ct := range want {
		data, err := os.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		rec := webtest.Get(t, h, "/assets/"+name, nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ct || !bytes.Equal(rec.Body.Bytes(), data) {
			t.Errorf("%s: %d %q, want 200 %q and the embedded file", name, rec.Code, rec.Header().Get("Content-Type"), ct)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s without its version: Cache-Control %q, want no-cache", name, got)
		}
		etag := rec.Header().Get("ETag")
		if rec := webtest.Get(t, h, "/assets/"+name, http.Header{"If-None-Match": {etag}}); rec.Code != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %s: %d, want 304", name, etag, rec.Code)
		}
		rec = webtest.Get(t, h, "/assets/"+name+"?v="+linked[name], http.Header{"Accept-Encoding": {"br, gzip"}})
		if got := rec.Header().Get("Cache-Control"); linked[name] == "" || got != "public, max-age=31536000, immutable" {
			t.Errorf("%s with the page's version %q: Cache-Control %q", name, linked[name], got)
		}
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: Content-Encoding %q, want gzip", name, rec.Header().Get("Content-Encoding"))
			continue
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, data) {
			t.Errorf("%s: gzip body does not decompress to the file (%v)", name, err)
		}
	}
	if rec := webtest.Get(t, h, "/assets/app.js", http.Header{"Accept-Encoding": {"gzip;q=0, identity"}}); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 still got %q", rec.Header().Get("Content-Encoding"))
	}
}

func TestOtherPathsAndMethodsAreRefused(t *testing.T) {
	h := Handler(Options{})
	for _, p := range []string{"/assets/nope.js", "/assets/", "/assets/../dashboard.go", "/assets/sub/app.js", "/page.html", "/index.html", "/src/main.js"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = p
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	for _, p := range []string{"/", "/assets/app.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, p, strings.NewReader("x")))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d, Allow %q", p, rec.Code, rec.Header().Get("Allow"))
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, p, nil))
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Errorf("HEAD %s: %d with %d bytes", p, rec.Code, rec.Body.Len())
		}
	}
}

// optionsBlock is the JSON block of the page.
var optionsBlock = regexp.MustCompile(`(?s)<script id="dashboard-options" type="application/json">(.*?)</script>`)

func TestOptionsAreEncodedSafely(t *testing.T) {
	evil := `</script><script>alert(1)</script><!--`
	body := webtest.Get(t, Handler(Options{Endpoint: "/graphql?x=" + evil, Title: "T " + evil}), "/", nil).Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<!--") {
		t.Fatalf("the options broke out of their place:\n%s", body)
	}
	m := optionsBlock.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no options block in\n%s", body)
	}
	var got struct {
		Endpoint             string `json:"endpoint"`
		SubscriptionEndpoint string `json:"subscriptionEndpoint"`
	}
	if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
		t.Fatalf("options block %q: %v", m[1], err)
	}
	if got.Endpoint != "/graphql?x="+evil || got.SubscriptionEndpoint != got.Endpoint {
		t.Errorf("options block decodes to %+v", got)
	}
}

// TestTheBundleIsPinnedAndLicensed checks what build.sh --check cannot
// without npm: exact versions, and a licence for each bundled package.
func TestTheBundleIsPinnedAndLicensed(t *testing.T) {
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
		Dependencies    map[string]string `json:"dependencies"`
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
			License string `json:"license"`
		} `json:"packages"`
	}
	for file, v := range map[string]any{"package.json": &pkg, "package-lock.json": &lock} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	exact := regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	for name, v := range pkg.DevDependencies {
		if !exact.MatchString(v) {
			t.Errorf("package.json: %s %q is not an exact version", name, v)
		}
		if got := lock.Packages["node_modules/"+name].Version; got != v {
			t.Errorf("package-lock.json has %s %q, package.json %q", name, got, v)
		}
	}
	if len(pkg.Dependencies) > 0 {
		t.Errorf("package.json has dependencies %v: everything is bundled, so all are devDependencies", pkg.Dependencies)
	}
	b, err := os.ReadFile("assets/LICENSES.txt")
	if err != nil {
		t.Fatal(err)
	}
	licences := string(b)
	for _, name := range []string{"uplot", "graphql-ws"} {
		p := lock.Packages["node_modules/"+name]
		if head := name + "@" + p.Version + " (" + p.License + ")"; !strings.Contains(licences, head) {
			t.Errorf("LICENSES.txt lacks %q", head)
		}
	}
	if n := strings.Count(licences, "Permission is hereby granted, free of charge"); n != 2 {
		t.Errorf("LICENSES.txt has %d MIT licence texts, want uPlot's and graphql-ws's", n)
	}
	b, err = os.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	if m := absoluteURL.FindAllString(js, -1); len(m) > 0 {
		// uPlot and graphql-ws fetch nothing by themselves; a URL in the
		// bundle would be a new dependency on another host.
		t.Errorf("app.js has absolute URLs: %q", m)
	}
}

// ---------------------------------------------------------------------------
// The dashboard in headless Chromium against a real server.

// fixture is sprocketd's real router over a fresh SQLite database, with
// every GraphQL POST recorded.
type fixture struct {
	url, host string
	svc       *core.Service
	hub       app.Hub
	ops       *opLog
	handler   http.Handler

	mu    sync.Mutex
	srv   *httptest.Server
	conns map[net.Conn]struct{} // open connections, WebSockets included
}

// newFixture starts the server; seeded, it has the legacy seed data (3
// factories of 20 points from January 2021, 3 sprockets).
func newFixture(t *testing.T, tokens *auth.Tokens, seeded bool) *fixture {
	t.Helper()
	return newFixtureOn(t, testdb.Open(t, "sqlite3"), nil, tokens, seeded)
}

// newFixtureOn is newFixture on db, reading from the standbys of replicas
// when it is not nil.
func newFixtureOn(t *testing.T, db *database.DB, replicas *replica.Set, tokens *auth.Tokens, seeded bool) *fixture {
	t.Helper()
	a := apptest.New(t, apptest.Config(t, nil), db, app.Options{Tokens: tokens, Replicas: replicas})
	if seeded {
		if _, err := seed.Load(context.Background(), a.Service); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{svc: a.Service, hub: a.Hub, ops: &opLog{}, conns: map[net.Conn]struct{}{}}
	f.handler = f.ops.wrap(a.Handler)
	f.serve(t, "")
	t.Cleanup(f.stop)
	return f
}

// serve starts the HTTP server, on addr when it is not "".
func (f *fixture) serve(t *testing.T, addr string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(f.handler)
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listening on %s again: %v", addr, err)
		}
		_ = srv.Listener.Close()
		srv.Listener = l
	}
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch s {
		case http.StateNew:
			f.conns[c] = struct{}{}
		case http.StateClosed:
			delete(f.conns, c)
		}
	}
	srv.Start()
	f.mu.Lock()
	f.srv, f.url, f.host = srv, srv.URL, srv.Listener.Addr().String()
	f.mu.Unlock()
}

// stop ends the server as a crash or a restart would: every connection,
// WebSockets included, is closed, and new ones are refused.
func (f *fixture) stop() {
	f.mu.Lock()
	for c := range f.conns {
		_ = c.Close()
	}
	clear(f.conns)
	srv := f.srv
	f.mu.Unlock()
	srv.Close()
}

// getJSON GETs a path of the fixture's server and decodes its JSON answer.
func (f *fixture) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	res, err := http.Get(f.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", path, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// op is a GraphQL POST the page sent.
type op struct {
	Name          string
	Variables     map[string]any
	Authorization string
	// LSN is the Sprocket-LSN the request sent, Answered the one its
	// answer gave (read replicas only).
	LSN, Answered string
}

type opLog struct {
	mu  sync.Mutex
	ops []op
}

func (l *opLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/graphql" {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct {
				OperationName string         `json:"operationName"`
				Variables     map[string]any `json:"variables"`
			}
			_ = json.Unmarshal(body, &req)
			o := op{Name: req.OperationName, Variables: req.Variables, Authorization: r.Header.Get("Authorization"), LSN: r.Header.Get(replica.Header)}
			next.ServeHTTP(w, r)
			o.Answered = w.Header().Get(replica.Header)
			l.mu.Lock()
			l.ops = append(l.ops, o)
			l.mu.Unlock()
			return
		}
		next.ServeHTTP(w, r)
	})
}

// named returns the recorded operations called name.
func (l *opLog) named(name string) []op {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []op
	for _, o := range l.ops {
		if o.Name == name {
			out = append(out, o)
		}
	}
	return out
}

func (l *opLog) all() []op {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ops)
}

// browser is a Chromium tab on the fixture's server, with every request to
// another host blocked and recorded, and the page's console watched.
type browser struct{ *webtest.Browser }

func newBrowser(t *testing.T, host string, timeout time.Duration) browser {
	t.Helper()
	return browser{webtest.NewBrowser(t, webtest.Options{Host: host, Timeout: timeout, Width: 1280, Height: 900})}
}

// eval evaluates a JavaScript expression.
func eval[T any](b browser, expr string) T {
	b.T.Helper()
	return webtest.Eval[T](b.Browser, expr)
}

// chart is a card as window.__dashboard.charts() describes it.
type chart struct {
	ID          string   `json:"id"`
	RowID       int      `json:"rowId"`
	Name        string   `json:"name"`
	Points      int      `json:"points"`
	Plotted     int      `json:"plotted"`
	FirstEpoch  *float64 `json:"firstEpoch"`
	LastEpoch   *float64 `json:"lastEpoch"`
	Zoomed      bool     `json:"zoomed"`
	ZoomLoading bool     `json:"zoomLoading"`
	Attainment  *float64 `json:"attainment"`
	Count       int      `json:"count"`
	PlotWidth   int      `json:"plotWidth"`
	OverWidth   int      `json:"overWidth"`
	TimeLabels  struct {
		Width  float64 `json:"width"`
		Labels []struct {
			Text  string  `json:"text"`
			Left  float64 `json:"left"`
			Right float64 `json:"right"`
		} `json:"labels"`
	} `json:"timeLabels"`
}

// ink counts a card's canvas pixels: painted at all, and in the colour of
// the actual series (the --actual custom property of the current theme).
const inkJS = `((rowId) => {
  const canvas = document.querySelector('.card[data-row-id="' + rowId + '"] canvas');
  if (!canvas) return {ink: 0, actual: 0};
  const hex = getComputedStyle(document.documentElement).getPropertyValue('--actual').trim();
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0, actual = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    ink++;
    if (data[i + 3] > 200 && rgb.every((c, k) => Math.abs(data[i + k] - c) < 24)) actual++;
  }
  return {ink, actual};
})`

type ink struct{ Ink, Actual int }

// labelsFit fails the test when a label of a chart's time axis crosses
// the chart's edge (uPlot centres a label on its tick, and cut the first
// or last one).
func (b browser) labelsFit(what string) {
	b.T.Helper()
	var cuts []string
	for _, c := range eval[[]chart](b, `__dashboard.charts()`) {
		if len(c.TimeLabels.Labels) == 0 && c.Points > 0 {
			cuts = append(cuts, fmt.Sprintf("%s has no time labels", c.Name))
		}
		for _, l := range c.TimeLabels.Labels {
			if l.Left < 0 || l.Right > c.TimeLabels.Width {
				cuts = append(cuts, fmt.Sprintf("%s: %q spans %.0f..%.0f of 0..%.0f", c.Name, l.Text, l.Left, l.Right, c.TimeLabels.Width))
			}
		}
	}
	if len(cuts) > 0 {
		b.Failf("%s: time labels cut at the chart's edge: %v", what, cuts)
	}
}

// shoot takes a full-page screenshot into a temp dir, and into testdata/
// when UPDATE_SCREENSHOTS=1.
func (b browser) shoot(name string) {
	b.T.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.Failf("screenshot %s: %v", name, err)
	}
	webtest.WriteScreenshot(b.T, name, png)
}

// waitFor polls a Go condition until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: still not after %v", what, timeout)
		}
		<-tick.C
	}
}

// box is where an element is in the viewport, in CSS pixels.
type box struct{ X, Y, W, H float64 }

func (b browser) box(sel string) box {
	b.T.Helper()
	return eval[box](b, `(() => { const r = document.querySelector(`+webtest.JSString(sel)+`).getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
}

// setField types into an input, replacing what it held.
func (b browser) setField(sel, value string) {
	b.T.Helper()
	b.Do("filling "+sel,
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+webtest.JSString(sel)+`).value = ''`),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// seedTimes are the seeded points' times of each factory, by /v1 id.
func seedTimes(t *testing.T, f *fixture) map[int][]int64 {
	t.Helper()
	var list struct {
		Factories []struct {
			ID        int `json:"id"`
			ChartData struct {
				Time []int64 `json:"time"`
			} `json:"chart_data"`
		} `json:"factories"`
	}
	f.getJSON(t, "/v1/factories", &list)
	out := map[int][]int64{}
	for _, fa := range list.Factories {
		out[fa.ID] = fa.ChartData.Time
	}
	return out
}

// TestDashboardInChromium drives the whole page against a real server on
// the seeded database: the cards load in one request and draw every point,
// a zoom fetches a window, a recorded point appears live, the range picker
// refetches, the sprocket forms create and edit through GraphQL and show
// the server's validation errors; screenshots in light, dark and on a phone.
func TestDashboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("long: drives headless Chromium")
	}
	ctx := context.Background()
	f := newFixture(t, nil, true)
	times := seedTimes(t, f)
	b := newBrowser(t, f.host, 60*time.Second)
	start := time.Now()

	b.Do("opening the dashboard", chromedp.Navigate(f.url+"/"))
	b.Poll("the cards and the catalogue", `window.__dashboard?.ready === true`, 15*time.Second)
	if s := eval[string](b, `__dashboard.factoriesState()`); s != "ready" {
		b.Failf("factories state %q, want ready", s)
	}

	// Every chart draws its 20 seeded points, on a canvas that shows them.
	charts := eval[[]chart](b, `__dashboard.charts()`)
	if len(charts) != 3 {
		b.Failf("%d cards, want the 3 seeded factories: %+v", len(charts), charts)
	}
	for i, c := range charts {
		if c.RowID != i+1 || c.Name != fmt.Sprintf("Factory %d", i+1) || c.Points != 20 || c.Plotted != 20 || c.Count != 20 {
			b.Failf("card %d: %+v, want Factory %d with 20 points drawn", i, c, i+1)
		}
		if c.LastEpoch == nil || int64(*c.LastEpoch) > times[c.RowID][19] || int64(*c.LastEpoch) < times[c.RowID][19]-60 {
			b.Failf("card %d ends at %v, want the bucket of the last seeded point %d", i, c.LastEpoch, times[c.RowID][19])
		}
		if c.Attainment == nil || *c.Attainment < 0.9 || *c.Attainment > 1.1 {
			b.Failf("card %d attainment %v", i, c.Attainment)
		}
		if px := eval[ink](b, inkJS+`(`+fmt.Sprint(c.RowID)+`)`); px.Actual < 200 || px.Ink < 2000 {
			b.Failf("card %d's canvas has %d painted pixels, %d of the actual series: not drawn", i, px.Ink, px.Actual)
		}
		if text := eval[string](b, `document.querySelector('.card[data-row-id="`+fmt.Sprint(c.RowID)+`"] .attainment').textContent`); !strings.Contains(text, "%") {
			b.Failf("card %d shows attainment %q", i, text)
		}
	}

	// One request for all the cards (and one for the catalogue), sized to
	// the plot area.
	dash := f.ops.named("Dashboard")
	if len(dash) != 1 || len(f.ops.named("Sprockets")) != 1 || len(f.ops.all()) != 2 {
		b.Failf("GraphQL POSTs on load: %+v; want one Dashboard and one Sprockets", f.ops.all())
	}
	v := dash[0].Variables
	mdp, _ := v["maxDataPoints"].(float64)
	if v["first"] != float64(100) || v["from"] != nil || v["to"] != nil || int(mdp) != charts[0].PlotWidth || mdp < 50 {
		b.Failf("Dashboard variables %v; want first 100, no window, maxDataPoints = the plot width %d", v, charts[0].PlotWidth)
	}
	for _, c := range charts {
		if c.OverWidth < c.PlotWidth-1 || c.OverWidth > c.PlotWidth+1 {
			b.Failf("card %d: uPlot's plot area is %d px, the request asked for %d", c.RowID, c.OverWidth, c.PlotWidth)
		}
	}

	// Live: connected, one subscription per card; a point recorded through
	// the API is on its chart within two seconds.
	b.Poll("the connection indicator to say connected",
		`document.querySelector('#live-status').dataset.state === 'connected' && document.querySelector('#live-status').textContent.includes('connected')`, 10*time.Second)
	waitFor(t, "three subscriptions on the server", 10*time.Second, func() bool { return f.hub.Subscribers() == 3 })
	newTime := times[1][19] + 60
	recorded := time.Now()
	if _, err := f.svc.RecordProduction(ctx, 1, []core.Point{{Time: newTime, Actual: 50, Goal: 32}}, false); err != nil {
		t.Fatal(err)
	}
	b.Poll("the recorded point on Factory 1's chart",
		fmt.Sprintf(`(() => { const c = __dashboard.charts()[0]; return c.points === 21 && c.plotted === 21 && c.lastEpoch === %d && c.count === 21; })()`, newTime),
		2*time.Second)
	t.Logf("a recorded point was drawn %v after the commit", time.Since(recorded).Round(time.Millisecond))
	if text := eval[string](b, `document.querySelector('.card[data-row-id="1"] .totals').textContent`); !strings.Contains(text, "21 points") {
		b.Failf("Factory 1's totals %q after a live point, want 21 points", text)
	}

	// A server restart: the indicator says so; a range change meanwhile
	// shows an error with a retry; the page reconnects by itself,
	// resubscribes, and refetches what it missed.
	loads := len(f.ops.named("Dashboard"))
	b.ExpectProblems("net::ERR_CONNECTION_REFUSED", "WebSocket connection to")
	f.stop()
	b.Poll("the indicator to say reconnecting", `document.querySelector('#live-status').dataset.state === 'reconnecting'`, 5*time.Second)
	missed := times[3][19] + 60
	if _, err := f.svc.RecordProduction(ctx, 3, []core.Point{{Time: missed, Actual: 31, Goal: 32}}, false); err != nil {
		t.Fatal(err)
	}
	b.Click(`label[for="range-day"]`)
	b.Poll("the error state, with a retry", `__dashboard.factoriesState() === 'error' &&
		document.querySelector('#cards .state.error .message').textContent.includes('The server did not answer') &&
		document.querySelector('#cards .state.error button').textContent === 'Retry'`, 5*time.Second)
	b.Click(`label[for="range-all"]`)
	b.Poll("the error state for all points", `__dashboard.range().kind === 'all' && __dashboard.factoriesState() === 'error'`, 5*time.Second)
	f.serve(t, f.host)
	b.Poll("the indicator to say connected again", `document.querySelector('#live-status').dataset.state === 'connected'`, 10*time.Second)
	// (Refetched series are bucketed: the last value is the bucket's start.)
	b.Poll("the point missed while away, refetched", fmt.Sprintf(`__dashboard.factoriesState() === 'ready' &&
		__dashboard.charts().map((c) => c.points).join() === '21,20,21' && __dashboard.charts()[2].lastEpoch > %d`, times[3][19]), 5*time.Second)
	if n := len(f.ops.named("Dashboard")); n != loads+1 {
		t.Errorf("%d Dashboard requests reached the server over the restart, want 1 (the refetch after reconnecting)", n-loads)
	}
	waitFor(t, "three subscriptions again", 5*time.Second, func() bool { return f.hub.Subscribers() == 3 })
	if _, err := f.svc.RecordProduction(ctx, 3, []core.Point{{Time: missed + 60, Actual: 33, Goal: 32}}, false); err != nil {
		t.Fatal(err)
	}
	b.Poll("a point recorded after the restart, live", fmt.Sprintf(`__dashboard.charts()[2].lastEpoch === %d`, missed+60), 2*time.Second)

	// Drag-to-zoom on Factory 2 fetches that window, at the plot's width.
	over := b.box(`.card[data-row-id="2"] .u-over`)
	y := over.Y + over.H/2
	x1, x2 := over.X+over.W*0.25, over.X+over.W*0.6
	b.Do("dragging across Factory 2's chart",
		chromedp.MouseEvent(chromedp.MouseMoved, x1, y),
		chromedp.MouseEvent(chromedp.MousePressed, x1, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, (x1+x2)/2, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, x2, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, x2, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
	)
	b.Poll("Factory 2 zoomed", `(() => { const c = __dashboard.charts()[1]; return c.zoomed && !c.zoomLoading; })()`, 5*time.Second)
	zooms := f.ops.named("Zoom")
	if len(zooms) != 1 {
		b.Failf("Zoom requests %+v, want one", zooms)
	}
	zv := zooms[0].Variables
	from, err1 := time.Parse(time.RFC3339, fmt.Sprint(zv["from"]))
	to, err2 := time.Parse(time.RFC3339, fmt.Sprint(zv["to"]))
	if err1 != nil || err2 != nil || zv["id"] != charts[1].ID || zv["maxDataPoints"] != float64(charts[1].PlotWidth) {
		b.Failf("Zoom variables %v; want Factory 2's id %s, a window and maxDataPoints %d", zv, charts[1].ID, charts[1].PlotWidth)
	}
	var inWindow int
	for _, ts := range times[2] {
		if ts >= from.Unix() && ts < to.Unix() {
			inWindow++
		}
	}
	first, last := times[2][0], times[2][19]
	if from.Unix() <= first || to.Unix() >= last || inWindow == 0 || inWindow >= 20 {
		b.Failf("zoom window [%v, %v) holds %d of the 20 points (%d..%d): not the dragged part", from, to, inWindow, first, last)
	}
	zoomed := eval[[]chart](b, `__dashboard.charts()`)[1]
	if zoomed.Points != inWindow || zoomed.Plotted != inWindow {
		b.Failf("zoomed chart draws %d values (%d plotted), want the window's %d raw points", zoomed.Points, zoomed.Plotted, inWindow)
	}
	if text := eval[string](b, `document.querySelector('.card[data-row-id="2"] .zoom-bar').textContent`); !strings.Contains(text, "Zoomed to") {
		b.Failf("zoom bar %q", text)
	}
	// Double-click goes back to the range.
	b.Do("double-clicking Factory 2's chart",
		chromedp.MouseClickXY(x1, y, chromedp.ClickCount(1)),
		chromedp.MouseClickXY(x1, y, chromedp.ClickCount(2)),
	)
	b.Poll("Factory 2 back to the range", `(() => { const c = __dashboard.charts()[1]; return !c.zoomed && c.points === 20 && c.plotted === 20; })()`, 5*time.Second)

	// The pointer leaves the charts, so that no legend shows a hovered value.
	b.Do("moving the pointer away", chromedp.MouseEvent(chromedp.MouseMoved, 1, 1))
	b.shoot("dashboard-light.png")

	// The range picker refetches. The last hour, day and week end at the
	// latest stored point (Factory 3's, recorded above), not at the
	// present, which the 2021 data is far from: the last hour holds Factory
	// 3's points only, and the other cards say why theirs are empty.
	latest := missed + 60
	b.Click(`label[for="range-hour"]`)
	b.Poll("the last hour of stored data", fmt.Sprintf(`__dashboard.factoriesState() === 'ready' && __dashboard.range().kind === 'hour' &&
		__dashboard.charts().map((c) => c.points === 0).join() === 'true,true,false' && __dashboard.charts()[2].lastEpoch === %d`, latest), 5*time.Second)
	for i, row := range []int{1, 2} {
		text := eval[string](b, fmt.Sprintf(`document.querySelector('.card[data-row-id="%d"] .plot-empty').textContent`, row))
		if !strings.Contains(text, "No points in this range: the latest is from") {
			b.Failf("card %d's empty chart says %q, want why (its latest point)", i+1, text)
		}
	}
	if note := eval[string](b, `document.querySelector('#range-note').textContent`); !strings.Contains(note, "up to the latest point") {
		b.Failf("range note %q", note)
	}
	if n := len(f.ops.named("DashboardLatest")); n != 1 {
		b.Failf("%d DashboardLatest requests for the last hour, want 1", n)
	}
	dashes := f.ops.named("Dashboard")
	hour := dashes[len(dashes)-1].Variables
	hf, _ := time.Parse(time.RFC3339, fmt.Sprint(hour["from"]))
	ht, _ := time.Parse(time.RFC3339, fmt.Sprint(hour["to"]))
	if ht.Unix() != latest+1 || ht.Sub(hf) != time.Hour {
		b.Failf("last hour's window %v, want the hour up to %d inclusive", hour, latest)
	}
	b.labelsFit("the last hour")
	b.shoot("dashboard-hour.png")
	b.Click(`label[for="range-week"]`)
	b.Poll("the last week of stored data", `__dashboard.factoriesState() === 'ready' && __dashboard.range().kind === 'week' &&
		__dashboard.charts().every((c) => c.points > 0)`, 5*time.Second)
	b.labelsFit("the last week")
	b.Click(`label[for="range-custom"]`)
	b.Poll("the custom range's inputs", `!document.querySelector('#range-custom-fields').hidden`, 2*time.Second)
	cFrom, cTo := times[1][0], times[1][0]+600
	b.Do("entering a custom range",
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const local = (s) => { const d = new Date(s * 1000), p = (n) => String(n).padStart(2, '0');
				return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()); };
			document.querySelector('#range-from').value = local(%d);
			document.querySelector('#range-to').value = local(%d);
		})()`, cFrom, cTo)),
	)
	b.Click(`#range-apply`)
	b.Poll("the custom range", `__dashboard.factoriesState() === 'ready' && __dashboard.range().kind === 'custom' &&
		__dashboard.charts()[0].points === 10 && __dashboard.charts()[1].points === 0`, 5*time.Second)
	dashes = f.ops.named("Dashboard")
	if custom := dashes[len(dashes)-1].Variables; custom["from"] != time.Unix(cFrom, 0).UTC().Format(time.RFC3339) ||
		custom["to"] != time.Unix(cTo, 0).UTC().Format(time.RFC3339) {
		b.Failf("custom range request %v, want [%d, %d)", custom, cFrom, cTo)
	}
	b.Click(`label[for="range-all"]`)
	b.Poll("all points again", `__dashboard.factoriesState() === 'ready' && __dashboard.charts().map((c) => c.points).join() === '21,20,22'`, 5*time.Second)
	b.labelsFit("all points")

	// Sprockets: a client-side check, then the server's message next to
	// its field, then a sprocket created through the form.
	b.Poll("the catalogue's three rows", `document.querySelectorAll('#sprocket-table tbody tr').length === 3`, 5*time.Second)
	b.setField(`#create-teeth`, "0")
	b.setField(`#create-pitchDiameter`, "10.5")
	b.setField(`#create-outsideDiameter`, "12")
	b.Click(`#create-form button[type="submit"]`)
	b.Poll("the client-side check of pitch", `document.querySelector('#create-pitch-error').textContent === 'Required.' &&
		document.querySelector('#create-pitch').getAttribute('aria-invalid') === 'true'`, 2*time.Second)
	if n := len(f.ops.named("CreateSprocket")); n != 0 {
		b.Failf("%d CreateSprocket requests for a form with an empty field", n)
	}
	b.setField(`#create-pitch`, "1.25")
	b.Click(`#create-form button[type="submit"]`)
	const teethMessage = "teeth must be a whole number from 1 to 2147483647."
	b.Poll("the server's message next to teeth", `document.querySelector('#create-teeth-error').textContent === `+webtest.JSString(teethMessage)+` &&
		document.querySelector('#create-teeth').getAttribute('aria-invalid') === 'true' &&
		document.querySelector('#create-pitch-error').textContent === ''`, 5*time.Second)
	if n := len(f.ops.named("CreateSprocket")); n != 1 {
		b.Failf("%d CreateSprocket requests, want the one the server refused", n)
	}
	b.setField(`#create-teeth`, "42")
	b.Click(`#create-form button[type="submit"]`)
	b.Poll("the new sprocket in the table", `[...document.querySelectorAll('#sprocket-table tbody tr')].some((tr) =>
		tr.cells[1].textContent === '42' && tr.cells[2].textContent === '10.5' && tr.cells[4].textContent === '1.25')`, 5*time.Second)
	var catalogue struct {
		Sprockets []struct {
			ID              int     `json:"id"`
			Teeth           int     `json:"teeth"`
			PitchDiameter   float64 `json:"pitch_diameter"`
			OutsideDiameter float64 `json:"outside_diameter"`
			Pitch           float64 `json:"pitch"`
		} `json:"sprockets"`
	}
	f.getJSON(t, "/v1/sprockets", &catalogue)
	if n := len(catalogue.Sprockets); n != 4 || catalogue.Sprockets[3].Teeth != 42 || catalogue.Sprockets[3].PitchDiameter != 10.5 ||
		catalogue.Sprockets[3].OutsideDiameter != 12 || catalogue.Sprockets[3].Pitch != 1.25 {
		t.Fatalf("GET /v1/sprockets after the form: %+v", catalogue.Sprockets)
	}

	// Edit sprocket 1: a bad value gets the server's message, a good one is saved.
	b.Click(`#sprocket-table tr[data-row-id="1"] button`)
	b.Poll("the edit form of sprocket 1", `document.activeElement === document.querySelector('#edit-1-teeth')`, 2*time.Second)
	b.setField(`#edit-1-outsideDiameter`, "-2")
	b.Click(`#edit-1-form button[type="submit"]`)
	b.Poll("the server's message next to the outside diameter", `document.querySelector('#edit-1-outsideDiameter-error').textContent.includes('outside_diameter must be')`, 5*time.Second)
	b.setField(`#edit-1-outsideDiameter`, "7")
	b.setField(`#edit-1-pitch`, "2.5")
	b.Click(`#edit-1-form button[type="submit"]`)
	b.Poll("sprocket 1 saved", `!document.querySelector('#edit-1-form') &&
		document.querySelector('#sprocket-table tr[data-row-id="1"]').cells[4].textContent === '2.5'`, 5*time.Second)
	f.getJSON(t, "/v1/sprockets", &catalogue)
	if s := catalogue.Sprockets[0]; s.ID != 1 || s.OutsideDiameter != 7 || s.Pitch != 2.5 || s.Teeth != 5 {
		t.Fatalf("sprocket 1 after the edit: %+v", s)
	}

	// Dark theme: the charts are redrawn in the dark palette.
	if _, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		b.Failf("emulating a dark theme: %v", err)
	}
	b.Poll("the dark palette", `getComputedStyle(document.documentElement).getPropertyValue('--bg').trim() === '#0e1318'`, 2*time.Second)
	b.Poll("charts redrawn in the dark palette", `[1, 2, 3].every((id) => `+inkJS+`(id).actual > 200)`, 2*time.Second)
	b.shoot("dashboard-dark.png")

	// A phone: one column, charts as wide as the screen allows.
	if _, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		b.Failf("resetting the theme: %v", err)
	}
	b.Do("emulating a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	// On failure: the page's width and the elements that stick out.
	const phoneState = `JSON.stringify({scrollWidth: document.documentElement.scrollWidth,
		wider: [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 390).slice(0, 8)
			.map((e) => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)),
		charts: __dashboard.charts()})`
	b.PollExplained("one column of cards, resized", phoneState, `(() => {
		const cards = [...document.querySelectorAll('.card')];
		const x = new Set(cards.map((c) => Math.round(c.getBoundingClientRect().left)));
		return cards.length === 3 && x.size === 1 && document.documentElement.scrollWidth <= 390 &&
			__dashboard.charts().every((c) => Math.abs(c.overWidth - c.plotWidth) <= 1 && c.plotWidth < 340);
	})()`, 5*time.Second)
	b.Poll("charts redrawn", `[1, 2, 3].every((id) => `+inkJS+`(id).actual > 200)`, 2*time.Second)
	b.shoot("dashboard-phone.png")

	elapsed := time.Since(start)
	allowed := b.Finish().Allowed
	t.Logf("dashboard driven in %v; %d requests and sockets, all to %s", elapsed.Round(time.Millisecond), len(allowed), f.host)
}

// TestDashboardWithAPIToken: with tokens configured, creating a sprocket
// without one shows UNAUTHENTICATED; with the token saved in the header's
// form, the same form succeeds and the token goes with the mutation.
func TestDashboardWithAPIToken(t *testing.T) {
	if testing.Short() {
		t.Skip("long: drives headless Chromium")
	}
	const token = "a-long-enough-test-token"
	tokens, err := auth.NewTokens([]string{token}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, tokens, true)
	b := newBrowser(t, f.host, 30*time.Second)
	b.Do("opening the dashboard", chromedp.Navigate(f.url+"/"))
	b.Poll("the cards and the catalogue", `window.__dashboard?.ready === true && __dashboard.factoriesState() === 'ready'`, 15*time.Second)
	b.Poll("the connection indicator to say connected", `document.querySelector('#live-status').dataset.state === 'connected'`, 10*time.Second)
	if s := eval[string](b, `document.querySelector('#token-state').textContent`); s != "(not set)" {
		b.Failf("token state %q, want (not set)", s)
	}

	b.setField(`#create-teeth`, "30")
	b.setField(`#create-pitchDiameter`, "9")
	b.setField(`#create-outsideDiameter`, "10")
	b.setField(`#create-pitch`, "1")
	b.Click(`#create-form button[type="submit"]`)
	b.Poll("UNAUTHENTICATED on the form", `document.querySelector('#create-form-error').textContent.includes('UNAUTHENTICATED') &&
		document.querySelector('#create-form-error').textContent.includes('API token')`, 5*time.Second)
	if c := f.ops.named("CreateSprocket"); len(c) != 1 || c[0].Authorization != "" {
		b.Failf("CreateSprocket requests %+v, want one without a token", c)
	}

	// The form's button opens the token box; save the token there.
	b.Click(`#create-form-error button`)
	b.Poll("the token input focused", `document.activeElement === document.querySelector('#token-input')`, 2*time.Second)
	b.Do("typing the token", chromedp.SendKeys(chromedp.CSS(`#token-input`), token))
	b.Click(`#token-form button[type="submit"]`)
	b.Poll("the token saved", `document.querySelector('#token-state').textContent === '(set)' &&
		localStorage.getItem('sprocket.dashboard.apiToken') === `+webtest.JSString(token), 2*time.Second)
	// The live connection restarts with the token in connection_init.
	b.Poll("the connection indicator to say connected again", `document.querySelector('#live-status').dataset.state === 'connected'`, 10*time.Second)

	b.Click(`#create-form button[type="submit"]`)
	b.Poll("the new sprocket in the table", `[...document.querySelectorAll('#sprocket-table tbody tr')].some((tr) => tr.cells[1].textContent === '30') &&
		document.querySelector('#create-form-error').textContent === ''`, 5*time.Second)
	c := f.ops.named("CreateSprocket")
	if len(c) != 2 || c[1].Authorization != "Bearer "+token {
		b.Failf("CreateSprocket requests %+v, want the second with the token", c)
	}
	var catalogue struct {
		Sprockets []struct {
			Teeth int `json:"teeth"`
		} `json:"sprockets"`
	}
	f.getJSON(t, "/v1/sprockets", &catalogue)
	if n := len(catalogue.Sprockets); n != 4 || catalogue.Sprockets[3].Teeth != 30 {
		t.Fatalf("GET /v1/sprockets: %+v", catalogue.Sprockets)
	}
	b.Finish()
}

// TestDashboardOnAnEmptyDatabase: no factories and no sprockets say so.
func TestDashboardOnAnEmptyDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("long: drives headless Chromium")
	}
	f := newFixture(t, nil, false)
	b := newBrowser(t, f.host, 20*time.Second)
	b.Do("opening the dashboard", chromedp.Navigate(f.url+"/"))
	b.Poll("the empty states", `window.__dashboard?.ready === true && __dashboard.factoriesState() === 'empty' &&
		document.querySelector('#cards .state').textContent.includes('No factories yet.') &&
		document.querySelector('#sprockets-body .state').textContent.includes('No sprockets yet.') &&
		document.querySelector('#cards').getAttribute('aria-busy') === 'false'`, 15*time.Second)
	b.Poll("the connection indicator to say connected", `document.querySelector('#live-status').dataset.state === 'connected'`, 10*time.Second)
	if n := len(f.ops.all()); n != 2 {
		t.Errorf("%d GraphQL requests on an empty database, want 2: %+v", n, f.ops.all())
	}
	b.Finish()
}
