package database

import (
	"context"
	"database/sql"

	"github.com/sprocketapi/sprocket/ent"
)

// Reader is a hot standby that a read-only request's reads are routed to
// (by the replica router, internal/replica).
type Reader struct {
	// Client is its ent client, whose statements fall back to the
	// primary when the standby fails them.
	Client *ent.Client
	// SQL is its pool, for the statements the core prepares itself.
	SQL *sql.DB
	// Failed reports whether err is the standby's failure rather than the
	// read's (then the read may run on the primary instead), and takes
	// the standby out of rotation when it is.
	Failed func(ctx context.Context, err error) bool
}

type readerKey struct{}

// WithReader returns a context whose reads outside a transaction go to r
// instead of the primary.
func WithReader(ctx context.Context, r *Reader) context.Context {
	return context.WithValue(ctx, readerKey{}, r)
}

// ReaderFrom returns the standby that ctx's reads are routed to, or nil
// for the primary.
func ReaderFrom(ctx context.Context) *Reader {
	r, _ := ctx.Value(readerKey{}).(*Reader)
	return r
}
