package graph

import (
	"context"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/graph/gid"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// defaultPage is the page size of a connection asked without first/last.
var defaultPage = core.DefaultPageSize

// pageSize bounds first and last: a connection never returns a whole table.
func pageSize(first, last *int) error {
	for name, v := range map[string]*int{"first": first, "last": last} {
		if v != nil && (*v < 0 || *v > core.MaxPageSize) {
			return apperr.InvalidField(name, "%s must be from 0 to %d.", name, core.MaxPageSize)
		}
	}
	return nil
}

// node resolves a global id; an id of a row that does not exist is null,
// as Relay expects.
func (r *Resolver) node(ctx context.Context, id gid.ID) (ent.Noder, error) {
	var (
		n   ent.Noder
		err error
	)
	switch id.Type {
	case gid.Factory:
		n, err = r.Service.GetFactory(ctx, id.RowID)
	case gid.Sprocket:
		n, err = r.Service.GetSprocket(ctx, id.RowID)
	default:
		return nil, nil
	}
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil
	}
	return n, err
}

// inputPath prefixes the field of a validation error with the input
// argument's name, so the path names the argument as the client wrote it.
func inputPath(err error, arg string) error {
	if e, ok := apperr.As(err); ok && e.Field != "" {
		cp := *e
		cp.Field = arg + "." + e.Field
		return &cp
	}
	return err
}

// ptrs returns pointers to the elements of s.
func ptrs[T any](s []T) []*T {
	out := make([]*T, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}
