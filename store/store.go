// Package store keeps linkd's data in one bbolt file. It is the only
// package that knows bbolt, bucket names and encodings; it turns bbolt's
// errors into the domain's.
package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the format version this build writes.
const SchemaVersion = 6

// ErrLocked reports that another process holds the database file.
var ErrLocked = errors.New("database is locked by another process")

// ErrNewerSchema reports a file written by a newer linkd.
var ErrNewerSchema = errors.New("database was written by a newer linkd")

var (
	bucketMeta         = []byte("meta")
	bucketLinks        = []byte("links")
	bucketLinksByCamp  = []byte("links_by_campaign")
	bucketLinksByPhone = []byte("links_by_phone")
	bucketLinkStats    = []byte("link_counters")
	bucketCampStats    = []byte("campaign_stats")
	bucketLeadsClicked = []byte("leads_clicked")
	bucketEvents       = []byte("events")
	bucketEndpoints    = []byte("endpoints")
	bucketDeliveries   = []byte("deliveries")
	bucketDue          = []byte("deliveries_due")
	bucketByEndpoint   = []byte("deliveries_by_endpoint")
	bucketAttempts     = []byte("attempts")
	bucketVisits       = []byte("visit_log")
	bucketMessages     = []byte("messages")
	bucketKeys         = []byte("keys")
	bucketKeyHashes    = []byte("key_hashes")
	bucketSeries       = []byte("series")
	bucketJournal      = []byte("click_journal")
	bucketMarkers      = []byte("dedup_markers")
	allBuckets         = [][]byte{bucketMeta, bucketLinks, bucketLinksByCamp,
		bucketLinksByPhone, bucketLinkStats, bucketCampStats,
		bucketLeadsClicked, bucketEvents, bucketEndpoints,
		bucketDeliveries, bucketDue, bucketByEndpoint, bucketAttempts,
		bucketVisits, bucketMessages, bucketKeys, bucketKeyHashes,
		bucketSeries, bucketJournal, bucketMarkers}
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
	// A large initial map (address space, not memory) spares the file
	// remaps as it grows: a remap waits for every read transaction (a
	// backup download among them) and maps the whole file anew, whose
	// pages are then found again one fault at a time. With ten million
	// links, uniform taps ran at 78 µs of CPU and p99 40 ms under a 1 GiB
	// initial map, and at 62 µs and 27 ms under this one. The free page
	// list is not written with every commit but rebuilt by a scan at
	// open: commits write fewer pages.
	opts := &bolt.Options{Timeout: time.Second,
		FreelistType: bolt.FreelistMapType, InitialMmapSize: 64 << 30,
		NoFreelistSync: true}
	b, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, openError(path, err)
	}
	b.MaxBatchDelay = 2 * time.Millisecond
	db := &DB{bolt: b}
	if err := b.Update(db.migrate); err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := moveByCreation(b); err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: migrate schema 3 to 4: %w", path, err)
	}
	if err := moveMarkers(b); err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: migrate schema 5 to 6: %w", path, err)
	}
	if err := replayJournal(b); err != nil {
		b.Close()
		return nil, fmt.Errorf("open %s: replay click journal: %w", path, err)
	}
	return db, nil
}

// migrate brings the file to SchemaVersion in the transaction of Open:
// it creates the buckets of allBuckets that are missing (an empty new
// bucket needs no step) and runs the steps from the file's version on. A
// file from a newer linkd is refused with ErrNewerSchema, unchanged.
func (db *DB) migrate(tx *bolt.Tx) error {
	got := schemaVersion(tx)
	if got > SchemaVersion {
		return fmt.Errorf("%w (version %d, this build reads %d)",
			ErrNewerSchema, got, SchemaVersion)
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	steps := migrations()
	for v := got; v < SchemaVersion; v++ {
		if err := steps[v](tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
		}
	}
	if got == SchemaVersion {
		return nil
	}
	return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion))
}

// migrations returns the steps between schema versions: step i turns a
// version i file into version i+1, after the buckets exist. A change of
// encoding raises SchemaVersion and appends the step that converts the
// data; a released step never changes.
func migrations() [SchemaVersion]func(*bolt.Tx) error {
	return [SchemaVersion]func(*bolt.Tx) error{
		// 0 to 1: a new file, or one written before versions were kept,
		// already has the first format once its buckets exist.
		func(*bolt.Tx) error { return nil },
		// 1 to 2: links and link counters from JSON to binary records,
		// links' hourly points beside their counters.
		binaryLinks,
		// 2 to 3: the click journal; link counters of 56 bytes read as
		// having applied none of it. The version keeps a build that does
		// not replay the journal from opening the file.
		func(*bolt.Tx) error { return nil },
		// 3 to 4: link counters, points and visits keyed by the link's
		// creation time and code, in new buckets. Their move from the old
		// ones is too big for one transaction: moveByCreation makes it
		// after this step, in many, and a crash resumes it.
		func(*bolt.Tx) error { return nil },
		// 4 to 5: records of many links' counter deltas in the click
		// journal. The version keeps a build that cannot read them from
		// opening the file.
		func(*bolt.Tx) error { return nil },
		// 5 to 6: dedup markers in a bucket of their own. Like the move
		// to schema 4, their copy from the counter records is made by
		// moveMarkers, after this step, in many transactions.
		startMarkerMove,
	}
}

// schemaVersion returns the file's format version; 0 for a new file or
// one written before versions were kept.
func schemaVersion(tx *bolt.Tx) int {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

// openError names path in an error of bolt.Open, unless the error names
// it already.
func openError(path string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("open %s: %w", path, ErrLocked)
	case errors.As(err, &pe):
		return err
	}
	return fmt.Errorf("open %s: %w", path, err)
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
