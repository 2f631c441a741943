package config

import (
	"strings"
	"testing"
)

func TestAnswerBudgetsHaveDefaultsAndCanBeSet(t *testing.T) {
	cfg, err := Load(env(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxBody != 8<<20 || cfg.GraphQLMaxResponseBytes != 32<<20 || cfg.GraphQLResponsePoolBytes != 64<<20 ||
		cfg.GraphQLCostInFlight != 4_000_000 || cfg.GraphQLMaxVariableValues != 41_000 {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = Load(env(map[string]string{
		"GRAPHQL_MAX_RESPONSE_BYTES": "2048", "GRAPHQL_RESPONSE_POOL_BYTES": "4096",
		"GRAPHQL_COST_IN_FLIGHT": "2000000", "GRAPHQL_MAX_VARIABLE_VALUES": "500",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GraphQLMaxResponseBytes != 2048 || cfg.GraphQLResponsePoolBytes != 4096 ||
		cfg.GraphQLCostInFlight != 2_000_000 || cfg.GraphQLMaxVariableValues != 500 {
		t.Errorf("set: %+v", cfg)
	}
	for _, bad := range []map[string]string{
		{"GRAPHQL_MAX_RESPONSE_BYTES": "100"},
		{"GRAPHQL_MAX_VARIABLE_VALUES": "ten"},
		{"GRAPHQL_RESPONSE_POOL_BYTES": "1048576"},                             // under the per-operation budget
		{"GRAPHQL_COST_IN_FLIGHT": "5000", "GRAPHQL_COMPLEXITY_LIMIT": "6000"}, // under the cost limit
	} {
		_, err := Load(env(bad))
		for name := range bad {
			if strings.HasPrefix(name, "GRAPHQL_COMPLEXITY") {
				continue
			}
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%v: %v", bad, err)
			}
		}
	}
}
