package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/shortener"
)

// binaryLinks rewrites a version 1 file's JSON links and link counters as
// the binary records of version 2, and moves links' hourly points from
// the series bucket to beside their counters.
func binaryLinks(tx *bolt.Tx) error {
	err := rewrite(tx.Bucket(bucketLinks), func(k, v []byte) ([]byte, error) {
		var l shortener.Link
		if err := json.Unmarshal(v, &l); err != nil {
			return nil, err
		}
		l.Code = string(k)
		return encodeLink(&l), nil
	})
	if err != nil {
		return fmt.Errorf("links: %w", err)
	}
	err = rewrite(tx.Bucket(bucketLinkStats), func(_, v []byte) ([]byte, error) {
		var s LinkStats
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
		return s.encode(make([]byte, 0, linkStatsSize)), nil
	})
	if err != nil {
		return fmt.Errorf("link counters: %w", err)
	}
	return moveLinkPoints(tx)
}

// rewrite replaces every JSON value of b (one starting with '{') with
// what conv makes of it.
func rewrite(b *bolt.Bucket, conv func(k, v []byte) ([]byte, error)) error {
	type kv struct{ k, v []byte }
	var out []kv
	err := b.ForEach(func(k, v []byte) error {
		if len(v) == 0 || v[0] != '{' {
			return nil
		}
		nv, err := conv(k, v)
		if err != nil {
			return fmt.Errorf("%q: %w", k, err)
		}
		out = append(out, kv{append([]byte(nil), k...), nv})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range out {
		if err := b.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// moveLinkPoints moves version 1's link points ('l', code, 0, hour) from
// the series bucket into link_stats.
func moveLinkPoints(tx *bolt.Tx) error {
	series, stats := tx.Bucket(bucketSeries), tx.Bucket(bucketLinkStats)
	var keys [][]byte
	c := series.Cursor()
	for k, v := c.Seek([]byte{'l'}); k != nil && k[0] == 'l'; k, v = c.Next() {
		if len(k) < 10 || k[len(k)-9] != 0 {
			continue
		}
		code := string(k[1 : len(k)-9])
		hour := int64(binary.BigEndian.Uint64(k[len(k)-8:]))
		if err := stats.Put(pointKey(linkPoints([]byte(code)), hour), append([]byte(nil), v...)); err != nil {
			return err
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := series.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// statsByCreation moves version 3's link counters, points and visits,
// keyed by the link's code (then, for points and visits, a zero byte and
// more), to the keys of version 4, which start with the link's counters'
// key (statsKey) instead. Those of links that are gone are dropped.
func statsByCreation(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketLinkStats, bucketVisits} {
		if err := byCreation(tx, tx.Bucket(name)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// byCreation rekeys b for statsByCreation.
func byCreation(tx *bolt.Tx, b *bolt.Bucket) error {
	links := tx.Bucket(bucketLinks)
	type kv struct{ k, v []byte }
	var old [][]byte
	var moved []kv
	err := b.ForEach(func(k, v []byte) error {
		old = append(old, bytes.Clone(k))
		code, rest, more := bytes.Cut(k, []byte{0})
		link := links.Get(code)
		if link == nil {
			return nil
		}
		nk := statsKey(string(code), link)
		if more {
			nk = append(append(nk, 0), rest...)
		}
		moved = append(moved, kv{nk, bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return err
	}
	// All the old keys go first: an old key may look like a new one.
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	for _, e := range moved {
		if err := b.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}
