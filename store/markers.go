package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/shortener"
)

// A link's dedup marker, when its last lead.link_clicked event happened,
// is kept in bucketMarkers under its counters' key (statsKey), as Unix
// nanoseconds, and only for links that emitted an event. The redirect
// path reads it for every tap whose link the window does not hold, so it
// lives apart from the counters: a fold rewrites the counters of every
// tapped link, and so moves their pages, while a marker changes only
// when its link emits an event. Up to schema 5 it was the sixth number
// of the counter record, which now reads and writes 0 there.

// LastEvent returns when l's last click event happened, or the zero
// time. It implements tracker.Markers. Its key comes from l, so that the
// read, on the redirect path, is one lookup.
func (db *DB) LastEvent(ctx context.Context, l *shortener.Link) (time.Time,
	error) {
	var at time.Time
	err := db.bolt.View(func(tx *bolt.Tx) error {
		at = getMarker(tx, statsKeyAt(l.Code, l.CreatedAt))
		return nil
	})
	return at, err
}

// EachMarker calls fn with the code and time of every dedup marker
// later than after, in the order of their keys. It implements
// tracker.MarkerLister.
func (db *DB) EachMarker(ctx context.Context, after time.Time,
	fn func(code string, at time.Time)) error {
	from := after.UnixNano()
	return db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMarkers).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) <= 8 || len(v) != 8 {
				continue
			}
			if at := int64(binary.BigEndian.Uint64(v)); at > from {
				fn(string(k[8:]), unixNano(at))
			}
		}
		return ctx.Err()
	})
}

// getMarker returns the dedup marker of the link whose counters' key is
// key, or the zero time.
func getMarker(tx *bolt.Tx, key []byte) time.Time {
	v := tx.Bucket(bucketMarkers).Get(key)
	if len(v) != 8 {
		return time.Time{}
	}
	return unixNano(int64(binary.BigEndian.Uint64(v)))
}

// raiseMarker sets the dedup marker of the link whose counters' key is
// key to at, unless it is zero or the marker is at or after it already.
func raiseMarker(tx *bolt.Tx, key []byte, at time.Time) error {
	if at.IsZero() || !at.After(getMarker(tx, key)) {
		return nil
	}
	return tx.Bucket(bucketMarkers).Put(key, u64(uint64(at.UnixNano())))
}

// keyMarkersFrom, in the meta bucket, is where the move of schema 5's
// markers out of the counter records goes on: the last counters' key
// done, or a zero byte before the first. It is there from the step to
// schema 6 until moveMarkers ends.
var keyMarkersFrom = []byte("markers_moved_from")

// startMarkerMove is the step from schema 5 to 6: it leaves the move of
// the markers to moveMarkers, after the step's transaction.
func startMarkerMove(tx *bolt.Tx) error {
	return tx.Bucket(bucketMeta).Put(keyMarkersFrom, []byte{0})
}

// moveMarkers copies the dedup markers held in counter records to
// bucketMarkers, reading moveChunk keys per transaction, so that an
// upgrade's memory stays bounded and a crash resumes where the last
// transaction ended.
func moveMarkers(b *bolt.DB) error {
	return inChunks(b, func(tx *bolt.Tx) (bool, error) {
		return moveSomeMarkers(tx, moveChunk)
	})
}

// moveSomeMarkers copies the markers of the next n keys of the counters
// bucket, and reports whether keys remain.
func moveSomeMarkers(tx *bolt.Tx, n int) (bool, error) {
	meta := tx.Bucket(bucketMeta)
	from := bytes.Clone(meta.Get(keyMarkersFrom))
	if from == nil {
		return false, nil
	}
	c := tx.Bucket(bucketLinkStats).Cursor()
	k, v := c.Seek(from)
	if bytes.Equal(k, from) {
		k, v = c.Next()
	}
	var last []byte
	for read := 0; k != nil && read < n; k, v = c.Next() {
		read++
		last = k
		if len(k) <= 8 || bytes.IndexByte(k[8:], 0) >= 0 ||
			len(v) < 6*8 {
			continue // an hourly point, or a record without a marker
		}
		at := unixNano(int64(binary.BigEndian.Uint64(v[5*8:])))
		if err := raiseMarker(tx, bytes.Clone(k), at); err != nil {
			return false, fmt.Errorf("marker of %q: %w", k, err)
		}
	}
	if k == nil {
		return false, meta.Delete(keyMarkersFrom)
	}
	return true, meta.Put(keyMarkersFrom, bytes.Clone(last))
}
