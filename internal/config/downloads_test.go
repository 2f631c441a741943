package config

import (
	"strings"
	"testing"
)

// TestDownloadBudgetsHaveDefaultsAndCanBeSet: DB_DOWNLOAD_CONNS follows
// DB_BULK_CONNS unless set (a third, never below one, never above it);
// the downloads' buffer, memory and minimum rate have their documented
// defaults; each refused value is named in the error.
func TestDownloadBudgetsHaveDefaultsAndCanBeSet(t *testing.T) {
	for _, c := range []struct {
		env                  map[string]string
		conns                int
		buffer, memory, rate int64
	}{
		{map[string]string{}, 4, 16 << 20, 64 << 20, 16 << 10},
		{map[string]string{"DB_MAX_CONNS": "2"}, 1, 16 << 20, 64 << 20, 16 << 10},
		{map[string]string{"DB_MAX_CONNS": "40", "DOWNLOAD_BUFFER_BYTES": "1048576", "DOWNLOAD_MEMORY_BYTES": "1048576",
			"DOWNLOAD_MIN_RATE": "1024"}, 10, 1 << 20, 1 << 20, 1024},
		{map[string]string{"DB_DOWNLOAD_CONNS": "12"}, 12, 16 << 20, 64 << 20, 16 << 10},
	} {
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Errorf("%v: %v", c.env, err)
			continue
		}
		if cfg.DBDownloadConns != c.conns || cfg.DownloadBufferBytes != c.buffer || cfg.DownloadMemoryBytes != c.memory ||
			cfg.DownloadMinRate != c.rate {
			t.Errorf("%v: conns %d, buffer %d, memory %d, rate %d; want %d, %d, %d, %d", c.env, cfg.DBDownloadConns,
				cfg.DownloadBufferBytes, cfg.DownloadMemoryBytes, cfg.DownloadMinRate, c.conns, c.buffer, c.memory, c.rate)
		}
	}
	for variable, e := range map[string]map[string]string{
		"DB_DOWNLOAD_CONNS":      {"DB_BULK_CONNS": "2", "DB_DOWNLOAD_CONNS": "3"},
		"DB_DOWNLOAD_CONNS ":     {"DB_DOWNLOAD_CONNS": "0"},
		"DOWNLOAD_BUFFER_BYTES":  {"DOWNLOAD_BUFFER_BYTES": "100"},
		"DOWNLOAD_MEMORY_BYTES":  {"DOWNLOAD_BUFFER_BYTES": "2097152", "DOWNLOAD_MEMORY_BYTES": "1048576"},
		"DOWNLOAD_MEMORY_BYTES ": {"DOWNLOAD_MEMORY_BYTES": "lots"},
		"DOWNLOAD_MIN_RATE":      {"DOWNLOAD_MIN_RATE": "-5"},
	} {
		_, err := Load(env(e))
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(variable)) {
			t.Errorf("%v: error %v does not name %s", e, err, variable)
		}
	}
}
