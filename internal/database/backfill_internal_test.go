package database

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"
)

// TestBackfillFillsFirstLastAndExtremeTimes upgrades a database that holds
// points from before the rollups' first/last and extreme-time columns, on
// both databases: the backfills give every bucket its first and last point,
// the earliest time of its smallest and largest actual and goal (ties
// included), and the goal at the times of the smallest and largest actual.
func TestBackfillFillsFirstLastAndExtremeTimes(t *testing.T) {
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			db := openEmpty(t, d)
			if _, err := db.migrateUpTo(ctx, "20261129025340_init"); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO factories (id, created_at, updated_at, name) VALUES (1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'Factory 1')`,
				// Hour 0: actual 5, 1, 5, 1 and goal 2, 7, 7, 2 (ties on
				// both sides); the day adds a point at 4000.
				`INSERT INTO chart_data (factory_id, "time", actual, goal) VALUES (1, 10, 5, 2), (1, 20, 1, 7), (1, 30, 5, 7), (1, 40, 1, 2), (1, 4000, 9, 9)`,
			} {
				if _, err := db.SQL.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			type row struct {
				fa, fg, la, lg             float64
				tmina, tmaxa, tming, tmaxg int64
				gmina, gmaxa               float64
			}
			want := map[[2]int64]row{
				{3600, 0}:    {5, 2, 1, 2, 20, 10, 10, 20, 7, 2},
				{3600, 3600}: {9, 9, 9, 9, 4000, 4000, 4000, 4000, 9, 9},
				{86400, 0}:   {5, 2, 9, 9, 20, 4000, 10, 4000, 7, 9},
			}
			rows, err := db.SQL.QueryContext(ctx, `SELECT width, bucket, first_actual, first_goal, last_actual, last_goal, `+
				`min_actual_time, max_actual_time, min_goal_time, max_goal_time, min_actual_goal, max_actual_goal FROM rollups`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				var k [2]int64
				var r row
				if err := rows.Scan(&k[0], &k[1], &r.fa, &r.fg, &r.la, &r.lg, &r.tmina, &r.tmaxa, &r.tming, &r.tmaxg, &r.gmina, &r.gmaxa); err != nil {
					t.Fatal(err)
				}
				n++
				if w, ok := want[k]; !ok || w != r {
					t.Errorf("rollup width %d bucket %d: got %+v, want %+v", k[0], k[1], r, w)
				}
			}
			if err := rows.Err(); err != nil || n != len(want) {
				t.Fatalf("%d rollups (%v), want %d", n, err, len(want))
			}
		})
	}
}
