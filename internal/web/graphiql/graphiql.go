// Package graphiql serves the GraphiQL IDE, fully offline: the page, its
// script and every asset (GraphiQL 4.1.2 and React 18.3.1 UMD bundles, with
// their licences) are embedded in the binary and served by this handler; the
// page loads nothing from another host, and its Content-Security-Policy
// would not let it.
//
// # Mounting
//
// The handler works on the full request path, so mount it as it is, without
// http.StripPrefix, at Options.Path ("/graphiql" by default):
//
//	h := graphiql.Handler(graphiql.Options{Endpoint: "/graphql", SubscriptionEndpoint: "/graphql", Tabs: graphiql.DefaultTabs})
//	mux.Handle("/graphiql", h)  // net/http
//	mux.Handle("/graphiql/", h)
//	r.Mount("/graphiql", h)     // chi (the same three routes)
//
// It answers GET and HEAD of
//
//	/graphiql, /graphiql/        the page (Cache-Control: no-cache)
//	/graphiql/assets/<file>      an embedded file; LICENSES.txt lists the licences
//
// and 404 for any other path under the mount. The page links its assets with
// relative URLs carrying a content hash (assets/init.js?v=1a2b3c...): a
// request with the current hash is cacheable for a year (immutable), one
// without it is revalidated through its ETag. JavaScript, CSS and text are
// sent gzip-compressed to clients that accept it.
//
// # Updating the vendored files
//
// assets/ holds the published files of the npm packages pinned in
// package.json and package-lock.json; update.sh refreshes them and
// update.sh --check (run in CI) verifies them byte for byte. init.js and
// page.css are ours.
package graphiql

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tab is a tab GraphiQL opens with on a first visit (later visits restore
// the user's own tabs from the browser's storage).
type Tab struct {
	// Name is shown as a comment on the first line of the query (GraphiQL
	// titles a tab with its operation name).
	Name string `json:"name,omitempty"`
	// Query is the GraphQL document.
	Query string `json:"query"`
	// Variables is a JSON object, or empty.
	Variables string `json:"variables,omitempty"`
}

// Options configure the page.
type Options struct {
	// Endpoint is the GraphQL endpoint for queries and mutations, a path on
	// this host or an absolute URL; "" means "/graphql".
	Endpoint string
	// SubscriptionEndpoint is the graphql-transport-ws endpoint; a path or
	// http(s) URL becomes ws(s)://host/path in the page. "" disables
	// subscriptions.
	SubscriptionEndpoint string
	// Title is the page title; "" means "GraphiQL".
	Title string
	// Tabs are the default tabs; none leaves GraphiQL's own welcome tab.
	Tabs []Tab
	// Path is where the handler is mounted, with or without a trailing
	// slash; "" means "/graphiql".
	Path string
}

// DefaultTabs are example operations on sprocketd's schema.
var DefaultTabs = []Tab{
	{
		Name: "Dashboard: 20 factories",
		Query: `query Dashboard($from: Time, $to: Time) {
  factories(first: 20) {
    edges {
      node {
        id
        rowId
        name
        summary(from: $from, to: $to) { count totalActual totalGoal attainment }
        series(from: $from, to: $to, maxDataPoints: 500, aggregate: AVG) {
          interval
          epochs
          actual
          goal
        }
      }
    }
  }
}`,
	},
	{
		Name: "One factory's raw points",
		Query: `query Points {
  factoryByRowId(rowId: 1) {
    name
    points(first: 50) {
      edges { node { time actual goal } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`,
	},
	{
		Name: "Sprocket catalogue",
		Query: `query Sprockets {
  sprockets(first: 20, orderBy: [{field: TEETH, direction: ASC}]) {
    totalCount
    edges { node { id rowId teeth pitchDiameter outsideDiameter pitch } }
  }
}`,
	},
	{
		Name: "Record production",
		Query: `mutation Record($factory: ID!) {
  recordProduction(factoryId: $factory, points: [{time: "2026-01-01T00:00:00Z", actual: 30, goal: 32}]) {
    inserted
    updated
  }
}`,
		// The global ID of factory 1: base64url("Factory:1").
		Variables: `{"factory": "RmFjdG9yeTox"}`,
	},
	{
		Name: "Live: new points",
		Query: `subscription Live($factory: ID!) {
  productionRecorded(factoryId: $factory) { time actual goal }
}`,
		Variables: `{"factory": "RmFjdG9yeTox"}`,
	},
}

//go:embed page.html
var pageHTML string

//go:embed assets
var assetFS embed.FS

// asset is an embedded file (all are text), with its hash and a gzip copy.
type asset struct {
	name        string
	contentType string
	data        []byte
	version     string // hex prefix of the SHA-256 of data

	gzOnce sync.Once
	gz     []byte
}

func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(a.data)
		_ = zw.Close()
		a.gz = buf.Bytes()
	})
	return a.gz
}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
}

// assets are the files under assets/, by name.
var assets = func() map[string]*asset {
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	m := make(map[string]*asset, len(entries))
	for _, e := range entries {
		data, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(data)
		ct, ok := contentTypes[path.Ext(e.Name())]
		if !ok {
			panic("graphiql: no content type for assets/" + e.Name())
		}
		m[e.Name()] = &asset{
			name:        e.Name(),
			contentType: ct,
			data:        data,
			version:     hex.EncodeToString(sum[:])[:16],
		}
	}
	return m
}()

// AssetNames lists the embedded asset files.
func AssetNames() []string {
	names := make([]string, 0, len(assets))
	for n := range assets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var page = template.Must(template.New("page.html").Parse(pageHTML))

// pageOptions are the options handed to init.js, JSON in the page.
type pageOptions struct {
	Endpoint             string `json:"endpoint"`
	SubscriptionEndpoint string `json:"subscriptionEndpoint,omitempty"`
	Tabs                 []Tab  `json:"tabs,omitempty"`
}

type pageData struct {
	Title    string
	Endpoint string
	Options  pageOptions
	prefix   string // relative URL of the assets folder, from the page
}

// Asset is the relative, versioned URL of an asset, for the template.
func (d pageData) Asset(name string) (string, error) {
	a, ok := assets[name]
	if !ok {
		return "", fs.ErrNotExist
	}
	return d.prefix + a.name + "?v=" + a.version, nil
}

type handler struct {
	opts Options
	csp  func(host string) string
}

// Handler returns the handler of the GraphiQL page and its assets (see the
// package documentation for mounting).
func Handler(opts Options) http.Handler {
	if opts.Endpoint == "" {
		opts.Endpoint = "/graphql"
	}
	if opts.Title == "" {
		opts.Title = "GraphiQL"
	}
	switch trimmed := strings.Trim(opts.Path, "/"); {
	case opts.Path == "":
		opts.Path = "/graphiql"
	case trimmed == "":
		opts.Path = "" // the root: the page is /, the assets /assets/
	default:
		opts.Path = "/" + trimmed
	}
	opts.Tabs = append([]Tab(nil), opts.Tabs...)
	return &handler{opts: opts, csp: contentSecurityPolicy(opts)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == h.opts.Path || p == h.opts.Path+"/":
		if !allowMethod(w, r) {
			return
		}
		h.servePage(w, r)
	case strings.HasPrefix(p, h.opts.Path+"/assets/"):
		a, ok := assets[strings.TrimPrefix(p, h.opts.Path+"/assets/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if !allowMethod(w, r) {
			return
		}
		serveAsset(w, r, a)
	default:
		http.NotFound(w, r)
	}
}

func allowMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "Method "+r.Method+" is not allowed.", http.StatusMethodNotAllowed)
	return false
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	// Relative links work behind a proxy that puts the page under another
	// prefix: from /graphiql/ they read assets/..., from /graphiql they read
	// graphiql/assets/....
	prefix := "assets/"
	if !strings.HasSuffix(r.URL.Path, "/") {
		prefix = path.Base(r.URL.Path) + "/assets/"
	}
	var buf bytes.Buffer
	err := page.Execute(&buf, pageData{
		Title:    h.opts.Title,
		Endpoint: h.opts.Endpoint,
		Options: pageOptions{
			Endpoint:             h.opts.Endpoint,
			SubscriptionEndpoint: h.opts.SubscriptionEndpoint,
			Tabs:                 h.opts.Tabs,
		},
		prefix: prefix,
	})
	if err != nil {
		http.Error(w, "The GraphiQL page could not be rendered.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Security-Policy", h.csp(r.Host))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(buf.Bytes()))
}

func serveAsset(w http.ResponseWriter, r *http.Request, a *asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Add("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == a.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	data, etag := a.data, `"`+a.version+`"`
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		data, etag = a.gzipped(), `"`+a.version+`-gz"`
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(k, "q") {
				if q, err := strconv.ParseFloat(v, 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}

// hostRE is what a Host header may be to appear in the policy.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

// contentSecurityPolicy returns the page's policy for a request's Host:
// scripts, styles, images and fonts from this host only (styles also
// inline, as GraphiQL's components inject style elements; images and fonts
// also data: URLs, as graphiql.min.css embeds its fonts), requests to this
// host and to the endpoints' origins, WebSockets to this host.
func contentSecurityPolicy(opts Options) func(host string) string {
	var extra []string
	if o := origin(opts.Endpoint, false); o != "" {
		extra = append(extra, o)
	}
	if opts.SubscriptionEndpoint != "" {
		if o := origin(opts.SubscriptionEndpoint, true); o != "" {
			extra = append(extra, o)
		}
	}
	return func(host string) string {
		connect := []string{"'self'"}
		if opts.SubscriptionEndpoint != "" && hostRE.MatchString(host) {
			connect = append(connect, "ws://"+host, "wss://"+host)
		}
		connect = append(connect, extra...)
		return strings.Join([]string{
			"default-src 'none'",
			"script-src 'self'",
			"style-src 'self' 'unsafe-inline'",
			"img-src 'self' data:",
			"font-src 'self' data:",
			"connect-src " + strings.Join(connect, " "),
			"base-uri 'none'",
			"form-action 'none'",
			"frame-ancestors 'none'",
		}, "; ")
	}
}

// origin returns the origin of an absolute endpoint URL ("" for a path),
// as a WebSocket origin when ws is set.
func origin(endpoint string, ws bool) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || !hostRE.MatchString(u.Host) {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if ws {
		switch scheme {
		case "http":
			scheme = "ws"
		case "https":
			scheme = "wss"
		}
	}
	switch scheme {
	case "http", "https", "ws", "wss":
		return scheme + "://" + u.Host
	}
	return ""
}
