package core

import (
	"context"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/chartdata"
	"github.com/sprocketapi/sprocket/ent/factory"
	"github.com/sprocketapi/sprocket/ent/rollup"
	"github.com/sprocketapi/sprocket/internal/apperr"
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
	var f *ent.Factory
	err := s.write(ctx, func(ctx context.Context) (err error) {
		f, err = s.writer(ctx).Factory.UpdateOneID(id).SetName(name).Save(ctx)
		return classify(err, msgFactoryNotFound)
	})
	return f, err
}

// DeleteFactory removes factory id and its points, in one transaction. The
// factory row is locked first, so a batch being recorded for it finishes
// (and is deleted too) before the points go: none is left behind.
func (s *Service) DeleteFactory(ctx context.Context, id int) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		c := s.Client(ctx)
		q := c.Factory.Query().Where(factory.ID(id))
		if s.postgres {
			q = q.ForUpdate()
		}
		if ok, err := q.Exist(ctx); err != nil || !ok {
			if err == nil {
				return apperr.Errorf(apperr.NotFound, msgFactoryNotFound)
			}
			return classify(err, "")
		}
		if _, err := c.ChartData.Delete().Where(chartdata.FactoryID(id)).Exec(ctx); err != nil {
			return classify(err, "")
		}
		if _, err := c.Rollup.Delete().Where(rollup.FactoryID(id)).Exec(ctx); err != nil {
			return classify(err, "")
		}
		if err := c.Factory.DeleteOneID(id).Exec(ctx); err != nil {
			return classify(err, msgFactoryNotFound)
		}
		if s.notifier != nil {
			return s.notifier.FactoryDeleted(ctx, id)
		}
		return nil
	})
}
