// Package static serves the embedded files of the built-in pages (the
// GraphiQL playground and the dashboard): content-hashed URLs that may be
// cached for a year, gzip on request, ETags, and the headers every page
// and file carries.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

	"github.com/sprocketapi/sprocket/internal/secure"
)

// file is an embedded file with its hash and a gzip copy made on demand.
type file struct {
	name        string
	contentType string
	data        []byte
	version     string // hex prefix of the SHA-256 of data

	gzOnce sync.Once
	gz     []byte
}

func (f *file) gzipped() []byte {
	f.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(f.data)
		_ = zw.Close()
		f.gz = buf.Bytes()
	})
	return f.gz
}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
}

// Set is the files of one directory of an embedded file system.
type Set struct {
	files map[string]*file
}

// MustLoad reads every file of dir in fsys. The files are embedded in the
// binary, so a failure (or a file of unknown type) is a build mistake and
// panics.
func MustLoad(fsys fs.FS, dir string) *Set {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("static: %v", err))
	}
	s := &Set{files: make(map[string]*file, len(entries))}
	for _, e := range entries {
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			panic(fmt.Sprintf("static: %v", err))
		}
		ct, ok := contentTypes[path.Ext(e.Name())]
		if !ok {
			panic("static: no content type for " + path.Join(dir, e.Name()))
		}
		sum := sha256.Sum256(data)
		s.files[e.Name()] = &file{name: e.Name(), contentType: ct, data: data, version: hex.EncodeToString(sum[:])[:16]}
	}
	return s
}

// Names lists the files.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.files))
	for n := range s.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// URL is the versioned URL of a file under prefix, for templates.
func (s *Set) URL(prefix, name string) (string, error) {
	f, ok := s.files[name]
	if !ok {
		return "", fs.ErrNotExist
	}
	return prefix + f.name + "?v=" + f.version, nil
}

// Serve answers GET and HEAD for file name: cached for a year when the URL
// carries the file's current version, revalidated by ETag otherwise,
// gzipped when the client accepts it; 404 for an unknown file.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := s.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !AllowMethod(w, r) {
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	secure.Headers(hd)
	hd.Add("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == f.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	data, etag := f.data, `"`+f.version+`"`
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		data, etag = f.gzipped(), `"`+f.version+`-gz"`
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// ServePage answers with an HTML page under its Content-Security-Policy,
// never cached (it names the versioned files).
func ServePage(w http.ResponseWriter, r *http.Request, page []byte, csp string) {
	if !AllowMethod(w, r) {
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Security-Policy", csp)
	secure.Headers(hd)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(page))
}

// AllowMethod lets GET and HEAD through and answers anything else 405.
func AllowMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "Method "+r.Method+" is not allowed.", http.StatusMethodNotAllowed)
	return false
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

// hostRE is what a Host header may be to appear in a policy.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

// WebSocketSources are the WebSocket origins of the request's own host, for
// a policy's connect-src (none when the Host header is not plain).
func WebSocketSources(host string) []string {
	if !hostRE.MatchString(host) {
		return nil
	}
	return []string{"ws://" + host, "wss://" + host}
}

// Origin returns the origin of an absolute endpoint URL ("" for a path),
// as a WebSocket origin when ws is set.
func Origin(endpoint string, ws bool) string {
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
