package core

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// The loss of the primary, as a write meets it: the link to PostgreSQL is
// cut (testdb.Proxy.CutAfterNextWrite) right after the write's next
// message reaches the server, before any answer comes back. Whether the
// write may run again depends on what that message was.

// viaProxy returns a Service on a PostgreSQL database reached through a
// proxy, with one connection open already, and a count of the sprockets
// of teeth stored.
func viaProxy(t *testing.T) (*Service, *testdb.Proxy, func(teeth int) int) {
	t.Helper()
	direct := testdb.URL(t, dialect.Postgres)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testdb.NewProxy(t, u.Host)
	db := testdb.OpenURL(t, proxy.Via(direct), 4)
	s := New(db.Client(), db.SQL, db.Dialect)
	check := testdb.OpenURL(t, direct, 1)
	count := func(teeth int) int {
		var n int
		if err := check.SQL.QueryRow(`SELECT count(*) FROM sprockets WHERE teeth = $1`, teeth).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	return s, proxy, count
}

func sprocketOf(teeth int) SprocketInput {
	return SprocketInput{Teeth: teeth, PitchDiameter: 5, OutsideDiameter: 6, Pitch: 1}
}

// TestAWriteThatLosesThePrimaryBeforeCommitRunsAgain: the INSERT reaches
// the server, the connection dies before COMMIT: the transaction did not
// commit, so it runs again on a new connection and the write is stored
// once, acknowledged.
func TestAWriteThatLosesThePrimaryBeforeCommitRunsAgain(t *testing.T) {
	s, proxy, count := viaProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	attempts := 0
	err := s.InTx(ctx, func(ctx context.Context) error {
		attempts++
		if attempts == 1 {
			proxy.CutAfterNextWrite() // the INSERT's
		}
		_, err := s.CreateSprocket(ctx, sprocketOf(101))
		return err
	})
	if err != nil || attempts != 2 {
		t.Fatalf("after %d attempts: %v; want the write run again once and stored", attempts, err)
	}
	if n := count(101); n != 1 {
		t.Errorf("%d rows stored, want 1", n)
	}
}

// TestAWriteThatLosesThePrimaryAtCommitIsNotRunAgain: the COMMIT reaches
// the server (which commits), the connection dies before its answer: the
// write may have been stored, so it is not run again (it would be stored
// twice) and the client is told, with SERVICE_UNAVAILABLE, that its
// outcome is unknown.
func TestAWriteThatLosesThePrimaryAtCommitIsNotRunAgain(t *testing.T) {
	s, proxy, count := viaProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	attempts := 0
	err := s.InTx(ctx, func(ctx context.Context) error {
		attempts++
		_, err := s.CreateSprocket(ctx, sprocketOf(102))
		if attempts == 1 {
			proxy.CutAfterNextWrite() // the COMMIT's
		}
		return err
	})
	if apperr.CodeOf(err) != apperr.Unavailable || !strings.Contains(apperr.MessageOf(err), "may or may not") || attempts != 1 {
		t.Fatalf("after %d attempts: %v; want one attempt, SERVICE_UNAVAILABLE saying the outcome is unknown", attempts, err)
	}
	if n := count(102); n > 1 {
		t.Errorf("%d rows stored, want at most 1", n)
	}
}

// TestASingleWriteWhoseAnswerIsLostIsNotStoredTwice: a sprocket created
// outside any transaction (REST's POST /v1/sprockets), its connection cut
// after its first message. database/sql runs a statement again on a new
// connection when lib/pq reports the first broken after sending it (EOF,
// a FATAL): an INSERT in autocommit, committed by the server, would be
// stored twice. Each write is a transaction, whose first message is its
// BEGIN.
func TestASingleWriteWhoseAnswerIsLostIsNotStoredTwice(t *testing.T) {
	s, proxy, count := viaProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	proxy.CutAfterNextWrite()
	_, err := s.CreateSprocket(ctx, sprocketOf(103))
	n := count(103)
	switch {
	case n > 1:
		t.Fatalf("%d rows stored for one write (answered %v)", n, err)
	case err == nil && n != 1:
		t.Fatalf("acknowledged, %d rows stored", n)
	case err != nil && apperr.CodeOf(err) != apperr.Unavailable:
		t.Fatalf("answered %v, want SERVICE_UNAVAILABLE", err)
	}
}
