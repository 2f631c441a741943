package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Factory is a sprocket factory: the owner of a production series.
type Factory struct {
	ent.Schema
}

// Fields of the Factory.
func (Factory) Fields() []ent.Field {
	return []ent.Field{
		// Declared to keep raw ids out of the GraphQL where inputs: GraphQL
		// clients see opaque global ids, and rowId for the /v1 id.
		field.Int("id").
			Positive().
			Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)).
			Comment("The global id: opaque, for node(id:) and every id argument."),
		field.String("name").
			NotEmpty().
			MaxRuneLen(200). // characters, not bytes (core.MaxNameLength)
			Annotations(entgql.OrderField("NAME")).
			Comment(`Display name; "Factory N" when a /v1 client gives none.`),
		field.Int64("series_version").
			Default(0).
			Annotations(entgql.Skip(entgql.SkipAll)).
			Comment("Bumped by every write of the factory's points, in the writing transaction; keys caches of the series."),
	}
}

// Mixin of the Factory.
func (Factory) Mixin() []ent.Mixin {
	return []ent.Mixin{TimeMixin{}}
}

// Edges of the Factory.
func (Factory) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("points", ChartData.Type).
			Annotations(
				entsql.OnDelete(entsql.Cascade),
				entgql.Skip(entgql.SkipAll),
			).
			Comment("The production series, one row per point."),
	}
}

// Annotations of the Factory.
func (Factory) Annotations() []schema.Annotation {
	return []schema.Annotation{
		schema.Comment("A sprocket factory: a name and its production series (points of actual against goal over time)."),
		entgql.QueryField().Description("The factories, as a cursor connection ordered by id unless orderBy says otherwise."),
		entgql.RelayConnection(),
		entgql.MultiOrder(),
	}
}
