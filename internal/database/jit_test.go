package database_test

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

func TestJITIsOffOnRealConnections(t *testing.T) {
	db, err := database.Open(context.Background(), testdb.URL(t, dialect.Postgres), database.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var jit string
	if err := db.SQL.QueryRow("SHOW jit").Scan(&jit); err != nil || jit != "off" {
		t.Errorf("jit = %q (%v), want off", jit, err)
	}
}
