package core

import (
	"context"
	"math"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/sprocket"
	"github.com/sprocketapi/sprocket/internal/apperr"
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
	return list, translate(err, "")
}

// GetSprocket returns one sprocket, or a NotFound error.
func (s *Service) GetSprocket(ctx context.Context, id int) (*ent.Sprocket, error) {
	sp, err := s.Client(ctx).Sprocket.Get(ctx, id)
	return sp, translate(err, msgSprocketNotFound)
}

// SprocketExists reports whether a sprocket exists; /v1 PUT answers 404
// before it reads the body.
func (s *Service) SprocketExists(ctx context.Context, id int) (bool, error) {
	ok, err := s.Client(ctx).Sprocket.Query().Where(sprocket.ID(id)).Exist(ctx)
	return ok, translate(err, "")
}

// CreateSprocket validates in and adds a sprocket.
func (s *Service) CreateSprocket(ctx context.Context, in SprocketInput) (*ent.Sprocket, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	sp, err := s.Client(ctx).Sprocket.Create().
		SetTeeth(in.Teeth).
		SetPitchDiameter(in.PitchDiameter).
		SetOutsideDiameter(in.OutsideDiameter).
		SetPitch(in.Pitch).
		Save(ctx)
	return sp, translate(err, "")
}

// UpdateSprocket validates in and replaces the four fields of sprocket id.
func (s *Service) UpdateSprocket(ctx context.Context, id int, in SprocketInput) (*ent.Sprocket, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	sp, err := s.Client(ctx).Sprocket.UpdateOneID(id).
		SetTeeth(in.Teeth).
		SetPitchDiameter(in.PitchDiameter).
		SetOutsideDiameter(in.OutsideDiameter).
		SetPitch(in.Pitch).
		Save(ctx)
	return sp, translate(err, msgSprocketNotFound)
}

// DeleteSprocket removes sprocket id.
func (s *Service) DeleteSprocket(ctx context.Context, id int) error {
	return translate(s.Client(ctx).Sprocket.DeleteOneID(id).Exec(ctx), msgSprocketNotFound)
}
