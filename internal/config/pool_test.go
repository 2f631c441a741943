package config

import (
	"strings"
	"testing"
	"time"
)

// TestPoolSharesAndRequestLimitsHaveDefaultsAndCanBeSet: DB_BULK_CONNS and
// DB_OPERATION_CONNS follow DB_MAX_CONNS unless set (never below one),
// MAX_IN_FLIGHT and DOWNLOAD_TIMEOUT have their documented defaults, and
// each refused value is named in the error.
func TestPoolSharesAndRequestLimitsHaveDefaultsAndCanBeSet(t *testing.T) {
	for _, c := range []struct {
		env               map[string]string
		max, bulk, op, in int
		download          time.Duration
	}{
		{map[string]string{}, 16, 12, 4, 512, 60 * time.Second},
		{map[string]string{"DB_MAX_CONNS": "2"}, 2, 1, 1, 512, 60 * time.Second},
		{map[string]string{"DB_MAX_CONNS": "40"}, 40, 30, 10, 512, 60 * time.Second},
		{map[string]string{"DB_MAX_CONNS": "20", "DB_BULK_CONNS": "10", "DB_OPERATION_CONNS": "3",
			"MAX_IN_FLIGHT": "7", "DOWNLOAD_TIMEOUT": "2m"}, 20, 10, 3, 7, 2 * time.Minute},
	} {
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Errorf("%v: %v", c.env, err)
			continue
		}
		if cfg.DBMaxConns != c.max || cfg.DBBulkConns != c.bulk || cfg.DBOperationConns != c.op ||
			cfg.MaxInFlight != c.in || cfg.DownloadTimeout != c.download {
			t.Errorf("%v: max %d, bulk %d, operation %d, in flight %d, download %v; want %d, %d, %d, %d, %v", c.env,
				cfg.DBMaxConns, cfg.DBBulkConns, cfg.DBOperationConns, cfg.MaxInFlight, cfg.DownloadTimeout,
				c.max, c.bulk, c.op, c.in, c.download)
		}
	}
	for variable, e := range map[string]map[string]string{
		"DB_BULK_CONNS":      {"DB_MAX_CONNS": "4", "DB_BULK_CONNS": "5"},
		"DB_OPERATION_CONNS": {"DB_BULK_CONNS": "2", "DB_OPERATION_CONNS": "3"},
		"MAX_IN_FLIGHT":      {"MAX_IN_FLIGHT": "0"},
		"DOWNLOAD_TIMEOUT":   {"DOWNLOAD_TIMEOUT": "-1s"},
	} {
		_, err := Load(env(e))
		if err == nil || !strings.Contains(err.Error(), variable) {
			t.Errorf("%v: error %v does not name %s", e, err, variable)
		}
	}
	if _, err := Load(env(map[string]string{"DOWNLOAD_TIMEOUT": "soon"})); err == nil {
		t.Error("DOWNLOAD_TIMEOUT=soon was accepted")
	}
}
