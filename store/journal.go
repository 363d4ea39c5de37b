package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/akti/linkd/tracker"
)

// The click journal holds one record per emitted click whose counters
// and dedup marker have not reached its link's record yet. Keys are the
// bucket's sequence numbers, so records are appended in commit order and
// their pages written once; the value is the click's time in Unix
// nanoseconds, then its code, campaign and phone, separated by zero
// bytes. The sequence only grows: a link's record keeps the last one it
// applied, which makes a replay skip what a flush already counted.

func encodeJournal(e *tracker.Emitted) []byte {
	v := make([]byte, 0, 8+len(e.Code)+len(e.CampaignID)+len(e.Phone)+2)
	v = binary.BigEndian.AppendUint64(v, uint64(e.At.UnixNano()))
	v = append(v, e.Code...)
	v = append(v, 0)
	v = append(v, e.CampaignID...)
	v = append(v, 0)
	return append(v, e.Phone...)
}

// journalClick is one decoded journal record.
type journalClick struct {
	seq                   uint64
	code, campaign, phone string
	at                    time.Time
}

func decodeJournal(k, v []byte) (journalClick, error) {
	parts := bytes.Split(v[min(8, len(v)):], []byte{0})
	if len(k) != 8 || len(v) < 8 || len(parts) != 3 || len(parts[0]) == 0 {
		return journalClick{}, fmt.Errorf("click journal record %x corrupt", k)
	}
	return journalClick{seq: binary.BigEndian.Uint64(k),
		code: string(parts[0]), campaign: string(parts[1]),
		phone: string(parts[2]),
		at:    time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()}, nil
}

// maxTrim is how many applied journal records one commit deletes: a
// flush's worth at once would hold up the clicks of its commit, and what
// is left for later commits a replay skips anyway.
const maxTrim = 512

// tally returns the counters the record's click adds to its link.
func (j journalClick) tally() *tracker.Tally {
	return &tracker.Tally{CampaignID: j.campaign, Phone: j.phone,
		Clicks: 1, Events: 1, First: j.at, Last: j.at, Seen: j.at,
		LastEvent: j.at, Seq: j.seq}
}

// trimJournal deletes up to n of the oldest records, those up to seq,
// which the link records have applied.
func trimJournal(journal *bolt.Bucket, seq uint64, n int) error {
	if seq == 0 {
		return nil
	}
	c := journal.Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= seq &&
		n > 0; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		n--
	}
	return nil
}

// replayJournal applies, at open, the journal records that a stop
// without a flush left, skipping those a link's record already counts,
// and empties the journal.
func replayJournal(tx *bolt.Tx) error {
	journal := tx.Bucket(bucketJournal)
	c := journal.Cursor()
	k, _ := c.Last()
	if k == nil {
		return nil
	}
	last := binary.BigEndian.Uint64(k)
	cc := newClickCommit(tx)
	links, stats := tx.Bucket(bucketLinks), tx.Bucket(bucketLinkStats)
	for k, v := c.First(); k != nil; k, v = c.Next() {
		j, err := decodeJournal(k, v)
		if err != nil {
			return err
		}
		if links.Get([]byte(j.code)) == nil ||
			j.seq <= decodeLinkStats(stats.Get([]byte(j.code))).Journal {
			continue
		}
		if err := cc.update(j.code, j.tally(), nil); err != nil {
			return err
		}
	}
	if err := cc.finish(); err != nil {
		return err
	}
	return trimJournal(journal, last, math.MaxInt)
}

// applyJournalOf applies the journal records of code that its record
// has not, and deletes them: for a link being deleted, whose campaign
// keeps its clicks, and whose code a new link must not inherit them with.
func applyJournalOf(tx *bolt.Tx, code string) error {
	journal := tx.Bucket(bucketJournal)
	applied := decodeLinkStats(tx.Bucket(bucketLinkStats).Get([]byte(code))).Journal
	cc := newClickCommit(tx)
	var doomed [][]byte
	c := journal.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		j, err := decodeJournal(k, v)
		if err != nil {
			return err
		}
		if j.code != code {
			continue
		}
		doomed = append(doomed, append([]byte(nil), k...))
		if j.seq <= applied {
			continue
		}
		if err := cc.update(code, j.tally(), nil); err != nil {
			return err
		}
	}
	if err := cc.finish(); err != nil {
		return err
	}
	for _, k := range doomed {
		if err := journal.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
