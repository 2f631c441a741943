package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWebSocketAndLiveBudgetsHaveDefaultsAndCanBeSet(t *testing.T) {
	cfg, err := Load(env(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WSInitTimeout != 10*time.Second || cfg.WSMaxConnections != 1000 || cfg.WSMaxSubscriptions != 100 ||
		cfg.LiveBufferPoints != 100000 || len(cfg.GraphQLMetricOperations) != 0 {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = Load(env(map[string]string{
		"WS_INIT_TIMEOUT": "3s", "WS_MAX_CONNECTIONS": "50", "WS_MAX_SUBSCRIPTIONS": "7",
		"LIVE_BUFFER_POINTS": "5000", "GRAPHQL_METRIC_OPERATIONS": " Report , Export_2 ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WSInitTimeout != 3*time.Second || cfg.WSMaxConnections != 50 || cfg.WSMaxSubscriptions != 7 ||
		cfg.LiveBufferPoints != 5000 || !slices.Equal(cfg.GraphQLMetricOperations, []string{"Report", "Export_2"}) {
		t.Errorf("set: %+v", cfg)
	}
}

func TestBudgetErrorsNameTheVariable(t *testing.T) {
	many := make([]string, 201)
	for i := range many {
		many[i] = fmt.Sprintf("Op%d", i)
	}
	for variable, e := range map[string]map[string]string{
		"WS_INIT_TIMEOUT":           {"WS_INIT_TIMEOUT": "10"},
		"WS_MAX_CONNECTIONS":        {"WS_MAX_CONNECTIONS": "0"},
		"WS_MAX_SUBSCRIPTIONS":      {"WS_MAX_SUBSCRIPTIONS": "many"},
		"LIVE_BUFFER_POINTS":        {"LIVE_BUFFER_POINTS": "10"},
		"GRAPHQL_METRIC_OPERATIONS": {"GRAPHQL_METRIC_OPERATIONS": "Good,not-a-name"},
	} {
		_, err := Load(env(e))
		if err == nil || !strings.Contains(err.Error(), variable) {
			t.Errorf("%v: error %v does not name %s", e, err, variable)
		}
	}
	if _, err := Load(env(map[string]string{"GRAPHQL_METRIC_OPERATIONS": strings.Join(many, ",")})); err == nil ||
		!strings.Contains(err.Error(), "at most 200") {
		t.Errorf("201 names: %v", err)
	}
}
