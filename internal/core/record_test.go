package core

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

func TestRecordProductionAppendsOrUpserts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		f, err := s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: 10, Actual: 1, Goal: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.RecordProduction(ctx, f.ID, []Point{{Time: 20, Actual: 2, Goal: 2}, {Time: 30, Actual: 3, Goal: 3}}, false)
		if err != nil || res != (RecordResult{Inserted: 2}) {
			t.Fatalf("append: %+v %v", res, err)
		}
		// Appending an existing time fails the whole batch.
		_, err = s.RecordProduction(ctx, f.ID, []Point{{Time: 40, Actual: 4, Goal: 4}, {Time: 10, Actual: 9, Goal: 9}}, false)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Conflict || e.Field != "points[1].time" {
			t.Fatalf("append over an existing time: %v", err)
		}
		if got := seriesOf(t, s, f.ID); len(got) != 3 {
			t.Fatalf("the failed batch left %d points, want 3", len(got))
		}
		res, err = s.RecordProduction(ctx, f.ID, []Point{{Time: 10, Actual: 9, Goal: 8}, {Time: 40, Actual: 4, Goal: 4}}, true)
		if err != nil || res != (RecordResult{Inserted: 1, Updated: 1}) {
			t.Fatalf("upsert: %+v %v", res, err)
		}
		if got := seriesOf(t, s, f.ID); len(got) != 4 || got[0] != (Point{Time: 10, Actual: 9, Goal: 8}) || got[3].Time != 40 {
			t.Errorf("after upsert: %+v", got)
		}
		for _, bad := range [][]Point{nil, {{Time: 1, Actual: 1, Goal: 1}, {Time: 1, Actual: 2, Goal: 2}}} {
			if _, err := s.RecordProduction(ctx, f.ID, bad, false); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%v: got %v", bad, err)
			}
		}
		if _, err := s.RecordProduction(ctx, f.ID+100, []Point{{Time: 1}}, false); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("unknown factory: %v", err)
		}
	})
}

// TestPostgresCopiesAppendsAndUpsertsWithArrays proves which statement
// writes the points on PostgreSQL: a row trigger records the top-level
// statement (current_query()) of every row it sees. An append past the
// stored series, and a new factory's points, are one COPY; an upsert and
// an append that may collide are one INSERT from unnest. Every point is
// stored, exactly once.
func TestPostgresCopiesAppendsAndUpsertsWithArrays(t *testing.T) {
	db := testdb.Open(t, dialect.Postgres)
	s := New(db.Client(), db.SQL, dialect.Postgres)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE statements_seen (query text)`,
		`CREATE FUNCTION see_statement() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO statements_seen VALUES (current_query()); RETURN NEW; END $$`,
		`CREATE TRIGGER see_statement BEFORE INSERT ON chart_data FOR EACH ROW EXECUTE FUNCTION see_statement()`,
	} {
		if _, err := db.SQL.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	seen := func() map[string]int {
		t.Helper()
		rows, err := db.SQL.QueryContext(ctx, `SELECT split_part(ltrim(query), ' ', 1), count(*) FROM statements_seen GROUP BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var verb string
			var n int
			if err := rows.Scan(&verb, &n); err != nil {
				t.Fatal(err)
			}
			out[verb] = n
		}
		if _, err := db.SQL.ExecContext(ctx, `DELETE FROM statements_seen`); err != nil {
			t.Fatal(err)
		}
		return out
	}
	f, err := s.CreateFactory(ctx, FactoryInput{Points: benchPoints(5000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if got := seen(); got["COPY"] != 5000 || len(got) != 1 {
		t.Errorf("a new factory's points were written by %v, want 5000 rows by COPY", got)
	}
	if _, err := s.RecordProduction(ctx, f.ID, benchPoints(3000, 5000*60), false); err != nil {
		t.Fatal(err)
	}
	if got := seen(); got["COPY"] != 3000 || len(got) != 1 {
		t.Errorf("an append was written by %v, want 3000 rows by COPY", got)
	}
	// Times between stored ones may collide: the arrays statement checks.
	gaps := benchPoints(10, 30)
	if _, err := s.RecordProduction(ctx, f.ID, gaps, false); err != nil {
		t.Fatal(err)
	}
	if got := seen(); got["INSERT"] != 10 || len(got) != 1 {
		t.Errorf("an append among stored times was written by %v, want 10 rows by INSERT", got)
	}
	if res, err := s.RecordProduction(ctx, f.ID, benchPoints(20, 7990*60), true); err != nil || res.Updated != 10 || res.Inserted != 10 {
		t.Fatalf("upsert: %+v, %v", res, err)
	}
	// The upsert's INSERT sits in a WITH that also counts the stored times
	// (chart_data is partitioned: no xmax in its RETURNING).
	if got := seen(); got["WITH"] != 20 || len(got) != 1 {
		t.Errorf("an upsert was written by %v, want 20 rows by the arrays statement", got)
	}
	if n := s.client.ChartData.Query().CountX(ctx); n != 5000+3000+10+10 {
		t.Errorf("%d points stored, want %d", n, 5000+3000+10+10)
	}
}
