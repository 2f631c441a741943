package config

import (
	"strings"
	"testing"
)

func TestHeldMemoryBudgetsHaveDefaultsAndCanBeSet(t *testing.T) {
	cfg, err := Load(env(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GraphQLQueryCacheBytes != 32<<20 || cfg.GraphQLAPQCacheBytes != 16<<20 ||
		cfg.GraphQLMaxStreams != 2000 || cfg.GraphQLStreamMemoryBytes != 64<<20 {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = Load(env(map[string]string{
		"GRAPHQL_QUERY_CACHE_BYTES": "1048576", "GRAPHQL_APQ_CACHE_BYTES": "2048",
		"GRAPHQL_MAX_STREAMS": "10", "GRAPHQL_STREAM_MEMORY_BYTES": "4096",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GraphQLQueryCacheBytes != 1<<20 || cfg.GraphQLAPQCacheBytes != 2048 ||
		cfg.GraphQLMaxStreams != 10 || cfg.GraphQLStreamMemoryBytes != 4096 {
		t.Errorf("set: %+v", cfg)
	}
	for _, variable := range []string{"GRAPHQL_QUERY_CACHE_BYTES", "GRAPHQL_APQ_CACHE_BYTES", "GRAPHQL_MAX_STREAMS", "GRAPHQL_STREAM_MEMORY_BYTES"} {
		for _, v := range []string{"0", "lots"} {
			if _, err := Load(env(map[string]string{variable: v})); err == nil || !strings.Contains(err.Error(), variable) {
				t.Errorf("%s=%s: error %v does not name it", variable, v, err)
			}
		}
	}
}
