// Package core holds the domain operations that GraphQL resolvers and REST
// handlers share: validation, transactions and queries live here once.
// Transports decode input, call a Service method and encode its result.
package core

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/database"
)

// Service is the application core over one ent client.
type Service struct {
	client   *ent.Client
	pool     *sql.DB
	notifier Notifier
	postgres bool
	// sprockets coalesces concurrent reads of single sprockets outside
	// transactions on the primary (see coalescer), and standbys has one
	// for each standby reads were routed to (by *sql.DB).
	sprockets *sprocketReads
	standbys  sync.Map
	// lane bounds the heavy calls that use the database at once (see
	// SetBulkLane), and downloads the downloads among them
	// (SetDownloadLane); nil: no bound.
	lane, downloads *lane
	// pageSpans remembers pages' time bounds by series version (pageSpan).
	pageSpans *lru.Cache[spanKey, span]
}

// New returns a Service that uses client, whose driver runs on pool and
// speaks dialect d (dialect.Postgres or dialect.SQLite): PostgreSQL gets
// its own bulk statements, locks and streaming, so the dialect is not
// optional. The client's driver must be database.NewDriver's over pool
// (possibly wrapped, in ent's debug driver for instance), so that write
// transactions can reach their *sql.Tx for COPY; the core also prepares
// statements on pool.
func New(client *ent.Client, pool *sql.DB, d string) *Service {
	s := &Service{client: client, pool: pool, postgres: d == dialect.Postgres}
	s.sprockets = s.newSprocketReads(pool, client)
	s.pageSpans, _ = lru.New[spanKey, span](pageSpanCacheSize) // errs only for a size <= 0
	return s
}

// Client returns the ent client for ctx: the one of the transaction that
// travels in ctx, if any, so that core operations compose inside a caller's
// transaction (a GraphQL mutation's, for instance); else the hot standby's
// that the replica router chose for a read-only request
// (database.WithReader); else the primary's. Writes use writer.
func (s *Service) Client(ctx context.Context) *ent.Client {
	if r := database.ReaderFrom(ctx); r != nil && ent.TxFromContext(ctx) == nil {
		return r.Client
	}
	return s.writer(ctx)
}

// writer is Client for a write: the transaction's client or the
// primary's, never a standby's, whatever ctx was routed to.
func (s *Service) writer(ctx context.Context) *ent.Client {
	if tx := ent.TxFromContext(ctx); tx != nil {
		return tx.Client()
	}
	return s.client
}

// txAttempts is how many times InTx runs a transaction that keeps meeting
// transient failures (see isTransient) before it gives up.
const txAttempts = 5

// msgBusy is what a client is told when its write kept colliding.
const msgBusy = "The write collided with concurrent writes; try again shortly."

// InTx runs fn in a transaction: the caller's when ctx carries one, a new
// one otherwise, committed when fn returns nil and rolled back when it
// fails or panics. A transaction of its own that fails transiently (a
// deadlock, a serialisation failure) is run again from the start, up to
// txAttempts times with a short random pause; one that keeps failing is
// SERVICE_UNAVAILABLE. In the caller's transaction the failure goes up to
// the caller, which owns the retry (the GraphQL transactioner does).
func (s *Service) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if ent.TxFromContext(ctx) != nil {
		return fn(ctx)
	}
	for attempt := 1; ; attempt++ {
		err := s.inNewTx(ctx, fn)
		if err == nil || !isTransient(err) {
			return err
		}
		if attempt == txAttempts || ctx.Err() != nil {
			return &apperr.Error{Code: apperr.Unavailable, Message: msgBusy, Err: err}
		}
		// Full jitter, from 0 to 4, 8, 16, 32 ms: the writers that met
		// are spread apart instead of meeting again.
		pause := time.Duration(rand.Int64N(int64(2*time.Millisecond) << attempt))
		select {
		case <-ctx.Done():
			return &apperr.Error{Code: apperr.Unavailable, Message: msgBusy, Err: err}
		case <-time.After(pause):
		}
	}
}

// IsTransient reports whether err (or an error it wraps) is a transient
// database failure that running the whole transaction again may not meet.
func IsTransient(err error) bool { return isTransient(err) }

// inNewTx runs fn in a new transaction, once, in its turn of the bulk
// lane.
func (s *Service) inNewTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	ctx, done, err := s.bulk(ctx)
	if err != nil {
		return err
	}
	defer done()
	ctx = database.WithTxSlot(ctx) // for COPY (see database.SQLTx)
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return classify(err, "")
	}
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(ent.NewTxContext(ctx, tx)); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return classify(err, "")
	}
	return nil
}

// classify turns an ent or driver error into an application error once,
// with ent's own predicates. notFound is the message for a missing row.
func classify(err error, notFound string) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	switch {
	case ent.IsNotFound(err) && notFound != "":
		return &apperr.Error{Code: apperr.NotFound, Message: notFound, Err: err}
	case ent.IsValidationError(err):
		return &apperr.Error{Code: apperr.Invalid, Message: "Invalid input.", Err: err}
	case ent.IsConstraintError(err) || isUniqueViolation(err):
		return &apperr.Error{Code: apperr.Conflict, Message: "The change conflicts with existing data.", Err: err}
	case IsDataOutOfRange(err):
		return DataOutOfRangeError(err)
	case isTransient(err):
		// InTx runs the transaction again; this is what a client sees
		// when it runs out of attempts or the caller owns the transaction.
		return &apperr.Error{Code: apperr.Unavailable, Message: msgBusy, Err: err}
	case isTimeout(err):
		return &apperr.Error{Code: apperr.Unavailable, Message: "The database did not answer in time; try again shortly.", Err: err}
	case isReadOnly(err):
		return &apperr.Error{Code: apperr.Unavailable, Message: "The database is read-only: writes cannot be stored.", Err: err}
	case isBusy(err):
		return &apperr.Error{Code: apperr.Unavailable, Message: "The database stayed locked by another writer; try again shortly.", Err: err}
	case isUnavailable(err):
		return &apperr.Error{Code: apperr.Unavailable, Message: "The database is unavailable; try again shortly.", Err: err}
	}
	return fmt.Errorf("core: %w", err)
}

// IsEmpty reports whether the database holds no factory and no sprocket.
func (s *Service) IsEmpty(ctx context.Context) (bool, error) {
	c := s.Client(ctx)
	nf, err := c.Factory.Query().Exist(ctx)
	if err != nil {
		return false, classify(err, "")
	}
	ns, err := c.Sprocket.Query().Exist(ctx)
	if err != nil {
		return false, classify(err, "")
	}
	return !nf && !ns, nil
}

// Classify is classify for errors of ent queries made outside the core
// (GraphQL pagination, for example): the same application errors as the
// core's own calls give.
func Classify(err error) error { return classify(err, "") }
