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
			Annotations(entgql.Skip(entgql.SkipWhereInput)).
			Comment("The global id: opaque, for node(id:) and every id argument."),
		field.Int("teeth").
			Range(1, math.MaxInt32).
			Annotations(entgql.OrderField("TEETH")).
			Comment("Number of teeth: a whole number from 1 to 2147483647."),
		field.Float("pitch_diameter").
			Annotations(entgql.OrderField("PITCH_DIAMETER")).
			Comment("Pitch diameter, greater than 0."),
		field.Float("outside_diameter").
			Annotations(entgql.OrderField("OUTSIDE_DIAMETER")).
			Comment("Outside diameter, greater than 0."),
		field.Float("pitch").
			Annotations(entgql.OrderField("PITCH")).
			Comment("Pitch, greater than 0."),
	}
}

// Mixin of the Sprocket.
func (Sprocket) Mixin() []ent.Mixin {
	return []ent.Mixin{TimeMixin{}}
}

// Annotations of the Sprocket.
func (Sprocket) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("One entry of the sprocket catalogue: its teeth and three dimensions."),
		entgql.QueryField().Description("The sprocket catalogue, as a cursor connection ordered by id unless orderBy says otherwise."),
		entgql.RelayConnection(),
		entgql.MultiOrder(),
	}
}
