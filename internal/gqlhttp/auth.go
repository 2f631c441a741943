package gqlhttp

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/sprocketapi/sprocket/internal/auth"
)

// WriteGuard refuses mutations from requests that did not prove a token
// when tokens are configured (the HTTP layer records what each request
// proved; see internal/auth).
type WriteGuard struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = WriteGuard{}

// ExtensionName implements graphql.HandlerExtension.
func (WriteGuard) ExtensionName() string { return "WriteGuard" }

// Validate implements graphql.HandlerExtension.
func (WriteGuard) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (WriteGuard) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Operation.Operation != ast.Mutation || auth.StateOf(ctx).MayWrite() {
		return nil
	}
	return &gqlerror.Error{
		Message:    "Mutations need a valid API token: send Authorization: Bearer <token>.",
		Extensions: map[string]any{"code": "UNAUTHENTICATED"},
	}
}
