package store

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/emitter"
	"github.com/akti/linkd/tracker"
)

// AddMessage stores m and its events, with a delivery to every endpoint
// that wants each, in one transaction, and counts the message in its
// campaign. It returns tracker.ErrMessageExists for a used id, and the ids
// of endpoints that got deliveries.
func (db *DB) AddMessage(ctx context.Context, m *tracker.Message,
	events []emitter.Event) ([]string, error) {
	var woken []string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		woken = woken[:0]
		b := tx.Bucket(bucketMessages)
		if b.Get([]byte(m.ID)) != nil {
			return tracker.ErrMessageExists
		}
		if err := putJSON(b, []byte(m.ID), m); err != nil {
			return err
		}
		ids, err := putEvents(tx, events)
		if err != nil {
			return err
		}
		woken = ids
		return addCampaignStat(tx, m.CampaignID, func(s *CampaignStats) {
			s.MessagesSent++
			s.LinksSent += int64(len(m.URLs))
		})
	})
	return woken, err
}

// MarkDelivered applies deliver to the stored message with id and stores
// the events it returns, counting the first receipt in the campaign; a
// deliver that returns no events changes nothing. It returns
// tracker.ErrMessageNotFound.
func (db *DB) MarkDelivered(ctx context.Context, id string,
	deliver func(*tracker.Message) []emitter.Event) (*tracker.Message,
	[]string, error) {
	var m *tracker.Message
	var woken []string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMessages)
		v := b.Get([]byte(id))
		if v == nil {
			return tracker.ErrMessageNotFound
		}
		m = &tracker.Message{}
		if err := json.Unmarshal(v, m); err != nil {
			return fmt.Errorf("decode message %q: %w", id, err)
		}
		events := deliver(m)
		if len(events) == 0 {
			return nil
		}
		if err := putJSON(b, []byte(id), m); err != nil {
			return err
		}
		var err error
		if woken, err = putEvents(tx, events); err != nil {
			return err
		}
		return addCampaignStat(tx, m.CampaignID,
			func(s *CampaignStats) { s.MessagesDelivered++ })
	})
	return m, woken, err
}

// putEvents stores events with their deliveries and returns the ids of
// the endpoints that got any.
func putEvents(tx *bolt.Tx, events []emitter.Event) ([]string, error) {
	if len(events) == 0 {
		return nil, nil
	}
	eps, err := loadEndpoints(tx)
	if err != nil {
		return nil, err
	}
	var woken []string
	for _, ev := range events {
		ids, err := putEvent(tx, eps, ev)
		if err != nil {
			return nil, err
		}
		woken = append(woken, ids...)
	}
	return woken, nil
}
