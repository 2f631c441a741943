// Package secure owns the security headers every answer carries, so that
// the server's middleware and the handlers that may be mounted without it
// (the embedded pages and files) set the same ones.
package secure

import "net/http"

// Headers sets the security headers of every answer on h. Pages that load
// scripts add their own Content-Security-Policy.
func Headers(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}
