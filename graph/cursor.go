package graph

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/core"
)

// The one check that a cursor fits the query it is given to, before any of
// it reaches SQL. The Cursor scalar (graph/model/cursor.go) has read its
// shape; what only the resolver knows is the connection and its order: a
// cursor of factories ordered by NAME holds the row's id and its name, and
// given to factories ordered by CREATED_AT (or tampered with) its string
// would be compared with a timestamp column, which PostgreSQL refuses as an
// error of the statement. A cursor that does not fit is refused like one
// that does not decode: an error on the argument's path, which the error
// presenter words as an invalid cursor (BAD_USER_INPUT).

// orderSamples are the values of the connection's order fields for a zero
// row: their types say what the cursor's values must be.
type orderSamples []ent.Value

func factoryOrderSamples(order []ent.FactoryOrder) (orderSamples, error) {
	out := make(orderSamples, len(order))
	for i, o := range order {
		v, err := o.Field.Value(&ent.Factory{})
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func sprocketOrderSamples(order []ent.SprocketOrder) (orderSamples, error) {
	out := make(orderSamples, len(order))
	for i, o := range order {
		v, err := o.Field.Value(&ent.Sprocket{})
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// checkRowCursors refuses an after or before cursor of a connection of
// rows ordered by order that is not one it could have returned: a row id
// below 1, or values that do not match the order fields one to one in
// type and in the domain the database holds for that type.
func checkRowCursors(ctx context.Context, after, before *entgql.Cursor[int], order orderSamples) error {
	for _, a := range []struct {
		name string
		c    *entgql.Cursor[int]
	}{{"after", after}, {"before", before}} {
		if a.c == nil {
			continue
		}
		if err := rowCursorFits(a.c, order); err != nil {
			return cursorError(ctx, a.name, err)
		}
	}
	return nil
}

func rowCursorFits(c *entgql.Cursor[int], order orderSamples) error {
	if c.ID < 1 {
		return fmt.Errorf("row id %d", c.ID)
	}
	if c.Value == nil && len(order) == 0 {
		return nil // the id alone orders the rows
	}
	values, ok := c.Value.([]any)
	if !ok || len(values) != len(order) {
		return fmt.Errorf("%d order fields, cursor values %T", len(order), c.Value)
	}
	for i, v := range values {
		if err := valueFits(v, order[i]); err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
	}
	return nil
}

// valueFits reports whether v, a cursor's value, is a value of sample's
// type that both databases compare with that column without an error.
func valueFits(v, sample ent.Value) error {
	switch sample.(type) {
	case time.Time:
		// Both databases hold years 1 to 9999 (PostgreSQL more, which
		// no row of ours has).
		if t, ok := v.(time.Time); ok && t.Year() >= 1 && t.Year() <= 9999 {
			return nil
		}
	case string:
		// Order fields of text are names: what PostgreSQL's text holds
		// (no NUL, valid UTF-8), and no longer than a name.
		if s, ok := v.(string); ok && utf8.ValidString(s) && !strings.ContainsRune(s, 0) &&
			utf8.RuneCountInString(s) <= core.MaxNameLength {
			return nil
		}
	case int, int64:
		if _, ok := v.(int64); ok {
			return nil
		}
	case float64:
		if f, ok := v.(float64); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return nil
		}
	default:
		return fmt.Errorf("an order field of type %T", sample)
	}
	return fmt.Errorf("%T for a %T field", v, sample)
}

// pointCursor is the time a points cursor names: a time of the time
// domain, and nothing else.
func pointCursor(ctx context.Context, name string, c *entgql.Cursor[int]) (*int64, error) {
	if c == nil {
		return nil, nil
	}
	t := int64(c.ID)
	if c.Value != nil || t < core.MinTime || t > core.MaxTime {
		return nil, cursorError(ctx, name, fmt.Errorf("points cursor %d with values %T", t, c.Value))
	}
	return &t, nil
}

// cursorError is cause as an error of the cursor argument name of the
// field being resolved: on the argument's path, as gqlgen places the
// errors of arguments that do not decode.
func cursorError(ctx context.Context, name string, cause error) error {
	path := append(ast.Path{}, graphql.GetPath(ctx)...)
	return &gqlerror.Error{
		Message: "invalid cursor",
		Path:    append(path, ast.PathName(name)),
		Err:     cause,
	}
}
