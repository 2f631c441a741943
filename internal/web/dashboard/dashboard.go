// Package dashboard serves sprocketd's built-in dashboard: a card per
// factory charting actual vs goal production (uPlot), refetched for a time
// range and zoomed window through GraphQL and updated live over a
// graphql-transport-ws subscription (graphql-ws), and the sprocket
// catalogue with create and edit forms over the GraphQL mutations.
//
// Everything is embedded in the binary and served by this handler; the page
// loads nothing from another host, and its Content-Security-Policy would not
// let it.
//
// # Mounting
//
// The handler answers GET and HEAD of
//
//	/                    the page (Cache-Control: no-cache)
//	/assets/<file>       the bundle (app.js, app.css) and LICENSES.txt
//
// and 404 for any other path; it reads the request path as it is, so mount
// it at the root (chi: r.Get("/", h.ServeHTTP) and r.Get("/assets/*",
// h.ServeHTTP)), or under a prefix with http.StripPrefix: the page links its
// assets with relative URLs. Those carry a content hash
// (assets/app.js?v=1a2b…): a request with the current hash is cacheable for a
// year, one without it is revalidated through its ETag. Text is sent
// gzip-compressed to clients that accept it.
//
// # The bundle
//
// assets/app.js and assets/app.css are built by build.sh with esbuild from
// src/ and the npm packages pinned in package.json and package-lock.json;
// build.sh --check (run in CI) rebuilds them and compares byte for byte.
// assets/LICENSES.txt holds the licences of the bundled packages.
package dashboard

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

// Options configure the page.
type Options struct {
	// Endpoint is the GraphQL endpoint for queries and mutations, a path on
	// this host or an absolute URL; "" means "/graphql".
	Endpoint string
	// SubscriptionEndpoint is the graphql-transport-ws endpoint, a path or
	// an http(s) or ws(s) URL; "" means Endpoint.
	SubscriptionEndpoint string
	// Title is the page's title and heading; "" means "Sprocket dashboard".
	Title string
	// Playground is the address of the GraphQL playground, linked from the
	// page; "" links none.
	Playground string
}

//go:embed page.html
var pageHTML string

//go:embed assets
var assetFS embed.FS

// asset is an embedded file, with its hash and a gzip copy made on demand.
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
		ct, ok := contentTypes[path.Ext(e.Name())]
		if !ok {
			panic("dashboard: no content type for assets/" + e.Name())
		}
		sum := sha256.Sum256(data)
		m[e.Name()] = &asset{name: e.Name(), contentType: ct, data: data, version: hex.EncodeToString(sum[:])[:16]}
	}
	return m
}()

var page = template.Must(template.New("page.html").Parse(pageHTML))

// pageOptions are the options handed to the script, as JSON in the page.
type pageOptions struct {
	Endpoint             string `json:"endpoint"`
	SubscriptionEndpoint string `json:"subscriptionEndpoint"`
}

type pageData struct {
	Title      string
	Endpoint   string
	Playground string
	Options    pageOptions
}

// Asset is the relative, versioned URL of an asset, for the template.
func (pageData) Asset(name string) (string, error) {
	a, ok := assets[name]
	if !ok {
		return "", fs.ErrNotExist
	}
	return "assets/" + a.name + "?v=" + a.version, nil
}

type handler struct {
	page []byte
	csp  func(host string) string
}

// Handler returns the handler of the dashboard page and its assets (see the
// package documentation for mounting).
func Handler(opts Options) http.Handler {
	if opts.Endpoint == "" {
		opts.Endpoint = "/graphql"
	}
	if opts.SubscriptionEndpoint == "" {
		opts.SubscriptionEndpoint = opts.Endpoint
	}
	if opts.Title == "" {
		opts.Title = "Sprocket dashboard"
	}
	var buf bytes.Buffer
	err := page.Execute(&buf, pageData{
		Title:      opts.Title,
		Endpoint:   opts.Endpoint,
		Playground: opts.Playground,
		Options:    pageOptions{Endpoint: opts.Endpoint, SubscriptionEndpoint: opts.SubscriptionEndpoint},
	})
	if err != nil {
		panic("dashboard: rendering the page: " + err.Error()) // the template and its data are ours
	}
	return &handler{page: buf.Bytes(), csp: contentSecurityPolicy(opts)}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/" || p == "":
		if allowMethod(w, r) {
			h.servePage(w, r)
		}
	case strings.HasPrefix(p, "/assets/"):
		a, ok := assets[strings.TrimPrefix(p, "/assets/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if allowMethod(w, r) {
			serveAsset(w, r, a)
		}
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
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Security-Policy", h.csp(r.Host))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.page))
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
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		for param := range strings.SplitSeq(params, ";") {
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
// scripts and styles from this host only (uPlot sets element styles through
// the CSSOM, which needs no 'unsafe-inline'), no images, fonts, frames or
// forms posting anywhere, requests to this host and to the endpoints'
// origins, WebSockets to this host.
func contentSecurityPolicy(opts Options) func(host string) string {
	var extra []string
	if o := origin(opts.Endpoint, false); o != "" {
		extra = append(extra, o)
	}
	if o := origin(opts.SubscriptionEndpoint, true); o != "" {
		extra = append(extra, o)
	}
	return func(host string) string {
		connect := []string{"'self'"}
		if hostRE.MatchString(host) {
			connect = append(connect, "ws://"+host, "wss://"+host)
		}
		connect = append(connect, extra...)
		return strings.Join([]string{
			"default-src 'none'",
			"script-src 'self'",
			"style-src 'self'",
			"img-src 'self' data:",
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

// AssetNames lists the embedded asset files.
func AssetNames() []string {
	names := make([]string, 0, len(assets))
	for n := range assets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
