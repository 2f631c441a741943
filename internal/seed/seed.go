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

	"entgo.io/ent/dialect"

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

// Load adds the seed factories and sprockets in one transaction, whatever
// the database holds already.
func Load(ctx context.Context, svc *core.Service) (Counts, error) {
	var n Counts
	err := svc.InTx(ctx, func(ctx context.Context) (err error) {
		n, err = load(ctx, svc)
		return err
	})
	if err != nil {
		return Counts{}, err
	}
	return n, nil
}

// seedLockID is the PostgreSQL advisory lock that serialises seeders, so
// that replicas starting together on an empty database seed it once.
const seedLockID = 0x73656564 // "seed" in ASCII

// LoadIfEmpty seeds a database that has no factories and no sprockets, and
// reports whether it did. The check and the load are one transaction; on
// PostgreSQL (d is the ent dialect) concurrent seeders queue on an advisory
// lock first, and on SQLite the write transaction already serialises them.
func LoadIfEmpty(ctx context.Context, svc *core.Service, d string) (Counts, bool, error) {
	var n Counts
	seeded := false
	err := svc.InTx(ctx, func(ctx context.Context) error {
		if d == dialect.Postgres {
			if _, err := svc.Client(ctx).ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", seedLockID); err != nil {
				return fmt.Errorf("seed: lock: %w", err)
			}
		}
		empty, err := svc.IsEmpty(ctx)
		if err != nil || !empty {
			return err
		}
		if n, err = load(ctx, svc); err != nil {
			return err
		}
		seeded = true
		return nil
	})
	if err != nil {
		return Counts{}, false, err
	}
	return n, seeded, nil
}

// load adds the seed data inside the transaction of ctx.
func load(ctx context.Context, svc *core.Service) (Counts, error) {
	var ff factoryFile
	var sf sprocketFile
	if err := decode(factoryData, &ff); err != nil {
		return Counts{}, fmt.Errorf("seed: factories: %w", err)
	}
	if err := decode(sprocketData, &sf); err != nil {
		return Counts{}, fmt.Errorf("seed: sprockets: %w", err)
	}
	var n Counts
	for i, f := range ff.Factories {
		cd := f.Factory.ChartData
		if len(cd.Actual) != len(cd.Time) || len(cd.Goal) != len(cd.Time) {
			return Counts{}, fmt.Errorf("seed: factory %d: columns of unequal length", i)
		}
		points := make([]core.Point, len(cd.Time))
		for j := range cd.Time {
			points[j] = core.Point{Time: cd.Time[j], Actual: cd.Actual[j], Goal: cd.Goal[j]}
		}
		if _, err := svc.CreateFactory(ctx, core.FactoryInput{Points: points}); err != nil {
			return Counts{}, fmt.Errorf("seed: factory %d: %w", i, err)
		}
		n.Factories++
		n.Points += len(points)
	}
	for i, s := range sf.Sprockets {
		if _, err := svc.CreateSprocket(ctx, core.SprocketInput(s)); err != nil {
			return Counts{}, fmt.Errorf("seed: sprocket %d: %w", i, err)
		}
		n.Sprockets++
	}
	return n, nil
}

func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}
