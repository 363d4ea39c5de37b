package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Point is one hour of a link's or campaign's traffic.
type Point struct {
	Hour      time.Time `json:"t"`
	Clicks    int64     `json:"clicks"`
	BotClicks int64     `json:"botClicks"`
}

// Hourly points are keyed by an owner's prefix followed by the hour in
// Unix seconds; the value is clicks and bot clicks, 8 bytes each. A
// link's points live beside its counters, under linkPrefix, so a click
// dirties one page for both; a campaign's live in the series bucket
// under 'c', its id and a zero byte.

func campaignPoints(id string) []byte {
	return append(append([]byte{'c'}, id...), 0)
}

func pointKey(prefix []byte, hour int64) []byte {
	k := append(make([]byte, 0, len(prefix)+8), prefix...)
	return binary.BigEndian.AppendUint64(k, uint64(hour))
}

// addPoint adds clicks and bots to the point of hour under prefix in b.
func addPoint(b *bolt.Bucket, prefix []byte, hour int64,
	clicks, bots int64) error {
	if clicks == 0 && bots == 0 {
		return nil
	}
	k := pointKey(prefix, hour)
	v := make([]byte, 16)
	if old := b.Get(k); len(old) == 16 {
		copy(v, old)
	}
	binary.BigEndian.PutUint64(v, binary.BigEndian.Uint64(v)+uint64(clicks))
	binary.BigEndian.PutUint64(v[8:], binary.BigEndian.Uint64(v[8:])+uint64(bots))
	return b.Put(k, v)
}

// LinkSeries returns the link's hourly traffic since since.
func (db *DB) LinkSeries(ctx context.Context, code string,
	since time.Time) ([]Point, error) {
	return db.points(bucketLinkStats, linkPrefixOf(code), since)
}

// CampaignSeries returns the campaign's hourly traffic since since.
func (db *DB) CampaignSeries(ctx context.Context, id string,
	since time.Time) ([]Point, error) {
	return db.points(bucketSeries, func(*bolt.Tx) []byte {
		return campaignPoints(id)
	}, since)
}

// points reads the points in bucket under the prefix that prefixOf
// returns (nil: none) from since's hour on.
func (db *DB) points(bucket []byte, prefixOf func(*bolt.Tx) []byte,
	since time.Time) ([]Point, error) {
	out := []Point{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := prefixOf(tx)
		if prefix == nil {
			return nil
		}
		c := tx.Bucket(bucket).Cursor()
		start := pointKey(prefix, since.Truncate(time.Hour).Unix())
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			hour := k[len(prefix):]
			if len(hour) != 8 || len(v) != 16 {
				continue
			}
			h := int64(binary.BigEndian.Uint64(hour))
			out = append(out, Point{Hour: time.Unix(h, 0).UTC(),
				Clicks:    int64(binary.BigEndian.Uint64(v)),
				BotClicks: int64(binary.BigEndian.Uint64(v[8:]))})
		}
		return nil
	})
	return out, err
}

// Campaign is one campaign's id and counters.
type Campaign struct {
	ID    string
	Stats CampaignStats
}

// Campaigns returns every campaign with any data, in id order.
func (db *DB) Campaigns(ctx context.Context) ([]Campaign, error) {
	var out []Campaign
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCampStats)
		return b.ForEach(func(k, _ []byte) error {
			c := Campaign{ID: string(k)}
			if err := getJSON(b, k, &c.Stats); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}
