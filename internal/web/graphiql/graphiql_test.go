package graphiql

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"

	"github.com/sprocketapi/sprocket/graph"
	"github.com/sprocketapi/sprocket/graph/gid"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/web/webtest"
)

func newMux(opts Options) *http.ServeMux {
	h := Handler(opts)
	mux := http.NewServeMux()
	mux.Handle("/graphiql", h)
	mux.Handle("/graphiql/", h)
	return mux
}

func defaultOptions() Options {
	return Options{Endpoint: "/graphql", SubscriptionEndpoint: "/graphql", Title: "Sprocket GraphiQL", Tabs: DefaultTabs}
}

// absoluteURL matches a URL with a scheme and host, or a scheme-relative one.
var absoluteURL = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>)]+|(?:src|href)\s*=\s*["']?//`)

// links are the src and href attributes of a page.
var links = regexp.MustCompile(`(?i)\b(?:src|href)\s*=\s*"([^"]*)"`)

func TestPageListsOnlyLocalAssets(t *testing.T) {
	mux := newMux(defaultOptions())
	for _, pagePath := range []string{"/graphiql", "/graphiql/"} {
		t.Run(pagePath, func(t *testing.T) {
			rec := webtest.Get(t, mux, "http://sprocket.test"+pagePath, nil)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", pagePath, rec.Code, rec.Body)
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
			base, _ := url.Parse("http://sprocket.test" + pagePath)
			seen := map[string]bool{}
			for _, m := range links.FindAllStringSubmatch(body, -1) {
				if m[1] == "data:," { // the empty favicon, so that the browser asks for none
					continue
				}
				ref, err := url.Parse(html.UnescapeString(m[1]))
				if err != nil {
					t.Fatalf("link %q: %v", m[1], err)
				}
				u := base.ResolveReference(ref)
				if u.Host != "sprocket.test" || !strings.HasPrefix(u.Path, "/graphiql/assets/") {
					t.Errorf("link %q resolves to %s, outside /graphiql/assets/", m[1], u)
					continue
				}
				name := strings.TrimPrefix(u.Path, "/graphiql/assets/")
				seen[name] = true
				arec := webtest.Get(t, mux, u.String(), nil)
				if arec.Code != http.StatusOK {
					t.Errorf("link %q: GET %s: %d", m[1], u, arec.Code)
				}
				if got := arec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
					t.Errorf("link %q: Cache-Control %q, want a year, immutable", m[1], got)
				}
			}
			for _, name := range []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "init.js", "page.css", "LICENSES.txt"} {
				if !seen[name] {
					t.Errorf("the page does not link %s", name)
				}
			}
			if !strings.Contains(body, "<title>Sprocket GraphiQL</title>") {
				t.Errorf("no title in the page")
			}
		})
	}

	// init.js is ours: no absolute URL either (the vendored bundles carry
	// links in strings, such as GraphiQL's help texts, but fetch nothing;
	// the browser test checks that).
	initJS, err := assetFS.ReadFile("assets/init.js")
	if err != nil {
		t.Fatal(err)
	}
	if m := absoluteURL.FindAllString(string(initJS), -1); m != nil {
		t.Errorf("init.js has absolute URLs: %q", m)
	}
	if bytes.Contains(initJS, []byte("eval(")) || bytes.Contains(initJS, []byte("new Function")) {
		t.Errorf("init.js evaluates strings")
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	rec := webtest.Get(t, newMux(defaultOptions()), "http://sprocket.test:8080/graphiql", nil)
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{
		"default-src 'none'",
		"script-src 'self';",
		"connect-src 'self' ws://sprocket.test:8080 wss://sprocket.test:8080;",
		"frame-ancestors 'none'",
		"base-uri 'none'",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
		t.Errorf("policy %q allows eval or another host", csp)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", got)
	}

	// A Host header that is not a plain host name stays out of the policy.
	req := httptest.NewRequest(http.MethodGet, "/graphiql", nil)
	req.Host = "evil.test; script-src *"
	rec = httptest.NewRecorder()
	newMux(defaultOptions()).ServeHTTP(rec, req)
	if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "evil") {
		t.Errorf("policy %q carries the Host header", csp)
	}

	// Endpoints on another origin are allowed for connections, no more.
	rec = webtest.Get(t, newMux(Options{Endpoint: "https://api.test/graphql", SubscriptionEndpoint: "https://api.test/graphql"}), "/graphiql", nil)
	csp = rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "https://api.test") || !strings.Contains(csp, "wss://api.test") || strings.Contains(csp, "script-src 'self' https") {
		t.Errorf("policy %q for endpoints on api.test", csp)
	}
}

func TestAssets(t *testing.T) {
	mux := newMux(defaultOptions())
	want := map[string]string{
		"graphiql.min.js":             "text/javascript; charset=utf-8",
		"react.production.min.js":     "text/javascript; charset=utf-8",
		"react-dom.production.min.js": "text/javascript; charset=utf-8",
		"init.js":                     "text/javascript; charset=utf-8",
		"graphiql.min.css":            "text/css; charset=utf-8",
		"page.css":                    "text/css; charset=utf-8",
		"LICENSES.txt":                "text/plain; charset=utf-8",
	}
	if got := strings.Join(AssetNames(), " "); len(AssetNames()) != len(want) {
		t.Errorf("embedded assets %s, want the %d of the test", got, len(want))
	}
	for name, ct := range want {
		data, err := assetFS.ReadFile("assets/" + name)
		versioned, verr := assets.URL("", name)
		if err != nil || verr != nil {
			t.Errorf("%s is not embedded", name)
			continue
		}
		rec := webtest.Get(t, mux, "/graphiql/assets/"+name, nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != ct {
			t.Errorf("%s: %d %q, want 200 %q", name, rec.Code, rec.Header().Get("Content-Type"), ct)
		}
		if !bytes.Equal(rec.Body.Bytes(), data) {
			t.Errorf("%s: body differs from the embedded file", name)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s without its version: Cache-Control %q, want no-cache", name, got)
		}
		etag := rec.Header().Get("ETag")
		if rec := webtest.Get(t, mux, "/graphiql/assets/"+name, http.Header{"If-None-Match": {etag}}); rec.Code != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %s: %d, want 304", name, etag, rec.Code)
		}
		rec = webtest.Get(t, mux, "/graphiql/assets/"+versioned, http.Header{"Accept-Encoding": {"br, gzip"}})
		if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s with its version: Cache-Control %q", name, got)
		}
		if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: Content-Encoding %q, Vary %q; want gzip, Accept-Encoding", name, rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"))
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
	if rec := webtest.Get(t, mux, "/graphiql/assets/init.js", http.Header{"Accept-Encoding": {"gzip;q=0, identity"}}); rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 still got %q", rec.Header().Get("Content-Encoding"))
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := Handler(defaultOptions())
	for _, p := range []string{
		"/graphiql/assets/nope.js",
		"/graphiql/assets/",
		"/graphiql/assets",
		"/graphiql/assets/sub/init.js",
		"/graphiql/assets/../graphiql.go",
		"/graphiql/assets/page.html",
		"/graphiql/other",
		"/graphiql/init.js",
		"/elsewhere",
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = p
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	for _, p := range []string{"/graphiql", "/graphiql/assets/init.js"} {
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
	// Another mount path.
	other := Handler(Options{Path: "/tools/graphiql/"})
	if rec := webtest.Get(t, other, "/tools/graphiql", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `src="graphiql/assets/init.js?v=`) {
		t.Errorf("GET /tools/graphiql: %d", rec.Code)
	}
	if rec := webtest.Get(t, other, "/tools/graphiql/assets/init.js", nil); rec.Code != http.StatusOK {
		t.Errorf("GET /tools/graphiql/assets/init.js: %d", rec.Code)
	}
	if rec := webtest.Get(t, other, "/graphiql", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET /graphiql on /tools/graphiql: %d", rec.Code)
	}
	root := Handler(Options{Path: "/"})
	if rec := webtest.Get(t, root, "/", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `src="assets/init.js?v=`) {
		t.Errorf("GET / on /: %d", rec.Code)
	}
	if rec := webtest.Get(t, root, "/assets/init.js", nil); rec.Code != http.StatusOK {
		t.Errorf("GET /assets/init.js on /: %d", rec.Code)
	}
}

// TestChiMount mounts the handler as internal/server would, with chi.
func TestChiMount(t *testing.T) {
	r := chi.NewRouter()
	r.Mount("/graphiql", Handler(defaultOptions()))
	for p, want := range map[string]int{
		"/graphiql":                     http.StatusOK,
		"/graphiql/":                    http.StatusOK,
		"/graphiql/assets/init.js":      http.StatusOK,
		"/graphiql/assets/nope.js":      http.StatusNotFound,
		"/graphiql/assets/LICENSES.txt": http.StatusOK,
	} {
		if rec := webtest.Get(t, r, p, nil); rec.Code != want {
			t.Errorf("GET %s through chi: %d, want %d", p, rec.Code, want)
		}
	}
}

// optionsBlock is the JSON block of the page.
var optionsBlock = regexp.MustCompile(`(?s)<script id="graphiql-options" type="application/json">(.*?)</script>`)

func TestOptionsAreEncodedSafely(t *testing.T) {
	evil := `</script><script>alert(1)</script><!--`
	opts := Options{
		Endpoint:             "/graphql?x=" + evil,
		SubscriptionEndpoint: "/graphql",
		Title:                "T " + evil,
		Tabs:                 []Tab{{Name: "N " + evil, Query: "{ a } # " + evil, Variables: `{"s": "` + evil + `"}`}},
	}
	body := webtest.Get(t, newMux(opts), "/graphiql/", nil).Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<!--") {
		t.Fatalf("the options broke out of their place:\n%s", body)
	}
	m := optionsBlock.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no options block in\n%s", body)
	}
	var got pageOptions
	if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
		t.Fatalf("options block %q: %v", m[1], err)
	}
	if got.Endpoint != opts.Endpoint || got.SubscriptionEndpoint != "/graphql" || len(got.Tabs) != 1 || got.Tabs[0] != opts.Tabs[0] {
		t.Errorf("options block decodes to %+v, want %+v", got, opts)
	}
}

func TestDefaultTabs(t *testing.T) {
	names := []string{"Dashboard: 20 factories", "One factory's raw points", "Sprocket catalogue", "Record production", "Live: new points"}
	if len(DefaultTabs) != len(names) {
		t.Fatalf("%d default tabs, want %d", len(DefaultTabs), len(names))
	}
	factory1 := gid.New(gid.Factory, 1).String()
	for i, tab := range DefaultTabs {
		if tab.Name != names[i] || tab.Query == "" {
			t.Errorf("tab %d: %q", i, tab.Name)
		}
		if tab.Variables == "" {
			continue
		}
		var vars map[string]any
		if err := json.Unmarshal([]byte(tab.Variables), &vars); err != nil {
			t.Errorf("tab %q: variables %v", tab.Name, err)
		}
		if f, ok := vars["factory"]; ok && f != factory1 {
			t.Errorf("tab %q: factory %v, want the global ID of factory 1, %s", tab.Name, f, factory1)
		}
	}
}

// TestBrowser loads the page in headless Chromium against a real /graphql
// on a fresh SQLite database, with every request to another host blocked,
// runs a query, opens the docs and takes a screenshot
// (UPDATE_SCREENSHOTS=1 writes it to testdata/graphiql.png).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("long: drives headless Chromium")
	}
	ctx := context.Background()
	db := testdb.Open(t, "sqlite3")
	client := db.Client()
	svc := core.New(client, db.SQL, db.Dialect)
	if _, err := svc.CreateSprocket(ctx, core.SprocketInput{Teeth: 42, PitchDiameter: 5, OutsideDiameter: 6, Pitch: 1}); err != nil {
		t.Fatal(err)
	}
	mux := newMux(defaultOptions())
	// app.GraphQL's wiring (this package's tests cannot import app, which
	// serves this package).
	opts := gqlhttp.DefaultOptions()
	opts.Pricing, opts.Extensions, opts.Transactions = graph.Pricing{}, graph.Extensions(), svc
	mux.Handle("/graphql", gqlhttp.NewHandler(graph.NewSchema(svc, nil), opts))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close) // after the browser's, which NewBrowser registers
	host := srv.Listener.Addr().String()

	b := webtest.NewBrowser(t, webtest.Options{Host: host, Timeout: 45 * time.Second, Width: 1280, Height: 800})
	start := time.Now()
	poll := func(what, expr string) {
		t.Helper()
		b.Poll(what, expr, 20*time.Second)
	}

	b.Do("opening "+srv.URL+"/graphiql", chromedp.Navigate(srv.URL+"/graphiql"))
	const editor = `document.querySelector('.graphiql-query-editor .CodeMirror')`
	poll("the query editor", `!!`+editor)
	poll("the first default tab", editor+`.CodeMirror.getValue().startsWith('# Dashboard: 20 factories\nquery Dashboard')`)

	const query = `{ sprockets(first: 5) { totalCount edges { node { teeth } } } }`
	b.Do("editing the query", chromedp.Evaluate[chromedp.Void](editor+`.CodeMirror.setValue(`+webtest.JSString(query)+`)`))
	// GraphiQL reads the operation name off the editor after a debounce; a
	// click before that would send the old one (Dashboard).
	poll("the tab to follow the edit", `document.querySelector('.graphiql-tab-active')?.textContent.includes('<untitled>')`)
	b.Do("running the query", chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)))
	const response = `document.querySelector('.graphiql-response .CodeMirror')`
	poll(`"teeth": 42 in the result pane`, `!!`+response+` && `+response+`.CodeMirror.getValue().includes('"teeth": 42')`)
	result, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](response+`.CodeMirror.getValue()`))
	if err != nil {
		b.Failf("reading the result: %v", err)
	}
	var decoded struct {
		Data struct {
			Sprockets struct {
				TotalCount int
				Edges      []struct{ Node struct{ Teeth int } }
			}
		}
	}
	if err := json.Unmarshal([]byte(result), &decoded); err != nil || decoded.Data.Sprockets.TotalCount != 1 ||
		len(decoded.Data.Sprockets.Edges) != 1 || decoded.Data.Sprockets.Edges[0].Node.Teeth != 42 {
		b.Failf("result pane %q (%v)", result, err)
	}

	// Prettify (for the screenshot): the editor then holds the query on lines.
	b.Do("prettifying the query", chromedp.Click(chromedp.CSS(`button[aria-label="Prettify query (Shift-Ctrl-P)"]`)))
	poll("the prettified query", editor+`.CodeMirror.lineCount() > 5`)

	// The docs explorer opens on the root types; Query lists sprockets.
	b.Do("opening the docs", chromedp.Click(chromedp.CSS(`.graphiql-sidebar button[aria-label="Show Documentation Explorer"]`)))
	const queryLink = `[...document.querySelectorAll('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name')].find(a => a.textContent === 'Query')`
	poll("the Query root type in the docs", `!!`+queryLink)
	b.Do("opening Query in the docs", chromedp.Evaluate[chromedp.Void](queryLink+`.click()`))
	poll("the fields of Query in the docs", `document.querySelector('.graphiql-doc-explorer-title')?.textContent === 'Query' &&
		[...document.querySelectorAll('.graphiql-doc-explorer a.graphiql-doc-explorer-field-name')].some(a => a.textContent === 'sprockets')`)

	// A dialog (Radix, which injects a style element while it is open).
	b.Do("opening the short keys dialog", chromedp.Click(chromedp.CSS(`button[aria-label="Open short keys dialog"]`)))
	poll("the short keys dialog", `!!document.querySelector('[role=dialog]')?.textContent.includes('Execute query')`)
	b.Do("closing the short keys dialog", chromedp.Click(chromedp.CSS(`[role=dialog] .graphiql-dialog-close`)))
	poll("the short keys dialog to close", `!document.querySelector('[role=dialog]')`)

	png, err := chromedp.Run(b.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.Failf("screenshot: %v", err)
	}
	webtest.WriteScreenshot(t, "graphiql.png", png)
	elapsed := time.Since(start)

	log := b.Finish() // fails the test on any request to another host, or problem
	allowed := log.Allowed
	var graphqlRequests int
	for _, r := range allowed {
		if strings.HasSuffix(r, "/graphql") && !strings.HasPrefix(r, "WebSocket ") {
			graphqlRequests++
		}
	}
	if graphqlRequests < 2 { // the introspection and the query
		t.Errorf("%d requests to /graphql, want the introspection and the query: %q", graphqlRequests, allowed)
	}
	t.Logf("page loaded, query run and docs opened in %v; %d requests, all to %s; console: %q",
		elapsed.Round(time.Millisecond), len(allowed), host, log.Console)
}
