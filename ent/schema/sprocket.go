package schema

import (
	"math"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// Sprocket is one entry of the sprocket catalogue.
type Sprocket struct {
	ent.Schema
}

// Fields of the Sprocket.
func (Sprocket) Fields() []ent.Field {
	return []ent.Field{
		// Declared to keep raw ids out of the GraphQL where inputs: GraphQL
		// clients see opaque global ids, and rowId for the /v1 id.
		field.Int("id").
			Positive().
			Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		field.Int("teeth").
			Range(1, math.MaxInt32).
			Annotations(entgql.OrderField("TEETH")),
		field.Float("pitch_diameter").
			Annotations(entgql.OrderField("PITCH_DIAMETER")),
		field.Float("outside_diameter").
			Annotations(entgql.OrderField("OUTSIDE_DIAMETER")),
		field.Float("pitch").
			Annotations(entgql.OrderField("PITCH")),
	}
}

// Mixin of the Sprocket.
func (Sprocket) Mixin() []ent.Mixin {
	return []ent.Mixin{TimeMixin{}}
}

// Annotations of the Sprocket.
func (Sprocket) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(),
		entgql.RelayConnection(),
		entgql.MultiOrder(),
	}
}
