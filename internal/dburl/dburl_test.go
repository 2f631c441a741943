package dburl

import "testing"

func TestIsPostgres(t *testing.T) {
	for raw, want := range map[string]bool{
		"postgres://u@h/db":        true,
		"postgresql://u@h/db":      true,
		"POSTGRES://u@h/db":        true,
		" PostgreSQL://u@h/db ":    true,
		"sqlite://file.db":         false,
		"file:sprocket.db":         false,
		"sprocket.db":              false,
		":memory:":                 false,
		"postgres:/missing-slash":  false,
		"mysql://u@h/db":           false,
		"":                         false,
		"postgresx://u@h/db":       false,
		"http://postgres://u@h/db": false,
	} {
		if got := IsPostgres(raw); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", raw, got, want)
		}
	}
}
