package dburl

import (
	"strings"
	"testing"
)

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

// TestPostgresMovesAHostListToTheQuery: the host list of the authority
// (pg_autoctl show uri's form) becomes lib/pq's ?host=&port=, each host
// with its own port; everything else of the URL stays.
func TestPostgresMovesAHostListToTheQuery(t *testing.T) {
	for _, c := range []struct{ in, host, port, rest string }{
		{"postgres://127.0.0.1:5601,127.0.0.1:5602/postgres?target_session_attrs=read-write&sslmode=prefer",
			"127.0.0.1,127.0.0.1", "5601,5602", "/postgres"},
		{"postgresql://u:s%40cret@db1,db2:6000/app", "db1,db2", "5432,6000", "/app"},
		{"postgres://h1,h2/app", "h1,h2", "", "/app"},
		{"postgres://[::1]:5601,[fe80::1]/app", "::1,fe80::1", "5601,5432", "/app"},
		{"postgres://h1:1,h2:2", "h1,h2", "1,2", ""},
		{"postgres://h1:1,h2:2?sslmode=disable", "h1,h2", "1,2", ""},
	} {
		u, err := Postgres(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		q := u.Query()
		if u.Host != "" || q.Get("host") != c.host || q.Get("port") != c.port || u.Path != c.rest {
			t.Errorf("%s: host %q, ?host=%q ?port=%q, path %q; want ?host=%q ?port=%q, path %q",
				c.in, u.Host, q.Get("host"), q.Get("port"), u.Path, c.host, c.port, c.rest)
		}
		if strings.Contains(c.in, "target_session_attrs") && q.Get("target_session_attrs") != "read-write" {
			t.Errorf("%s: lost target_session_attrs: %s", c.in, u)
		}
		if strings.Contains(c.in, "s%40cret") {
			if p, _ := u.User.Password(); p != "s@cret" || strings.Contains(u.Redacted(), "cret") {
				t.Errorf("%s: password %q, redacted %s", c.in, p, u.Redacted())
			}
		}
	}
	// One host, or hosts in the query already: as url.Parse reads it.
	for _, in := range []string{
		"postgres://u@h:5432/db?sslmode=disable",
		"postgres://u@/db?host=h1,h2&port=5601,5602&target_session_attrs=read-write",
	} {
		u, err := Postgres(in)
		if err != nil || u.String() != in {
			t.Errorf("%s: %v %v", in, u, err)
		}
	}
}

// TestPostgresRefusesBadHostLists names the fault and never the URL, which
// may carry a password.
func TestPostgresRefusesBadHostLists(t *testing.T) {
	for _, in := range []string{
		"postgres://u:secret@h1:5601,/db",
		"postgres://u:secret@h1:5601,h2:port/db",
		"postgres://u:secret@h1:5601,h2:70000/db",
		"postgres://u:secret@h1:5601,h2:+5/db",
		"postgres://u:secret@h1,::1/db",
		"postgres://u:secret@h1,[::1/db",
		"postgres://u:secret@h1,[::1]x/db",
		"postgres://u:secret@h1:1,h2:2/db?host=h3",
		"postgres://u:secret@h1:1,h2:2/db?port=5",
		"sqlite://x.db",
	} {
		if _, err := Postgres(in); err == nil {
			t.Errorf("%s: accepted", in)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", in, err)
		}
	}
}

// TestSplitListKeepsMultiHostURLsWhole: DATABASE_READ_URL's commas
// separate URLs, not the hosts of one.
func TestSplitListKeepsMultiHostURLsWhole(t *testing.T) {
	for in, want := range map[string][]string{
		"": nil,
		" postgres://s@standby1/db , postgresql://s@standby2/db,": {"postgres://s@standby1/db", "postgresql://s@standby2/db"},
		"postgres://a:1,b:2/db?target_session_attrs=standby,postgres://c/db": {
			"postgres://a:1,b:2/db?target_session_attrs=standby", "postgres://c/db"},
		"postgres://u@/db?host=a,b&port=1,2, POSTGRES://c/db": {"postgres://u@/db?host=a,b&port=1,2", "POSTGRES://c/db"},
		"postgres://a/db,standby.db":                          {"postgres://a/db,standby.db"},
		"postgres://a/db,sqlite://x.db":                       {"postgres://a/db", "sqlite://x.db"},
	} {
		got := SplitList(in)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
}
