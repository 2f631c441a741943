// Package dburl holds the rules of database URLs that the configuration
// and the database layer share, in a package of their own because config
// is a leaf (it imports no project package) and the database package
// pulls in ent and the cgo SQLite driver.
package dburl

import "strings"

// IsPostgres reports whether raw names a PostgreSQL server: a postgres://
// or postgresql:// URL, the scheme in any case (surrounding spaces
// ignored). Anything else is SQLite's (a path, file:, sqlite://) or
// refused by database.Parse.
func IsPostgres(raw string) bool {
	l := strings.ToLower(strings.TrimSpace(raw))
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}
