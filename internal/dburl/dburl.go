// Package dburl holds the rules of database URLs that the configuration
// and the database layer share, in a package of their own because config
// is a leaf (it imports no project package) and the database package
// pulls in ent and the cgo SQLite driver.
package dburl

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// IsPostgres reports whether raw names a PostgreSQL server: a postgres://
// or postgresql:// URL, the scheme in any case (surrounding spaces
// ignored). Anything else is SQLite's (a path, file:, sqlite://) or
// refused by database.Parse.
func IsPostgres(raw string) bool {
	l := strings.ToLower(strings.TrimSpace(raw))
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// schemeStart matches the start of a URL: a scheme and "://".
var schemeStart = regexp.MustCompile(`^\s*[A-Za-z][A-Za-z0-9+.-]*://`)

// SplitList splits a comma-separated list of URLs (DATABASE_READ_URL). A
// comma ends a URL only where another URL (a scheme and "://") follows it:
// the commas of a multi-host URL, in its host list
// (postgres://h1:5601,h2:5602/db) or its query (?host=h1,h2&port=5601,5602),
// stay in it. Items are trimmed; empty ones are dropped.
func SplitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ',' || !schemeStart.MatchString(s[i+1:]) {
			continue
		}
		out = appendItem(out, s[start:i])
		start = i + 1
	}
	return appendItem(out, s[start:])
}

func appendItem(out []string, item string) []string {
	item = strings.Trim(item, " \t\r\n,")
	if item == "" {
		return out
	}
	return append(out, item)
}

// Postgres parses a PostgreSQL URL into the form lib/pq reads. lib/pq
// reads a list of hosts from the query (?host=h1,h2&port=5601,5602), as
// libpq does, but not from the authority: it takes
// postgres://h1:5601,h2:5602/db for a host "h1:5601,h2" on port 5602. So
// a host list in the authority, the form pg_auto_failover's
// `pg_autoctl show uri` prints, moves to the query: each host's port in
// order (5432 for one given without), IPv6 addresses in brackets. A URL
// with one host is returned as url.Parse reads it. Errors never quote the
// URL, which may hold a password.
func Postgres(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if !IsPostgres(raw) {
		return nil, errors.New("not a postgres:// or postgresql:// URL")
	}
	sep := strings.Index(raw, "://")
	scheme, rest := raw[:sep], raw[sep+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	userinfo, hostlist := "", authority
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, hostlist = authority[:at+1], authority[at+1:]
	}
	if !strings.Contains(hostlist, ",") {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, errors.New("invalid PostgreSQL URL")
		}
		return u, nil
	}
	var hosts, ports []string
	anyPort := false
	for i, item := range strings.Split(hostlist, ",") {
		host, port, err := splitHostPort(item)
		if err != nil {
			return nil, fmt.Errorf("host %d of the URL's host list: %w", i+1, err)
		}
		hosts = append(hosts, host)
		ports = append(ports, port)
		anyPort = anyPort || port != ""
	}
	u, err := url.Parse(scheme + "://" + userinfo + tail)
	if err != nil {
		return nil, errors.New("invalid PostgreSQL URL")
	}
	q := u.Query()
	for _, k := range []string{"host", "hostaddr", "port"} {
		if q.Has(k) {
			return nil, fmt.Errorf("the URL lists hosts before its path and sets %s= in its query too: use one form", k)
		}
	}
	q.Set("host", strings.Join(hosts, ","))
	if anyPort {
		for i, p := range ports {
			if p == "" {
				ports[i] = "5432"
			}
		}
		q.Set("port", strings.Join(ports, ","))
	}
	u.RawQuery = q.Encode()
	return u, nil
}

// splitHostPort splits one item of a host list: host, host:port, [v6] or
// [v6]:port.
func splitHostPort(item string) (host, port string, err error) {
	rest := ""
	if strings.HasPrefix(item, "[") {
		end := strings.IndexByte(item, ']')
		if end < 0 {
			return "", "", errors.New("an IPv6 address without its closing ]")
		}
		host, rest = item[1:end], item[end+1:]
		if rest != "" && rest[0] != ':' {
			return "", "", errors.New("unexpected text after an IPv6 address")
		}
	} else {
		if strings.Count(item, ":") > 1 {
			return "", "", errors.New("an IPv6 address must be written in brackets, [::1]:5432")
		}
		host = item
		if i := strings.IndexByte(item, ':'); i >= 0 {
			host, rest = item[:i], item[i:]
		}
	}
	if host == "" {
		return "", "", errors.New("empty host")
	}
	if h, err := url.PathUnescape(host); err == nil {
		host = h
	}
	if rest != "" {
		port = rest[1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
			return "", "", errors.New("the port must be a number from 1 to 65535")
		}
	}
	return host, port, nil
}
