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
	"embed"
	"html/template"
	"net/http"
	"path"
	"strings"

	"github.com/sprocketapi/sprocket/internal/web/static"
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

// assets are the files under assets/.
var assets = static.MustLoad(assetFS, "assets")

// AssetNames lists the embedded asset files.
func AssetNames() []string { return assets.Names() }

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
	return assets.URL(d.prefix, name)
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
		h.servePage(w, r)
	case strings.HasPrefix(p, h.opts.Path+"/assets/"):
		assets.Serve(w, r, strings.TrimPrefix(p, h.opts.Path+"/assets/"))
	default:
		http.NotFound(w, r)
	}
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
	static.ServePage(w, r, buf.Bytes(), h.csp(r.Host))
}

// contentSecurityPolicy returns the page's policy for a request's Host:
// scripts, styles, images and fonts from this host only (styles also
// inline, as GraphiQL's components inject style elements; images and fonts
// also data: URLs, as graphiql.min.css embeds its fonts), requests to this
// host and to the endpoints' origins, WebSockets to this host.
func contentSecurityPolicy(opts Options) func(host string) string {
	var extra []string
	if o := static.Origin(opts.Endpoint, false); o != "" {
		extra = append(extra, o)
	}
	if opts.SubscriptionEndpoint != "" {
		if o := static.Origin(opts.SubscriptionEndpoint, true); o != "" {
			extra = append(extra, o)
		}
	}
	return func(host string) string {
		connect := []string{"'self'"}
		if opts.SubscriptionEndpoint != "" {
			connect = append(connect, static.WebSocketSources(host)...)
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
