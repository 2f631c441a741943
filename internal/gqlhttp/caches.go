package gqlhttp

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/sprocketapi/sprocket/internal/lru"
)

// cacheShare is the part of a cache's budget that one entry may take: a
// larger document or query is not cached at all, so that a few huge
// documents (a long comment is valid GraphQL) cannot push out the many
// small ones clients send again and again.
const cacheShare = 64

// documentCache is the executor's cache of parsed and validated
// documents, keyed by their text, within a byte budget: each is charged
// documentBytes (its text and its nodes).
type documentCache struct {
	lru *lru.Cache[string, *ast.QueryDocument]
}

var _ graphql.Cache[*ast.QueryDocument] = documentCache{}

func newDocumentCache(budget int64) documentCache {
	return documentCache{lru: lru.New[string, *ast.QueryDocument](budget, budget/cacheShare)}
}

// Get implements graphql.Cache.
func (c documentCache) Get(_ context.Context, query string) (*ast.QueryDocument, bool) {
	return c.lru.Get(query)
}

// Add implements graphql.Cache. The key is the document's own source
// text, which documentBytes counts.
func (c documentCache) Add(_ context.Context, query string, doc *ast.QueryDocument) {
	size := int64(len(query))
	if size <= c.lru.MaxEntry() { // else refused without measuring
		size = documentBytes(doc)
	}
	c.lru.Add(query, doc, size, nil)
}

// persistedQueries is the automatic persisted queries' cache (hash to
// query text) within a byte budget. A query too large to keep answers
// PERSISTED_QUERY_NOT_FOUND when its hash comes alone, and the client
// sends it whole again, as after an eviction.
type persistedQueries struct {
	lru *lru.Cache[string, string]
}

var _ graphql.Cache[string] = persistedQueries{}

func newPersistedQueries(budget int64) persistedQueries {
	return persistedQueries{lru: lru.New[string, string](budget, budget/cacheShare)}
}

// Get implements graphql.Cache.
func (c persistedQueries) Get(_ context.Context, hash string) (string, bool) {
	return c.lru.Get(hash)
}

// Add implements graphql.Cache.
func (c persistedQueries) Add(_ context.Context, hash, query string) {
	c.lru.Add(hash, query, int64(len(hash)+len(query)), nil)
}
