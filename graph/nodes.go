package graph

import (
	"context"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/factory"
	"github.com/sprocketapi/sprocket/ent/sprocket"
	"github.com/sprocketapi/sprocket/graph/gid"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// defaultPage is the page size of a connection asked without first/last.
var defaultPage = core.DefaultPageSize

// nodes resolves global ids with one query a type, whatever their number;
// an id of a row that does not exist is null, as Relay expects.
func (r *Resolver) nodes(ctx context.Context, ids []gid.ID) ([]ent.Noder, error) {
	if len(ids) > core.MaxPageSize {
		return nil, apperr.InvalidField("ids", "at most %d ids a call.", core.MaxPageSize)
	}
	var factoryIDs, sprocketIDs []int
	for _, id := range ids {
		switch id.Type {
		case gid.Factory:
			factoryIDs = append(factoryIDs, id.RowID)
		case gid.Sprocket:
			sprocketIDs = append(sprocketIDs, id.RowID)
		}
	}
	found := map[gid.ID]ent.Noder{}
	if len(factoryIDs) > 0 {
		fs, err := r.Service.Client(ctx).Factory.Query().Where(factory.IDIn(factoryIDs...)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			found[gid.New(gid.Factory, f.ID)] = f
		}
	}
	if len(sprocketIDs) > 0 {
		ss, err := r.Service.Client(ctx).Sprocket.Query().Where(sprocket.IDIn(sprocketIDs...)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			found[gid.New(gid.Sprocket, s.ID)] = s
		}
	}
	out := make([]ent.Noder, len(ids))
	for i, id := range ids {
		out[i] = found[id] // nil when absent
	}
	return out, nil
}

// ptrs returns pointers to the elements of s.
func ptrs[T any](s []T) []*T {
	out := make([]*T, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}
