package database_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestThePrimaryWatchNamesTheServerThatTakesWrites: on a primary, Check
// passes and names it (host:port as the server sees itself), in State and
// in the metrics; on a hot standby it fails with ErrNotWritable, and the
// metrics say no server takes writes.
func TestThePrimaryWatchNamesTheServerThatTakesWrites(t *testing.T) {
	c := testdb.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watch := func(raw string) (*database.Primary, *prometheus.Registry) {
		db, err := database.Open(ctx, raw, database.Options{MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		p := db.WatchPrimary(slog.New(slog.NewTextHandler(io.Discard, nil)))
		reg := prometheus.NewRegistry()
		reg.MustRegister(p.Collectors()...)
		return p, reg
	}

	p, reg := watch(c.PrimaryURL)
	began := time.Now()
	if err := p.Check(ctx); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.PrimaryURL)
	node, writable, since := p.State()
	if node != u.Host || !writable || since.Before(began) {
		t.Errorf("state %q %v %v, want %s taking writes since the check", node, writable, since, u.Host)
	}
	got := gather(t, reg)
	if got["sprocket_database_primary{node="+u.Host+"}"] != 1 || got["sprocket_database_writable"] != 1 ||
		got["sprocket_database_writable_since_seconds"] < float64(began.Unix()) {
		t.Errorf("metrics: %v", got)
	}

	s, sreg := watch(c.StandbyURL)
	if err := s.Check(ctx); !errors.Is(err, database.ErrNotWritable) {
		t.Errorf("on the standby: %v, want ErrNotWritable", err)
	}
	if _, writable, _ := s.State(); writable {
		t.Error("the standby was taken for a primary")
	}
	if got := gather(t, sreg); got["sprocket_database_writable"] != 0 || got["sprocket_database_writable_since_seconds"] != 0 {
		t.Errorf("metrics on the standby: %v", got)
	}
}

// gather reads reg's gauges and counters as name{label=value} → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.GetGauge() != nil:
				out[name] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
