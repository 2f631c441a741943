// Package seed loads the legacy service's seed data (embedded in the
// binary) through the core, so that seeded rows pass the same validation as
// any client's.
package seed

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/sprocketapi/sprocket/internal/core"
)

//go:embed data/seed_factory_data.json
var factoryData []byte

//go:embed data/seed_sprocket_types.json
var sprocketData []byte

type factoryFile struct {
	Factories []struct {
		Factory struct {
			ChartData struct {
				Actual []float64 `json:"sprocket_production_actual"`
				Goal   []float64 `json:"sprocket_production_goal"`
				Time   []int64   `json:"time"`
			} `json:"chart_data"`
		} `json:"factory"`
	} `json:"factories"`
}

type sprocketFile struct {
	Sprockets []struct {
		Teeth           int     `json:"teeth"`
		PitchDiameter   float64 `json:"pitch_diameter"`
		OutsideDiameter float64 `json:"outside_diameter"`
		Pitch           float64 `json:"pitch"`
	} `json:"sprockets"`
}

// Counts says what a seeding added.
type Counts struct {
	Factories, Points, Sprockets int
}

// Load adds the seed factories and sprockets in one transaction.
func Load(ctx context.Context, svc *core.Service) (Counts, error) {
	var ff factoryFile
	var sf sprocketFile
	if err := decode(factoryData, &ff); err != nil {
		return Counts{}, fmt.Errorf("seed: factories: %w", err)
	}
	if err := decode(sprocketData, &sf); err != nil {
		return Counts{}, fmt.Errorf("seed: sprockets: %w", err)
	}
	var n Counts
	err := svc.InTx(ctx, func(ctx context.Context) error {
		for i, f := range ff.Factories {
			cd := f.Factory.ChartData
			if len(cd.Actual) != len(cd.Time) || len(cd.Goal) != len(cd.Time) {
				return fmt.Errorf("seed: factory %d: columns of unequal length", i)
			}
			points := make([]core.Point, len(cd.Time))
			for j := range cd.Time {
				points[j] = core.Point{Time: cd.Time[j], Actual: cd.Actual[j], Goal: cd.Goal[j]}
			}
			if _, err := svc.CreateFactory(ctx, core.FactoryInput{Points: points}); err != nil {
				return fmt.Errorf("seed: factory %d: %w", i, err)
			}
			n.Factories++
			n.Points += len(points)
		}
		for i, s := range sf.Sprockets {
			if _, err := svc.CreateSprocket(ctx, core.SprocketInput(s)); err != nil {
				return fmt.Errorf("seed: sprocket %d: %w", i, err)
			}
			n.Sprockets++
		}
		return nil
	})
	if err != nil {
		return Counts{}, err
	}
	return n, nil
}

// LoadIfEmpty seeds a database that has no factories and no sprockets, and
// reports whether it did.
func LoadIfEmpty(ctx context.Context, svc *core.Service) (Counts, bool, error) {
	empty, err := svc.IsEmpty(ctx)
	if err != nil || !empty {
		return Counts{}, false, err
	}
	n, err := Load(ctx, svc)
	return n, err == nil, err
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}
