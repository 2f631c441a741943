package core

import (
	"context"

	"github.com/sprocketapi/sprocket/ent"
)

// SprocketPatch holds the fields to change; nil ones keep their values.
type SprocketPatch struct {
	Teeth           *int
	PitchDiameter   *float64
	OutsideDiameter *float64
	Pitch           *float64
}

// PatchSprocket changes some fields of sprocket id; the result is
// validated as a whole.
func (s *Service) PatchSprocket(ctx context.Context, id int, p SprocketPatch) (*ent.Sprocket, error) {
	var out *ent.Sprocket
	err := s.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.GetSprocket(ctx, id)
		if err != nil {
			return err
		}
		in := SprocketInput{Teeth: cur.Teeth, PitchDiameter: cur.PitchDiameter, OutsideDiameter: cur.OutsideDiameter, Pitch: cur.Pitch}
		if p.Teeth != nil {
			in.Teeth = *p.Teeth
		}
		if p.PitchDiameter != nil {
			in.PitchDiameter = *p.PitchDiameter
		}
		if p.OutsideDiameter != nil {
			in.OutsideDiameter = *p.OutsideDiameter
		}
		if p.Pitch != nil {
			in.Pitch = *p.Pitch
		}
		out, err = s.UpdateSprocket(ctx, id, in)
		return err
	})
	return out, err
}

// RenameFactory sets the name of factory id.
func (s *Service) RenameFactory(ctx context.Context, id int, name string) (*ent.Factory, error) {
	if name == "" {
		return nil, validateName(" ")
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	f, err := s.Client(ctx).Factory.UpdateOneID(id).SetName(name).Save(ctx)
	return f, translate(err, msgFactoryNotFound)
}

// DeleteFactory removes factory id and, by cascade, its points.
func (s *Service) DeleteFactory(ctx context.Context, id int) error {
	return translate(s.Client(ctx).Factory.DeleteOneID(id).Exec(ctx), msgFactoryNotFound)
}
