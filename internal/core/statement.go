package core

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// statement is a query prepared on first use and then kept: database/sql
// prepares it again on each pooled connection as needed, and drops it with
// the pool. A failed preparation (the database is down) is retried by the
// next use.
type statement struct {
	db    *sql.DB
	query string
	mu    sync.Mutex
	stmt  atomic.Pointer[sql.Stmt]
}

func (p *statement) get(ctx context.Context) (*sql.Stmt, error) {
	if st := p.stmt.Load(); st != nil {
		return st, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := p.stmt.Load(); st != nil {
		return st, nil
	}
	st, err := p.db.PrepareContext(ctx, p.query)
	if err != nil {
		return nil, err
	}
	p.stmt.Store(st)
	return st, nil
}
