package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Rollup is a pre-aggregated bucket of one factory's points: every point
// whose time falls in [bucket, bucket+width). Rollups are kept exact in
// the transaction that writes the points, so that a series over a long
// window reads O(buckets) rows instead of O(points).
type Rollup struct {
	ent.Schema
}

// Fields of the Rollup.
func (Rollup) Fields() []ent.Field {
	return []ent.Field{
		field.Int("factory_id"),
		field.Int("width").Comment("Bucket width in seconds: 3600 or 86400."),
		field.Int64("bucket").Comment("Start of the bucket, a multiple of width."),
		field.Int64("n"),
		field.Float("sum_actual"),
		field.Float("sum_goal"),
		field.Float("min_actual"),
		field.Float("max_actual"),
		field.Float("min_goal"),
		field.Float("max_goal"),
		field.Int64("min_time"),
		field.Int64("max_time"),
		// What exact FIRST, LAST and M4 need: the bucket's first point
		// (at min_time) and last point (at max_time), and the times of
		// its smallest and largest actual and goal; among equal values
		// the earliest time wins. Defaults only serve the migration that
		// adds them, which then backfills them.
		field.Float("first_actual").Default(0),
		field.Float("first_goal").Default(0),
		field.Float("last_actual").Default(0),
		field.Float("last_goal").Default(0),
		field.Int64("min_actual_time").Default(0),
		field.Int64("max_actual_time").Default(0),
		field.Int64("min_goal_time").Default(0),
		field.Int64("max_goal_time").Default(0),
		// The goal of the points at min_actual_time and max_actual_time:
		// M4 then answers those points whole from the rollups, without a
		// probe of chart_data for each (on PostgreSQL a probe is planned
		// over every monthly partition the window spans).
		field.Float("min_actual_goal").Default(0),
		field.Float("max_actual_goal").Default(0),
	}
}

// Indexes of the Rollup.
func (Rollup) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("factory_id", "width", "bucket").Unique(),
	}
}

// Annotations of the Rollup.
func (Rollup) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
