package store

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
)

// maxOutboxScan caps how many pending deliveries Outbox reads.
const maxOutboxScan = 1_000_000

// Outbox returns how many deliveries are pending and when the event of
// the oldest of them happened (zero when none are). It reads the schedule
// index only, at most maxOutboxScan entries.
func (db *DB) Outbox(ctx context.Context) (pending int, oldest time.Time, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil && pending < maxOutboxScan; k, _ = c.Next() {
			pending++
			if t, ok := eventTimeOf(k); ok && (oldest.IsZero() || t.Before(oldest)) {
				oldest = t
			}
		}
		return nil
	})
	return pending, oldest, err
}

// eventTimeOf reads the event time out of a schedule key's delivery id,
// which holds the event's ULID.
func eventTimeOf(dueKey []byte) (time.Time, bool) {
	i := strings.LastIndex(string(dueKey), "dlv_")
	if i < 0 || len(dueKey) < i+4+ulid.EncodedSize {
		return time.Time{}, false
	}
	id, err := ulid.ParseStrict(string(dueKey[i+4 : i+4+ulid.EncodedSize]))
	if err != nil {
		return time.Time{}, false
	}
	return ulid.Time(id.Time()), true
}

// Health is what the database reports of itself.
type Health struct {
	FileSize  int64
	TxN       int // read transactions started
	OpenTxN   int
	Writes    int64 // page writes
	WriteTime time.Duration
	Spills    int64
}

// Health returns the file's size and bbolt's transaction statistics.
func (db *DB) Health() Health {
	s := db.bolt.Stats()
	h := Health{TxN: s.TxN, OpenTxN: s.OpenTxN, Writes: s.TxStats.GetWrite(),
		WriteTime: s.TxStats.GetWriteTime(), Spills: s.TxStats.GetSpill()}
	if fi, err := os.Stat(db.bolt.Path()); err == nil {
		h.FileSize = fi.Size()
	}
	return h
}
