package model

import (
	"context"

	"github.com/sprocketapi/sprocket/ent"
)

// PointConnection is a page of a factory's points. Its total count is a
// separate query, run only when the field is selected.
type PointConnection struct {
	Edges    []*PointEdge
	PageInfo ent.PageInfo
	// Count counts the points of the whole window.
	Count func(ctx context.Context) (int64, error)
}

// PointEdge is one point of a page. Point cursors carry the point's time
// in the cursor's ID (times are unique within a factory).
type PointEdge struct {
	Node   *Point
	Cursor ent.Cursor
}
