// Package origin owns the rule for which browser origins the service
// answers (CORS_ORIGINS): the REST and GraphQL CORS headers and the
// WebSocket origin check use the same one.
package origin

import (
	"net/http"
	"net/url"
	"strings"
)

// Policy is a set of allowed origins. Origins are compared as RFC 6454
// serialises them, scheme and host case-insensitively, without a trailing
// slash; "*" allows any.
type Policy struct {
	any     bool
	allowed map[string]bool
	first   string
}

// NewPolicy returns the policy of the configured origins.
func NewPolicy(origins []string) Policy {
	p := Policy{allowed: map[string]bool{}}
	for i, o := range origins {
		if o == "*" {
			p.any = true
		}
		if i == 0 {
			p.first = o
		}
		p.allowed[normalize(o)] = true
	}
	return p
}

func normalize(o string) string { return strings.ToLower(strings.TrimRight(o, "/")) }

// Any reports whether every origin is allowed.
func (p Policy) Any() bool { return p.any }

// First is the first configured origin ("" when none).
func (p Policy) First() string { return p.first }

// Allows reports whether origin is one of the configured ones.
func (p Policy) Allows(origin string) bool {
	return p.any || p.allowed[normalize(origin)]
}

// AllowsRequest reports whether a request may open a connection that a
// page of its Origin then uses (a WebSocket): one without Origin (not a
// browser), from the server's own origin, or from an allowed one.
func (p Policy) AllowsRequest(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || p.any {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || p.Allows(o)
}
