package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/shortener"
)

// Link returns the link with code, or shortener.ErrNotFound.
func (db *DB) Link(ctx context.Context, code string) (*shortener.Link, error) {
	var l *shortener.Link
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		l, err = getLink(tx, code)
		return err
	})
	return l, err
}

func getLink(tx *bolt.Tx, code string) (*shortener.Link, error) {
	v := tx.Bucket(bucketLinks).Get([]byte(code))
	if v == nil {
		return nil, shortener.ErrNotFound
	}
	l, err := decodeLink(code, v)
	if err != nil {
		return nil, fmt.Errorf("decode link %q: %w", code, err)
	}
	return l, nil
}

// CreateLinks stores links in one transaction, giving each link without a
// code one from newCode that no stored link has. A custom code already
// stored refuses the whole call with a *shortener.BatchError wrapping
// shortener.ErrCodeTaken; nothing is stored then.
func (db *DB) CreateLinks(ctx context.Context, links []*shortener.Link,
	newCode func() (string, error)) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLinks)
		custom := make(map[string]bool)
		for i, l := range links {
			if l.Code == "" {
				continue
			}
			if b.Get([]byte(l.Code)) != nil {
				return &shortener.BatchError{Index: i,
					Err: shortener.ErrCodeTaken}
			}
			custom[l.Code] = true
		}
		perCampaign := make(map[string]int64)
		for _, l := range links {
			if err := assignCode(b, l, custom, newCode); err != nil {
				return err
			}
			if err := putLink(tx, l); err != nil {
				return err
			}
			perCampaign[l.CampaignID]++
		}
		for id, n := range perCampaign {
			err := addCampaignStat(tx, id, func(s *CampaignStats) { s.Links += n })
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// assignCode gives l a new code that neither a stored link nor a custom
// code of the same batch has.
func assignCode(b *bolt.Bucket, l *shortener.Link, custom map[string]bool,
	newCode func() (string, error)) error {
	for l.Code == "" {
		c, err := newCode()
		if err != nil {
			return err
		}
		if !custom[c] && b.Get([]byte(c)) == nil {
			l.Code = c
		}
	}
	return nil
}

func putLink(tx *bolt.Tx, l *shortener.Link) error {
	code := []byte(l.Code)
	if err := tx.Bucket(bucketLinks).Put(code, encodeLink(l)); err != nil {
		return err
	}
	camp, phone := []byte(l.CampaignID), []byte(l.Phone)
	err := tx.Bucket(bucketLinksByCamp).Put(join(camp, phone, code), nil)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketLinksByPhone).Put(join(phone, code), nil)
}

// UpdateLink applies fn to the stored link with code and stores the
// result. It returns shortener.ErrNotFound, or fn's error unchanged.
func (db *DB) UpdateLink(ctx context.Context, code string,
	fn func(*shortener.Link) error) (*shortener.Link, error) {
	var l *shortener.Link
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		if l, err = getLink(tx, code); err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
		l.Code = code
		return tx.Bucket(bucketLinks).Put([]byte(code), encodeLink(l))
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// DeleteLink removes the link with code, its index entries, its
// counters and its dedup marker. It returns shortener.ErrNotFound for an
// unknown code.
func (db *DB) DeleteLink(ctx context.Context, code string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		l, err := getLink(tx, code)
		if err != nil {
			return err
		}
		k, sk := []byte(code), statsKeyAt(code, l.CreatedAt)
		if err := applyJournalOf(tx, code); err != nil {
			return err
		}
		if decodeLinkStats(tx.Bucket(bucketLinkStats).Get(sk)).Clicks > 0 {
			if err := rememberLead(tx, l.CampaignID, l.Phone); err != nil {
				return err
			}
		}
		camp, phone := []byte(l.CampaignID), []byte(l.Phone)
		for _, del := range []struct {
			bucket, key []byte
		}{
			{bucketLinks, k},
			{bucketLinksByCamp, join(camp, phone, k)},
			{bucketLinksByPhone, join(phone, k)},
			{bucketLinkStats, sk},
			{bucketMarkers, sk},
		} {
			if err := tx.Bucket(del.bucket).Delete(del.key); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bucketVisits, bucketLinkStats} {
			if err := deletePrefix(tx.Bucket(b), linkPrefix(sk)); err != nil {
				return err
			}
		}
		return addCampaignStat(tx, l.CampaignID,
			func(s *CampaignStats) { s.Links-- })
	})
}

// deletePrefix deletes every key of b that starts with prefix.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Links returns one page of links matching q, and the cursor of the next
// page or "" on the last one. A bad cursor is an *shortener.InvalidError.
func (db *DB) Links(ctx context.Context,
	q shortener.Query) ([]*shortener.Link, string, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	after, err := decodeCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	var out []*shortener.Link
	var next string
	var last []byte
	err = db.bolt.View(func(tx *bolt.Tx) error {
		for _, r := range listRanges(q) {
			c := tx.Bucket(r.bucket).Cursor()
			k, _ := c.Seek(r.prefix)
			if after != nil && bytes.Compare(after, r.prefix) >= 0 {
				if !bytes.HasPrefix(after, r.prefix) {
					continue // the cursor is past this range
				}
				if k, _ = c.Seek(after); bytes.Equal(k, after) {
					k, _ = c.Next()
				}
			}
			for ; k != nil && bytes.HasPrefix(k, r.prefix); k, _ = c.Next() {
				if len(out) == q.Limit {
					next = base64.RawURLEncoding.EncodeToString(last)
					return nil
				}
				l, err := getLink(tx, string(codeOf(k)))
				if err != nil {
					return err
				}
				out = append(out, l)
				last = append(last[:0], k...)
			}
		}
		return nil
	})
	return out, next, err
}

// codeOf returns the code at the end of an index key.
func codeOf(k []byte) []byte {
	if i := bytes.LastIndexByte(k, 0); i >= 0 {
		return k[i+1:]
	}
	return k
}

// listRange is one run of keys of an index bucket.
type listRange struct{ bucket, prefix []byte }

// listRanges picks the index runs that serve q, in key order. A query
// limited to some campaigns reads only their runs of the campaign index.
func listRanges(q shortener.Query) []listRange {
	if q.Campaigns == nil {
		b, p := listIndex(q)
		return []listRange{{b, p}}
	}
	camps := slices.Clone(q.Campaigns)
	if q.CampaignID != "" {
		camps = []string{q.CampaignID}
	}
	slices.Sort(camps)
	camps = slices.Compact(camps)
	var rs []listRange
	for _, id := range camps {
		sub := q
		sub.CampaignID = id
		b, p := listIndex(sub)
		rs = append(rs, listRange{b, p})
	}
	return rs
}

// listIndex picks the bucket and key prefix that serve q.
func listIndex(q shortener.Query) ([]byte, []byte) {
	switch {
	case q.CampaignID != "" && q.Phone != "":
		return bucketLinksByCamp, join([]byte(q.CampaignID),
			[]byte(q.Phone), nil)
	case q.CampaignID != "":
		return bucketLinksByCamp, append([]byte(q.CampaignID), 0)
	case q.Phone != "":
		return bucketLinksByPhone, append([]byte(q.Phone), 0)
	}
	return bucketLinks, nil
}

// badCursor refuses a page cursor that no listing returned.
func badCursor() error {
	return shortener.Invalid("invalid_cursor", "cursor",
		"cursor is not one this server returned")
}

func decodeCursor(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	k, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(k) == 0 {
		return nil, badCursor()
	}
	return k, nil
}
