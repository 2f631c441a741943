package core

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"strings"

	"github.com/lib/pq"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/sprocket"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/database"
)

// ErrSprocketNotFound is the message of a missing sprocket, as /v1 says it.
const msgSprocketNotFound = "Sprocket not found"

// SprocketInput is what a sprocket is made of; all four fields are required
// on create and on (full) update.
type SprocketInput struct {
	Teeth           int
	PitchDiameter   float64
	OutsideDiameter float64
	Pitch           float64
}

// Validate checks the ranges: teeth a whole number from 1 to 2^31-1, the
// three dimensions finite and greater than zero.
func (in SprocketInput) Validate() error {
	if in.Teeth < 1 || in.Teeth > math.MaxInt32 {
		return apperr.InvalidField("teeth", "teeth must be a whole number from 1 to 2147483647.")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"pitch_diameter", in.PitchDiameter},
		{"outside_diameter", in.OutsideDiameter},
		{"pitch", in.Pitch},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v <= 0 {
			return apperr.InvalidField(f.name, "%s must be a finite number greater than 0.", f.name)
		}
	}
	return nil
}

// ListSprockets returns the whole catalogue ordered by id.
func (s *Service) ListSprockets(ctx context.Context) ([]*ent.Sprocket, error) {
	list, err := s.Client(ctx).Sprocket.Query().Order(ent.Asc(sprocket.FieldID)).All(ctx)
	return list, classify(err, "")
}

// GetSprocket returns one sprocket, or a NotFound error.
// Outside a transaction, concurrent calls share their queries (see
// coalescer), on the primary or on the standby the request was routed to
// (a standby that fails the read leaves it to the primary); inside one, it
// reads through the transaction.
func (s *Service) GetSprocket(ctx context.Context, id int) (*ent.Sprocket, error) {
	if ent.TxFromContext(ctx) != nil {
		sp, err := s.Client(ctx).Sprocket.Get(ctx, id)
		return sp, classify(err, msgSprocketNotFound)
	}
	reads, r := s.sprockets, database.ReaderFrom(ctx)
	if r != nil {
		reads = s.sprocketReadsOn(r)
	}
	sp, ok, err := reads.get(ctx, id)
	if err != nil && r != nil && r.Failed(ctx, err) {
		sp, ok, err = s.sprockets.get(ctx, id)
	}
	if err != nil {
		return nil, classify(err, "")
	}
	if !ok {
		return nil, apperr.Errorf(apperr.NotFound, msgSprocketNotFound)
	}
	return sp, nil
}

// sprocketReads reads single sprockets on one database: a coalescer over
// a prepared statement, binding the entities to that database's client.
type sprocketReads = coalescer[int, *ent.Sprocket]

func (s *Service) newSprocketReads(pool *sql.DB, client *ent.Client) *sprocketReads {
	byID := &statement{db: pool, query: sprocketsByID(s.postgres)}
	return &sprocketReads{limit: coalesceLimit, fetch: func(ctx context.Context, ids []int) (map[int]*ent.Sprocket, error) {
		return s.fetchSprockets(ctx, byID, client, ids)
	}}
}

// sprocketReadsOn returns the sprocket reads of standby r, made on first
// use.
func (s *Service) sprocketReadsOn(r *database.Reader) *sprocketReads {
	if v, ok := s.standbys.Load(r.SQL); ok {
		return v.(*sprocketReads)
	}
	v, _ := s.standbys.LoadOrStore(r.SQL, s.newSprocketReads(r.SQL, r.Client))
	return v.(*sprocketReads)
}

// coalesceLimit is how many shared sprocket reads run at once before more
// requests queue for the next one. One keeps the batches largest under
// load (docs/performance.md, "How it is made fast"), and no sprocket read
// can wait on a lock: a primary-key SELECT never blocks on PostgreSQL, nor
// on SQLite in WAL mode.
const coalesceLimit = 1

// sprocketsByID reads sprockets by id with one prepared statement for any
// number of ids, so that neither ent nor the database rebuilds or re-plans
// it per request (they were a large part of a one-row read's cost: see
// docs/performance.md).
func sprocketsByID(postgres bool) string {
	q := `SELECT ` + strings.Join(sprocketColumns, ", ") + ` FROM ` + sprocket.Table + ` WHERE ` + sprocket.FieldID + ` `
	if postgres {
		return q + `= ANY($1)`
	}
	return q + `IN (SELECT value FROM json_each(?))`
}

// fetchSprockets reads the sprockets of ids in one query of byID, and
// binds them to client.
func (s *Service) fetchSprockets(ctx context.Context, byID *statement, client *ent.Client, ids []int) (map[int]*ent.Sprocket, error) {
	st, err := byID.get(ctx)
	if err != nil {
		return nil, err
	}
	var arg any
	if s.postgres {
		a := make(pq.Int64Array, len(ids))
		for i, id := range ids {
			a[i] = int64(id)
		}
		arg = a
	} else {
		b, err := json.Marshal(ids)
		if err != nil {
			return nil, err
		}
		arg = string(b)
	}
	rows, err := st.QueryContext(ctx, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int]*ent.Sprocket, len(ids))
	for rows.Next() {
		sp, err := scanSprocket(rows)
		if err != nil {
			return nil, err
		}
		out[sp.ID] = client.BindSprocket(sp)
	}
	return out, rows.Err()
}

// sprocketColumns are the columns scanSprocket reads, in its order.
var sprocketColumns = []string{sprocket.FieldID, sprocket.FieldCreatedAt, sprocket.FieldUpdatedAt,
	sprocket.FieldTeeth, sprocket.FieldPitchDiameter, sprocket.FieldOutsideDiameter, sprocket.FieldPitch}

// scanSprocket reads a row of sprocketColumns into an entity, which the
// caller binds to its client.
func scanSprocket(rows *sql.Rows) (*ent.Sprocket, error) {
	sp := &ent.Sprocket{}
	var created, updated sql.NullTime
	if err := rows.Scan(&sp.ID, &created, &updated, &sp.Teeth, &sp.PitchDiameter, &sp.OutsideDiameter, &sp.Pitch); err != nil {
		return nil, err
	}
	sp.CreatedAt, sp.UpdatedAt = created.Time, updated.Time
	return sp, nil
}

// SprocketExists reports whether a sprocket exists; /v1 PUT answers 404
// before it reads the body.
func (s *Service) SprocketExists(ctx context.Context, id int) (bool, error) {
	ok, err := s.Client(ctx).Sprocket.Query().Where(sprocket.ID(id)).Exist(ctx)
	return ok, classify(err, "")
}

// CreateSprocket validates in and adds a sprocket.
func (s *Service) CreateSprocket(ctx context.Context, in SprocketInput) (*ent.Sprocket, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var sp *ent.Sprocket
	err := s.write(ctx, func(ctx context.Context) (err error) {
		sp, err = s.writer(ctx).Sprocket.Create().
			SetTeeth(in.Teeth).
			SetPitchDiameter(in.PitchDiameter).
			SetOutsideDiameter(in.OutsideDiameter).
			SetPitch(in.Pitch).
			Save(ctx)
		return classify(err, "")
	})
	return sp, err
}

// UpdateSprocket validates in and replaces the four fields of sprocket id.
func (s *Service) UpdateSprocket(ctx context.Context, id int, in SprocketInput) (*ent.Sprocket, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var sp *ent.Sprocket
	err := s.write(ctx, func(ctx context.Context) (err error) {
		sp, err = s.writer(ctx).Sprocket.UpdateOneID(id).
			SetTeeth(in.Teeth).
			SetPitchDiameter(in.PitchDiameter).
			SetOutsideDiameter(in.OutsideDiameter).
			SetPitch(in.Pitch).
			Save(ctx)
		return classify(err, msgSprocketNotFound)
	})
	return sp, err
}

// DeleteSprocket removes sprocket id.
func (s *Service) DeleteSprocket(ctx context.Context, id int) error {
	return s.write(ctx, func(ctx context.Context) error {
		return classify(s.writer(ctx).Sprocket.DeleteOneID(id).Exec(ctx), msgSprocketNotFound)
	})
}
