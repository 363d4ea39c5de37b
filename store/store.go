// Package store keeps linkd's data in one bbolt file. It is the only
// package that knows bbolt, bucket names and encodings; it turns bbolt's
// errors into the domain's.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the format version this build writes.
const SchemaVersion = 1

// ErrLocked reports that another process holds the database file.
var ErrLocked = errors.New("database is locked by another process")

// ErrNewerSchema reports a file written by a newer linkd.
var ErrNewerSchema = errors.New("database was written by a newer linkd")

var (
	bucketMeta         = []byte("meta")
	bucketLinks        = []byte("links")
	bucketLinksByCamp  = []byte("links_by_campaign")
	bucketLinksByPhone = []byte("links_by_phone")
	bucketLinkStats    = []byte("link_stats")
	bucketCampStats    = []byte("campaign_stats")
	bucketLeadsClicked = []byte("leads_clicked")
	bucketEvents       = []byte("events")
	bucketEndpoints    = []byte("endpoints")
	bucketDeliveries   = []byte("deliveries")
	bucketDue          = []byte("deliveries_due")
	bucketByEndpoint   = []byte("deliveries_by_endpoint")
	bucketAttempts     = []byte("attempts")
	bucketVisits       = []byte("visits")
	bucketMessages     = []byte("messages")
	bucketKeys         = []byte("keys")
	bucketKeyHashes    = []byte("key_hashes")
	bucketSeries       = []byte("series")
	allBuckets         = [][]byte{bucketMeta, bucketLinks, bucketLinksByCamp,
		bucketLinksByPhone, bucketLinkStats, bucketCampStats,
		bucketLeadsClicked, bucketEvents, bucketEndpoints,
		bucketDeliveries, bucketDue, bucketByEndpoint, bucketAttempts,
		bucketVisits, bucketMessages, bucketKeys, bucketKeyHashes,
		bucketSeries}
	keySchema     = []byte("schema_version")
	keyAdminToken = []byte("admin_token_sha256")
)

// DB is linkd's database. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
}

// Open opens or creates the database at path, creating its folder. It
// waits at most a second for another process's lock and then returns
// ErrLocked.
func Open(path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	opts := &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType}
	b, err := bolt.Open(path, 0o600, opts)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	b.MaxBatchDelay = 2 * time.Millisecond
	db := &DB{bolt: b}
	if err := b.Update(db.migrate); err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

func (db *DB) migrate(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get(keySchema); v != nil {
		if got := int(binary.BigEndian.Uint64(v)); got > SchemaVersion {
			return fmt.Errorf("%w (version %d, this build reads %d)",
				ErrNewerSchema, got, SchemaVersion)
		}
	}
	return meta.Put(keySchema, u64(SchemaVersion))
}

// Close closes the database file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path returns the database file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// AdminTokenHash returns the stored SHA-256 of the admin token, or nil.
func (db *DB) AdminTokenHash(ctx context.Context) ([]byte, error) {
	var h []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyAdminToken); v != nil {
			h = append([]byte(nil), v...)
		}
		return nil
	})
	return h, err
}

// SetAdminTokenHash stores the SHA-256 of the admin token.
func (db *DB) SetAdminTokenHash(ctx context.Context, h []byte) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyAdminToken, h)
	})
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// timeKey encodes t so that keys sort in time order.
func timeKey(t time.Time) []byte { return u64(uint64(t.UnixNano())) }

// join builds a composite key of parts separated by a zero byte.
func join(parts ...[]byte) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}
