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

// Series kinds: the first byte of a series key.
const (
	seriesCampaign = 'c'
)

// addPoint adds clicks and bots to the hour of at in the series of id.
func addPoint(tx *bolt.Tx, kind byte, id string, at time.Time,
	clicks, bots int64) error {
	if clicks == 0 && bots == 0 {
		return nil
	}
	b := tx.Bucket(bucketSeries)
	k := seriesKey(kind, id, at.Truncate(time.Hour))
	return b.Put(k, addToPoint(b.Get(k), clicks, bots))
}

func seriesKey(kind byte, id string, hour time.Time) []byte {
	k := make([]byte, 0, len(id)+10)
	k = append(k, kind)
	k = append(k, id...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(hour.Unix()))
}

// A link's hourly points live beside its counters in the link_stats
// bucket, under its code, a zero byte and the hour, so a click dirties one
// page for both.
func linkPointKey(code string, hour int64) []byte {
	k := make([]byte, 0, len(code)+9)
	k = append(k, code...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(hour))
}

func addLinkPoint(b *bolt.Bucket, code string, hour int64,
	clicks, bots int64) error {
	if clicks == 0 && bots == 0 {
		return nil
	}
	k := linkPointKey(code, hour)
	return b.Put(k, addToPoint(b.Get(k), clicks, bots))
}

// addToPoint returns the 16-byte point old with clicks and bots added.
func addToPoint(old []byte, clicks, bots int64) []byte {
	v := make([]byte, 16)
	if len(old) == 16 {
		copy(v, old)
	}
	binary.BigEndian.PutUint64(v, binary.BigEndian.Uint64(v)+uint64(clicks))
	binary.BigEndian.PutUint64(v[8:], binary.BigEndian.Uint64(v[8:])+uint64(bots))
	return v
}

// LinkSeries returns the link's hourly traffic since since.
func (db *DB) LinkSeries(ctx context.Context, code string,
	since time.Time) ([]Point, error) {
	out := []Point{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(code), 0)
		c := tx.Bucket(bucketLinkStats).Cursor()
		start := linkPointKey(code, since.Truncate(time.Hour).Unix())
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			out = appendPoint(out, k[len(prefix):], v)
		}
		return nil
	})
	return out, err
}

func appendPoint(out []Point, hour, v []byte) []Point {
	if len(hour) != 8 || len(v) != 16 {
		return out
	}
	h := int64(binary.BigEndian.Uint64(hour))
	return append(out, Point{Hour: time.Unix(h, 0).UTC(),
		Clicks:    int64(binary.BigEndian.Uint64(v)),
		BotClicks: int64(binary.BigEndian.Uint64(v[8:]))})
}

// CampaignSeries returns the campaign's hourly traffic since since.
func (db *DB) CampaignSeries(ctx context.Context, id string,
	since time.Time) ([]Point, error) {
	return db.series(seriesCampaign, id, since)
}

func (db *DB) series(kind byte, id string, since time.Time) ([]Point, error) {
	out := []Point{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := seriesKey(kind, id, time.Unix(0, 0))[:len(id)+2]
		c := tx.Bucket(bucketSeries).Cursor()
		start := seriesKey(kind, id, since.Truncate(time.Hour))
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			out = appendPoint(out, k[len(prefix):], v)
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
