package config

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionAcceptsDurationsDaysAndMonths(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"8760h": now.Add(-8760 * time.Hour),
		"90d":   now.Add(-90 * 24 * time.Hour),
		" 12MO": time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC),
		"1mo":   time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC), // AddDate normalises 31 February
	} {
		cfg, err := Load(env(map[string]string{"RETENTION": in}))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !cfg.Retention.Enabled() || !cfg.Retention.Bound(now).Equal(want) {
			t.Errorf("%q: bound %v, want %v", in, cfg.Retention.Bound(now), want)
		}
	}
	for _, off := range []string{"", "0"} {
		cfg, err := Load(env(map[string]string{"RETENTION": off}))
		if err != nil || cfg.Retention.Enabled() {
			t.Errorf("%q keeps every point: got %+v, %v", off, cfg.Retention, err)
		}
	}
}

func TestRetentionAndPartitionsAheadRefuseBadValuesNamingTheVariable(t *testing.T) {
	for _, c := range []struct{ name, value, says string }{
		{"RETENTION", "forever", "such as 8760h"},
		{"RETENTION", "-5d", "whole days"},
		{"RETENTION", "0mo", "whole months"},
		{"RETENTION", "1.5mo", "whole months"},
		{"RETENTION", "7d", "at least 31 days"},
		{"RETENTION", "24h", "at least 31 days"},
		{"RETENTION", "-8760h", "such as 8760h"},
		{"PARTITIONS_AHEAD", "0", "from 1 to 120"},
		{"PARTITIONS_AHEAD", "many", "from 1 to 120"},
	} {
		_, err := Load(env(map[string]string{c.name: c.value}))
		if err == nil || !strings.Contains(err.Error(), c.name+":") || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s=%q: error %v, want one naming %s that says %q", c.name, c.value, err, c.name, c.says)
		}
	}
	cfg, err := Load(env(nil))
	if err != nil || cfg.PartitionsAhead != 3 || cfg.Retention.Enabled() {
		t.Errorf("defaults: ahead %d, retention %v, %v", cfg.PartitionsAhead, cfg.Retention, err)
	}
}
