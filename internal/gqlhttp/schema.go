package gqlhttp

import (
	"context"
	"reflect"
)

// NewHandler serves any executable schema. What the transport must know
// of a particular schema comes through Options, from the schema's own
// package (graph.Pricing, graph.Extensions, and the core's transactions):
// this package names none of its types or fields.

// Pricing is what the cost limit and the answer budget know of the schema
// they serve: how many items its list fields can return, and how large
// the values of its own scalar types are. nil knows nothing: every field
// but introspection's counts once, and values are sized by their Go kind.
type Pricing interface {
	// ListSize is how many items the field of the object type parent can
	// return, its arguments read with arg (nil for one that is absent or
	// cannot be read); ok is false for a field it does not price.
	ListSize(parent, field string, arg func(name string) any) (size int, ok bool)
	// ValueSize is the JSON size in bytes of a value of type t (a
	// pointer's element type), one of the schema's own scalar types such
	// as its IDs; 0 for any other type.
	ValueSize(t reflect.Type) int64
}

// Transactor runs fn in one transaction that the resolvers' calls find in
// its context, running it again when the transaction failed transiently
// (core.Service.InTx).
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}
