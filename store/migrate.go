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
	if _, err := tx.CreateBucketIfNotExists(legacyLinkStats); err != nil {
		return err
	}
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
	err = rewrite(tx.Bucket(legacyLinkStats), func(_, v []byte) ([]byte, error) {
		var s LinkStats
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
		// Version 2 kept the dedup marker in the record.
		v = s.encode(make([]byte, 0, linkStatsSize))
		binary.BigEndian.PutUint64(v[5*8:], uint64(nanos(s.LastEventAt)))
		return v, nil
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
	series, stats := tx.Bucket(bucketSeries), tx.Bucket(legacyLinkStats)
	var keys [][]byte
	c := series.Cursor()
	for k, v := c.Seek([]byte{'l'}); k != nil && k[0] == 'l'; k, v = c.Next() {
		if len(k) < 10 || k[len(k)-9] != 0 {
			continue
		}
		code := string(k[1 : len(k)-9])
		hour := int64(binary.BigEndian.Uint64(k[len(k)-8:]))
		point := pointKey(append([]byte(code), 0), hour)
		if err := stats.Put(point, append([]byte(nil), v...)); err != nil {
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

// The buckets of link counters and points, and of visits, up to schema
// 3, keyed by the link's code (then, for points and visits, a zero byte
// and more). Version 4 keeps them in bucketLinkStats and bucketVisits,
// keyed by the link's counters' key (statsKey) instead.
var (
	legacyLinkStats = []byte("link_stats")
	legacyVisits    = []byte("visits")
)

// moveChunk is how many keys one transaction of moveByCreation moves, so
// that an upgrade's memory stays bounded whatever the file's size.
const moveChunk = 10_000

// moveByCreation moves what the legacy buckets hold to the keys of version
// 4, moveChunk keys per transaction, and deletes each legacy bucket once
// it is empty. Those of links that are gone are dropped. The file says
// version 4 from the first of these transactions on, so an older linkd
// refuses it, and a crash midway leaves the rest for the next open.
func moveByCreation(b *bolt.DB) error {
	for _, m := range []struct{ from, to []byte }{
		{legacyLinkStats, bucketLinkStats}, {legacyVisits, bucketVisits},
	} {
		err := inChunks(b, func(tx *bolt.Tx) (bool, error) {
			done, err := moveSome(tx, m.from, m.to, moveChunk)
			return !done, err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", m.from, err)
		}
	}
	return nil
}

// inChunks runs step in one transaction after another, for work too big
// for one, until step reports that nothing is left or fails.
func inChunks(b *bolt.DB, step func(*bolt.Tx) (more bool, err error)) error {
	for more := true; more; {
		err := b.Update(func(tx *bolt.Tx) error {
			var err error
			more, err = step(tx)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// moveSome moves up to n keys of the legacy bucket from to to, and
// reports whether from is gone.
func moveSome(tx *bolt.Tx, from, to []byte, n int) (bool, error) {
	old := tx.Bucket(from)
	if old == nil {
		return true, nil
	}
	links, dst := tx.Bucket(bucketLinks), tx.Bucket(to)
	c := old.Cursor()
	moved := 0
	for k, v := c.First(); k != nil && moved < n; k, v = c.First() {
		code, rest, more := bytes.Cut(k, []byte{0})
		if link := links.Get(code); link != nil {
			nk := statsKey(string(code), link)
			if more {
				nk = append(linkPrefix(nk), rest...)
			}
			if err := dst.Put(nk, bytes.Clone(v)); err != nil {
				return false, err
			}
		}
		if err := c.Delete(); err != nil {
			return false, err
		}
		moved++
	}
	if moved < n {
		return true, tx.DeleteBucket(from)
	}
	return false, nil
}
