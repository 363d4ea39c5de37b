package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/emitter"
)

// Retention's schedule and transaction size.
const (
	retainFirst = time.Minute // after start
	retainEvery = time.Hour
	pruneBatch  = 500 // removals per transaction
)

// Retain prunes what is older than age, first a minute after it is
// called and then every hour, until ctx ends. It logs each run that
// removed something, and a failed run, which the next one retries.
func (db *DB) Retain(ctx context.Context, age time.Duration,
	log *slog.Logger) {
	wait := retainFirst
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = retainEvery
		start := time.Now()
		n, err := db.Prune(ctx, start.Add(-age), pruneBatch)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("retention failed", "error", err,
				"duration", time.Since(start))
		case n > 0:
			log.Info("retention pruned old records", "count", n,
				"duration", time.Since(start))
		}
	}
}

// Prune removes what is older than before:
//   - succeeded and dead deliveries whose last attempt (or creation) is
//     older, with their attempts and listing entries;
//   - the deliveries of deleted endpoints, pending ones too, by the same
//     rule;
//   - events made before then that no delivery references any more;
//   - logged visits.
//
// Pending deliveries of existing endpoints stay, with their events. Prune
// works in transactions of about batch removals each (500 when batch is
// not positive), so other writers never wait long, and stops between
// them when ctx ends. It returns how many deliveries, events and visits
// it removed.
func (db *DB) Prune(ctx context.Context, before time.Time,
	batch int) (int, error) {
	if batch <= 0 {
		batch = pruneBatch
	}
	total := 0
	for _, pass := range []prunePass{pruneEvents, pruneVisits} {
		var after []byte
		for done := false; !done; {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			n := 0
			err := db.bolt.Update(func(tx *bolt.Tx) error {
				var err error
				n, after, done, err = pass(tx, before, after, batch)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
		}
	}
	return total, nil
}

// A prunePass removes up to about batch records older than before in
// one transaction, looking at keys after the key after (from the first
// when nil). It returns how many it removed, the last key it looked at,
// and whether it has looked at every key that may be old.
type prunePass func(tx *bolt.Tx, before time.Time, after []byte,
	batch int) (n int, last []byte, done bool, err error)

// pruneEvents walks the events, oldest first, up to the first made at or
// after before. It removes each event's expired deliveries, then the
// event once none is left.
func pruneEvents(tx *bolt.Tx, before time.Time, after []byte,
	batch int) (n int, last []byte, done bool, err error) {
	c := tx.Bucket(bucketEvents).Cursor()
	var gone [][]byte
	k, _ := seekAfter(c, after)
	for seen := 0; ; k, _ = c.Next() {
		if k == nil {
			done = true
			break
		}
		made, ok := idTime(k)
		if ok && !made.Before(before) {
			done = true
			break
		}
		if n+len(gone) >= batch || seen >= 4*batch {
			break
		}
		seen++
		last = bytes.Clone(k)
		removed, left, err := pruneDeliveries(tx, k, before)
		if err != nil {
			return 0, nil, false, err
		}
		n += removed
		if ok && left == 0 {
			gone = append(gone, last)
		}
	}
	for _, k := range gone {
		if err := tx.Bucket(bucketEvents).Delete(k); err != nil {
			return 0, nil, false, err
		}
	}
	return n + len(gone), last, done, nil
}

// pruneDeliveries removes the expired deliveries of the event with id
// evt_X, whose ids all start with dlv_X_, and returns how many it removed
// and how many are left.
func pruneDeliveries(tx *bolt.Tx, eventID []byte,
	before time.Time) (removed, left int, err error) {
	ulid, ok := bytes.CutPrefix(eventID, []byte("evt_"))
	if !ok {
		return 0, 1, nil
	}
	prefix := append(append([]byte("dlv_"), ulid...), '_')
	var gone []*emitter.Delivery
	c := tx.Bucket(bucketDeliveries).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		d, err := getDelivery(tx, string(k))
		if err != nil {
			return 0, 0, err
		}
		exp, err := expired(tx, d, before)
		if err != nil {
			return 0, 0, err
		}
		if !exp {
			left++
			continue
		}
		gone = append(gone, d)
	}
	for _, d := range gone {
		if err := deleteDelivery(tx, d); err != nil {
			return 0, 0, err
		}
	}
	return len(gone), left, nil
}

// expired reports whether d is finished, or its endpoint deleted, and
// its last activity older than before.
func expired(tx *bolt.Tx, d *emitter.Delivery, before time.Time) (bool,
	error) {
	if d.Status == emitter.Pending &&
		tx.Bucket(bucketEndpoints).Get([]byte(d.EndpointID)) != nil {
		return false, nil
	}
	last := d.CreatedAt
	if d.DeliveredAt.After(last) {
		last = d.DeliveredAt
	}
	b := tx.Bucket(bucketAttempts)
	prefix := append([]byte(d.ID), 0)
	if k := seekLast(b.Cursor(), prefix, nil); k != nil &&
		bytes.HasPrefix(k, prefix) {
		var a emitter.Attempt
		if err := json.Unmarshal(b.Get(k), &a); err != nil {
			return false, err
		}
		if a.At.After(last) {
			last = a.At
		}
	}
	return last.Before(before), nil
}

// deleteDelivery removes d with its attempts, listing entry and schedule
// entry.
func deleteDelivery(tx *bolt.Tx, d *emitter.Delivery) error {
	id, ep := []byte(d.ID), []byte(d.EndpointID)
	err := deletePrefix(tx.Bucket(bucketAttempts), append(id, 0))
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketByEndpoint).Delete(join(ep, id)); err != nil {
		return err
	}
	if d.Status == emitter.Pending {
		err := tx.Bucket(bucketDue).Delete(
			dueKey(d.EndpointID, d.NextAttemptAt, d.ID))
		if err != nil {
			return err
		}
	}
	return tx.Bucket(bucketDeliveries).Delete(id)
}

// pruneVisits removes logged visits older than before. Visits are kept
// per link, not in time order, so it walks them all, a slice at a time.
func pruneVisits(tx *bolt.Tx, before time.Time, after []byte,
	batch int) (n int, last []byte, done bool, err error) {
	b := tx.Bucket(bucketVisits)
	c := b.Cursor()
	var gone [][]byte
	k, _ := seekAfter(c, after)
	for seen := 0; ; k, _ = c.Next() {
		if k == nil {
			done = true
			break
		}
		if len(gone) >= batch || seen >= 20*batch {
			break
		}
		seen++
		last = bytes.Clone(k)
		// A visit's key ends in its time, 0, a sequence (logVisits).
		if len(k) < 19 {
			continue
		}
		at := int64(binary.BigEndian.Uint64(k[len(k)-17:]))
		if at < before.UnixNano() {
			gone = append(gone, last)
		}
	}
	for _, k := range gone {
		if err := b.Delete(k); err != nil {
			return 0, nil, false, err
		}
	}
	return len(gone), last, done, nil
}

// seekAfter moves c to the first key after after, or to the first key
// when after is nil.
func seekAfter(c *bolt.Cursor, after []byte) ([]byte, []byte) {
	if after == nil {
		return c.First()
	}
	k, v := c.Seek(after)
	if bytes.Equal(k, after) {
		return c.Next()
	}
	return k, v
}

// crockford is the alphabet of ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idTime returns the time, to the millisecond, of the ULID in an id such
// as evt_01M90T2C813MNF9R3PE1D7REZM.
func idTime(id []byte) (time.Time, bool) {
	i := bytes.IndexByte(id, '_')
	if i < 0 || len(id) < i+11 {
		return time.Time{}, false
	}
	var ms int64
	for _, ch := range id[i+1 : i+11] {
		v := bytes.IndexByte([]byte(crockford), ch)
		if v < 0 {
			return time.Time{}, false
		}
		ms = ms<<5 | int64(v)
	}
	return time.UnixMilli(ms), true
}
