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
	"sync/atomic"
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
	// lostRetries counts transactions run again after losing the primary
	// before COMMIT, and commitsUnknown those lost at COMMIT.
	lostRetries, commitsUnknown atomic.Int64
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

// msgNoPrimary is what a client is told when no primary took its write
// within its deadline (a failover that lasts longer).
const msgNoPrimary = "The database has no primary taking writes (a failover?); the write was not stored. Try again shortly."

// msgCommitUnknown is what a client is told when the connection was lost
// while its write committed: the server cannot know whether it was stored.
const msgCommitUnknown = "The connection to the database was lost while the write was being committed: it may or may not have been stored. Check before sending it again."

// lostMargin is the time a write that lost the primary keeps before its
// deadline to answer by itself: it tries again only while more is left.
const lostMargin = 250 * time.Millisecond

// lostWait bounds the tries of a write without a deadline.
const lostWait = 30 * time.Second

// InTx runs fn in a transaction: the caller's when ctx carries one, a new
// one otherwise, committed when fn returns nil and rolled back when it
// fails or panics. A transaction of its own is run again from the start:
//   - when it fails transiently (a deadlock, a serialisation failure), up
//     to txAttempts times with a short random pause; one that keeps
//     failing is SERVICE_UNAVAILABLE;
//   - on PostgreSQL, when it lost the primary (isLost) before its COMMIT
//     was sent, for as long as its deadline allows, with pauses growing to
//     a second: a failover's new primary takes it. Lost at COMMIT, it may
//     have committed, and running it again could store it twice: it is
//     SERVICE_UNAVAILABLE, saying so (msgCommitUnknown).
//
// In the caller's transaction the failure goes up to the caller, which
// owns the retry (the GraphQL transactioner does).
func (s *Service) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.runTx(ctx, true, fn)
}

// write runs a write of one statement in a transaction of its own, as
// InTx does but outside the bulk lane (it is light work). Not a statement
// in autocommit: database/sql runs a statement again on a new connection
// when lib/pq reports the connection broken after sending it (a FATAL, an
// EOF), which applies twice a write the server had committed; in a
// transaction only BEGIN is ever run again, and a lost primary is
// retried as InTx says.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.runTx(ctx, false, fn)
}

func (s *Service) runTx(ctx context.Context, lane bool, fn func(ctx context.Context) error) error {
	if ent.TxFromContext(ctx) != nil {
		return fn(ctx)
	}
	transient, lost := 0, 0
	var giveUp time.Time // of a write that lost the primary
	for {
		atCommit, err := s.inNewTx(ctx, lane, fn)
		switch {
		case err == nil:
			return nil
		case isTransient(err):
			transient++
			if transient == txAttempts || ctx.Err() != nil {
				return &apperr.Error{Code: apperr.Unavailable, Message: msgBusy, Err: err}
			}
			// Full jitter, from 0 to 4, 8, 16, 32 ms: the writers that met
			// are spread apart instead of meeting again.
			if !pause(ctx, time.Duration(rand.Int64N(int64(2*time.Millisecond)<<transient))) {
				return &apperr.Error{Code: apperr.Unavailable, Message: msgBusy, Err: err}
			}
		case !s.postgres || !isLost(err):
			return err
		case atCommit:
			s.commitsUnknown.Add(1)
			return &apperr.Error{Code: apperr.Unavailable, Message: msgCommitUnknown, Err: err}
		default:
			// The first try again is at once: the pool may only have
			// handed out a connection that died with the old primary.
			if lost == 0 {
				giveUp = time.Now().Add(lostWait)
				if d, ok := ctx.Deadline(); ok {
					giveUp = d.Add(-lostMargin)
				}
			}
			wait := min(25*time.Millisecond<<lost, time.Second)
			if lost == 0 {
				wait = 0
			}
			lost++
			if time.Now().Add(wait).After(giveUp) || !pause(ctx, wait) {
				return &apperr.Error{Code: apperr.Unavailable, Message: msgNoPrimary, Err: err}
			}
			s.lostRetries.Add(1)
		}
	}
}

// LostPrimary counts the transactions that lost the primary: run again
// because they had not sent their COMMIT, and answered unknown because
// they had (see InTx).
func (s *Service) LostPrimary() (retried, unknown int64) {
	return s.lostRetries.Load(), s.commitsUnknown.Load()
}

// pause waits d, or reports false when ctx ends first.
func pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// IsTransient reports whether err (or an error it wraps) is a failure
// that running the whole transaction again may not meet: a deadlock, a
// serialisation failure, or (PostgreSQL) the loss of the primary before
// the transaction committed. A caller that owns the transaction (the
// GraphQL transactioner) hands such an error back to InTx, which decides.
func IsTransient(err error) bool { return isTransient(err) || isLost(err) }

// inNewTx runs fn in a new transaction, once, in its turn of the bulk lane
// when lane is set. atCommit tells an error of the COMMIT.
func (s *Service) inNewTx(ctx context.Context, lane bool, fn func(ctx context.Context) error) (atCommit bool, err error) {
	if lane {
		var done func()
		if ctx, done, err = s.bulk(ctx); err != nil {
			return false, err
		}
		defer done()
	}
	ctx = database.WithTxSlot(ctx) // for COPY (see database.SQLTx)
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return false, classify(err, "")
	}
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
		if err != nil && !atCommit {
			_ = tx.Rollback()
		}
	}()
	if err = fn(ent.NewTxContext(ctx, tx)); err != nil {
		return false, err
	}
	if err = tx.Commit(); err != nil {
		return true, classify(err, "")
	}
	return false, nil
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
