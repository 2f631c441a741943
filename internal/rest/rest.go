// Package rest serves the legacy /v1 API: a compatibility skin over the
// core that speaks the Flask service's wire format byte for byte, and
// answers every bad request with a JSON message and a 4xx instead of the
// HTML pages and 500s the legacy service gave.
package rest

import (
	"net/http"
	"unicode"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sprocketapi/sprocket/api"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/telemetry"
)

type handler struct {
	svc       *core.Service
	cache     *seriesCache // nil: no cache
	downloads *downloads
}

// Options tune the /v1 routes.
type Options struct {
	// SeriesCacheBytes is the memory kept for encoded factory answers
	// (GET /v1/factories/{id}); 0 turns the cache off.
	SeriesCacheBytes int64
	// Downloads bound what downloads hold while their clients read them.
	Downloads DownloadOptions
	// Metrics report the cache (sprocket_cache_*{cache="series"}) and
	// the downloads; nil: none.
	Metrics *telemetry.Metrics
}

// Routes returns the /v1 routes, to be mounted at /v1. Every GET answers
// HEAD too; OPTIONS, 404 and 405 are answered by the server's router.
func Routes(svc *core.Service, opts Options) chi.Router {
	var reg prometheus.Registerer
	if opts.Metrics != nil {
		reg = opts.Metrics.Registry
	}
	h := &handler{svc: svc, downloads: newDownloads(opts.Downloads, reg)}
	if opts.SeriesCacheBytes > 0 {
		h.cache = newSeriesCache(opts.SeriesCacheBytes)
		opts.Metrics.ObserveCache("series", h.cache.stats)
	}
	r := chi.NewRouter()
	r.Get("/factories", h.listFactories)
	r.Head("/factories", h.listFactories)
	r.Post("/factories", h.createFactory)
	r.Get("/factories/{id}", h.getFactory)
	r.Head("/factories/{id}", h.getFactory)
	r.Get("/sprockets", h.listSprockets)
	r.Head("/sprockets", h.listSprockets)
	r.Post("/sprockets", h.createSprocket)
	r.Get("/sprockets/{id}", h.getSprocket)
	r.Head("/sprockets/{id}", h.getSprocket)
	r.Put("/sprockets/{id}", h.updateSprocket)
	// The OpenAPI document of these routes: an addition to the legacy
	// contract, in which any other path answers 404.
	openapi := api.OpenAPIHandler()
	r.Get("/openapi.json", openapi.ServeHTTP)
	r.Head("/openapi.json", openapi.ServeHTTP)
	return r
}

// parseID reads the {id} of the URL as the legacy service's int converter
// did: one or more decimal digits of any script ("01" and "١" are 1), no
// sign. It reports false for anything else and for ids beyond int range,
// which then answer 404 like any unknown id.
func parseID(r *http.Request) (int, bool) {
	return parseIDString(chi.URLParam(r, "id"))
}

func parseIDString(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	const maxID = 1<<53 - 1 // ids are JavaScript-safe; larger ones exist nowhere
	n := 0
	for _, c := range s {
		d, ok := digitValue(c)
		if !ok {
			return 0, false
		}
		n = n*10 + d
		if n > maxID {
			return 0, false
		}
	}
	return n, true
}

// digitValue returns the value of a Unicode decimal digit (category Nd).
// Nd digits come in contiguous runs of whole 0-9 blocks, so the value is
// the distance from the start of the run, modulo 10.
func digitValue(c rune) (int, bool) {
	if c >= '0' && c <= '9' {
		return int(c - '0'), true
	}
	if !unicode.IsDigit(c) {
		return 0, false
	}
	start := c
	for start > 0 && unicode.IsDigit(start-1) {
		start--
	}
	return int(c-start) % 10, true
}
