package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ChartData is one point of a factory's production series: what it made
// (actual) against its target (goal) at one instant.
type ChartData struct {
	ent.Schema
}

// Fields of the ChartData.
func (ChartData) Fields() []ent.Field {
	return []ent.Field{
		field.Int("factory_id"),
		field.Int64("time").
			Comment("Epoch seconds by convention; /v1 stores whatever integer a client sent."),
		field.Float("actual"),
		field.Float("goal"),
	}
}

// Edges of the ChartData.
func (ChartData) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("factory", Factory.Type).
			Ref("points").
			Field("factory_id").
			Unique().
			Required(),
	}
}

// Indexes of the ChartData.
func (ChartData) Indexes() []ent.Index {
	return []ent.Index{
		// One point per instant per factory; also the index every window
		// query and every ordered read walks. On PostgreSQL it carries the
		// values too, so that reading a series in order is an index-only
		// scan instead of a heap scan and a sort.
		index.Fields("factory_id", "time").Unique().
			Annotations(entsql.IncludeColumns("actual", "goal")),
	}
}

// Annotations of the ChartData.
func (ChartData) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipAll),
	}
}
