package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsByEnvironment(t *testing.T) {
	cases := []struct {
		env    map[string]string
		dbURL  string
		seed   bool
		format string
	}{
		{map[string]string{}, DefaultDevDatabase, true, "text"},
		{map[string]string{"ENV": "testing"}, ":memory:", false, "text"},
		{map[string]string{"ENV": "production", "DATABASE_URL": "postgres://x@h/db"}, "postgres://x@h/db", false, "json"},
		{map[string]string{"ENV": "development", "SEED": "false"}, DefaultDevDatabase, false, "text"},
		{map[string]string{"ENV": "production", "DATABASE_URL": "p.db", "SEED": "true", "LOG_FORMAT": "text"}, "p.db", true, "text"},
	}
	for _, c := range cases {
		cfg, err := Load(env(c.env))
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if cfg.DatabaseURL != c.dbURL || cfg.Seed != c.seed || cfg.LogFormat != c.format || cfg.Port != 8080 {
			t.Errorf("%v: got %+v", c.env, cfg)
		}
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	for variable, e := range map[string]map[string]string{
		"DATABASE_URL":   {"ENV": "production"},
		"ENV":            {"ENV": "staging"},
		"PORT":           {"PORT": "eighty"},
		"CORS_ORIGINS":   {"CORS_ORIGINS": "localhost:3000"},
		"MAX_BODY_BYTES": {"MAX_BODY_BYTES": "-1"},
		"LOG_LEVEL":      {"LOG_LEVEL": "loud"},
		"SEED":           {"SEED": "maybe"},
		"DB_TIMEOUT":     {"DB_TIMEOUT": "soon"},
	} {
		_, err := Load(env(e))
		if err == nil || !strings.Contains(err.Error(), variable) {
			t.Errorf("%v: error %v does not name %s", e, err, variable)
		}
	}
}

func TestCORSOriginsAreParsed(t *testing.T) {
	cfg, err := Load(env(map[string]string{"CORS_ORIGINS": " https://a.example.com/ , http://b.example.com:3000"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.CORSOrigins, ",") != "https://a.example.com,http://b.example.com:3000" {
		t.Errorf("got %v", cfg.CORSOrigins)
	}
}
