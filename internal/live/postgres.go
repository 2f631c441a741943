package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/chartdata"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
)

// Channel is the PostgreSQL notification channel.
const Channel = "sprocket_points"

// maxPayload keeps each NOTIFY under PostgreSQL's 8000-byte limit.
const maxPayload = 7000

// notice is one NOTIFY payload: a factory and some of the times just
// recorded for it. Listeners read the points back from the database, so
// payloads stay small whatever the batch.
// A notice with Deleted set says the factory was deleted.
type notice struct {
	Factory int     `json:"f"`
	Times   []int64 `json:"t,omitempty"`
	Deleted bool    `json:"d,omitempty"`
}

// Postgres delivers points to subscribers of every replica sharing one
// PostgreSQL database: writers NOTIFY inside their transaction (PostgreSQL
// delivers only on commit), and each replica LISTENs.
type Postgres struct {
	*Hub
	client   *ent.Client
	listener *pq.Listener
	log      *slog.Logger
	done     chan struct{}
	once     sync.Once
}

// NewPostgres starts listening on the database at dsn; client reads the
// notified points back. Close stops it.
func NewPostgres(dsn string, client *ent.Client, log *slog.Logger) (*Postgres, error) {
	p := &Postgres{Hub: NewHub(), client: client, log: log, done: make(chan struct{})}
	// Reconnection tries every 100 ms at first, at most every 2 s: a
	// failover's new primary is listened to within 2 s of taking writes.
	p.listener = pq.NewDialListener(database.ListenDialer(), dsn, 100*time.Millisecond, 2*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected:
			// Points recorded until LISTEN runs again are never
			// notified: the subscribers must know, and refetch.
			p.Interrupt()
			log.Warn("live: lost the notification connection; subscriptions were ended with "+string(CodeInterrupted)+"; reconnecting", "err", err)
		case pq.ListenerEventReconnected:
			p.Resume()
			log.Info("live: notification connection restored; subscriptions are taken again")
		case pq.ListenerEventConnectionAttemptFailed:
			log.Warn("live: cannot reach the database for notifications", "err", err)
		}
	})
	if err := p.listener.Listen(Channel); err != nil {
		p.listener.Close()
		return nil, fmt.Errorf("live: LISTEN %s: %w", Channel, err)
	}
	go p.run()
	return p, nil
}

// Close completes every subscription and stops listening; it may be
// called more than once.
func (p *Postgres) Close() error {
	p.closeAll()
	var err error
	p.once.Do(func() {
		err = p.listener.Close()
		<-p.done
	})
	return err
}

// PointsRecorded implements core.Notifier: it queues NOTIFYs in the
// writer's transaction, all in one statement.
func (p *Postgres) PointsRecorded(ctx context.Context, id int, points []core.Point) error {
	var payloads []string
	n := notice{Factory: id}
	size := 0
	flush := func() {
		if len(n.Times) > 0 {
			b, _ := json.Marshal(n)
			payloads = append(payloads, string(b))
		}
		n.Times, size = nil, 0
	}
	for _, pt := range points {
		if size > maxPayload {
			flush()
		}
		n.Times = append(n.Times, pt.Time)
		size += 21
	}
	flush()
	c := p.client
	if tx := ent.TxFromContext(ctx); tx != nil {
		c = tx.Client()
	}
	_, err := c.ExecContext(ctx, `SELECT pg_notify($1, x) FROM unnest(CAST($2 AS text[])) AS x`, Channel, pq.Array(payloads))
	return err
}

// FactoryDeleted implements core.Notifier: a NOTIFY in the deleting
// transaction ends the factory's subscriptions on every replica with
// ErrFactoryDeleted once it commits.
func (p *Postgres) FactoryDeleted(ctx context.Context, id int) error {
	b, _ := json.Marshal(notice{Factory: id, Deleted: true})
	c := p.client
	if tx := ent.TxFromContext(ctx); tx != nil {
		c = tx.Client()
	}
	_, err := c.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, string(b))
	return err
}

func (p *Postgres) run() {
	defer close(p.done)
	for n := range p.listener.Notify {
		if n == nil { // reconnected: the subscriptions were ended (Interrupt)
			continue
		}
		var msg notice
		if err := json.Unmarshal([]byte(n.Extra), &msg); err != nil {
			p.log.Warn("live: unreadable notification", "payload", truncate(n.Extra), "err", err)
			continue
		}
		if !p.watched(msg.Factory) {
			continue
		}
		if msg.Deleted {
			p.End(msg.Factory, ErrFactoryDeleted)
			continue
		}
		points, err := p.load(msg)
		if err != nil {
			p.log.Error("live: reading notified points", "factory", msg.Factory, "err", err)
			continue
		}
		p.Publish(msg.Factory, points)
	}
}

func (p *Postgres) load(msg notice) ([]core.Point, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rows []struct {
		Time   int64   `json:"time"`
		Actual float64 `json:"actual"`
		Goal   float64 `json:"goal"`
	}
	err := p.client.ChartData.Query().
		Where(chartdata.FactoryID(msg.Factory), chartdata.TimeIn(msg.Times...)).
		Order(ent.Asc(chartdata.FieldTime)).
		Select(chartdata.FieldTime, chartdata.FieldActual, chartdata.FieldGoal).
		Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	out := make([]core.Point, len(rows))
	for i, r := range rows {
		out[i] = core.Point{Time: r.Time, Actual: r.Actual, Goal: r.Goal}
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return strings.TrimSpace(s)
}
