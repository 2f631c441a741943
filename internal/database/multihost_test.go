package database_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/lib/pq"

	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestBothMultiHostFormsReachLibPQ: a host list in the authority (what
// pg_autoctl show uri prints) and one in the query both give lib/pq every
// host with its own port, and the safe form hides the password.
func TestBothMultiHostFormsReachLibPQ(t *testing.T) {
	for _, in := range []string{
		"postgres://u:secret@127.0.0.1:5601,127.0.0.2:5602/postgres?target_session_attrs=read-write&sslmode=prefer",
		"postgres://u:secret@/postgres?host=127.0.0.1,127.0.0.2&port=5601,5602&target_session_attrs=read-write&sslmode=prefer",
	} {
		tg, err := database.Parse(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		cfg, err := pq.NewConfig(tg.DSN)
		if err != nil {
			t.Fatalf("%s: lib/pq refuses %s: %v", in, tg.DSN, err)
		}
		if cfg.Host != "127.0.0.1" || cfg.Port != 5601 || len(cfg.Multi) != 1 ||
			cfg.Multi[0].Host != "127.0.0.2" || cfg.Multi[0].Port != 5602 ||
			cfg.TargetSessionAttrs != pq.TargetSessionAttrsReadWrite || cfg.Database != "postgres" || cfg.Password != "secret" {
			t.Errorf("%s: lib/pq reads host %q port %d, others %+v, %s, database %q", in, cfg.Host, cfg.Port, cfg.Multi, cfg.TargetSessionAttrs, cfg.Database)
		}
		if strings.Contains(tg.Safe, "secret") || !strings.Contains(tg.Safe, "127.0.0.2") {
			t.Errorf("%s: safe form %s", in, tg.Safe)
		}
	}
}

// TestAMultiHostURLConnectsToTheFirstHostThatTakesWrites: with the first
// host refusing connections, both forms reach the next one.
func TestAMultiHostURLConnectsToTheFirstHostThatTakesWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	admin, err := url.Parse(testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	host, port := admin.Hostname(), admin.Port()
	if port == "" {
		port = "5432"
	}
	user := admin.User.String()
	for _, in := range []string{
		fmt.Sprintf("postgres://%s@127.0.0.1:%d,%s:%s/postgres?target_session_attrs=read-write&sslmode=prefer", user, closed, host, port),
		fmt.Sprintf("postgres://%s@/postgres?host=127.0.0.1,%s&port=%d,%s&target_session_attrs=read-write&sslmode=prefer", user, host, closed, port),
	} {
		db, err := database.Open(context.Background(), in, database.Options{MaxConns: 1})
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		var one int
		if err := db.SQL.QueryRow(`SELECT 1`).Scan(&one); err != nil || one != 1 {
			t.Errorf("SELECT 1: %d %v", one, err)
		}
		db.Close()
	}
}
