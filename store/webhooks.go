package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/emitter"
)

// PutEndpoint stores a new or changed endpoint.
func (db *DB) PutEndpoint(ctx context.Context, e *emitter.Endpoint) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketEndpoints), []byte(e.ID), e)
	})
}

// Endpoint returns the endpoint with id, or emitter.ErrEndpointNotFound.
func (db *DB) Endpoint(ctx context.Context, id string) (*emitter.Endpoint, error) {
	var e *emitter.Endpoint
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		e, err = getEndpoint(tx, id)
		return err
	})
	return e, err
}

func getEndpoint(tx *bolt.Tx, id string) (*emitter.Endpoint, error) {
	v := tx.Bucket(bucketEndpoints).Get([]byte(id))
	if v == nil {
		return nil, emitter.ErrEndpointNotFound
	}
	var e emitter.Endpoint
	if err := json.Unmarshal(v, &e); err != nil {
		return nil, fmt.Errorf("decode endpoint %q: %w", id, err)
	}
	return &e, nil
}

// UpdateEndpoint applies fn to the stored endpoint with id and stores the
// result. It returns emitter.ErrEndpointNotFound or fn's error.
func (db *DB) UpdateEndpoint(ctx context.Context, id string,
	fn func(*emitter.Endpoint) error) (*emitter.Endpoint, error) {
	var e *emitter.Endpoint
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		if e, err = getEndpoint(tx, id); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketEndpoints), []byte(id), e)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// DeleteEndpoint removes the endpoint with id and its pending deliveries'
// schedule; its delivery log stays until retention prunes it.
func (db *DB) DeleteEndpoint(ctx context.Context, id string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if _, err := getEndpoint(tx, id); err != nil {
			return err
		}
		err := deletePrefix(tx.Bucket(bucketDue), append([]byte(id), 0))
		if err != nil {
			return err
		}
		return tx.Bucket(bucketEndpoints).Delete([]byte(id))
	})
}

// Endpoints returns every endpoint, in id order.
func (db *DB) Endpoints(ctx context.Context) ([]*emitter.Endpoint, error) {
	var eps []*emitter.Endpoint
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		eps, err = loadEndpoints(tx)
		return err
	})
	return eps, err
}

func loadEndpoints(tx *bolt.Tx) ([]*emitter.Endpoint, error) {
	var eps []*emitter.Endpoint
	err := tx.Bucket(bucketEndpoints).ForEach(func(k, v []byte) error {
		var e emitter.Endpoint
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode endpoint %q: %w", k, err)
		}
		eps = append(eps, &e)
		return nil
	})
	return eps, err
}

// AddEvent stores ev and a delivery to every endpoint that wants it, in
// one transaction. It returns the ids of those endpoints.
func (db *DB) AddEvent(ctx context.Context, ev emitter.Event) ([]string, error) {
	var ids []string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		ids, err = putEvents(tx, []emitter.Event{ev})
		return err
	})
	return ids, err
}

// AddTestEvent stores ev with one delivery to the endpoint with id only,
// and returns the delivery's id.
func (db *DB) AddTestEvent(ctx context.Context, endpointID string,
	ev emitter.Event) (string, error) {
	var dlv string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		ep, err := getEndpoint(tx, endpointID)
		if err != nil {
			return err
		}
		if err := putEventBody(tx, ev); err != nil {
			return err
		}
		dlv = deliveryID(ev.ID, ep.ID)
		return putNewDelivery(tx, ev, ep.ID, dlv)
	})
	return dlv, err
}

// putEvent stores ev and fans it out to the endpoints in eps that want it.
func putEvent(tx *bolt.Tx, eps []*emitter.Endpoint,
	ev emitter.Event) ([]string, error) {
	if err := putEventBody(tx, ev); err != nil {
		return nil, err
	}
	var ids []string
	for _, ep := range eps {
		if !ep.Wants(ev.Type, ev.CampaignID) {
			continue
		}
		err := putNewDelivery(tx, ev, ep.ID, deliveryID(ev.ID, ep.ID))
		if err != nil {
			return nil, err
		}
		ids = append(ids, ep.ID)
	}
	return ids, nil
}

// deliveryID names the delivery of event to endpoint. It is derived, so
// the same event never makes two deliveries to one endpoint.
func deliveryID(eventID, endpointID string) string {
	return "dlv_" + eventID[len("evt_"):] + "_" + endpointID[len("wh_"):]
}

// putEventBody stores an event as its time, type, campaign and body.
func putEventBody(tx *bolt.Tx, ev emitter.Event) error {
	v := make([]byte, 0, 8+len(ev.Type)+len(ev.CampaignID)+len(ev.Body)+2)
	v = binary.BigEndian.AppendUint64(v, uint64(ev.Time.UnixNano()))
	v = append(v, ev.Type...)
	v = append(v, 0)
	v = append(v, ev.CampaignID...)
	v = append(v, 0)
	v = append(v, ev.Body...)
	return appendOnly(tx, bucketEvents).Put([]byte(ev.ID), v)
}

// appendOnly returns a bucket whose keys only ever grow (ULIDs), filled
// to the brim when its pages split: bbolt's default of half full would
// leave every page half empty.
func appendOnly(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 0.95
	return b
}

func getEvent(tx *bolt.Tx, id string) (emitter.Event, error) {
	v := tx.Bucket(bucketEvents).Get([]byte(id))
	if len(v) < 10 {
		return emitter.Event{}, fmt.Errorf("event %q missing", id)
	}
	ev := emitter.Event{ID: id,
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()}
	parts := bytes.SplitN(v[8:], []byte{0}, 3)
	if len(parts) != 3 {
		return emitter.Event{}, fmt.Errorf("event %q corrupt", id)
	}
	ev.Type, ev.CampaignID = string(parts[0]), string(parts[1])
	ev.Body = append([]byte(nil), parts[2]...)
	return ev, nil
}

func putNewDelivery(tx *bolt.Tx, ev emitter.Event, endpointID,
	id string) error {
	now := time.Now().UTC().Truncate(time.Millisecond)
	d := &emitter.Delivery{
		ID:            id,
		EndpointID:    endpointID,
		EventID:       ev.ID,
		EventType:     ev.Type,
		EventTime:     ev.Time,
		Status:        emitter.Pending,
		NextAttemptAt: now,
		CreatedAt:     now,
	}
	appendOnly(tx, bucketDeliveries)
	err := appendOnly(tx, bucketByEndpoint).Put(
		join([]byte(endpointID), []byte(id)), nil)
	if err != nil {
		return err
	}
	return putDelivery(tx, d, time.Time{})
}

// putDelivery stores d and moves its schedule entry from the time it had
// (zero for none) to its NextAttemptAt while it is pending.
func putDelivery(tx *bolt.Tx, d *emitter.Delivery, was time.Time) error {
	due := tx.Bucket(bucketDue)
	if !was.IsZero() {
		if err := due.Delete(dueKey(d.EndpointID, was, d.ID)); err != nil {
			return err
		}
	}
	if d.Status == emitter.Pending {
		err := due.Put(dueKey(d.EndpointID, d.NextAttemptAt, d.ID), nil)
		if err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bucketDeliveries), []byte(d.ID), d)
}

func dueKey(endpointID string, t time.Time, id string) []byte {
	return join([]byte(endpointID), timeKey(t), []byte(id))
}

func getDelivery(tx *bolt.Tx, id string) (*emitter.Delivery, error) {
	v := tx.Bucket(bucketDeliveries).Get([]byte(id))
	if v == nil {
		return nil, emitter.ErrDeliveryNotFound
	}
	var d emitter.Delivery
	if err := json.Unmarshal(v, &d); err != nil {
		return nil, fmt.Errorf("decode delivery %q: %w", id, err)
	}
	return &d, nil
}

// Delivery returns the delivery with id, or emitter.ErrDeliveryNotFound.
func (db *DB) Delivery(ctx context.Context, id string) (*emitter.Delivery, error) {
	var d *emitter.Delivery
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		d, err = getDelivery(tx, id)
		return err
	})
	return d, err
}

// Due returns up to limit pending deliveries of the endpoint whose next
// attempt is at or before now, earliest first, with their events, skipping
// those skip reports true for. next is the earliest later attempt time,
// zero when there is none.
func (db *DB) Due(ctx context.Context, endpointID string, now time.Time,
	limit int, skip func(id string) bool) (ds []emitter.Job,
	next time.Time, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(endpointID), 0)
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			rest := k[len(prefix):]
			at := time.Unix(0, int64(binary.BigEndian.Uint64(rest)))
			if at.After(now) {
				next = at
				return nil
			}
			id := string(rest[9:])
			if skip != nil && skip(id) {
				continue
			}
			if len(ds) == limit {
				next = at
				return nil
			}
			job, err := loadJob(tx, id)
			if err != nil {
				return err
			}
			ds = append(ds, job)
		}
		return nil
	})
	return ds, next, err
}

func loadJob(tx *bolt.Tx, id string) (emitter.Job, error) {
	d, err := getDelivery(tx, id)
	if err != nil {
		return emitter.Job{}, err
	}
	ev, err := getEvent(tx, d.EventID)
	if err != nil {
		return emitter.Job{}, err
	}
	return emitter.Job{Delivery: *d, Event: ev}, nil
}

// FinishAttempt records attempt a of a delivery, stores the delivery's new
// state d (whose schedule entry was at was), and applies epChange to its
// endpoint when non-nil, all in one transaction, and reports whether
// epChange changed the endpoint. Concurrent calls are committed together.
func (db *DB) FinishAttempt(ctx context.Context, d *emitter.Delivery,
	was time.Time, a emitter.Attempt,
	epChange func(*emitter.Endpoint) bool) (bool, error) {
	var changed bool
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		var err error
		changed, err = finishAttempt(tx, d, was, a, epChange)
		return err
	})
	return changed, err
}

func finishAttempt(tx *bolt.Tx, d *emitter.Delivery, was time.Time,
	a emitter.Attempt, epChange func(*emitter.Endpoint) bool) (bool, error) {
	k := join([]byte(d.ID), u64(uint64(a.N)))
	if err := putJSON(appendOnly(tx, bucketAttempts), k, a); err != nil {
		return false, err
	}
	ep, err := getEndpoint(tx, d.EndpointID)
	if err != nil {
		// The endpoint was deleted during the attempt: nothing is left
		// to deliver to, so the delivery ends here.
		gone := *d
		if gone.Status == emitter.Pending {
			gone.Status, gone.NextAttemptAt = emitter.Dead, time.Time{}
		}
		return false, putDelivery(tx, &gone, was)
	}
	if err := putDelivery(tx, d, was); err != nil {
		return false, err
	}
	if epChange == nil || !epChange(ep) {
		return false, nil
	}
	return true, putJSON(tx.Bucket(bucketEndpoints), []byte(ep.ID), ep)
}

// RetryDelivery makes the delivery with id pending again with its next
// attempt at now, also when it is dead or succeeded.
func (db *DB) RetryDelivery(ctx context.Context, endpointID, id string,
	now time.Time) (*emitter.Delivery, error) {
	var d *emitter.Delivery
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		if d, err = getDelivery(tx, id); err != nil {
			return err
		}
		if d.EndpointID != endpointID {
			return emitter.ErrDeliveryNotFound
		}
		was := time.Time{}
		if d.Status == emitter.Pending {
			was = d.NextAttemptAt
		}
		d.Status = emitter.Pending
		d.NextAttemptAt = now
		return putDelivery(tx, d, was)
	})
	return d, err
}

// Deliveries returns one page of the endpoint's deliveries, newest first,
// with status when status is not empty, and the next page's cursor.
func (db *DB) Deliveries(ctx context.Context, endpointID, status string,
	limit int, cursor string) ([]*emitter.Delivery, string, error) {
	if limit <= 0 {
		limit = 100
	}
	prefix := append([]byte(endpointID), 0)
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if after != nil && !bytes.HasPrefix(after, prefix) {
		// Not one of this endpoint's: another's, or made up.
		return nil, "", badCursor()
	}
	var out []*emitter.Delivery
	var next string
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketByEndpoint).Cursor()
		k := seekLast(c, prefix, after)
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			d, err := getDelivery(tx, string(k[len(prefix):]))
			if err != nil {
				return err
			}
			if status != "" && d.Status != status {
				continue
			}
			if len(out) == limit {
				last := join([]byte(endpointID), []byte(out[len(out)-1].ID))
				next = base64.RawURLEncoding.EncodeToString(last)
				return nil
			}
			out = append(out, d)
		}
		return nil
	})
	return out, next, err
}

// seekLast positions c on the last key with prefix that sorts before
// after (or the very last one when after is nil).
func seekLast(c *bolt.Cursor, prefix, after []byte) []byte {
	end := after
	if end == nil {
		end = append(bytes.Clone(prefix[:len(prefix)-1]), 1)
	}
	k, _ := c.Seek(end)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	return k
}

// Attempts returns the logged attempts of the delivery with id, in order.
func (db *DB) Attempts(ctx context.Context, id string) ([]emitter.Attempt, error) {
	return readAll[emitter.Attempt](db, bucketAttempts,
		func(*bolt.Tx) []byte { return append([]byte(id), 0) })
}
