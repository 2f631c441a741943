package replica

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// LSN is a position in PostgreSQL's write-ahead log, as pg_lsn prints it:
// two hexadecimal halves, "16/B374D848". Zero is "no position".
type LSN uint64

// ParseLSN reads an LSN in pg_lsn's text form.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("%s is not a log position such as 16/B374D848", apperr.Quote(s))
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s is not a log position such as 16/B374D848", apperr.Quote(s))
	}
	return LSN(h<<32 | l), nil
}

// String prints l as pg_lsn does.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint32(l)) }

// Scan reads a pg_lsn column (NULL is zero).
func (l *LSN) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*l = 0
		return nil
	case []byte:
		return l.Scan(string(v))
	case string:
		x, err := ParseLSN(v)
		*l = x
		return err
	}
	return fmt.Errorf("replica: cannot read %T as an LSN", v)
}

// Newest keeps the newest of the positions it is given (a standby's
// replay, the primary's, a client's writes'), safe for concurrent use.
// The zero value holds no position.
type Newest struct{ v atomic.Uint64 }

// Raise makes l the newest unless a newer one is held already.
func (n *Newest) Raise(l LSN) {
	for {
		old := n.v.Load()
		if uint64(l) <= old || n.v.CompareAndSwap(old, uint64(l)) {
			return
		}
	}
}

// Load is the newest position (0: none).
func (n *Newest) Load() LSN { return LSN(n.v.Load()) }

// PrimaryLSN is the primary's current write position: every transaction
// committed before the call is at or before it.
func PrimaryLSN(ctx context.Context, db *sql.DB) (LSN, error) {
	var l LSN
	err := db.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()`).Scan(&l)
	return l, err
}
