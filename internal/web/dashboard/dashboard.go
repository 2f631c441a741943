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
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/sprocketapi/sprocket/internal/web/static"
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

// assets are the files under assets/.
var assets = static.MustLoad(assetFS, "assets")

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
	return assets.URL("assets/", name)
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
		h.servePage(w, r)
	case strings.HasPrefix(p, "/assets/"):
		assets.Serve(w, r, strings.TrimPrefix(p, "/assets/"))
	default:
		http.NotFound(w, r)
	}
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	static.ServePage(w, r, h.page, h.csp(r.Host))
}

// contentSecurityPolicy returns the page's policy for a request's Host:
// scripts and styles from this host only (uPlot sets element styles through
// the CSSOM, which needs no 'unsafe-inline'), no images, fonts, frames or
// forms posting anywhere, requests to this host and to the endpoints'
// origins, WebSockets to this host.
func contentSecurityPolicy(opts Options) func(host string) string {
	var extra []string
	if o := static.Origin(opts.Endpoint, false); o != "" {
		extra = append(extra, o)
	}
	if o := static.Origin(opts.SubscriptionEndpoint, true); o != "" {
		extra = append(extra, o)
	}
	return func(host string) string {
		connect := append([]string{"'self'"}, static.WebSocketSources(host)...)
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

// AssetNames lists the embedded asset files.
func AssetNames() []string { return assets.Names() }
